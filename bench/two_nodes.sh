#!/usr/bin/env bash
# Benchmark (not a test), issue 16: two nodes sharing a sync-all. This machine's PostgreSQL
# and MariaDB (ACCOUNTS extra roles / users each) registered 100 times each (200 instances) on
# a fresh PostgreSQL store. Node A alone runs sync-all #1 (creates every account) and #2
# (nothing changed), timed; then node B starts on the same store and sync-all #3 (nothing
# changed) runs on both (the nodes share their secrets, as production nodes must). Prints the wall times, each node's share of the instances (from the
# records' claims) and each node's peak RSS. Servers are stopped by their pid; everything
# created is dropped.
# Usage: bench/two_nodes.sh [accounts per server]   (SYNC_PARALLELISM=4 per node)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ACCOUNTS=${1:-500}
PA=5087 PB=5088
DB=wf_bench_two_$$
TAG=wft$$
WORK=$(mktemp -d)
bash scripts/services.sh >/dev/null
cargo build -q --release -p whalefall
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  "${PGQ[@]}" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  drop_server_accounts $TAG
  rm -rf "$WORK"
}
trap cleanup EXIT
make_server_accounts $TAG $ACCOUNTS
"${PGQ[@]}" -c "CREATE DATABASE $DB"
node() {  # node port id
  mkdir -p "$WORK/$2"
  (cd "$WORK/$2" && exec env DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB DEFAULT_ADMIN_PASSWORD=Admin12345 \
    LOG_LEVEL=WARNING ENABLE_SCHEDULER=false WHALEFALL_NODE_ID=$2 SECRET_KEY=bench-two-nodes JWT_SECRET_KEY=bench-two-nodes-jwt \
    PASSWORD_ENCRYPTION_KEY=dGhpcy1pcy1hLTMyLWJ5dGUta2V5LWZvci10ZXN0cyE= "$BIN" serve --bind 127.0.0.1:$1 > server.log 2>&1) &
  PIDS+=($!)
  wait_up "http://127.0.0.1:$1/api/v1"
}
node $PA node-a
B=http://127.0.0.1:$PA/api/v1
J=$WORK/jar
login $B $J
H=(-s -c $J -b $J -H "X-CSRFToken: $CSRF")
register_fleet $B $TAG
run() {  # run label -> prints time and shares
  local t0 sid
  t0=$(now)
  sid=$(curl "${H[@]}" -H 'Content-Type: application/json' -d '{}' $B/accounts/actions/sync-all | jq -r .data.session_id)
  while [ "$(curl -s -b $J "$B/history/sessions/$sid" | jq -r .data.session.status)" = running ]; do sleep 0.2; done
  echo "$1: $(since $t0) s, $(curl -s -b $J "$B/history/sessions/$sid" | jq -r '.data.session | "\(.status), \(.successful_instances) ok, \(.failed_instances) failed"')"
  "${PGQ[@]}" -d $DB -Atc "SELECT '  ' || node || ': ' || count(*) || ' instances, ' || sum(items_synced) || ' accounts' FROM (SELECT split_part(claimed_by, ':', 1) AS node, items_synced FROM sync_instance_records WHERE session_id = '$sid') r GROUP BY node ORDER BY node"
}
run "sync-all #1 on node A alone (creates the accounts)"
run "sync-all #2 on node A alone (nothing changed)"
echo "node A peak RSS so far: $(peak_rss "${PIDS[0]}")"
node $PB node-b
run "sync-all #3 on nodes A and B (nothing changed)"
run "sync-all #4 on nodes A and B (nothing changed)"
echo "peak RSS: node A $(peak_rss "${PIDS[0]}"), node B $(peak_rss "${PIDS[1]}")"
