#!/usr/bin/env bash
# Make sure the local PostgreSQL, MariaDB and Redis this project tests against are running
# (127.0.0.1:5432 trust auth, 127.0.0.1:3306 root without password, 127.0.0.1:6379).
# Starts a stopped service with the machine's own start command; never touches a running one.
set -u

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 60); do up "$1" && return 0; sleep 0.5; done
  echo "services: port $1 did not come up" >&2; return 1
}

if ! up 5432; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  wait_port 5432
fi
if ! up 3306; then
  echo "services: starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  wait_port 3306
fi
if ! up 6379; then
  echo "services: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  wait_port 6379
fi
echo "services: PostgreSQL, MariaDB and Redis are up"
