#!/usr/bin/env bash
# Benchmark (not a test), issue 10: capacity aggregation and lists. Seeds a fresh PostgreSQL
# store with 1,000 instances × 10 databases and 90 days of daily size facts (900,000 database
# rows + 90,000 instance rows, written straight into the store, monthly partitions created
# for the past months), then times
#   1. POST /capacity/aggregations/current (scope all, a manual_task session) — in the server
#   2. the scheduled aggregation of all four period types (`whalefall aggregate`, the same
#      service the scheduler runs) — peak RSS of that process included
#   3. GET /capacity/instances under wrk (16 connections)
# and prints the server's peak RSS. Loopback only; the server is stopped by its pid and the
# store dropped (KEEP_DB=1 keeps it).
# Usage: bench/capacity.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
PORT=${PORT:-5093}
B=http://127.0.0.1:$PORT/api/v1
DB=wf_bench_capacity_$$
URL="postgres://postgres@127.0.0.1:5432/$DB"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
bash scripts/services.sh >/dev/null
cargo build -q --release -p whalefall
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/whalefall
WORK=$(mktemp -d)
PGQ=(psql -q -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1)
cleanup() {
  [ -n "${PID:-}" ] && { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; }
  if [ -z "${KEEP_DB:-}" ]; then "${PGQ[@]}" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true; else echo "kept database $DB"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
"${PGQ[@]}" -c "CREATE DATABASE $DB"
(cd "$WORK" && DATABASE_URL=$URL DEFAULT_ADMIN_PASSWORD=Admin12345 LOG_LEVEL=WARNING \
  exec "$BIN" serve --bind 127.0.0.1:$PORT > server.log 2>&1) &
PID=$!
for _ in $(seq 1 100); do curl -sf $B/health/ping >/dev/null && break; sleep 0.2; done
echo "== seeding 1,000 instances, 10,000 databases, 90 days of sizes"
T0=$(date +%s.%N)
"${PGQ[@]}" -d $DB <<'SQL'
DO $$
DECLARE m date; t text;
BEGIN
  FOR m IN SELECT generate_series(date_trunc('month', (now() AT TIME ZONE 'Asia/Shanghai')::date - 100),
                                  date_trunc('month', (now() AT TIME ZONE 'Asia/Shanghai')::date), interval '1 month')::date LOOP
    FOREACH t IN ARRAY ARRAY['database_size_stats','instance_size_stats','database_size_aggregations','instance_size_aggregations'] LOOP
      EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                     t || '_' || to_char(m, 'YYYY_MM'), t, m, (m + interval '1 month')::date);
    END LOOP;
  END LOOP;
END $$;
INSERT INTO instances (name, db_type, host, port, is_active, sync_count, description)
SELECT 'cap-' || i, (ARRAY['mysql','postgresql','sqlserver','oracle'])[1 + i % 4], '10.1.' || (i / 250) || '.' || (i % 250), 3306, true, 0, ''
FROM generate_series(1, 1000) i;
INSERT INTO instance_databases (instance_id, database_name, is_active, first_seen_date, last_seen_date)
SELECT i.id, 'db_' || d, true, CURRENT_DATE - 90, CURRENT_DATE FROM instances i, generate_series(1, 10) d;
INSERT INTO database_size_stats (instance_id, database_name, size_mb, data_size_mb, collected_date, collected_at)
SELECT d.instance_id, d.database_name, s.mb, s.mb, s.day, s.day + time '03:00'
FROM instance_databases d,
     LATERAL (SELECT day::date AS day, 100 + (d.id % 50) * 10 + (day::date - ((now() AT TIME ZONE 'Asia/Shanghai')::date - 89)) AS mb
              FROM generate_series((now() AT TIME ZONE 'Asia/Shanghai')::date - 89, (now() AT TIME ZONE 'Asia/Shanghai')::date, interval '1 day') day) s;
INSERT INTO instance_size_stats (instance_id, total_size_mb, database_count, collected_date, collected_at)
SELECT instance_id, SUM(size_mb), COUNT(*), collected_date, MAX(collected_at) FROM database_size_stats GROUP BY instance_id, collected_date;
ANALYZE;
SQL
echo "seeded in $(echo "$(date +%s.%N) - $T0" | bc) s: $("${PGQ[@]}" -At -d $DB -c 'SELECT count(*) FROM database_size_stats') database rows, $("${PGQ[@]}" -At -d $DB -c 'SELECT count(*) FROM instance_size_stats') instance rows"
J=$WORK/jar
CSRF=$(curl -s -c $J -b $J $B/auth/csrf-token | jq -r .data.csrf_token)
H=(-s -c $J -b $J -H "X-CSRFToken: $CSRF" -H 'Content-Type: application/json')
curl "${H[@]}" -o /dev/null -d '{"username":"admin","password":"Admin12345"}' $B/auth/login
echo "== 1. POST /capacity/aggregations/current (scope all)"
for run in 1 2; do
  curl "${H[@]}" -o $WORK/current.json -w "manual aggregation (run $run): %{time_total} s\n" -d '{"scope":"all"}' $B/capacity/aggregations/current
done
jq -c '.data.result | {status, message, db: .database_summary.processed_records, inst: .instance_summary.processed_records, session: .session.status}' $WORK/current.json
echo "== 2. scheduled aggregation, all four period types (whalefall aggregate)"
(cd "$WORK" && DATABASE_URL=$URL LOG_LEVEL=WARNING /usr/bin/time -f "aggregate process peak RSS: %M KB" "$BIN" aggregate) 2>&1 | sed 's/^{.*"periods_executed":\(\[[^]]*\]\).*/periods executed: \1/'
COOKIE=$(sed 's/^#HttpOnly_//' $J | awk '!/^#/ && NF>=7 {printf "%s=%s; ", $6, $7}' | sed 's/; $//')
curl -s -H "Cookie: $COOKIE" "$B/capacity/instances" | jq -r '"capacity/instances: total \(.data.total), \(.data.items | length) items on the page"'
wrk -t2 -c16 -d3s -H "Cookie: $COOKIE" "$B/capacity/instances" > /dev/null
echo "== 3. GET /capacity/instances, 16 connections, ${DURATION}s"
wrk -t2 -c16 -d"${DURATION}s" --latency -H "Cookie: $COOKIE" "$B/capacity/instances" | grep -E "Requests/sec|50%|99%|Non-2xx"
echo "server peak RSS: $(awk '/VmHWM/ {print $2/1024 " MB"}' /proc/$PID/status)"
