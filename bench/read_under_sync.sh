#!/usr/bin/env bash
# Benchmark (not a test), issue 16: reads under write load. A fresh PostgreSQL store with
# 100,000 instances and 1,000,000 synthetic accounts, plus this machine's PostgreSQL and
# MariaDB (500 extra roles / users each) registered 100 times each (200 real instances,
# ~100,000 more accounts after the first sync). Then ROUNDS rounds of: an idle window and a
# window while a sync-all of the 200 real instances runs, each measuring with wrk (16
# connections) GET /accounts/ledgers and GET /instances for SECONDS each. CHANGE=1 alters one
# role on the PostgreSQL server before each loaded window, so every PostgreSQL instance's sync
# writes a change (the ledger's cached totals are then really invalidated 100 times a run).
# Prints every window and the loaded/idle ratio (goal: ≥ 0.5 with p99 < 100 ms).
# Everything it creates is dropped; the server is stopped by its pid.
# CHANGE=alt alters the role before even rounds only.
# Usage: bench/read_under_sync.sh [seconds]   (ROUNDS=2 CHANGE=0 INSTANCES=100000 ACCOUNTS=1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
DURATION=${1:-5}
ROUNDS=${ROUNDS:-2}
CHANGE=${CHANGE:-0}
INSTANCES=${INSTANCES:-100000}
ACCOUNTS=${ACCOUNTS:-1000000}
PORT=${PORT:-5091}
B=http://127.0.0.1:$PORT/api/v1
DB=wf_bench_rus_$$
TAG=wfr$$
WORK=$(mktemp -d)
bash scripts/services.sh >/dev/null
cargo build -q --release -p whalefall
PID=
cleanup() {
  [ -n "$PID" ] && { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; }
  "${PGQ[@]}" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  drop_server_accounts $TAG
  rm -rf "$WORK"
}
trap cleanup EXIT
echo "== 500 PostgreSQL roles, 500 MariaDB users; store with $INSTANCES instances and $ACCOUNTS accounts"
make_server_accounts $TAG 500
"${PGQ[@]}" -c "CREATE DATABASE $DB"
(cd "$WORK" && exec env DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB DEFAULT_ADMIN_PASSWORD=Admin12345 \
  LOG_LEVEL=WARNING ENABLE_SCHEDULER=false "$BIN" serve --bind 127.0.0.1:$PORT > server.log 2>&1) &
PID=$!
wait_up $B
J=$WORK/jar
login $B $J
H=(-s -c $J -b $J -H "X-CSRFToken: $CSRF")
register_fleet $B $TAG
T0=$(now)
"${PGQ[@]}" -d $DB <<SQL
INSERT INTO instances (name, db_type, host, port, is_active)
SELECT 'sc-' || lpad(n::text, 6, '0'), (ARRAY['mysql','postgresql','sqlserver','oracle'])[1 + n % 4], '10.1.' || (n / 250 % 250) || '.' || (n % 250), 5432, false
FROM generate_series(1, $INSTANCES - 200) n;
INSERT INTO instance_accounts (instance_id, username, db_type, is_active)
SELECT 201 + n % ($INSTANCES - 200), 'acct-' || lpad(n::text, 7, '0'), (ARRAY['mysql','postgresql','sqlserver','oracle'])[1 + (201 + n % ($INSTANCES - 200)) % 4], n % 50 <> 0
FROM generate_series(1, $ACCOUNTS) n;
INSERT INTO account_permission (instance_id, db_type, username, instance_account_id, is_superuser, is_locked, permission_facts)
SELECT ia.instance_id, ia.db_type, ia.username, ia.id, ia.id % 100 = 0, ia.id % 20 = 0,
       jsonb_build_object('version', 2, 'db_type', ia.db_type, 'roles', jsonb_build_array('role_' || (ia.id % 7)))
FROM instance_accounts ia;
ANALYZE;
SQL
echo "seeded in $(since $T0) s (synthetic instances are inactive: the sync-all covers the 200 real ones)"
sync_all() {  # start a sync-all, print its session id
  curl "${H[@]}" -H 'Content-Type: application/json' -d '{}' $B/accounts/actions/sync-all | jq -r .data.session_id
}
status_of() { curl -s -b $J "$B/history/sessions/$1" | jq -r '.data.session.status'; }
wait_session() { while [ "$(status_of "$1")" = running ]; do sleep 0.5; done; }
T0=$(now); S=$(sync_all); wait_session "$S"
echo "first sync-all (creates the real accounts): $(since $T0) s, $(status_of "$S")"
echo "totals: ledger $(curl -s -H "Cookie: $COOKIE" $B/accounts/ledgers | jq .data.total), instances $(curl -s -H "Cookie: $COOKIE" $B/instances | jq .data.total)"
wrk -t2 -c16 -d2s -H "Cookie: $COOKIE" $B/accounts/ledgers > /dev/null
wrk -t2 -c16 -d2s -H "Cookie: $COOKIE" $B/instances > /dev/null
IDLE_L=() IDLE_I=() LOAD_L=() LOAD_I=()
for r in $(seq 1 "$ROUNDS"); do
  L=$(wrk_line "round $r idle   GET /accounts/ledgers" "$DURATION" "$B/accounts/ledgers" "$COOKIE"); echo "$L"; IDLE_L+=("$(rps "$L")")
  I=$(wrk_line "round $r idle   GET /instances" "$DURATION" "$B/instances" "$COOKIE"); echo "$I"; IDLE_I+=("$(rps "$I")")
  if [ "$CHANGE" = 1 ] || { [ "$CHANGE" = alt ] && [ $((r % 2)) = 0 ]; }; then
    # CREATEDB on rounds 2, 6, …, NOCREATEDB on rounds 4, 8, … (CHANGE=1: also on odd rounds)
    "${PGQ[@]}" -d postgres -c "ALTER ROLE ${TAG}_r1 $( [ $((r % 4)) = 2 ] && echo CREATEDB || echo NOCREATEDB)"
    echo "round $r: one role altered on the PostgreSQL server (every PostgreSQL instance's sync writes a change)"
  fi
  T0=$(now); S=$(sync_all); sleep 1
  L=$(wrk_line "round $r loaded GET /accounts/ledgers" "$DURATION" "$B/accounts/ledgers" "$COOKIE"); echo "$L"; LOAD_L+=("$(rps "$L")")
  I=$(wrk_line "round $r loaded GET /instances" "$DURATION" "$B/instances" "$COOKIE"); echo "$I"; LOAD_I+=("$(rps "$I")")
  echo "round $r: sync-all still $(status_of "$S") at the end of the loaded window"
  wait_session "$S"
  echo "round $r: sync-all took $(since $T0) s ($(status_of "$S"), change-log rows $("${PGQ[@]}" -d $DB -Atc "SELECT count(*) FROM account_change_log WHERE session_id = '$S'"))"
done
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "ledger: idle median $(med "${IDLE_L[@]}"), loaded median $(med "${LOAD_L[@]}"), ratio $(echo "scale=2; $(med "${LOAD_L[@]}") / $(med "${IDLE_L[@]}")" | bc)"
echo "instances: idle median $(med "${IDLE_I[@]}"), loaded median $(med "${LOAD_I[@]}"), ratio $(echo "scale=2; $(med "${LOAD_I[@]}") / $(med "${IDLE_I[@]}")" | bc)"
echo "server peak RSS: $(peak_rss $PID)"
grep -c 'ERROR' "$WORK/server.log" | sed 's/^/server log lines with ERROR: /' || true
