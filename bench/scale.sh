#!/usr/bin/env bash
# Benchmark (not a test), issue 12: fleet-size scale on a fresh PostgreSQL store.
# Grows the fleet to each size of SIZES through the CSV import (POST /instances/batch-create,
# 10,000 rows per request, timed) and measures with wrk (16 connections, loopback, bounded):
#   GET /instances (default page), ?search=sc-0012, a deep page (middle of the list),
#   GET /history/logs/list (default 24 h)
# then times the bulk paths at the largest size (tag assignment to 5,000 instances, batch delete
# of 5,000 instances), writes ACCOUNTS synthetic accounts into the store and measures the account
# ledger: default page, a filter (db_type=mysql), a search (acct-00123) and a deep page.
# Servers are stopped by their pid; the store is dropped (KEEP_DB=1 keeps it).
# Usage: bench/scale.sh [seconds]   (SIZES="1000 10000 100000" ACCOUNTS=1000000 by default;
#        STORE=sqlite runs the same on the embedded SQLite store)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-5}
SIZES=${SIZES:-1000 10000 100000}
ACCOUNTS=${ACCOUNTS:-1000000}
PORT=${PORT:-5096}
B=http://127.0.0.1:$PORT/api/v1
DB=wf_bench_scale_$$
STORE=${STORE:-postgres}
WORK=$(mktemp -d)
if [ "$STORE" = sqlite ]; then URL="sqlite:///$WORK/whalefall.db"; else URL="postgres://postgres@127.0.0.1:5432/$DB"; fi
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
bash scripts/services.sh >/dev/null
cargo build -q --release -p whalefall
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/whalefall
PGQ=(psql -q -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1)
store_sql() {  # SQL on stdin, run on the benchmark store
  if [ "$STORE" = sqlite ]; then sqlite3 -bail "$WORK/whalefall.db"; else "${PGQ[@]}" -d $DB; fi
}
PID=
cleanup() {
  [ -n "$PID" ] && { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; }
  if [ "$STORE" = postgres ] && [ -z "${KEEP_DB:-}" ]; then "${PGQ[@]}" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  elif [ "$STORE" = postgres ]; then echo "kept database $DB"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
[ "$STORE" = postgres ] && "${PGQ[@]}" -c "CREATE DATABASE $DB"
(cd "$WORK" && exec env DATABASE_URL=$URL DEFAULT_ADMIN_PASSWORD=Admin12345 LOG_LEVEL=WARNING ENABLE_SCHEDULER=false \
  "$BIN" serve --bind 127.0.0.1:$PORT > server.log 2>&1) &
PID=$!
for _ in $(seq 1 100); do curl -sf $B/health/ping >/dev/null && break; sleep 0.2; done
J=$WORK/jar
CSRF=$(curl -s -c $J -b $J $B/auth/csrf-token | jq -r .data.csrf_token)
H=(-s -c $J -b $J -H "X-CSRFToken: $CSRF")
curl "${H[@]}" -o /dev/null -H 'Content-Type: application/json' -d '{"username":"admin","password":"Admin12345"}' $B/auth/login
COOKIE=$(sed 's/^#HttpOnly_//' $J | awk '!/^#/ && NF>=7 {printf "%s=%s; ", $6, $7}' | sed 's/; $//')
now() { date +%s.%N; }
since() { echo "scale=2; ($(now) - $1) / 1" | bc; }
measure() {  # measure label url
  wrk -t2 -c16 -d2s -H "Cookie: $COOKIE" "$2" > /dev/null
  local out; out=$(wrk -t2 -c16 -d"${DURATION}s" --latency -H "Cookie: $COOKIE" "$2")
  printf '%-44s %10s req/s   p50 %8s   p99 %8s\n' "$1" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1 == "50%" {print $2}' <<<"$out")" "$(awk '$1 == "99%" {print $2}' <<<"$out")"
  grep -q "Non-2xx" <<<"$out" && grep "Non-2xx" <<<"$out" || true
}
total() { curl -s -H "Cookie: $COOKIE" "$1" | jq -r '.data.total'; }
TYPES=(mysql postgresql sqlserver oracle)
HAVE=0
for N in $SIZES; do
  T0=$(now); REQS=0
  while [ "$HAVE" -lt "$N" ]; do
    TO=$((HAVE + 10000 < N ? HAVE + 10000 : N))
    { echo "name,db_type,host,port,description"
      seq $((HAVE + 1)) "$TO" | awk '{printf "sc-%05d,%s,10.%d.%d.%d,5432,scale instance %d\n", $1, ($1%4==0?"mysql":($1%4==1?"postgresql":($1%4==2?"sqlserver":"oracle"))), int($1/65536)%256, int($1/256)%256, $1%256, $1}'
    } > $WORK/batch.csv
    curl "${H[@]}" -F "file=@$WORK/batch.csv;filename=batch.csv" $B/instances/batch-create | jq -e '.success' > /dev/null
    HAVE=$TO; REQS=$((REQS + 1))
  done
  echo "== $N instances (CSV import of the new rows: $(since $T0) s in $REQS requests)"
  echo "ANALYZE;" | store_sql
  if [ "$N" = "$(echo $SIZES | awk '{print $1}')" ]; then  # log rows for the log list, once
    if [ "$STORE" = sqlite ]; then store_sql <<'SQL'
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 100000)
INSERT INTO unified_logs (timestamp, level, module, message, context, created_at)
SELECT strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '-' || i || ' seconds'), 'INFO', 'instances', 'scale log entry ' || i,
       json_object('i', i), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now') FROM s;
ANALYZE;
SQL
    else store_sql <<'SQL'
INSERT INTO unified_logs (timestamp, level, module, message, context, created_at)
SELECT now() - i * interval '1 second', 'INFO', 'instances', 'scale log entry ' || i, jsonb_build_object('i', i), now()
FROM generate_series(1, 100000) i;
ANALYZE unified_logs;
SQL
    fi
  fi
  echo "totals: all $(total "$B/instances"), search $(total "$B/instances?search=sc-0012")"
  measure "GET /instances" "$B/instances"
  measure "GET /instances?search=sc-0012" "$B/instances?search=sc-0012"
  measure "GET /instances?page=$((N / 40)) (deep)" "$B/instances?page=$((N / 40))"
  measure "GET /history/logs/list" "$B/history/logs/list"
done
echo "== bulk paths at $HAVE instances"
TAG=$(curl "${H[@]}" -H 'Content-Type: application/json' -d '{"name":"scale","display_name":"scale","category":"bench","color":"primary"}' $B/tags | jq '.data.tag.id // .data.id')
IDS=$(seq 1 5000 | paste -sd, -)
T0=$(now)
curl "${H[@]}" -H 'Content-Type: application/json' -d "{\"instance_ids\":[$IDS],\"tag_ids\":[$TAG]}" $B/tags/bulk/assign | jq -r .message
echo "tag assignment to 5,000 instances: $(since $T0) s"
measure "GET /instances?tags=scale" "$B/instances?tags=scale"
IDS=$(seq 5001 10000 | paste -sd, -)
T0=$(now)
curl "${H[@]}" -H 'Content-Type: application/json' -d "{\"instance_ids\":[$IDS]}" $B/instances/batch-delete | jq -r .message
echo "batch delete (soft) of 5,000 instances: $(since $T0) s"
echo "== $ACCOUNTS accounts"
T0=$(now)
if [ "$STORE" = sqlite ]; then store_sql <<SQL
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < $ACCOUNTS)
INSERT INTO instance_accounts (instance_id, username, db_type, is_active)
SELECT 1 + n % $HAVE, 'acct-' || printf('%07d', n), CASE (1 + n % $HAVE) % 4 WHEN 0 THEN 'mysql' WHEN 1 THEN 'postgresql' WHEN 2 THEN 'sqlserver' ELSE 'oracle' END, n % 50 <> 0
FROM s;
INSERT INTO account_permission (instance_id, db_type, username, instance_account_id, is_superuser, is_locked, permission_facts)
SELECT instance_id, db_type, username, id, id % 100 = 0, id % 20 = 0,
       json_object('version', 2, 'db_type', db_type, 'roles', json_array('role_' || (id % 7)))
FROM instance_accounts;
ANALYZE;
SQL
else store_sql <<SQL
INSERT INTO instance_accounts (instance_id, username, db_type, is_active)
SELECT 1 + n % $HAVE, 'acct-' || lpad(n::text, 7, '0'), (ARRAY['mysql','postgresql','sqlserver','oracle'])[1 + (1 + n % $HAVE) % 4], n % 50 <> 0
FROM generate_series(1, $ACCOUNTS) n;
INSERT INTO account_permission (instance_id, db_type, username, instance_account_id, is_superuser, is_locked, permission_facts)
SELECT ia.instance_id, ia.db_type, ia.username, ia.id, ia.id % 100 = 0, ia.id % 20 = 0,
       jsonb_build_object('version', 2, 'db_type', ia.db_type, 'roles', jsonb_build_array('role_' || (ia.id % 7)))
FROM instance_accounts ia;
ANALYZE;
SQL
fi
echo "written in $(since $T0) s"
echo "totals: all $(total "$B/accounts/ledgers"), mysql $(total "$B/accounts/ledgers?db_type=mysql"), search $(total "$B/accounts/ledgers?search=acct-00123")"
measure "GET /accounts/ledgers" "$B/accounts/ledgers"
measure "GET /accounts/ledgers?db_type=mysql" "$B/accounts/ledgers?db_type=mysql"
measure "GET /accounts/ledgers?search=acct-00123" "$B/accounts/ledgers?search=acct-00123"
measure "GET /accounts/ledgers?page=250" "$B/accounts/ledgers?page=250"
measure "GET /instances/2/accounts" "$B/instances/2/accounts"
echo "GET /accounts/ledgers?page=25000 (offset 499,980), one request: $(curl -s -o /dev/null -w '%{time_total}' -H "Cookie: $COOKIE" "$B/accounts/ledgers?page=25000") s"
echo "server peak RSS: $(awk '/VmHWM/ {print $2/1024 " MB"}' /proc/$PID/status)"
grep -c '"level":"ERROR"\|ERROR' "$WORK/server.log" | sed 's/^/server log lines with ERROR: /' || true
