#!/usr/bin/env bash
# The repository's guards, run by .ci/run before the test suite:
#   scripts/guards.sh sqlx   the committed .sqlx offline data matches the queries,
#                            checked against a freshly migrated database
#   scripts/guards.sh deps   no dependency declared in a Cargo.toml goes unused
#   scripts/guards.sh        both
# Their tools are installed here when absent (into ~/.cargo/bin, pinned).
# docs/ci.md says what each guard catches and how to fix what it reports.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

SQLX_CLI_VERSION=0.8.6
MACHETE_VERSION=0.9.2

log() { printf '[guards] %s\n' "$*" >&2; }

# cargo install builds in its own temporary directory (not the project's
# CARGO_TARGET_DIR), removed afterwards.
install_tool() {
  local binary="$1" version="$2"; shift 2
  if command -v "$binary" >/dev/null 2>&1 && "$binary" --version 2>/dev/null | grep -q "$version"; then
    return
  fi
  log "installing $binary $version"
  env -u CARGO_TARGET_DIR cargo install --locked --version "$version" "$@" >&2
}

guard_sqlx() {
  install_tool sqlx "$SQLX_CLI_VERSION" sqlx-cli --no-default-features --features mysql,rustls
  scripts/services.sh start
  local port="${HISTOLOGE_MYSQL_PORT:-3307}" db=histologe_sqlx_check
  local sql=(mariadb -h127.0.0.1 -P"$port" -uhistologe -phistologe)
  "${sql[@]}" -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
  export DATABASE_URL="mysql://histologe:histologe@127.0.0.1:$port/$db"
  sqlx migrate run
  # Every query is compiled against the live schema and compared with the
  # committed .sqlx files: a query changed without `cargo sqlx prepare`
  # (or a .sqlx file left behind) fails here rather than in production.
  SQLX_OFFLINE=false cargo sqlx prepare --check --workspace -- --all-targets
  "${sql[@]}" -e "DROP DATABASE $db"
  log "sqlx: .sqlx matches the queries"
}

guard_deps() {
  install_tool cargo-machete "$MACHETE_VERSION" cargo-machete
  cargo machete
  log "deps: no unused dependency"
}

case "${1:-all}" in
  sqlx) guard_sqlx ;;
  deps) guard_deps ;;
  all) guard_deps; guard_sqlx ;;
  *) echo "usage: scripts/guards.sh [sqlx|deps]" >&2; exit 2 ;;
esac
