#!/usr/bin/env bash
# Runs the whole test suite against real MariaDB and Redis servers (started
# here if needed) and a real headless Chromium (installed here if needed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "[test] installing ${missing[*]} (browser tests, local S3 check)" >&2
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

scripts/services.sh start
eval "$(scripts/services.sh env)"
# Tests use Redis database 1, the running platform database 0.
export TEST_REDIS_URL="${REDIS_URL%/0}/1"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/histologe-target}"

# Databases left by an earlier run (each test creates its own t_<uuid>).
mariadb --socket="$ROOT/.local/mariadb/mysqld.sock" -u"$(id -un)" -N -e \
  "SELECT CONCAT('DROP DATABASE \`', schema_name, '\`;') FROM information_schema.schemata WHERE schema_name LIKE 't\\_%'" \
  | mariadb --socket="$ROOT/.local/mariadb/mysqld.sock" -u"$(id -un)" || true

# --- S3 (worker issue): a local S3-compatible server for the S3 path of storage.
# moto from PyPI, installed if absent, on a loopback port; stopped on exit.
if ! command -v moto_server >/dev/null 2>&1; then
  echo "[test] installing moto (local S3 server) from PyPI" >&2
  if ! python3 -m pip --version >/dev/null 2>&1; then
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3-pip >/dev/null
  fi
  # Debian 12's Python refuses user installs without the flag (PEP 668).
  python3 -m pip install --quiet --user 'moto[server]' >&2 ||
    python3 -m pip install --quiet --user --break-system-packages 'moto[server]' >&2
  export PATH="$HOME/.local/bin:$PATH"
fi
S3_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
moto_server -H 127.0.0.1 -p "$S3_PORT" >"${TMPDIR:-/tmp}/histologe-moto.log" 2>&1 &
MOTO_PID=$!
trap 'kill $MOTO_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$S3_PORT/" >/dev/null 2>&1 && break
  sleep 0.1
done
export S3_TEST_ENDPOINT="http://127.0.0.1:$S3_PORT"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
# --- end S3

# CI mode for the tests: insta fails on a snapshot mismatch instead of writing
# .snap.new files, and the S3 test fails instead of skipping without endpoint.
export CI="${CI:-true}"

cargo test --workspace --locked "$@"

# The partner API fuzzed against its own served OpenAPI document (docs/api.md §9).
scripts/schemathesis.sh
