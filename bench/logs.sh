#!/usr/bin/env bash
# Benchmark (not a test), issue 11: the log centre on 1,000,000 rows. Writes 1,000,000 log
# entries spread over 90 days straight into a fresh PostgreSQL store, then measures with wrk
# (16 connections, loopback, bounded):
#   GET /history/logs/list (default 24 h), ?hours=2160 (90 days), ?hours=2160&search=<term>
# and the cost of logging: GET /instances with the server emitting 0 vs 10,000 INFO events/s
# (WHALEFALL_LOG_LOAD_PER_SEC) through the log centre's queue and batched writer.
# Servers are stopped by their pid; the store is dropped (KEEP_DB=1 keeps it).
# Usage: bench/logs.sh [seconds]   (ONLY_LOAD=1: only the logging-cost part, no seeding)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
PORT=${PORT:-5094}
B=http://127.0.0.1:$PORT/api/v1
DB=wf_bench_logs_$$
URL="postgres://postgres@127.0.0.1:5432/$DB"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
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
start() {  # start [extra env…]
  (cd "$WORK" && exec env DATABASE_URL=$URL DEFAULT_ADMIN_PASSWORD=Admin12345 LOG_LEVEL=WARNING ENABLE_SCHEDULER=false "$@" \
    "$BIN" serve --bind 127.0.0.1:$PORT > server.log 2>&1) &
  PID=$!
  for _ in $(seq 1 100); do curl -sf $B/health/ping >/dev/null && break; sleep 0.2; done
  J=$WORK/jar; rm -f $J
  CSRF=$(curl -s -c $J -b $J $B/auth/csrf-token | jq -r .data.csrf_token)
  curl -s -o /dev/null -c $J -b $J -H "X-CSRFToken: $CSRF" -H 'Content-Type: application/json' \
    -d '{"username":"admin","password":"Admin12345"}' $B/auth/login
  COOKIE=$(sed 's/^#HttpOnly_//' $J | awk '!/^#/ && NF>=7 {printf "%s=%s; ", $6, $7}' | sed 's/; $//')
}
measure() {  # measure label url
  wrk -t2 -c16 -d2s -H "Cookie: $COOKIE" "$2" > /dev/null
  echo "== $1"
  wrk -t2 -c16 -d"${DURATION}s" --latency -H "Cookie: $COOKIE" "$2" | grep -E "Requests/sec|50%|99%|Non-2xx"
}
"${PGQ[@]}" -c "CREATE DATABASE $DB"
start
stop
if [ -z "${ONLY_LOAD:-}" ]; then
echo "== seeding 1,000,000 log rows over 90 days"
T0=$(date +%s.%N)
"${PGQ[@]}" -d $DB <<'SQL'
INSERT INTO unified_logs (timestamp, level, module, message, traceback, context, created_at)
SELECT now() - (i * interval '90 days' / 1000000),
       CASE WHEN i % 20 = 0 THEN 'ERROR' WHEN i % 7 = 0 THEN 'WARNING' ELSE 'INFO' END,
       (ARRAY['accounts_sync','capacity_sync','aggregation','scheduler','instances','auth','connection','partition_service'])[1 + i % 8],
       CASE WHEN i % 50 = 0 THEN '实例 sc-' || lpad((i % 10000)::text, 4, '0') || ' 容量采集失败: connection refused'
            ELSE '账户同步完成: 实例 ' || (i % 1000) || ' 处理 ' || (i % 97) || ' 个账户' END,
       NULL,
       jsonb_build_object('request_id', md5(i::text), 'user_id', 1 + i % 5, 'instance_id', i % 1000),
       now() - (i * interval '90 days' / 1000000)
FROM generate_series(1, 1000000) i;
ANALYZE unified_logs;
SQL
echo "seeded in $(echo "$(date +%s.%N) - $T0" | bc) s"
start
curl -s -H "Cookie: $COOKIE" "$B/history/logs/list" | jq -r '"24 h: total \(.data.total)"'
curl -s -H "Cookie: $COOKIE" "$B/history/logs/list?hours=2160" | jq -r '"90 days: total \(.data.total)"'
curl -s -H "Cookie: $COOKIE" "$B/history/logs/list?hours=2160&search=sc-0050" | jq -r '"search sc-0012: total \(.data.total)"'
measure "GET /history/logs/list (24 h), 16 connections, ${DURATION}s" "$B/history/logs/list"
measure "GET /history/logs/list?hours=2160 (90 days)" "$B/history/logs/list?hours=2160"
measure "GET /history/logs/list?hours=2160&search=sc-0050" "$B/history/logs/list?hours=2160&search=sc-0050"
stop
fi
# Logging cost: rounds alternate a quiet server and one logging 10,000 events/s, so drift of
# the machine falls on both sides; the overhead is taken between the medians.
ROUNDS=${ROUNDS:-3}
rps() {  # rps url → requests/s over DURATION
  wrk -t2 -c16 -d2s -H "Cookie: $COOKIE" "$1" > /dev/null
  wrk -t2 -c16 -d"${DURATION}s" --latency -H "Cookie: $COOKIE" "$1" | awk '/Requests\/sec/ {print $2}'
}
QUIET=(); LOADED=()
for r in $(seq 1 "$ROUNDS"); do
  start
  QUIET+=("$(rps "$B/instances")")
  stop
  start WHALEFALL_LOG_LOAD_PER_SEC=10000
  sleep 2
  if [ "$r" = 1 ]; then  # the cost of logging alone, no requests: CPU seconds per second
    ticks() { local s=0; for p in "$@"; do [ -r /proc/$p/stat ] && s=$((s + $(awk '{print $14+$15}' /proc/$p/stat))); done; echo $s; }
    PGPIDS=$(pgrep -u postgres postgres | tr '\n' ' ')
    S0=$(ticks $PID); P0=$(ticks $PGPIDS); sleep 5; S1=$(ticks $PID); P1=$(ticks $PGPIDS)
    echo "logging 10,000 events/s alone: server $(echo "scale=3; ($S1 - $S0) / 500" | bc) cores," \
         "PostgreSQL $(echo "scale=3; ($P1 - $P0) / 500" | bc) cores"
  fi
  BEFORE=$("${PGQ[@]}" -At -d $DB -c "SELECT count(*) FROM unified_logs WHERE module = 'log_load'")
  T0=$(date +%s.%N)
  TOPPID=
  if [ -n "${TOP:-}" ]; then (top -b -d 4 -n 2 | awk '/^top -/ {n++} n==2' | sed -n '7,14p') & TOPPID=$!; fi
  LOADED+=("$(rps "$B/instances")")
  [ -n "$TOPPID" ] && wait "$TOPPID"
  AFTER=$("${PGQ[@]}" -At -d $DB -c "SELECT count(*) FROM unified_logs WHERE module = 'log_load'")
  echo "round $r: GET /instances ${QUIET[-1]} req/s quiet, ${LOADED[-1]} req/s while logging" \
       "($(echo "($AFTER - $BEFORE) / ($(date +%s.%N) - $T0)" | bc) log rows/s written)"
  echo "server peak RSS: $(awk '/VmHWM/ {print $2/1024 " MB"}' /proc/$PID/status)"
  stop
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
MQ=$(median "${QUIET[@]}"); ML=$(median "${LOADED[@]}")
echo "== GET /instances, median of $ROUNDS rounds: $MQ req/s quiet, $ML req/s while logging 10,000 events/s:" \
     "overhead $(echo "scale=1; 100 * ($MQ - $ML) / $MQ" | bc) %"
echo "secrets stored: $("${PGQ[@]}" -At -d $DB -c "SELECT count(*) FROM unified_logs WHERE context::text LIKE '%never-stored%'")"
