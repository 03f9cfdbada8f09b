#!/usr/bin/env bash
# Plans of every list statement at 100,000 rows (issue 12), for docs/decisions.md. Fills a
# fresh PostgreSQL store with 100,000 rows per listed table (instances, databases, accounts,
# credentials, tags, sync sessions, log entries, daily capacity aggregates), turns on
# auto_explain for that database only (ANALYZE, every statement), requests each list's
# default page, a search and a deep page once through the real server, and prints the plans
# PostgreSQL logged: per statement its access path lines and execution time.
# The server is stopped by its pid; the store is dropped (KEEP_DB=1 keeps it).
# Usage: bench/explain.sh [rows]   (PG_LOG=/var/log/postgresql/postgresql-15-main.log)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
PORT=${PORT:-5098}
B=http://127.0.0.1:$PORT/api/v1
DB=wf_bench_explain_$$
PG_LOG=${PG_LOG:-$(ls /var/log/postgresql/postgresql-*-main.log | tail -1)}
bash scripts/services.sh >/dev/null
cargo build -q --release -p whalefall
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/whalefall
WORK=$(mktemp -d)
PGQ=(psql -q -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1)
PID=
stop() { [ -n "$PID" ] && { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; }; PID=; }
cleanup() {
  stop
  if [ -z "${KEEP_DB:-}" ]; then "${PGQ[@]}" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true; else echo "kept database $DB"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
start() {
  (cd "$WORK" && exec env DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" DEFAULT_ADMIN_PASSWORD=Admin12345 \
    LOG_LEVEL=WARNING ENABLE_SCHEDULER=false "$BIN" serve --bind 127.0.0.1:$PORT > server.log 2>&1) &
  PID=$!
  for _ in $(seq 1 100); do curl -sf $B/health/ping >/dev/null && break; sleep 0.2; done
}
"${PGQ[@]}" -c "CREATE DATABASE $DB"
start
stop
echo "== seeding $N rows per list table"
"${PGQ[@]}" -d $DB <<SQL
INSERT INTO instances (name, db_type, host, port, is_active, sync_count, description)
SELECT 'sc-' || lpad(i::text, 6, '0'), (ARRAY['mysql','postgresql','sqlserver','oracle'])[1 + i % 4],
       '10.' || (i / 65536) || '.' || (i / 256 % 256) || '.' || (i % 256), 5432, true, 0, 'scale instance ' || i
FROM generate_series(1, $N) i;
INSERT INTO instance_databases (instance_id, database_name, is_active, first_seen_date, last_seen_date)
SELECT i, 'db_' || i, true, current_date, current_date FROM generate_series(1, $N) i;
INSERT INTO instance_accounts (instance_id, username, db_type, is_active)
SELECT 1 + n % $N, 'acct-' || lpad(n::text, 7, '0'), (ARRAY['mysql','postgresql','sqlserver','oracle'])[1 + (1 + n % $N) % 4], true
FROM generate_series(1, $N) n;
INSERT INTO account_permission (instance_id, db_type, username, instance_account_id, is_superuser, is_locked, permission_facts)
SELECT instance_id, db_type, username, id, id % 100 = 0, id % 20 = 0, '{"version": 2}'::jsonb FROM instance_accounts;
INSERT INTO credentials (name, credential_type, db_type, username, password, description)
SELECT 'cred-' || lpad(i::text, 6, '0'), 'database', 'mysql', 'u' || i, 'x', 'credential ' || i FROM generate_series(1, $N) i;
INSERT INTO tags (name, display_name, category, color)
SELECT 'tag-' || lpad(i::text, 6, '0'), 'Tag ' || i, 'bench', 'primary' FROM generate_series(1, $N) i;
INSERT INTO sync_sessions (session_id, sync_type, sync_category, status, started_at, completed_at)
SELECT md5(i::text)::uuid::text, 'scheduled_task', 'account', 'completed', now() - i * interval '1 minute', now() - i * interval '1 minute'
FROM generate_series(1, $N) i;
INSERT INTO unified_logs (timestamp, level, module, message, context, created_at)
SELECT now() - i * interval '0.5 second', 'INFO', 'instances', 'scale log entry ' || i, jsonb_build_object('i', i), now()
FROM generate_series(1, $N) i;
INSERT INTO instance_size_aggregations (instance_id, period_type, period_start, period_end, total_size_mb, avg_size_mb,
  max_size_mb, min_size_mb, data_count, database_count, calculated_at)
SELECT i, 'daily', current_date, current_date, i, i, i, i, 1, 1, now() FROM generate_series(1, $N) i;
INSERT INTO database_size_aggregations (instance_id, database_name, period_type, period_start, period_end, avg_size_mb,
  max_size_mb, min_size_mb, data_count, calculated_at)
SELECT i, 'db_' || i, 'daily', current_date, current_date, i, i, i, 1, now() FROM generate_series(1, $N) i;
VACUUM ANALYZE;
DO \$\$BEGIN EXECUTE format('ALTER DATABASE %I SET session_preload_libraries = %L', current_database(), 'auto_explain');
  EXECUTE format('ALTER DATABASE %I SET auto_explain.log_min_duration = 0', current_database());
  EXECUTE format('ALTER DATABASE %I SET auto_explain.log_analyze = on', current_database()); END\$\$;
SQL
start
J=$WORK/jar
CSRF=$(curl -s -c $J -b $J $B/auth/csrf-token | jq -r .data.csrf_token)
curl -s -o /dev/null -c $J -b $J -H "X-CSRFToken: $CSRF" -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"Admin12345"}' $B/auth/login
DEEP=$((N / 40))
for path in "instances" "instances?search=sc-0012" "instances?page=$DEEP" \
  "credentials" "credentials?search=cred-0012" "credentials?page=$DEEP" \
  "tags" "tags?search=tag-0012" "tags?page=$DEEP" \
  "accounts/ledgers" "accounts/ledgers?search=acct-00123" "accounts/ledgers?page=$DEEP" "instances/2/accounts" \
  "databases/ledgers" "databases/ledgers?search=db_123" "databases/ledgers?page=$DEEP" \
  "capacity/instances" "capacity/databases" \
  "history/sessions" "history/sessions?page=$DEEP" \
  "history/logs/list" "history/logs/list?search=entry%2012345" "history/logs/list?page=$DEEP"; do
  curl -s -b $J "$B/$path" > /dev/null  # first request: counts the total, warms the plan cache
  MARK=$(wc -l < "$PG_LOG")
  curl -s -b $J -o "$WORK/body" -w "%{http_code} %{time_total}s" "$B/$path" | sed "s|^|== GET /$path: |"
  echo " (total $(jq -r '.data.total // "-"' "$WORK/body"))"
  sleep 0.3
  tail -n +"$((MARK + 1))" "$PG_LOG" | awk '
    /LOG:  duration: .* plan:/ { if (n) print ""; n++; sub(/.*duration: /, "  "); print; show = 0; next }
    /Query Text:/ { sub(/.*Query Text: /, "    "); print substr($0, 1, 160); show = 1; next }
    show && /(Scan|Join|Nested Loop|Limit|Sort|Aggregate|Append|Memoize|Gather|Bitmap|Hash)/ {
      line = $0; sub(/^\t/, "", line); print "    " substr(line, 1, 150) }
    /^[0-9]{4}-/ && !/plan:/ { show = 0 }'
done
stop
