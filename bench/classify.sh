#!/usr/bin/env bash
# Benchmark (not a test), issue 9: auto-classification. Seeds a fresh PostgreSQL store with
# 100 instances (25 per engine) and 100,000 accounts with synthetic permission facts v2
# (written straight into the store), creates 10 classifications and 50 DSL v4 rules through
# the API, times POST /accounts/classifications/actions/auto-classify for all accounts, then
# measures the classified ledger page (/accounts/ledgers?classification=…) with wrk
# (16 connections). Loopback only; the server is stopped by its pid, the store dropped.
# Usage: bench/classify.sh [accounts] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
ACCOUNTS=${1:-100000}
DURATION=${2:-10}
PORT=${PORT:-5091}
B=http://127.0.0.1:$PORT/api/v1
DB=wf_bench_classify_$$
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
bash scripts/services.sh >/dev/null
cargo build -q --release -p whalefall
WORK=$(mktemp -d)
PGQ=(psql -q -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1)
cleanup() {
  [ -n "${PID:-}" ] && { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; }
  "${PGQ[@]}" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  rm -rf "$WORK"
}
[ -n "${KEEP_DB:-}" ] && cleanup() { [ -n "${PID:-}" ] && { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; }; rm -rf "$WORK"; echo "kept database $DB"; }
trap cleanup EXIT
"${PGQ[@]}" -c "CREATE DATABASE $DB"
(cd "$WORK" && DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" DEFAULT_ADMIN_PASSWORD=Admin12345 LOG_LEVEL=WARNING \
  exec "${CARGO_TARGET_DIR:-$OLDPWD/target}/release/whalefall" serve --bind 127.0.0.1:$PORT > server.log 2>&1) &
PID=$!
for _ in $(seq 1 100); do curl -sf $B/health/ping >/dev/null && break; sleep 0.2; done
echo "== seeding 100 instances and $ACCOUNTS accounts"
"${PGQ[@]}" -d $DB <<SQL
INSERT INTO instances (name, db_type, host, port, is_active, sync_count, description)
SELECT 'inst-' || i, (ARRAY['mysql','postgresql','sqlserver','oracle'])[1 + i % 4], '10.0.0.' || i, 3306, true, 0, ''
FROM generate_series(1, 100) i;
INSERT INTO instance_accounts (instance_id, username, db_type, is_active)
SELECT 1 + (n % 100), 'acct' || n, (ARRAY['mysql','postgresql','sqlserver','oracle'])[1 + (1 + n % 100) % 4], true
FROM generate_series(1, $ACCOUNTS) n;
INSERT INTO account_permission (instance_id, db_type, username, instance_account_id, is_superuser, is_locked, permission_facts)
SELECT ia.instance_id, ia.db_type, ia.username, ia.id, ia.id % 100 = 0, ia.id % 20 = 0,
  jsonb_build_object('version', 2, 'db_type', ia.db_type,
    'capabilities', (CASE WHEN ia.id % 100 = 0 THEN '["SUPERUSER","GRANT_ADMIN"]'::jsonb ELSE '[]'::jsonb END)
                    || (CASE WHEN ia.id % 20 = 0 THEN '["LOCKED"]'::jsonb ELSE '[]'::jsonb END),
    'roles', jsonb_build_array('role_' || (ia.id % 7), CASE WHEN ia.id % 13 = 0 THEN 'dba' ELSE 'reader' END),
    'privileges', jsonb_build_object(
      'global', jsonb_build_array('SELECT', CASE WHEN ia.id % 9 = 0 THEN 'GRANT OPTION' ELSE 'USAGE' END),
      'server', jsonb_build_array('CONNECT SQL'),
      'system', jsonb_build_array('CREATE SESSION'),
      'database', jsonb_build_object('app_' || (ia.id % 5), jsonb_build_array('SELECT', 'INSERT'), 'Sales', jsonb_build_array(CASE WHEN ia.id % 3 = 0 THEN 'UPDATE' ELSE 'SELECT' END))))
FROM instance_accounts ia;
ANALYZE;
SQL
J=$WORK/jar
CSRF=$(curl -s -c $J -b $J $B/auth/csrf-token | jq -r .data.csrf_token)
H=(-s -c $J -b $J -H "X-CSRFToken: $CSRF" -H 'Content-Type: application/json')
curl "${H[@]}" -o /dev/null -d '{"username":"admin","password":"Admin12345"}' $B/auth/login
echo "== 10 classifications, 50 rules"
TYPES=(mysql postgresql sqlserver oracle)
for c in $(seq 1 10); do
  CID=$(curl "${H[@]}" -d "{\"name\":\"bench-$c\",\"priority\":$((c * 10))}" $B/accounts/classifications | jq .data.classification.id)
  [ "$c" = 1 ] && FIRST=$CID
  for r in $(seq 1 5); do
    t=${TYPES[$(((c + r) % 4))]}
    case $r in
      1) e='{"fn":"is_superuser"}' ;;
      2) e="{\"fn\":\"has_role\",\"args\":{\"name\":\"role_$((c % 7))\"}}" ;;
      3) e="{\"op\":\"AND\",\"args\":[{\"fn\":\"has_privilege\",\"args\":{\"name\":\"GRANT OPTION\",\"scope\":\"global\"}},{\"op\":\"NOT\",\"args\":[{\"fn\":\"has_capability\",\"args\":{\"name\":\"LOCKED\"}}]}]}" ;;
      4) e="{\"fn\":\"has_privilege\",\"args\":{\"name\":\"UPDATE\",\"scope\":\"database\",\"database\":\"Sales\"}}" ;;
      5) e="{\"op\":\"OR\",\"args\":[{\"fn\":\"has_role\",\"args\":{\"name\":\"dba\"}},{\"fn\":\"has_privilege\",\"args\":{\"name\":\"CONNECT SQL\",\"scope\":\"server\"}}]}" ;;
    esac
    curl "${H[@]}" -o /dev/null -d "{\"rule_name\":\"r$c-$r\",\"classification_id\":$CID,\"db_type\":\"$t\",\"operator\":\"OR\",\"rule_expression\":{\"version\":4,\"expr\":$e}}" $B/accounts/classifications/rules
  done
done
echo "rules: $(curl -s -b $J $B/accounts/classifications/rules/stats | jq '.data.rule_stats | length')"
echo "== auto-classify, all accounts"
curl "${H[@]}" -o $WORK/classify.json -w 'auto-classify time: %{time_total} s\n' -d '{}' $B/accounts/classifications/actions/auto-classify
jq -c .data $WORK/classify.json
echo "== auto-classify again, nothing changed"
curl "${H[@]}" -o $WORK/classify2.json -w 'auto-classify time: %{time_total} s\n' -d '{}' $B/accounts/classifications/actions/auto-classify
jq -c .data $WORK/classify2.json
echo "server peak RSS: $(awk '/VmHWM/ {print $2/1024 " MB"}' /proc/$PID/status)"
COOKIE=$(sed 's/^#HttpOnly_//' $J | awk '!/^#/ && NF>=7 {printf "%s=%s; ", $6, $7}' | sed 's/; $//')
URL="$B/accounts/ledgers?classification=$FIRST"
curl -s -H "Cookie: $COOKIE" "$URL" | jq -r '"classified ledger: total \(.data.total), \(.data.items | length) items on the page"'
wrk -t2 -c16 -d3s -H "Cookie: $COOKIE" "$URL" > /dev/null
echo "== GET /accounts/ledgers?classification=$FIRST, 16 connections, ${DURATION}s"
wrk -t2 -c16 -d"${DURATION}s" --latency -H "Cookie: $COOKIE" "$URL" | grep -E "Requests/sec|50%|99%"
