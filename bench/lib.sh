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
make_server_accounts() {  # make_server_accounts TAG N: N PostgreSQL roles and N MariaDB users (+ TAG_mon)
  "${PGQ[@]}" -d postgres -c "DO \$\$BEGIN FOR i IN 1..$2 LOOP EXECUTE format('CREATE ROLE %I LOGIN', '${1}_r' || i); END LOOP; END\$\$"
  { for i in $(seq 1 "$2"); do echo "CREATE USER '${1}_u$i'@'%' IDENTIFIED BY 'x';"; done
    echo "CREATE USER '${1}_mon'@'%' IDENTIFIED BY 'Monitor123'; GRANT SELECT ON *.* TO '${1}_mon'@'%';"; } | "${MYQ[@]}"
}
drop_server_accounts() {  # drop_server_accounts TAG
  "${PGQ[@]}" -d postgres -c "DO \$\$DECLARE r record; BEGIN FOR r IN SELECT rolname FROM pg_roles WHERE rolname LIKE '${1}\_%' LOOP EXECUTE format('DROP ROLE %I', r.rolname); END LOOP; END\$\$" || true
  "${MYQ[@]}" -N -e "SELECT CONCAT('DROP USER \`', User, '\`@\`', Host, '\`;') FROM mysql.user WHERE User LIKE '${1}\_%'" | "${MYQ[@]}" || true
}
register_fleet() {  # register_fleet BASE TAG: credentials and 100 + 100 instances of the local servers
  local pgc myc
  pgc=$(curl "${H[@]}" -H 'Content-Type: application/json' -d "{\"name\":\"$2-pg\",\"credential_type\":\"database\",\"username\":\"postgres\",\"password\":\"trustauth\"}" "$1/credentials" | jq .data.credential.id)
  myc=$(curl "${H[@]}" -H 'Content-Type: application/json' -d "{\"name\":\"$2-my\",\"credential_type\":\"database\",\"username\":\"${2}_mon\",\"password\":\"Monitor123\"}" "$1/credentials" | jq .data.credential.id)
  { echo "name,db_type,host,port,credential_id"
    for i in $(seq 1 100); do echo "pg-$i,postgresql,127.0.0.1,5432,$pgc"; echo "my-$i,mysql,127.0.0.1,3306,$myc"; done; } > "$WORK/fleet.csv"
  curl "${H[@]}" -F "file=@$WORK/fleet.csv;filename=fleet.csv" "$1/instances/batch-create" | jq -r .message
}
