#!/usr/bin/env bash
# Vendorise les dépendances front-end (DSFR, Leaflet, Leaflet.markercluster)
# dans assets/vendor/ : seuls les fichiers réellement servis par le site sont
# copiés, avec la licence de chaque paquet.
#
# Usage :
#   scripts/vendor-assets.sh            installe (npm ci, ou npm install s'il n'y a
#                                       pas encore de package-lock.json), copie, vérifie
#   scripts/vendor-assets.sh --update   npm install (met à jour package-lock.json
#                                       dans les bornes exactes de package.json), copie, vérifie
#   scripts/vendor-assets.sh --check    vérifie seulement que chaque url(...) des CSS
#                                       vendorisées pointe vers un fichier présent
#
# L'installation se fait dans un dossier temporaire : le dépôt n'a pas de
# node_modules/ à l'issue du script. Les fichiers de assets/vendor/ sont
# versionnés ; relancer ce script après tout changement de version dans
# package.json.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/assets/vendor"
MODE="${1:-install}"

log() { printf '[vendor-assets] %s\n' "$*" >&2; }

# Vérifie que chaque url(...) non « data: » des CSS vendorisées se résout vers
# un fichier existant (chemin relatif au fichier CSS).
check_css_urls() {
  node - "$VENDOR" <<'JS'
const fs = require('fs');
const path = require('path');
const root = process.argv[2];
const cssFiles = [];
(function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.css')) cssFiles.push(p);
  }
})(root);
let refs = 0;
const missing = [];
for (const file of cssFiles) {
  const css = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const re = /url\(\s*(['"]?)(.*?)\1\s*\)/g;
  let m;
  const seen = new Set();
  while ((m = re.exec(css)) !== null) {
    const url = m[2].trim();
    if (!url || /^(data:|#|[a-z][a-z0-9+.-]*:|\/\/)/i.test(url)) continue;
    const clean = url.split(/[?#]/)[0];
    if (seen.has(clean)) continue;
    seen.add(clean);
    refs++;
    const target = clean.startsWith('/')
      ? path.join(root, '..', '..', clean) // /assets/... -> dépôt
      : path.resolve(path.dirname(file), clean);
    if (!fs.existsSync(target)) missing.push(`${path.relative(root, file)} -> ${url}`);
  }
}
console.log(`[vendor-assets] ${cssFiles.length} fichiers CSS, ${refs} url(...) distinctes vérifiées, ${missing.length} manquante(s)`);
if (missing.length) {
  for (const x of missing) console.log('  MANQUANT : ' + x);
  process.exit(1);
}
JS
}

if [[ "$MODE" == "--check" ]]; then
  check_css_urls
  exit 0
fi

command -v npm >/dev/null || { log "npm est requis (Node.js >= 18)"; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

cp "$ROOT/package.json" "$TMP/"
if [[ -f "$ROOT/package-lock.json" && "$MODE" != "--update" ]]; then
  cp "$ROOT/package-lock.json" "$TMP/"
  log "npm ci (versions de package-lock.json)"
  (cd "$TMP" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
else
  [[ -f "$ROOT/package-lock.json" ]] && cp "$ROOT/package-lock.json" "$TMP/"
  log "npm install"
  (cd "$TMP" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error)
  cp "$TMP/package-lock.json" "$ROOT/package-lock.json"
fi

NM="$TMP/node_modules"
DSFR="$NM/@gouvfr/dsfr"
LEAFLET="$NM/leaflet"
CLUSTER="$NM/leaflet.markercluster"

rm -rf "$VENDOR"
mkdir -p "$VENDOR/dsfr/utility/icons" "$VENDOR/leaflet" "$VENDOR/leaflet.markercluster"

# --- DSFR -------------------------------------------------------------------
# dsfr.min.css référence fonts/ et icons/ ; utility/icons/icons.min.css
# référence ../../icons/ ; artwork/ sert aux pictogrammes et à la modale
# « Paramètres d'affichage » ; favicon/ est lié depuis le <head>.
cp "$DSFR/dist/dsfr.min.css" "$DSFR/dist/dsfr.module.min.js" "$DSFR/dist/dsfr.nomodule.min.js" "$VENDOR/dsfr/"
cp "$DSFR/dist/utility/icons/icons.min.css" "$VENDOR/dsfr/utility/icons/"
cp -R "$DSFR/dist/icons" "$DSFR/dist/fonts" "$DSFR/dist/favicon" "$DSFR/dist/artwork" "$VENDOR/dsfr/"
cp "$DSFR/LICENSE.md" "$VENDOR/dsfr/"

# --- Leaflet ----------------------------------------------------------------
cp "$LEAFLET/dist/leaflet.css" "$LEAFLET/dist/leaflet.js" "$VENDOR/leaflet/"
cp -R "$LEAFLET/dist/images" "$VENDOR/leaflet/"
cp "$LEAFLET/LICENSE" "$VENDOR/leaflet/"

# --- Leaflet.markercluster --------------------------------------------------
cp "$CLUSTER/dist/MarkerCluster.css" "$CLUSTER/dist/MarkerCluster.Default.css" \
   "$CLUSTER/dist/leaflet.markercluster.js" "$VENDOR/leaflet.markercluster/"
cp "$CLUSTER/MIT-LICENCE.txt" "$VENDOR/leaflet.markercluster/"

# Les cartes de sources (.map) ne sont pas vendorisées : on retire les
# commentaires sourceMappingURL pour éviter des 404 dans les outils de dev.
find "$VENDOR" -type f \( -name '*.css' -o -name '*.js' \) -print0 |
  xargs -0 sed -i -E '/^[[:space:]]*(\/\/|\/\*)# sourceMappingURL=[^ ]*( \*\/)?[[:space:]]*$/d; s#/\*\# sourceMappingURL=[^*]*\*/##g; s#//\# sourceMappingURL=[^ ]*$##'

# Les SVG / polices n'ont pas à être exécutables.
find "$VENDOR" -type f -exec chmod 0644 {} +

version_of() { node -p "require('$1/package.json').version"; }
cat > "$VENDOR/VERSIONS.txt" <<EOF
Fichiers générés par scripts/vendor-assets.sh — ne pas modifier à la main.
@gouvfr/dsfr $(version_of "$DSFR")
leaflet $(version_of "$LEAFLET")
leaflet.markercluster $(version_of "$CLUSTER")
EOF

check_css_urls
log "taille de assets/vendor : $(du -sh "$VENDOR" | cut -f1) ($(find "$VENDOR" -type f | wc -l) fichiers)"
