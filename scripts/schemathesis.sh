#!/usr/bin/env bash
# Fuzzes the partner API against its own served OpenAPI document with
# Schemathesis (docs/api.md §9): the debug binary on a loopback port, its own
# database with the demo data and a demo API account, then `schemathesis run`
# with a bounded number of examples per operation. Any server error or any
# answer the document does not describe (status, content type, body schema)
# fails the script. Called by scripts/test.sh after the cargo tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Pinned: a new Schemathesis release may add checks; upgrading is a decision.
SCHEMATHESIS_VERSION=4.32.5
VENV="${SCHEMATHESIS_VENV:-$HOME/.cache/histologe-schemathesis}"
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-25}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "[schemathesis] installing schemathesis $SCHEMATHESIS_VERSION from PyPI into $VENV" >&2
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3-venv >/dev/null
  fi
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

scripts/services.sh start >/dev/null
eval "$(scripts/services.sh env)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/histologe-target}"
cargo build --locked --bin histologe
BIN="$CARGO_TARGET_DIR/debug/histologe"

# A database of its own (t_… like the tests' ones: scripts/test.sh drops any
# left behind), a free loopback port, files in a temporary directory.
DB="t_schemathesis_$$"
WORK="$(mktemp -d)"
MARIADB=(mariadb -h127.0.0.1 -P3307 -uhistologe -phistologe)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  "${MARIADB[@]}" -e "DROP DATABASE IF EXISTS \`$DB\`" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
"${MARIADB[@]}" -e "CREATE DATABASE \`$DB\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export APP_ENV=test HOST=127.0.0.1 PORT APP_BASE_URL="http://127.0.0.1:$PORT"
export DATABASE_URL="${DATABASE_URL%/*}/$DB"
export REDIS_URL="${REDIS_URL%/0}/2" REDIS_KEY_PREFIX="schemathesis-$$:"
export STORAGE_DIR="$WORK/storage" MAILBOX_DIR="$WORK/mailbox" EXPORT_TMP_DIR="$WORK"
# The per-account limit is tested by the integration tests; here it would
# answer 429 to most calls and hide the handlers from the fuzzer.
export API_RATE_PER_MINUTE=1000000

SEED="$("$BIN" seed --reports 40 --api-account)"
IDENTIFIER="$(sed -n 's/^API_IDENTIFIANT=//p' <<<"$SEED")"
SECRET="$(sed -n 's/^API_SECRET=//p' <<<"$SEED")"

"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$PORT/api/v1/openapi.json" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done

TOKEN="$(curl -fsS -X POST "http://127.0.0.1:$PORT/api/v1/token" \
  -H 'Content-Type: application/json' \
  -d "{\"identifiant\":\"$IDENTIFIER\",\"secret\":\"$SECRET\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["jeton"])')"

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
run() {
  "$VENV/bin/schemathesis" run "http://127.0.0.1:$PORT/api/v1/openapi.json" \
    --url "http://127.0.0.1:$PORT" \
    --checks "$CHECKS" \
    --max-examples "$EXAMPLES" \
    --seed 20261207 \
    --workers 2 \
    --request-timeout 30 \
    --suppress-health-check all \
    -H "Authorization: Bearer $TOKEN" \
    "$@"
}
# Revoking the token (DELETE /api/v1/token) would turn every later call into
# a 401: it runs last, on its own.
run --exclude-method DELETE
run --include-method DELETE
echo "[schemathesis] no finding" >&2
