#!/usr/bin/env bash
# Runs the platform on http://localhost:8080 with demo data: local MariaDB and
# Redis, migrations, seed, then the web process and the worker. Ctrl-C stops
# both. Documents go to var/storage/, e-mails to var/mailbox/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

scripts/services.sh start
eval "$(scripts/services.sh env)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/histologe-target}"
export PORT="${PORT:-8080}" APP_BASE_URL="${APP_BASE_URL:-http://localhost:${PORT:-8080}}"
# The e-mails of the demo are readable at /dev/courriels (opt-in: never on a
# deployed platform).
export DEV_MAILBOX="${DEV_MAILBOX:-true}"

cargo build --workspace --locked
BIN="$CARGO_TARGET_DIR/debug"
"$BIN/histologe" migrate
"$BIN/histologe" seed

"$BIN/histologe-worker" &
WORKER=$!
trap 'kill $WORKER 2>/dev/null || true' EXIT INT TERM
echo "Histologe : http://localhost:$PORT  (Ctrl-C pour arrêter)"
"$BIN/histologe" serve
