#!/usr/bin/env bash
# Benchmark (not a test), issue 16: per-request overhead. Builds WhaleFall and a bare axum 0.8
# JSON handler (crates/whalefall/examples/bare_axum.rs) in release mode, starts both on
# loopback and measures GET /api/v1/health/ping on each with wrk (16 connections), ROUNDS
# times alternating, then GET /api/v1/instances (default page, 1,000 instances, PostgreSQL
# store). Prints each round and the median ratio WhaleFall / bare axum (goal ≥ 0.60).
# Servers are stopped by their pid; the store is dropped.
# BASE_BIN=/path/to/an/older/whalefall also measures that build (its ping and instance page,
# on its own fresh store) in the same run, for before/after figures.
# Usage: bench/ping.sh [seconds per run]   (ROUNDS=3)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
DURATION=${1:-5}
ROUNDS=${ROUNDS:-3}
WF=127.0.0.1:5093 BARE=127.0.0.1:5094
DB=wf_bench_ping_$$
BASE=127.0.0.1:5095
WORK=$(mktemp -d)
bash scripts/services.sh >/dev/null
cargo build -q --release -p whalefall --bin whalefall --example bare_axum
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  "${PGQ[@]}" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  "${PGQ[@]}" -c "DROP DATABASE IF EXISTS ${DB}_base WITH (FORCE)" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
"${PGQ[@]}" -c "CREATE DATABASE $DB"
(cd "$WORK" && exec env DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB DEFAULT_ADMIN_PASSWORD=Admin12345 \
  LOG_LEVEL=WARNING ENABLE_SCHEDULER=false "$BIN" serve --bind $WF > server.log 2>&1) &
PIDS+=($!)
"$TARGET/release/examples/bare_axum" $BARE > /dev/null 2>&1 &
PIDS+=($!)
if [ -n "${BASE_BIN:-}" ]; then
  "${PGQ[@]}" -c "CREATE DATABASE ${DB}_base"
  mkdir -p "$WORK/base"
  (cd "$WORK/base" && exec env DATABASE_URL=postgres://postgres@127.0.0.1:5432/${DB}_base DEFAULT_ADMIN_PASSWORD=Admin12345 \
    LOG_LEVEL=WARNING ENABLE_SCHEDULER=false "$BASE_BIN" serve --bind $BASE > server.log 2>&1) &
  PIDS+=($!)
  wait_up "http://$BASE/api/v1"
fi
wait_up "http://$WF/api/v1"
for _ in $(seq 1 50); do curl -sf "http://$BARE/api/v1/health/ping" >/dev/null && break; sleep 0.1; done
wrk -t2 -c16 -d2s "http://$WF/api/v1/health/ping" >/dev/null
wrk -t2 -c16 -d2s "http://$BARE/api/v1/health/ping" >/dev/null
RATIOS=()
for r in $(seq 1 "$ROUNDS"); do
  W=$(wrk_line "round $r whalefall /health/ping" "$DURATION" "http://$WF/api/v1/health/ping")
  A=$(wrk_line "round $r bare axum /health/ping" "$DURATION" "http://$BARE/api/v1/health/ping")
  echo "$W"; echo "$A"
  [ -n "${BASE_BIN:-}" ] && wrk_line "round $r BASE_BIN /health/ping" "$DURATION" "http://$BASE/api/v1/health/ping"
  RATIOS+=("$(echo "scale=3; $(rps "$W") / $(rps "$A")" | bc)")
done
echo "ratios: ${RATIOS[*]}; median $(printf '%s\n' "${RATIOS[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') (goal >= 0.60)"
{ echo "name,db_type,host,port"; seq 1 1000 | awk '{printf "ping-%04d,mysql,10.0.%d.%d,3306\n", $1, int($1/256), $1%256}'; } > $WORK/i.csv
page() {  # page label addr
  local J=$WORK/jar-$2
  login "http://$2/api/v1" "$J"
  curl -s -c $J -b $J -H "X-CSRFToken: $CSRF" -F "file=@$WORK/i.csv;filename=i.csv" "http://$2/api/v1/instances/batch-create" | jq -r .message
  wrk -t2 -c16 -d2s -H "Cookie: $COOKIE" "http://$2/api/v1/instances" >/dev/null
  wrk_line "$1 GET /instances (1,000, PostgreSQL)" "$DURATION" "http://$2/api/v1/instances" "$COOKIE"
}
page whalefall $WF
[ -n "${BASE_BIN:-}" ] && page BASE_BIN $BASE
echo "server peak RSS: $(peak_rss "${PIDS[0]}")"
