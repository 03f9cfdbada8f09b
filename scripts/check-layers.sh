#!/usr/bin/env bash
# Layer rule (docs/architecture.md): the HTTP crate never talks to the store or the engines
# directly. Fails when crates/api/Cargo.toml lists sea-orm, sqlx or wf-engines among its
# [dependencies] (its tests may still use them as dev-dependencies to seed rows).
set -euo pipefail
cd "$(dirname "$0")/.."
deps=$(sed -n '/^\[dependencies\]/,/^\[/p' crates/api/Cargo.toml | grep -E '^(sea-orm|sea-query|sqlx|wf-engines)\b' || true)
if [ -n "$deps" ]; then
  echo "crates/api must not depend on the store driver or the engines directly:" >&2
  echo "$deps" >&2
  exit 1
fi
if grep -rqE '\b(sea_orm|sqlx|wf_engines)::' crates/api/src; then
  echo "crates/api/src names sea_orm/sqlx/wf_engines:" >&2
  grep -rnE '\b(sea_orm|sqlx|wf_engines)::' crates/api/src >&2
  exit 1
fi
echo "layers: ok (crates/api depends on neither sea-orm, sqlx nor wf-engines)"
