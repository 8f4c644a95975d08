#!/usr/bin/env bash
# Runs the whole test suite against real MariaDB and Redis servers (started
# here if needed) and a real headless Chromium (installed here if needed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
  echo "[test] installing chromium and chromium-driver (browser tests)" >&2
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium chromium-driver >/dev/null
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

cargo test --workspace --locked "$@"
