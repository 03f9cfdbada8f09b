#!/usr/bin/env bash
# Validate the served Swagger 2.0 document with openapi-spec-validator (PyPI, installed once
# into .venv-spec). The document is printed by `whalefall swagger`, the same value the server
# serves at /api/v1/swagger.json.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${SPEC_VENV:-.venv-spec}
[ -x "$VENV/bin/openapi-spec-validator" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q openapi-spec-validator; }
cargo build -q -p whalefall
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
target/debug/whalefall swagger > "$OUT"
"$VENV/bin/openapi-spec-validator" "$OUT"
