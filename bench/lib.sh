# Shared helpers of the benchmarks (sourced). Loopback only; every server a bench starts is
# stopped by its pid in the bench's cleanup.
# shellcheck shell=bash
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
BIN=$TARGET/release/whalefall
PGQ=(psql -q -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1)
MYQ=(mysql -uroot -h127.0.0.1)
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
now() { date +%s.%N; }
since() { echo "scale=2; ($(now) - $1) / 1" | bc; }
wait_up() {  # wait_up base-url
  for _ in $(seq 1 150); do curl -sf "$1/health/ping" >/dev/null && return 0; sleep 0.2; done
  echo "server at $1 did not start" >&2; return 1
}
login() {  # login base-url jar: logs in as admin; sets CSRF (token) and COOKIE (header value)
  CSRF=$(curl -s -c "$2" -b "$2" "$1/auth/csrf-token" | jq -r .data.csrf_token)
  curl -s -c "$2" -b "$2" -H "X-CSRFToken: $CSRF" -o /dev/null -H 'Content-Type: application/json' \
    -d '{"username":"admin","password":"Admin12345"}' "$1/auth/login"
  COOKIE=$(sed 's/^#HttpOnly_//' "$2" | awk '!/^#/ && NF>=7 {printf "%s=%s; ", $6, $7}' | sed 's/; $//')
}
wrk_line() {  # wrk_line label seconds url [cookie] -> "label req/s p50 p99"
  local out
  out=$(wrk -t2 -c16 -d"$2s" --latency ${4:+-H "Cookie: $4"} "$3")
  printf '%-40s %10s req/s   p50 %8s   p99 %8s%s\n' "$1" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1 == "50%" {print $2}' <<<"$out")" "$(awk '$1 == "99%" {print $2}' <<<"$out")" \
    "$(grep -q Non-2xx <<<"$out" && echo "   $(grep Non-2xx <<<"$out")")"
}
rps() { awk '{for (i = 2; i <= NF; i++) if ($i == "req/s") {print $(i-1); exit}}' <<<"$1"; }
peak_rss() { awk '/VmHWM/ {printf "%.1f MB", $2/1024}' "/proc/$1/status"; }
