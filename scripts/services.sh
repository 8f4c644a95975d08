#!/usr/bin/env bash
# Project-local MariaDB, Redis and ClamAV (clamd) on loopback, data in .local/
# (git-ignored).
#
#   scripts/services.sh start    install if absent, start, create databases (idempotent)
#   scripts/services.sh stop     stop all three
#   scripts/services.sh status   say what runs
#   scripts/services.sh env      print the variables that point the app at them
#
# Ports: HISTOLOGE_MYSQL_PORT (3307), HISTOLOGE_REDIS_PORT (6380) and
# HISTOLOGE_CLAMD_PORT (3311), chosen to stay clear of system-wide servers.
# clamd gets the project's own tiny signature database (scripts/clamav/, it
# matches the EICAR test file): Debian ships no signatures and the test
# machines reach no mirror. Production runs freshclam (docs/antivirus.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${HISTOLOGE_SERVICES_DIR:-$ROOT/.local}"
MYSQL_PORT="${HISTOLOGE_MYSQL_PORT:-3307}"
REDIS_PORT="${HISTOLOGE_REDIS_PORT:-6380}"
CLAMD_PORT="${HISTOLOGE_CLAMD_PORT:-3311}"
CLAMAV_DIR="$DIR/clamav"
MYSQL_DIR="$DIR/mariadb"
REDIS_DIR="$DIR/redis"
SOCKET="$MYSQL_DIR/mysqld.sock"
ME="$(id -un)"

log() { printf '[services] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
  local missing=()
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  command -v clamd >/dev/null 2>&1 || [ -x /usr/sbin/clamd ] || missing+=(clamav-daemon)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

mariadbd_bin() { command -v mariadbd || echo /usr/sbin/mariadbd; }

mysql_running() {
  mariadb-admin --socket="$SOCKET" -u"$ME" ping >/dev/null 2>&1
}

# A project server started from another checkout already listens there.
mysql_running_tcp() {
  mariadb-admin -h127.0.0.1 -P"$MYSQL_PORT" -uhistologe -phistologe ping >/dev/null 2>&1
}

start_mariadb() {
  if mysql_running; then log "MariaDB already running on 127.0.0.1:$MYSQL_PORT"; return; fi
  if mysql_running_tcp; then log "MariaDB already running on 127.0.0.1:$MYSQL_PORT (another checkout)"; return; fi
  mkdir -p "$MYSQL_DIR"
  if [ ! -d "$MYSQL_DIR/data/mysql" ]; then
    log "initialising MariaDB data directory"
    mariadb-install-db --datadir="$MYSQL_DIR/data" --user="$ME" \
      --auth-root-authentication-method=socket --skip-test-db >"$MYSQL_DIR/install.log" 2>&1
  fi
  log "starting MariaDB on 127.0.0.1:$MYSQL_PORT"
  # Durability is relaxed (flush once a second): this instance is for
  # development and tests, production uses a managed MySQL.
  nohup "$(mariadbd_bin)" --no-defaults --datadir="$MYSQL_DIR/data" --user="$ME" \
    --bind-address=127.0.0.1 --port="$MYSQL_PORT" --socket="$SOCKET" \
    --pid-file="$MYSQL_DIR/mysqld.pid" --log-error="$MYSQL_DIR/error.log" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --skip-name-resolve --max-connections=500 \
    --innodb-buffer-pool-size=512M --innodb-log-file-size=256M \
    --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 --innodb-doublewrite=0 \
    >/dev/null 2>&1 &
  for _ in $(seq 1 120); do
    mysql_running && break
    sleep 0.25
  done
  mysql_running || { log "MariaDB did not start; see $MYSQL_DIR/error.log"; tail -20 "$MYSQL_DIR/error.log" >&2; exit 1; }
  mariadb --socket="$SOCKET" -u"$ME" <<SQL
CREATE USER IF NOT EXISTS 'histologe'@'127.0.0.1' IDENTIFIED BY 'histologe';
CREATE USER IF NOT EXISTS 'histologe'@'localhost' IDENTIFIED BY 'histologe';
GRANT ALL PRIVILEGES ON *.* TO 'histologe'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'histologe'@'localhost';
CREATE DATABASE IF NOT EXISTS histologe CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
SQL
}

redis_running() {
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1
}

start_redis() {
  if redis_running; then log "Redis already running on 127.0.0.1:$REDIS_PORT"; return; fi
  mkdir -p "$REDIS_DIR"
  log "starting Redis on 127.0.0.1:$REDIS_PORT"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$REDIS_DIR" \
    --daemonize yes --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" \
    --save 60 1 --appendonly no >/dev/null
  for _ in $(seq 1 40); do redis_running && break; sleep 0.25; done
  redis_running || { log "Redis did not start; see $REDIS_DIR/redis.log"; exit 1; }
}

clamd_bin() { command -v clamd || echo /usr/sbin/clamd; }

# clamd answers PONG to PING on its TCP port (also one started from another
# checkout: the port is the test).
clamd_running() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$CLAMD_PORT && printf 'nPING\\n' >&3 && read -r reply <&3 && [ \"\$reply\" = PONG ]" 2>/dev/null
}

start_clamd() {
  if clamd_running; then log "clamd already running on 127.0.0.1:$CLAMD_PORT"; return; fi
  mkdir -p "$CLAMAV_DIR/db"
  # The project's signatures only; clamd refuses to start on an empty
  # database directory.
  cp "$ROOT"/scripts/clamav/*.ndb "$CLAMAV_DIR/db/"
  cat >"$CLAMAV_DIR/clamd.conf" <<CONF
# Written by scripts/services.sh: the project's clamd for development and tests.
LocalSocket $CLAMAV_DIR/clamd.sock
FixStaleSocket yes
TCPSocket $CLAMD_PORT
TCPAddr 127.0.0.1
Foreground no
DatabaseDirectory $CLAMAV_DIR/db
PidFile $CLAMAV_DIR/clamd.pid
LogFile $CLAMAV_DIR/clamd.log
LogTime yes
# Uploads are at most 10 MB; INSTREAM refuses more than this.
StreamMaxLength 25M
MaxThreads 4
SelfCheck 600
CONF
  log "starting clamd on 127.0.0.1:$CLAMD_PORT"
  "$(clamd_bin)" --config-file="$CLAMAV_DIR/clamd.conf" >"$CLAMAV_DIR/start.log" 2>&1 || {
    log "clamd did not start"; cat "$CLAMAV_DIR/start.log" >&2; exit 1; }
  # clamd forks once its database is loaded; the poll is bounded all the same.
  for _ in $(seq 1 120); do clamd_running && break; sleep 0.25; done
  clamd_running || { log "clamd does not answer PING; see $CLAMAV_DIR/clamd.log"; tail -20 "$CLAMAV_DIR/clamd.log" >&2; exit 1; }
}

stop_all() {
  if mysql_running; then
    log "stopping MariaDB"
    mariadb-admin --socket="$SOCKET" -u"$ME" shutdown || true
  fi
  if redis_running; then
    log "stopping Redis"
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  fi
  if [ -f "$CLAMAV_DIR/clamd.pid" ] && kill -0 "$(cat "$CLAMAV_DIR/clamd.pid")" 2>/dev/null; then
    log "stopping clamd"
    kill "$(cat "$CLAMAV_DIR/clamd.pid")" || true
    rm -f "$CLAMAV_DIR/clamd.pid"
  fi
}

print_env() {
  cat <<ENV
export DATABASE_URL=mysql://histologe:histologe@127.0.0.1:$MYSQL_PORT/histologe
export TEST_DATABASE_URL=mysql://histologe:histologe@127.0.0.1:$MYSQL_PORT
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
export CLAMD_ADDRESS=tcp://127.0.0.1:$CLAMD_PORT
ENV
}

case "${1:-start}" in
  start) install_packages; start_mariadb; start_redis; start_clamd; log "ready" ;;
  stop) stop_all ;;
  status)
    mysql_running && log "MariaDB up on $MYSQL_PORT" || log "MariaDB down"
    redis_running && log "Redis up on $REDIS_PORT" || log "Redis down"
    clamd_running && log "clamd up on $CLAMD_PORT" || log "clamd down" ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
