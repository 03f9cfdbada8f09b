#!/usr/bin/env bash
# Benchmark (not a test): seeds 1,000 instances through the CSV batch endpoint on a fresh
# PostgreSQL store, then measures with wrk, 16 connections, bounded duration, loopback only:
#   GET /api/v1/instances (default page, logged-in session)  and  GET /api/v1/health/ping
# The server it starts is stopped by its pid; the benchmark database is dropped.
# Usage: bench/instances.sh [seconds]   (installs wrk from Debian when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-15}
PORT=${PORT:-5088}
B=http://127.0.0.1:$PORT/api/v1
DB=wf_bench_$$
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
bash scripts/services.sh >/dev/null
cargo build -q --release -p whalefall
WORK=$(mktemp -d)
psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $DB"
(cd "$WORK" && DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" DEFAULT_ADMIN_PASSWORD=Admin12345 LOG_LEVEL=WARNING \
  exec "${CARGO_TARGET_DIR:-$OLDPWD/target}/release/whalefall" serve --bind 127.0.0.1:$PORT > server.log 2>&1) &
PID=$!
cleanup() {
  kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 1 100); do curl -sf $B/health/ping >/dev/null && break; sleep 0.2; done
J=$WORK/jar
CSRF=$(curl -s -c $J -b $J $B/auth/csrf-token | jq -r .data.csrf_token)
curl -s -o /dev/null -c $J -b $J -H "X-CSRFToken: $CSRF" -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"Admin12345"}' $B/auth/login
{ echo "name,db_type,host,port,description"
  for n in $(seq 1 1000); do echo "bench-$n,postgresql,10.$((n / 250)).$((n % 250)).1,5432,benchmark instance $n"; done; } > $WORK/seed.csv
curl -s -c $J -b $J -H "X-CSRFToken: $CSRF" -F "file=@$WORK/seed.csv" $B/instances/batch-create | jq -r .message
COOKIE=$(sed 's/^#HttpOnly_//' $J | awk '!/^#/ && NF>=7 {printf "%s=%s; ", $6, $7}' | sed 's/; $//')
curl -s -H "Cookie: $COOKIE" "$B/instances" | jq -r '"instances page: \(.message), total \(.data.total), \(.data.items | length) items"'
wrk -t2 -c16 -d3s -H "Cookie: $COOKIE" "$B/instances" > /dev/null  # warm-up: pool connections and prepared statements
echo "== GET /api/v1/instances (default page), 16 connections, ${DURATION}s"
wrk -t2 -c16 -d"${DURATION}s" --latency -H "Cookie: $COOKIE" "$B/instances"
echo "== GET /api/v1/health/ping, 16 connections, ${DURATION}s"
wrk -t2 -c16 -d"${DURATION}s" --latency "$B/health/ping"
grep -c ERROR "$WORK/server.log" | sed 's/^/server errors logged: /' || true
