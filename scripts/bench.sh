#!/usr/bin/env bash
# National-scale benchmark (issue 8, BENCHMARKS.md). Loopback only, bounded.
#
#   scripts/bench.sh                      100,000 reports (quick run)
#   BENCH_REPORTS=1000000 scripts/bench.sh   the national dataset
#
# Builds in release, starts MariaDB/Redis (scripts/services.sh), creates and
# fills the database histologe_bench (never the demo or test databases) when
# it holds no report yet (BENCH_RESET=1 drops it first), starts `histologe
# serve` on 127.0.0.1:$BENCH_PORT, logs in as the generated super admin and
# drives load with wrk (Debian package, Lua script scripts/bench.lua) at 1, 8
# and 32 connections. The floors are measured in the same run: the bare SQL
# of each page through sqlx (src/bin/bench_sql.rs) and the static /healthz
# route. Results: a table on stdout and in var/bench/results.md.
#
# Knobs: BENCH_REPORTS (100000), BENCH_DB (histologe_bench; the name must
# contain "bench"), BENCH_DURATION (seconds per measure, 5), BENCH_CONCURRENCY
# ("1 8 32"), BENCH_PORT (18089), BENCH_SKIP_BUILD=1, BENCH_BUFFER_POOL (InnoDB
# buffer pool for the run, in MiB: 4096; the test default of 512 holds a
# tenth of the national dataset, a production server sizes it to the data).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

REPORTS="${BENCH_REPORTS:-100000}"
DB="${BENCH_DB:-histologe_bench}"
case "$DB" in *bench*) ;; *) echo "BENCH_DB must contain 'bench'" >&2; exit 2 ;; esac
DURATION="${BENCH_DURATION:-5}"
CONCURRENCY="${BENCH_CONCURRENCY:-1 8 32}"
PORT="${BENCH_PORT:-18089}"
BASE="http://127.0.0.1:$PORT"
OUT="$ROOT/var/bench"
mkdir -p "$OUT"
RAW="$OUT/raw.txt"
: >"$RAW"

log() { printf '[bench] %s\n' "$*" >&2; }

command -v wrk >/dev/null || {
  log "installing wrk (Debian package)"
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk >/dev/null; else sudo apt-get install -y -qq wrk >/dev/null; fi
}

scripts/services.sh start
eval "$(scripts/services.sh env)"
MYSQL_PORT="${HISTOLOGE_MYSQL_PORT:-3307}"
POOL_MB="${BENCH_BUFFER_POOL:-4096}"
if mariadb --socket="$ROOT/.local/mariadb/mysqld.sock" -u"$(id -un)" \
  -e "SET GLOBAL innodb_buffer_pool_size = $((POOL_MB * 1024 * 1024))" 2>/dev/null; then
  log "InnoDB buffer pool: $POOL_MB MiB"
else
  log "could not resize the buffer pool (MariaDB not started by this checkout): left as is"
fi
export DATABASE_URL="mysql://histologe:histologe@127.0.0.1:$MYSQL_PORT/$DB"
export DATABASE_MAX_CONNECTIONS="${DATABASE_MAX_CONNECTIONS:-20}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/histologe-target}"
BIN="$CARGO_TARGET_DIR/release"
sql() { mariadb -h127.0.0.1 -P"$MYSQL_PORT" -uhistologe -phistologe -N -B "$@"; }

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  log "building in release"
  SQLX_OFFLINE=true cargo build --release -p histologe --bin histologe --bin bench_sql
fi

if [ "${BENCH_RESET:-0}" = 1 ]; then
  log "dropping $DB"
  sql -e "DROP DATABASE IF EXISTS $DB"
fi
sql -e "CREATE DATABASE IF NOT EXISTS $DB CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
log "loading $REPORTS reports into $DB (skipped when already filled)"
LOAD_START=$(date +%s)
RUST_LOG="warn,sqlx::query=error" "$BIN/histologe" bench-data --reports "$REPORTS" | tee "$OUT/load.txt"
log "dataset ready in $(($(date +%s) - LOAD_START)) s"
sql "$DB" -e "SELECT 'reports', COUNT(*) FROM reports UNION ALL SELECT 'follow_ups', COUNT(*) FROM follow_ups
  UNION ALL SELECT 'assignments', COUNT(*) FROM assignments UNION ALL SELECT 'visits', COUNT(*) FROM visits
  UNION ALL SELECT 'partners', COUNT(*) FROM partners UNION ALL SELECT 'users', COUNT(*) FROM users" | tee "$OUT/counts.txt"

# ------------------------------------------------------------------ server
SERVER_LOG="$OUT/server.log"
RUST_LOG="warn,sqlx::query=error" APP_ENV=development HOST=127.0.0.1 PORT="$PORT" APP_BASE_URL="$BASE" \
  REDIS_KEY_PREFIX="bench:" TRUST_X_FORWARDED_FOR=true LOG_FORMAT=json \
  STORAGE_DIR="$OUT/storage" MAILBOX_DIR="$OUT/mailbox" BAN_API_URL="http://127.0.0.1:9/" \
  DPE_API_URL="http://127.0.0.1:9/" SENTRY_DSN= \
  "$BIN/histologe" serve >"$SERVER_LOG" 2>&1 &
SERVER=$!
cleanup() { kill "$SERVER" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
for _ in $(seq 1 100); do
  curl -sf "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -sf "$BASE/healthz" >/dev/null || { log "server did not start"; tail -20 "$SERVER_LOG"; exit 1; }
redis-cli -h 127.0.0.1 -p "${HISTOLOGE_REDIS_PORT:-6380}" --scan --pattern 'bench:*' |
  xargs -r redis-cli -h 127.0.0.1 -p "${HISTOLOGE_REDIS_PORT:-6380}" del >/dev/null

# ------------------------------------------------------------------ login
JAR="$OUT/cookies.txt"
rm -f "$JAR"
urlencode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
token_of() { grep -m1 -o 'name="_csrf" value="[^"]*"' "$1" | sed 's/.*value="//; s/"$//'; }
curl -s -c "$JAR" -b "$JAR" "$BASE/connexion" >"$OUT/login.html"
TOKEN="$(token_of "$OUT/login.html")"
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -c "$JAR" -b "$JAR" \
  --data-urlencode "_csrf=$TOKEN" --data-urlencode "email=admin@bench.localhost" \
  --data-urlencode "password=Histologe-Bench-2026!" "$BASE/connexion")
COOKIE="$(awk '$6 ~ /^histologe_/ {printf "%s=%s; ", $6, $7}' "$JAR")"
curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $COOKIE" "$BASE/bo/signalements" | grep -q 200 ||
  { log "login failed (POST /connexion: $STATUS)"; exit 1; }
log "logged in as admin@bench.localhost"

# ------------------------------------------------------------------ inputs
T13=$(sql "$DB" -e "SELECT id FROM territories WHERE code = '13'")
UUIDS="$OUT/uuids.txt"
"$BIN/bench_sql" uuids --count 2000 >"$UUIDS"
sed 's|^|/bo/signalements/|' "$UUIDS" >"$OUT/case_paths.txt"
# Follow-ups are written on active cases only (closed or refused ones answer 4xx).
sql "$DB" -e "SELECT uuid FROM reports WHERE status = 'active' ORDER BY id DESC LIMIT 2000" >"$OUT/active_uuids.txt"
sed 's|^\(.*\)$|/bo/signalements/\1/suivis|' "$OUT/active_uuids.txt" >"$OUT/follow_up_paths.txt"

# List filter combinations: the same query strings for HTTP and the floor.
declare -A LISTS=(
  [list_default]=""
  [list_territory_status]="territoire=$T13&statut=active"
  [list_territory_dates]="territoire=$T13&depot_du=2025-01-01&depot_au=2025-06-30"
  [list_status_profile]="statut=need_validation&profil=locataire"
  [search_name]="q=Dupont"
  [search_territory]="territoire=$T13&q=Nguyen"
)
LIST_ORDER="list_default list_territory_status list_territory_dates list_status_profile search_name search_territory"

# Map: one département (its bounding box) and the whole country.
BBOX13=$(sql "$DB" -e "SELECT CONCAT_WS(',', JSON_VALUE(bbox,'$.w'), JSON_VALUE(bbox,'$.s'), JSON_VALUE(bbox,'$.e'), JSON_VALUE(bbox,'$.n')) FROM territories WHERE code = '13'")
MAP_DEPT="/bo/cartographie/donnees?territoire=$T13&bbox=$BBOX13&zoom=9"
MAP_FRANCE="/bo/cartographie/donnees?bbox=-5.5,41.2,10,51.2&zoom=6"

# A completed form draft, walked through HTTP once, then copied (one copy
# per submission request).
prepare_drafts() {
  local jar="$OUT/form_cookies.txt" page="$OUT/form.html" uuid loc t
  rm -f "$jar"
  curl -s -c "$jar" -b "$jar" "$BASE/signalement/adresse" >"$page"
  t="$(token_of "$page")"
  post() {
    local path=$1
    shift
    local args=()
    for f in "$@"; do args+=(--data-urlencode "$f"); done
    curl -s -o "$page" -w '%{http_code} %{redirect_url}' -c "$jar" -b "$jar" \
      --data-urlencode "_csrf=$t" "${args[@]}" "$BASE$path"
  }
  postm() {
    local path=$1
    shift
    local args=(--form-string "_envoi=1")
    for f in "$@"; do args+=(--form-string "$f"); done
    curl -s -o "$page" -w '%{http_code} %{redirect_url}' -c "$jar" -b "$jar" \
      "${args[@]}" "$BASE$path?_csrf=$t"
  }
  loc=$(post /signalement/adresse adresse_logement_adresse_detail_numero="12 rue des Lilas" \
    adresse_logement_adresse_detail_code_postal=13100 adresse_logement_adresse_detail_commune=Aix-en-Provence \
    adresse_logement_complement_adresse_etage=2)
  uuid=$(echo "$loc" | sed -E 's|.*/signalement/([^/]+)/profil.*|\1|')
  local s=/signalement/$uuid
  {
    post "$s/profil" signalement_concerne_profil=logement_occupez \
      signalement_concerne_profil_detail_occupant=locataire signalement_concerne_logement_social_autre_tiers=non
    echo
    post "$s/vos-coordonnees" vos_coordonnees_occupant_civilite=mme vos_coordonnees_occupant_nom=Durand \
      vos_coordonnees_occupant_prenom=Camille vos_coordonnees_occupant_email=camille.bench@exemple.fr \
      "vos_coordonnees_occupant_tel=06 12 34 56 78"
    echo
    post "$s/bailleur" "coordonnees_bailleur_nom=SCI Les Lilas" coordonnees_bailleur_email=bailleur@exemple.fr \
      info_procedure_bailleur_prevenu=oui info_procedure_bail_moyen=courrier info_procedure_bail_date=01/2026 \
      "info_procedure_bail_reponse=Pas de réponse"
    echo
    post "$s/logement" zone_concernee_zone=batiment_logement zone_concernee_debut_desordres=months_1_to_6 \
      zone_concernee_constatation_desordres=oui type_logement_nature=appartement type_logement_rdc=non \
      type_logement_dernier_etage=non type_logement_sous_sol_sans_fenetre=non \
      composition_logement_piece_unique=plusieurs_pieces composition_logement_superficie=45 \
      composition_logement_nb_pieces=2 type_logement_commodites_piece_a_vivre_9m=oui \
      type_logement_commodites_cuisine=oui type_logement_commodites_salle_de_bain=oui \
      type_logement_commodites_wc=oui type_logement_commodites_wc_cuisine=non
    echo
    postm "$s/composition" composition_logement_nombre_personnes=3 composition_logement_nombre_enfants=1 \
      composition_logement_enfants=oui bail_dpe_date_emmenagement=2020-05-01 bail_dpe_bail=oui \
      bail_dpe_etat_des_lieux=oui bail_dpe_dpe=nsp
    echo
    post "$s/situation" logement_social_demande_relogement=non logement_social_allocation=non \
      travailleur_social_quitte_logement=non travailleur_social_accompagnement=non
    echo
    postm "$s/desordres-batiment" desordres_batiment_securite=1 desordres_batiment_securite_murs_fissures=1 \
      desordres_batiment_securite_murs_fissures_details_mur_porteur=oui
    echo
    postm "$s/desordres-logement" desordres_logement_humidite=1 desordres_logement_humidite_piece_a_vivre=1 \
      desordres_logement_humidite_piece_a_vivre_details_fuite=non \
      desordres_logement_humidite_piece_a_vivre_details_machine=non \
      desordres_logement_humidite_piece_a_vivre_details_moisissure_apres_nettoyage=oui \
      desordres_logement_electricite=1 desordres_logement_electricite_installation_dangereuse=1
    echo
    post "$s/procedure" info_procedure_assurance_contactee=non info_procedure_depart_apres_travaux=oui \
      "message_administration=Merci" utilisation_service_ok_prevenir_bailleur=1 utilisation_service_ok_visite=1 \
      utilisation_service_ok_demande_logement=1 utilisation_service_ok_signalement_tiers=1 \
      utilisation_service_ok_donnees_sante=1 utilisation_service_ok_cgu=1
    echo
    post "$s/complements" informations_complementaires_logement_montant_loyer=650 \
      informations_complementaires_logement_annee_construction=1965
    echo
  } >"$OUT/form_walk.txt"
  FORM_TOKEN="$t"
  FORM_COOKIE="$(awk '$6 ~ /^histologe_/ {printf "%s=%s; ", $6, $7}' "$jar")"
  local n=0
  for _ in $CONCURRENCY; do n=$((n + 1)); done
  "$BIN/bench_sql" clone-drafts --from "$uuid" --count $((n * 3000)) |
    sed 's|^\(.*\)$|/signalement/\1/recapitulatif|' >"$OUT/submit_paths.txt"
  TEMPLATE_DRAFT="$uuid"
}

# ------------------------------------------------------------------ runners
threads_for() { if [ "$1" -ge 2 ]; then echo 2; else echo 1; fi; }

http() { # name conc path [extra env...]
  local name=$1 c=$2 path=$3
  shift 3
  local t
  t=$(threads_for "$c")
  # one second of warm-up, not measured
  env BENCH_PATH="$path" BENCH_COOKIE="$COOKIE" BENCH_THREADS="$t" BENCH_NAME=warmup BENCH_CONC="$c" "$@" \
    wrk -t"$t" -c"$c" -d1s -s scripts/bench.lua "$BASE" >/dev/null 2>&1 || true
  env BENCH_PATH="$path" BENCH_COOKIE="$COOKIE" BENCH_THREADS="$t" BENCH_NAME="$name" BENCH_CONC="$c" "$@" \
    wrk -t"$t" -c"$c" -d"${DURATION}s" --timeout 30s -s scripts/bench.lua "$BASE" | grep '^HTTP' | tee -a "$RAW"
}

floor() { # name conc args...
  local name=$1 c=$2
  shift 2
  "$BIN/bench_sql" floor --name "$name" --concurrency "$c" --duration "$DURATION" "$@" | tee -a "$RAW"
}

# Warm-up: every page once for a few seconds at 8 users (fills the buffer
# pool and the server's caches), not measured.
log "warm-up"
WARM="$OUT/warm_paths.txt"
{
  for name in $LIST_ORDER; do echo "/bo/signalements?${LISTS[$name]}"; done
  head -n 500 "$OUT/case_paths.txt"
  echo "$MAP_DEPT"
  echo "$MAP_FRANCE"
} >"$WARM"
env BENCH_PATHS="$WARM" BENCH_COOKIE="$COOKIE" BENCH_THREADS=2 BENCH_NAME=warmup BENCH_CONC=8 \
  wrk -t2 -c8 -d"${BENCH_WARMUP:-15}s" --timeout 30s -s scripts/bench.lua "$BASE" >/dev/null 2>&1 || true

for c in $CONCURRENCY; do
  log "== $c concurrent users"
  http static "$c" /healthz
  floor ping "$c" --scenario ping
  for name in $LIST_ORDER; do
    query="${LISTS[$name]}"
    http "$name" "$c" "/bo/signalements?$query"
    floor "$name" "$c" --scenario list --query "$query"
  done
  http case_page "$c" /bo/signalements/x BENCH_PATHS="$OUT/case_paths.txt"
  floor case_page "$c" --scenario case --uuids "$UUIDS"
  if curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $COOKIE" "$BASE$MAP_DEPT" | grep -q 200; then
    http map_departement "$c" "$MAP_DEPT"
    floor map_departement "$c" --scenario map --query "${MAP_DEPT#*\?}"
    http map_france "$c" "$MAP_FRANCE"
    floor map_france "$c" --scenario map --query "${MAP_FRANCE#*\?}"
  else
    log "map data route absent or failing: skipped"
  fi
  http follow_up "$c" /x BENCH_PATHS="$OUT/follow_up_paths.txt" BENCH_METHOD=POST \
    BENCH_BODY="_csrf=$(urlencode "$(grep -o 'histologe_csrf=[^;]*' <<<"$COOKIE" | cut -d= -f2-)")&body=Suivi+de+charge+%28benchmark%29"
  floor follow_up "$c" --scenario follow-up --uuids "$OUT/active_uuids.txt"
done

# Mixed back-office traffic: lists, searches, case pages, map, at 32 users.
MIXED="$OUT/mixed_paths.txt"
{
  for name in $LIST_ORDER; do echo "/bo/signalements?${LISTS[$name]}"; done
  head -n 200 "$OUT/case_paths.txt"
  echo "$MAP_DEPT"
} | shuf --random-source=<(yes) >"$MIXED"
http mixed 32 /x BENCH_PATHS="$MIXED"

# Public form submissions (every side effect queued: the worker is not run).
prepare_drafts
SUBMIT_COOKIE="$FORM_COOKIE"
for c in $CONCURRENCY; do
  start=$(( ( $(echo "$CONCURRENCY" | tr ' ' '\n' | grep -n "^$c$" | cut -d: -f1) - 1) * 3000 + 1 ))
  # (sed, not tail | head: head closing the pipe early kills tail with
  # SIGPIPE, and pipefail the script)
  sed -n "${start},$((start + 2999))p" "$OUT/submit_paths.txt" >"$OUT/submit_$c.txt"
  t=$(threads_for "$c")
  env BENCH_PATHS="$OUT/submit_$c.txt" BENCH_COOKIE="$SUBMIT_COOKIE" BENCH_THREADS="$t" BENCH_SUBMIT=1 \
    BENCH_METHOD=POST BENCH_BODY="_csrf=$(urlencode "$FORM_TOKEN")&site_web=" BENCH_NAME=form_submission BENCH_CONC="$c" \
    wrk -t"$t" -c"$c" -d"${DURATION}s" --timeout 30s -s scripts/bench.lua "$BASE" | grep '^HTTP' | tee -a "$RAW"
done
SUBMITTED=$(sql "$DB" -e "SELECT COUNT(*) FROM drafts WHERE status = 'en_signalement'")
log "form submissions that created a report: $SUBMITTED"

# CSV export: time and peak RSS of the server while it streams.
EXPORT_PATH="/bo/signalements/export.csv"
if [ "$REPORTS" -gt 150000 ]; then
  # about 100,000 rows out of the national set (active cases filed since
  # June 2026: 106,551 in the generated million)
  EXPORT_PATH="$EXPORT_PATH?statut=active&depot_du=2026-06-01"
fi
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER/status"; }
BEFORE=$(rss_kb)
PEAK_FILE="$OUT/rss_peak.txt"
echo "$BEFORE" >"$PEAK_FILE"
(
  peak=$BEFORE
  while kill -0 "$SERVER" 2>/dev/null && [ ! -f "$OUT/export.done" ]; do
    r=$(rss_kb || echo 0)
    [ "${r:-0}" -gt "$peak" ] && peak=$r && echo "$peak" >"$PEAK_FILE"
    sleep 0.05
  done
) &
SAMPLER=$!
rm -f "$OUT/export.done"
EXPORT=$(curl -s -o "$OUT/export.csv" -w '%{http_code} %{time_total}' -H "Cookie: $COOKIE" "$BASE$EXPORT_PATH")
touch "$OUT/export.done"
wait "$SAMPLER" 2>/dev/null || true
ROWS=$(($(wc -l <"$OUT/export.csv") - 1))
echo "EXPORT csv_export $EXPORT rows=$ROWS rss_before_kb=$BEFORE rss_peak_kb=$(cat "$PEAK_FILE")" | tee -a "$RAW"

# ------------------------------------------------------------------ table
python3 - "$RAW" "$OUT/results.md" <<'PY'
import sys
raw, out = sys.argv[1], sys.argv[2]
http, floor, extra = {}, {}, []
for line in open(raw):
    p = line.split()
    if p[0] == "HTTP":
        http[(p[1], p[2])] = p[3:]
    elif p[0] == "FLOOR":
        floor[(p[1], p[2])] = p[3:]
    elif p[0] == "EXPORT":
        extra.append(line.strip())
rows = ["| scenario | users | p50 ms | p95 ms | p99 ms | req/s | errors | SQL floor p95 ms | p95 / SQL floor | p95 / static p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
for (name, c), v in http.items():
    p50, p95, p99, rps, err, status = v[:6]
    f = floor.get((name, c))
    static = http.get(("static", c))
    ratio_f = f"{float(p95) / max(float(f[1]), 0.01):.1f}x" if f else "–"
    ratio_s = f"{float(p95) / max(float(static[1]), 0.01):.1f}x" if static else "–"
    rows.append(f"| {name} | {c} | {p50} | {p95} | {p99} | {rps} | {int(err) + int(status)} | {f[1] if f else '–'} | {ratio_f} | {ratio_s} |")
rows.append("")
rows.append("SQL floors alone (bench_sql, same pool size as the server):")
rows.append("")
rows.append("| floor | users | p50 ms | p95 ms | p99 ms | req/s |")
rows.append("|---|---:|---:|---:|---:|---:|")
for (name, c), v in floor.items():
    rows.append(f"| {name} | {c} | {v[0]} | {v[1]} | {v[2]} | {v[3]} |")
rows.append("")
rows.extend(extra)
text = "\n".join(rows) + "\n"
open(out, "w").write(text)
print(text)
PY
log "results in var/bench/results.md (raw lines in var/bench/raw.txt)"
