#!/usr/bin/env bash
# Fuzz the running API from its own Swagger document with schemathesis (from PyPI) and fail on
# any 5xx. Loopback only, bounded (MAX_EXAMPLES per operation, 10-minute cap); the server it
# starts (debug build: overflow checks on) is stopped by its pid at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-5077}
MAX_EXAMPLES=${MAX_EXAMPLES:-60}
B=http://127.0.0.1:$PORT/api/v1
WORK=$(mktemp -d)
VENV=${VENV:-.venv-fuzz}
[ -x "$VENV/bin/schemathesis" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q schemathesis; }
cargo build -q -p whalefall
(cd "$WORK" && DEFAULT_ADMIN_PASSWORD=Admin12345 BCRYPT_LOG_ROUNDS=4 LOGIN_RATE_LIMIT=100000 \
  exec "${CARGO_TARGET_DIR:-$OLDPWD/target}/debug/whalefall" serve --bind 127.0.0.1:$PORT > server.log 2>&1) &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 50); do curl -sf $B/health/ping >/dev/null && break; sleep 0.2; done
J=$WORK/jar
CSRF=$(curl -s -c $J -b $J $B/auth/csrf-token | jq -r .data.csrf_token)
H=(-s -o /dev/null -c $J -b $J -H "X-CSRFToken: $CSRF" -H 'Content-Type: application/json')
curl "${H[@]}" -d '{"username":"admin","password":"Admin12345"}' $B/auth/login
for n in 1 2 3; do  # rows so that id paths hit real data
  curl "${H[@]}" -d "{\"name\":\"fz$n\",\"credential_type\":\"database\",\"username\":\"postgres\",\"password\":\"whatever1\"}" $B/credentials
  curl "${H[@]}" -d "{\"name\":\"fz$n\",\"db_type\":\"postgresql\",\"host\":\"127.0.0.1\",\"port\":5432,\"credential_id\":$n}" $B/instances
  curl "${H[@]}" -d "{\"username\":\"fzuser$n\",\"role\":\"user\",\"password\":\"TestPass1\"}" $B/users
done
curl "${H[@]}" -d '{"instance_id":1}' $B/accounts/actions/sync
COOKIE=$(sed 's/^#HttpOnly_//' $J | awk '!/^#/ && NF>=7 {printf "%s=%s; ", $6, $7}' | sed 's/; $//')
timeout 600 "$VENV/bin/schemathesis" run $B/swagger.json --url $B -H "Cookie: $COOKIE" -H "X-CSRFToken: $CSRF" \
  --checks not_a_server_error --max-examples "$MAX_EXAMPLES" --exclude-path-regex 'logout|change-password'
