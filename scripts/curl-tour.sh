#!/usr/bin/env bash
# The README's curl tour, runnable: log in, register PostgreSQL and MariaDB instances of this
# machine, test connections, sync accounts, browse accounts, permissions, history and ledger.
# Usage: ADMIN_PASSWORD=... scripts/curl-tour.sh [base-url]
set -euo pipefail
B=${1:-http://127.0.0.1:5001}/api/v1
J=$(mktemp); trap 'rm -f "$J"' EXIT
PW=${ADMIN_PASSWORD:?set ADMIN_PASSWORD to the admin password}
# MariaDB monitor account (read-only: SELECT on *.*)
mysql -uroot -h127.0.0.1 -e "CREATE USER IF NOT EXISTS 'whalefall_monitor'@'%' IDENTIFIED BY 'Monitor123'; GRANT SELECT ON *.* TO 'whalefall_monitor'@'%'"

# 1. CSRF token (keeps the session cookie in the jar), 2. log in
CSRF=$(curl -s -c "$J" -b "$J" $B/auth/csrf-token | jq -r .data.csrf_token)
H=(-s -c "$J" -b "$J" -H "X-CSRFToken: $CSRF" -H 'Content-Type: application/json')
curl "${H[@]}" -d "{\"username\":\"admin\",\"password\":\"$PW\"}" $B/auth/login | jq '{message, user: .data.user}'

# 3. credentials (passwords are encrypted at rest; PostgreSQL here uses trust auth)
PGC=$(curl "${H[@]}" -d '{"name":"tour-pg","credential_type":"database","username":"postgres","password":"trust-auth"}' $B/credentials | jq .data.credential.id)
MYC=$(curl "${H[@]}" -d '{"name":"tour-maria","credential_type":"database","username":"whalefall_monitor","password":"Monitor123"}' $B/credentials | jq .data.credential.id)

# 4. instances
PG=$(curl "${H[@]}" -d "{\"name\":\"tour-pg\",\"db_type\":\"postgresql\",\"host\":\"127.0.0.1\",\"port\":5432,\"credential_id\":$PGC}" $B/instances | jq .data.instance.id)
MY=$(curl "${H[@]}" -d "{\"name\":\"tour-maria\",\"db_type\":\"mysql\",\"host\":\"127.0.0.1\",\"port\":3306,\"credential_id\":$MYC}" $B/instances | jq .data.instance.id)

for I in $PG $MY; do
  # 5. connection test (detects and stores the version), 6. account sync
  curl "${H[@]}" -d "{\"instance_id\":$I}" $B/connections/actions/test | jq '{message, version: .data.version}'
  curl "${H[@]}" -d "{\"instance_id\":$I}" $B/accounts/actions/sync | jq '{message, added: .data.result.added_count}'
  # 7. the instance's accounts, one account's permission snapshot and change history
  curl -s -b "$J" "$B/instances/$I/accounts?page_size=5" | jq '{message, summary: .data.summary, usernames: [.data.items[].username]}'
  A=$(curl -s -b "$J" "$B/instances/$I/accounts?page_size=1" | jq '.data.items[0].id')
  curl -s -b "$J" $B/instances/$I/accounts/$A/permissions | jq '{message, db_type: .data.permissions.db_type, categories: (.data.permissions.snapshot.categories | keys)}'
  curl -s -b "$J" $B/instances/$I/accounts/$A/change-history | jq '{message, changes: [.data.history[] | {change_type, message}]}'
done
# 8. fleet sync in the background under a sync session, then its progress
S=$(curl "${H[@]}" -d '{}' $B/accounts/actions/sync-all | jq -r .data.session_id)
sleep 2; curl -s -b "$J" "$B/history/sessions/$S" | jq '.data.session | {status, successful_instances, failed_instances, progress_percentage}'
# 9. the account ledger across instances
curl -s -b "$J" "$B/accounts/ledgers?page_size=5" | jq '{message, total: .data.total, first: .data.items[0]}'
