#!/usr/bin/env bash
# Build and start the server on the embedded SQLite store (userdata/whalefall_dev.db).
# On first start the admin user is created; its password is DEFAULT_ADMIN_PASSWORD or a
# generated one printed once below.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p whalefall
exec "${CARGO_TARGET_DIR:-./target}/release/whalefall" serve "$@"
