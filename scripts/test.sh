#!/usr/bin/env bash
# Run every test: unit tests, then the HTTP/engine suites with the app store on SQLite and
# again on PostgreSQL. Engine tests talk to the real PostgreSQL and MariaDB of this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh
export CARGO_TERM_COLOR=never
bash scripts/check-layers.sh
echo "== tests, app store: SQLite"
WF_TEST_STORE=sqlite cargo test --workspace --all-targets
echo "== HTTP and engine tests, app store: PostgreSQL"
WF_TEST_STORE=postgres cargo test -p wf-api -p wf-store --tests
echo "== Swagger 2.0 document (openapi-spec-validator)"
bash scripts/check-swagger.sh
