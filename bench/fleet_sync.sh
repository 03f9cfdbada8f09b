#!/usr/bin/env bash
# Benchmark (not a test), issue 8: fleet account sync. Creates 500 extra roles on this
# machine's PostgreSQL and 500 extra users on its MariaDB, registers each server as 100
# instances (same server, different names) on a fresh PostgreSQL app store, runs
# POST /accounts/actions/sync-all, polls the session until it ends and prints the wall time,
# the remote statements per instance (counted by the adapters, from the session's records)
# and the server's peak RSS; then runs again with nothing changed and checks that no
# change-log row was written. Loopback only; everything it creates is dropped, the server it
# starts is stopped by its pid.
# Usage: bench/fleet_sync.sh [accounts per server] [instances per server]
set -euo pipefail
cd "$(dirname "$0")/.."
ACCOUNTS=${1:-500}
INSTANCES=${2:-100}
PORT=${PORT:-5089}
B=http://127.0.0.1:$PORT/api/v1
DB=wf_bench_fleet_$$
TAG=wfb$$
bash scripts/services.sh >/dev/null
cargo build -q --release -p whalefall
WORK=$(mktemp -d)
PGQ=(psql -q -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1)
MYQ=(mysql -uroot -h127.0.0.1)
cleanup() {
  [ -n "${PID:-}" ] && { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; }
  "${PGQ[@]}" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  "${PGQ[@]}" -d postgres -c "DO \$\$DECLARE r record; BEGIN FOR r IN SELECT rolname FROM pg_roles WHERE rolname LIKE '${TAG}\_%' LOOP EXECUTE format('DROP ROLE %I', r.rolname); END LOOP; END\$\$" || true
  "${MYQ[@]}" -N -e "SELECT CONCAT('DROP USER \`', User, '\`@\`', Host, '\`;') FROM mysql.user WHERE User LIKE '${TAG}\_%'" | "${MYQ[@]}" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
echo "== creating $ACCOUNTS PostgreSQL roles and $ACCOUNTS MariaDB users"
"${PGQ[@]}" -d postgres -c "DO \$\$BEGIN FOR i IN 1..$ACCOUNTS LOOP EXECUTE format('CREATE ROLE %I LOGIN', '${TAG}_r' || i); END LOOP; END\$\$"
{ for i in $(seq 1 "$ACCOUNTS"); do echo "CREATE USER '${TAG}_u$i'@'%' IDENTIFIED BY 'x'; GRANT SELECT ON mysql.* TO '${TAG}_u$i'@'%';"; done
  echo "CREATE USER '${TAG}_mon'@'%' IDENTIFIED BY 'Monitor123'; GRANT SELECT ON *.* TO '${TAG}_mon'@'%';"; } | "${MYQ[@]}"
"${PGQ[@]}" -c "CREATE DATABASE $DB"
(cd "$WORK" && DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" DEFAULT_ADMIN_PASSWORD=Admin12345 LOG_LEVEL=WARNING \
  exec "${CARGO_TARGET_DIR:-$OLDPWD/target}/release/whalefall" serve --bind 127.0.0.1:$PORT > server.log 2>&1) &
PID=$!
for _ in $(seq 1 100); do curl -sf $B/health/ping >/dev/null && break; sleep 0.2; done
J=$WORK/jar
CSRF=$(curl -s -c $J -b $J $B/auth/csrf-token | jq -r .data.csrf_token)
H=(-s -c $J -b $J -H "X-CSRFToken: $CSRF")
curl "${H[@]}" -o /dev/null -H 'Content-Type: application/json' -d '{"username":"admin","password":"Admin12345"}' $B/auth/login
PGC=$(curl "${H[@]}" -H 'Content-Type: application/json' -d '{"name":"bench-pg","credential_type":"database","username":"postgres","password":"trustauth"}' $B/credentials | jq .data.credential.id)
MYC=$(curl "${H[@]}" -H 'Content-Type: application/json' -d "{\"name\":\"bench-my\",\"credential_type\":\"database\",\"username\":\"${TAG}_mon\",\"password\":\"Monitor123\"}" $B/credentials | jq .data.credential.id)
{ echo "name,db_type,host,port,credential_id"
  for i in $(seq 1 "$INSTANCES"); do echo "pg-$i,postgresql,127.0.0.1,5432,$PGC"; echo "my-$i,mysql,127.0.0.1,3306,$MYC"; done; } > $WORK/fleet.csv
curl "${H[@]}" -F "file=@$WORK/fleet.csv" $B/instances/batch-create | jq -r .message
run() {
  local t0 sid status
  t0=$(date +%s.%N)
  sid=$(curl "${H[@]}" -H 'Content-Type: application/json' -d '{}' $B/accounts/actions/sync-all | jq -r .data.session_id)
  # watch progress the way the session list shows it (counters, no per-instance details)
  while :; do
    status=$(curl -s -b $J "$B/history/sessions?sync_category=account&page_size=5" |
      jq -r --arg s "$sid" '.data.items[] | select(.session_id == $s) | .status')
    [ -n "$status" ] && [ "$status" != running ] && break
    sleep 0.2
  done
  echo "$sid $(echo "$(date +%s.%N) - $t0" | bc)"
}
echo "== sync-all #1 ($((2 * INSTANCES)) instances, $ACCOUNTS+ accounts each)"
read -r SID SECS < <(run)
curl -s -b $J "$B/history/sessions/$SID" > $WORK/s1.json
jq -r '.data.session | "status \(.status), \(.successful_instances) ok, \(.failed_instances) failed"' $WORK/s1.json
echo "wall time: ${SECS} s"
jq -r '[.data.session.instance_records[] | {t: (.instance_name | split("-")[0]), q: .sync_details.remote_queries, n: .sync_details.inventory.active_count}] | group_by(.t)[] | "\(.[0].t): remote statements per instance min \(map(.q) | min) max \(map(.q) | max); accounts per instance \(map(.n) | min)-\(map(.n) | max)"' $WORK/s1.json
echo "server peak RSS: $(awk '/VmHWM/ {print $2/1024 " MB"}' /proc/$PID/status)"
echo "== sync-all #2 (nothing changed)"
read -r SID2 SECS2 < <(run)
curl -s -b $J "$B/history/sessions/$SID2" > $WORK/s2.json
jq -r '.data.session | "status \(.status)"' $WORK/s2.json
echo "change-log rows written by run #2: $("${PGQ[@]}" -d $DB -Atc "SELECT count(*) FROM account_change_log WHERE session_id = '$SID2'") (run #1: $("${PGQ[@]}" -d $DB -Atc "SELECT count(*) FROM account_change_log WHERE session_id = '$SID'"))"
echo "wall time: ${SECS2} s"
echo "server peak RSS: $(awk '/VmHWM/ {print $2/1024 " MB"}' /proc/$PID/status)"
