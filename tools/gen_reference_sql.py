#!/usr/bin/env python3
"""Generate the reference-data migrations from the Histologe data files.

    python3 tools/gen_reference_sql.py --data-dir DIR [--out-dir DIR] [--check]

DIR is a copy of Histologe's data files (MTES-MCT/histologe, MIT licence): its README.md
(with the "Source:" attribution line), the territories, communes and taxonomy files.

Writes (deterministically: same input, byte-identical output):
    migrations/20261123000002_reference_territories.sql
    migrations/20261123000003_reference_communes.sql
    migrations/20261123000005_reference_defect_taxonomy.sql

The generated files are committed; the application never runs this script. sqlx records a
checksum of every applied migration, so never regenerate a file that has been applied
somewhere: add a new migration instead. --check only verifies that the committed files are
up to date (exit status 1 otherwise).

Python 3 standard library only. The YAML files are parsed by a tiny parser that knows only
their shape (a top-level key holding a list of flat mappings, values being quoted strings,
numbers, inline lists, or a nested block list of scalars).

Facts (slugs, codes, zones, coefficients, flags, qualifications, order) come from the data
files. User-facing labels are our own short French wording (tables below); the labels of the
precisions are derived mechanically: criterion label + a detail built from the slug suffix.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "migrations"

TERRITORIES_FILE = "20261123000002_reference_territories.sql"
COMMUNES_FILE = "20261123000003_reference_communes.sql"
TAXONOMY_FILE = "20261123000005_reference_defect_taxonomy.sql"

COMMUNES_PER_INSERT = 1000
METROPOLE_LYON = "69A"

QUALIFICATIONS = {
    "ACCOMPAGNEMENT_JURIDIQUE", "ACCOMPAGNEMENT_SOCIAL", "ACCOMPAGNEMENT_TRAVAUX",
    "AIDE_BAILLEURS", "ARRETES", "ASSURANTIEL", "CONCILIATION", "CONSIGNATION_AL", "DALO",
    "SALETE", "FSL", "HEBERGEMENT_RELOGEMENT", "INSALUBRITE", "MISE_EN_SECURITE_PERIL",
    "NON_DECENCE", "NON_DECENCE_ENERGETIQUE", "NUISIBLES", "RSD", "VISITES", "DANGER",
    "SUROCCUPATION",
}

# --------------------------------------------------------------------------------------
# Our own labels
# --------------------------------------------------------------------------------------

# Back-office categories, keyed by the Histologe label (the join key used by the criteria).
OFFICE_CATEGORY_LABELS = {
    "Usage / entretien": "Usage et entretien",
    "Equipements collectifs": "Équipements collectifs",
    "Etanchéité / isolation": "Étanchéité et isolation",
    "Bâtiment risques particuliers": "Risques propres au bâtiment",
    "Sécurite risques particuliers": "Risques pour la sécurité",
    "Structure du bâti": "Structure du bâti",
    "Environnement / éclairage": "Environnement et éclairage",
    "Structure / équipements": "Structure et équipements",
    "Suroccupation": "Suroccupation",
    "Eau potable / assainissement": "Eau potable et assainissement",
    "Aération / humidité": "Aération et humidité",
    "Chauffage / confort": "Chauffage et confort",
    "Eclairage / hauteur": "Éclairage et hauteur sous plafond",
    "Incurie": "Incurie",
    "Propreté / entretien": "Propreté et entretien",
    "Service Secours": "Services de secours",
}

# Form categories, keyed by slug_categorie.
CATEGORY_LABELS = {
    "desordres_batiment_proprete": "Propreté de l'immeuble",
    "desordres_batiment_eau": "Eau et évacuations de l'immeuble",
    "desordres_batiment_isolation": "Isolation de l'immeuble",
    "desordres_batiment_maintenance": "Entretien et équipements",
    "desordres_batiment_nuisibles": "Nuisibles dans l'immeuble",
    "desordres_batiment_securite": "Solidité et risques de chute",
    "desordres_batiment_incendie": "Risque d'incendie",
    "desordres_batiment_accessibilite": "Accès et abords",
    "desordres_batiment_bruit": "Bruit autour de l'immeuble",
    "desordres_type_composition_logement": "Composition du logement",
    "desordres_logement_eau": "Eau et évacuations du logement",
    "desordres_logement_aeration": "Aération et ventilation",
    "desordres_logement_chauffage": "Chauffage et isolation",
    "desordres_logement_humidite": "Humidité et moisissures",
    "desordres_logement_securite": "Sécurité du logement",
    "desordres_logement_electricite": "Électricité",
    "desordres_logement_nuisibles": "Nuisibles dans le logement",
    "desordres_logement_bruit": "Bruit dans le logement",
    "desordres_logement_lumiere": "Lumière et hauteur sous plafond",
    "desordres_logement_proprete": "Propreté du logement",
    "service_secours": "Constats des services de secours",
}

# Criteria, keyed by slug_critere.
CRITERION_LABELS = {
    # building: cleanliness
    "desordres_batiment_proprete_interieur": "Intérieur de l'immeuble jamais nettoyé",
    "desordres_batiment_proprete_facades": "Façades très sales ou dégradées",
    "desordres_batiment_proprete_parties_communes": "Parties communes dégradées ou encombrées",
    "desordres_batiment_proprete_local_poubelles": "Aucun emplacement pour les déchets",
    # building: water
    "desordres_batiment_eau_pas_eau_potable": "Immeuble privé d'eau potable",
    "desordres_batiment_eau_evacuation_KO": "Évacuation des eaux usées défaillante",
    "desordres_batiment_eau_pas_eau_chaude": "Immeuble privé d'eau chaude",
    "desordres_batiment_eau_pas_evacuation_eaux_pluie": "Eaux de pluie mal évacuées",
    # building: insulation
    "desordres_batiment_isolation_murs": "Murs mal isolés",
    "desordres_batiment_isolation_porte_fenetres": "Portes ou fenêtres manquantes ou mal isolées",
    "desordres_batiment_isolation_dernier_etage_toit": "Toiture non étanche ou dernier étage non isolé",
    "desordres_batiment_isolation_infiltration_eau": "Infiltrations d'eau par le sol ou les murs",
    # building: maintenance
    "desordres_batiment_maintenance_ascenseur": "Ascenseur dangereux",
    "desordres_batiment_maintenance_petites_reparations": "Menues réparations jamais faites",
    # building: pests
    "desordres_batiment_nuisibles_cafards": "Cafards ou blattes",
    "desordres_batiment_nuisibles_rongeurs": "Rats ou souris",
    "desordres_batiment_nuisibles_punaises": "Punaises de lit",
    "desordres_batiment_nuisibles_autres": "Autres nuisibles",
    # building: safety
    "desordres_batiment_securite_sol": "Sol instable",
    "desordres_batiment_securite_elements_toit": "Éléments de toiture menaçant de tomber",
    "desordres_batiment_securite_toit": "Toit ou plafond menaçant de s'effondrer",
    "desordres_batiment_securite_escalier": "Escaliers ou garde-corps dangereux",
    "desordres_batiment_securite_murs_fissures": "Murs très fissurés, bâtiment instable",
    "desordres_batiment_securite_balcons": "Balcons ou garde-corps menaçant de tomber",
    # building: fire
    "desordres_batiment_incendie_porte_coupe_feu": "Pas de porte coupe-feu côté caves",
    "desordres_batiment_incendie_odeur_gaz": "Forte odeur de gaz dans l'immeuble",
    # building: access
    "desordres_batiment_accessibilite_friche": "Immeuble isolé sur une friche ou un terrain à l'abandon",
    "desordres_batiment_accessibilite_eclairage": "Abords ou entrée sans éclairage",
    "desordres_batiment_accessibilite_acces_batiment": "Accès à l'immeuble étroit ou encombré",
    # building: noise
    "desordres_batiment_bruit_exterieur": "Source de bruit voisine (voie ferrée, aéroport, usine)",
    "desordres_batiment_bruit_interieur": "Bruit important dans l'immeuble",
    # dwelling composition (derived from answers, no screen)
    "desordres_type_composition_logement_sous_combles": "Logement sous les combles sans fenêtre",
    "desordres_type_composition_logement_sous_sol": "Logement en sous-sol sans fenêtre",
    "desordres_type_composition_logement_piece_unique": "Logement d'une pièce non conforme",
    "desordres_type_composition_logement_plusieurs_pieces": "Logement de plusieurs pièces non conforme",
    "desordres_type_composition_logement_cuisine": "Pas de cuisine dans le logement",
    "desordres_type_composition_logement_douche": "Pas de salle d'eau dans le logement",
    "desordres_type_composition_logement_wc": "Sanitaires non conformes",
    "desordres_type_composition_logement_suroccupation": "Logement trop petit pour le foyer",
    # dwelling: water
    "desordres_logement_eau_eau_potable": "Logement privé d'eau potable",
    "desordres_logement_eau_evacuation": "Évacuation des eaux défaillante",
    "desordres_logement_eau_eau_chaude": "Logement privé d'eau chaude",
    # dwelling: ventilation
    "desordres_logement_aeration_aucune_aeration": "Ni fenêtre ni ventilation",
    "desordres_logement_aeration_ventilation_defectueuse": "Ventilation en panne",
    # dwelling: heating
    "desordres_logement_chauffage_details_fenetres_permeables": "Fenêtres laissant passer l'air ou la pluie",
    "desordres_logement_chauffage_type_aucun": "Aucun chauffage fixe",
    "desordres_logement_chauffage_details_difficultes_chauffage": "Logement difficile à chauffer",
    "desordres_logement_chauffage_details_chauffage_KO": "Chauffage en panne, appoint utilisé",
    "desordres_logement_chauffage_details_chauffage_dangereux": "Appareils de chauffage ou d'eau chaude dangereux",
    # dwelling: damp
    "desordres_logement_humidite_tout": "Humidité et moisissures dans tout le logement",
    "desordres_logement_humidite_piece_a_vivre": "Humidité et moisissures dans une pièce à vivre",
    "desordres_logement_humidite_cuisine": "Humidité et moisissures dans la cuisine",
    "desordres_logement_humidite_salle_de_bain": "Humidité et moisissures dans la salle d'eau ou les WC",
    # dwelling: safety
    "desordres_logement_securite_sol_glissant": "Sol glissant ou abîmé",
    "desordres_logement_securite_sol_dangereux": "Sol menaçant de s'effondrer",
    "desordres_logement_securite_balcons": "Balcons ou garde-corps menaçant de tomber",
    "desordres_logement_securite_gaz": "Odeur ou fuite de gaz",
    "desordres_logement_securite_plomb": "Peinture au plomb ou amiante dégradés",
    # dwelling: electricity
    "desordres_logement_electricite_pas_electricite": "Pas d'électricité",
    "desordres_logement_electricite_pas_compteur": "Pas de compteur électrique",
    "desordres_logement_electricite_installation_dangereuse": "Installation électrique dangereuse",
    "desordres_logement_electricite_manque_prises": "Prises absentes ou trop peu nombreuses",
    # dwelling: pests
    "desordres_logement_nuisibles_cafards": "Cafards ou blattes",
    "desordres_logement_nuisibles_rongeurs": "Rats ou souris",
    "desordres_logement_nuisibles_punaises": "Punaises de lit",
    "desordres_logement_nuisibles_autres": "Autres nuisibles",
    # dwelling: noise
    "desordres_logement_bruit_exterieur": "Bruit extérieur audible fenêtres fermées",
    "desordres_logement_bruit_voisins": "Voisins entendus comme s'ils étaient là",
    # dwelling: light
    "desordres_logement_lumiere_pas_lumiere": "Pas de lumière du jour",
    "desordres_logement_lumiere_pas_volets": "Ni volets ni stores",
    "desordres_logement_lumiere_plafond_trop_bas": "Plafonds trop bas",
    # dwelling: cleanliness (third-party form)
    "desordres_logement_proprete": "Logement très sale, déchets accumulés",
    # emergency services
    "desordres_service_secours_logement_inadapte": "Logement inadapté",
    "desordres_service_secours_humidite_moisissures": "Humidité ou moisissures",
    "desordres_service_secours_chauffage_dangereux": "Chauffage dangereux",
    "desordres_service_secours_risque_electrique": "Risque électrique",
    "desordres_service_secours_salete_accumulation_dechets": "Saleté ou déchets accumulés",
    "desordres_service_secours_mauvais_etat_batiment": "Bâti en mauvais état",
    "desordres_service_secours_absence_confort": "Confort absent (chauffage, eau...)",
    "desordres_service_secours_securite_personnes": "Sécurité des personnes",
    "desordres_service_secours_risque_saturnisme": "Risque de saturnisme",
    "desordres_service_secours_nuisibles": "Nuisibles",
    "desordres_service_secours_parties_communes_degradees": "Parties communes dégradées",
    "desordres_service_secours_autre": "Autre constat",
}

FREE_TEXT_LABELS = {
    "critere": "Type de nuisible",
    "precisions": "Hauteur sous plafond en cm (facultatif)",
}

ROOMS = {
    "tout": "tout le logement",
    "piece_a_vivre": "pièce à vivre",
    "cuisine": "cuisine",
    "salle_de_bain": "salle d'eau ou WC",
}
ANSWERS = {"oui": "oui", "non": "non", "nsp": "ne sait pas"}

# Whole-suffix details (suffix = precision slug minus criterion slug).
SUFFIX_DETAILS = {
    # roof / infiltration, by position of the dwelling
    "_sous_toit_non": "logement pas sous la toiture",
    "_dernier_etage": "logement au dernier étage",
    "_sous_combles": "logement sous les combles",
    "_maison_individuelle": "maison individuelle",
    "_au_sol_non": "logement en étage",
    "_sous_sol": "logement en sous-sol",
    "_rdc": "logement en rez-de-chaussée",
    # floors and stairs
    "_details_plancher_abime": "plancher abîmé",
    "_details_plancher_effondre": "plancher menaçant de céder",
    "_details_utilisable": "praticables mais instables",
    "_details_dangereux": "impraticables, danger",
    # composition
    "_superficie": "moins de 9 m²",
    "_aucune_piece_9": "aucune pièce à vivre de 9 m² ou plus",
    "_cuisine_ensemble": "WC dans la cuisine",
    "_non_allocataire": "trop d'occupants pour le nombre de pièces",
    "_allocataire": "surface trop faible pour un foyer allocataire",
    # ceilings
    "_piece_a_vivre": "pièce à vivre",
    "_cuisine": "cuisine",
    "_salle_de_bain": "salle d'eau ou WC",
    "_toutes_pieces": "toutes les pièces",
    # pests
    "_details_date_before_movein": "déjà là avant l'emménagement",
    "_details_date_after_movein": "apparus après l'emménagement",
    "_details_date_nsp": "date d'apparition inconnue",
    # emergency services
    "_logement_exigu": "logement exigu",
    "_fuites": "fuites",
    "_logement_calfeutre": "logement calfeutré",
    "_absence_compteur": "compteur absent",
    "_logement_sale": "logement sale",
    "_structure": "structure",
    "_salubrite": "salubrité",
    "_risque_chute": "risque de chute",
    "_personne_vulnerable": "personne vulnérable",
    "_infestations": "infestation",
    "_precision": "à préciser",
}

# Suffix patterns with a variable answer / room part.
PATTERN_DETAILS = [
    (re.compile(r"^_collective_(oui|non)$"),
     lambda m: "équipement collectif accessible" if m[1] == "oui" else "aucun, même collectif"),
    (re.compile(r"^_collectif_(oui|non)$"),
     lambda m: "WC collectifs accessibles" if m[1] == "oui" else "aucun WC, même collectif"),
    (re.compile(r"^_details_mur_porteur_(oui|non|nsp)$"),
     lambda m: "mur porteur atteint : " + ANSWERS[m[1]]),
    (re.compile(r"^_details_pieces_(tout|piece_a_vivre|cuisine|salle_de_bain)_nettoyage_(oui|non|nsp)$"),
     lambda m: ROOMS[m[1]] + ", bouches nettoyées : " + ANSWERS[m[2]]),
    (re.compile(r"^_pieces_(tout|piece_a_vivre|cuisine|salle_de_bain)_diagnostique_(oui|non|nsp)$"),
     lambda m: ROOMS[m[1]] + ", diagnostic fait : " + ANSWERS[m[2]]),
    (re.compile(r"^_pieces_(tout|piece_a_vivre|cuisine|salle_de_bain)$"),
     lambda m: ROOMS[m[1]]),
    (re.compile(r"^_details_machine_(oui|non|nsp)$"),
     lambda m: "lave-linge, sèche-linge ou lave-vaisselle dans la pièce : " + ANSWERS[m[1]]),
    (re.compile(r"^_details_moisissure_apres_nettoyage_(oui|non|nsp)$"),
     lambda m: "moisissures revenues après nettoyage : " + ANSWERS[m[1]]),
    (re.compile(r"^_details_fuite_(oui|non)$"),
     lambda m: "fuite d'eau : " + ANSWERS[m[1]]),
    (re.compile(r"^_details_multiprises_(oui|non|nsp)$"),
     lambda m: "multiprises utilisées : " + ANSWERS[m[1]]),
]


def precision_label(criterion_slug: str, criterion_label: str, precision_slug: str) -> str:
    if precision_slug == criterion_slug:
        return criterion_label
    if not precision_slug.startswith(criterion_slug):
        raise SystemExit(f"precision {precision_slug} does not extend its criterion {criterion_slug}")
    suffix = precision_slug[len(criterion_slug):]
    detail = SUFFIX_DETAILS.get(suffix)
    if detail is None:
        for pattern, build in PATTERN_DETAILS:
            m = pattern.match(suffix)
            if m:
                detail = build(m)
                break
    if detail is None:
        raise SystemExit(f"no label rule for precision suffix {suffix!r} ({precision_slug})")
    return f"{criterion_label} – {detail}"


# --------------------------------------------------------------------------------------
# Tiny YAML reader (only the shape of these files)
# --------------------------------------------------------------------------------------

def _strip_comment(line: str) -> str:
    out, quote = [], None
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            out.append(c)
            if c == "\\" and quote == '"' and i + 1 < len(line):
                out.append(line[i + 1])
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'":
            quote = c
            out.append(c)
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            break
        else:
            out.append(c)
        i += 1
    return "".join(out).rstrip()


def _scalar(text: str):
    text = text.strip()
    if text == "":
        return None
    if text.startswith('"'):
        if not text.endswith('"') or len(text) < 2:
            raise ValueError(f"unterminated string: {text}")
        return json.loads(text)  # YAML double-quoted escapes used here are JSON's
    if text.startswith("'"):
        if not text.endswith("'") or len(text) < 2:
            raise ValueError(f"unterminated string: {text}")
        return text[1:-1].replace("''", "'")
    if text.startswith("["):
        inner = text[1:-1].strip()
        if not inner:
            return []
        return [_scalar(part) for part in _split_flow(inner)]
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return text  # keep decimals as text: exact in SQL
    return text


def _split_flow(inner: str):
    parts, cur, quote = [], [], None
    for c in inner:
        if quote:
            cur.append(c)
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
            cur.append(c)
        elif c == ",":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur))
    return [p for p in (x.strip() for x in parts) if p]


def read_yaml_list(path: Path, top_key: str) -> list[dict]:
    items: list[dict] = []
    cur: dict | None = None
    nested_key: str | None = None
    seen_top = False
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = _strip_comment(raw)
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        body = line.strip()
        if indent == 0:
            if body != f"{top_key}:":
                raise SystemExit(f"{path}:{lineno}: unexpected top-level line {body!r}")
            seen_top = True
            continue
        if body == "-" and indent == 2:
            cur = {}
            items.append(cur)
            nested_key = None
            continue
        if cur is None:
            raise SystemExit(f"{path}:{lineno}: value outside an item")
        if body.startswith("- ") and nested_key is not None and indent > 4:
            cur[nested_key].append(_scalar(body[2:]))
            continue
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*):(.*)", body)
        if not m or indent != 4:
            raise SystemExit(f"{path}:{lineno}: cannot parse {raw!r}")
        key, value = m[1], m[2].strip()
        if key in cur:
            raise SystemExit(f"{path}:{lineno}: duplicate key {key}")
        if value == "":
            cur[key] = []
            nested_key = key
        else:
            cur[key] = _scalar(value)
            nested_key = None
    if not seen_top:
        raise SystemExit(f"{path}: top-level key {top_key!r} not found")
    return items


# --------------------------------------------------------------------------------------
# SQL helpers
# --------------------------------------------------------------------------------------

def q(value) -> str:
    """SQL literal. Strings are escaped for the default sql_mode (backslash escapes on)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    s = str(value).replace("\\", "\\\\").replace("'", "''")
    return f"'{s}'"


def bool_lit(value) -> str:
    return "TRUE" if value in (1, "1", True) else "FALSE"


def header(readme_line: str, what: str, note: str = "") -> str:
    return (
        f"-- Reference data: {what}.\n"
        "-- GENERATED by tools/gen_reference_sql.py: do not edit by hand (and never regenerate a\n"
        "-- migration that has been applied: add a new one).\n"
        "--\n"
        f"-- {readme_line}\n"
        + (f"-- {note}\n" if note else "")
        + "\n"
    )


def slugify(label: str) -> str:
    s = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode("ascii")
    s = re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_")
    return s


# --------------------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------------------

def load_territories(data: Path) -> list[dict]:
    rows = read_yaml_list(data / "taxonomy-and-reference" / "Territory.yml", "territories")
    seen = set()
    for r in rows:
        code = r["zip"]
        if code in seen:
            raise SystemExit(f"duplicate territory {code}")
        seen.add(code)
    return rows


def bbox_json(raw) -> str | None:
    if raw in (None, "", "[]"):
        return None
    box = json.loads(raw)
    if not isinstance(box, dict) or not box:
        return None
    parts = []
    for k in ("n", "e", "s", "w"):
        # two source values carry a stray space or comma (" 47.108549", ",-1.354187")
        v = str(box[k]).strip().lstrip(",").strip()
        if not re.fullmatch(r"-?\d+(\.\d+)?", v):
            raise SystemExit(f"bad bbox value {v!r}")
        parts.append(f'"{k}":{v}')
    return "{" + ",".join(parts) + "}"


def gen_territories(territories: list[dict], readme_line: str) -> str:
    out = [header(readme_line, "territories (départements), all inactive")]
    out.append("-- ids follow the order of Territory.yml; 69A = Métropole de Lyon.\n")
    out.append("INSERT INTO territories (id, code, name, is_active, timezone, bbox) VALUES\n")
    values = []
    for i, t in enumerate(territories, 1):
        values.append(
            f"({i}, {q(t['zip'])}, {q(t['name'])}, FALSE, "
            f"{q(t.get('timezone') or 'Europe/Paris')}, {q(bbox_json(t.get('bbox')))})"
        )
    out.append(",\n".join(values) + ";\n")
    return "".join(out)


def territory_code_for_insee(insee: str, metropole: set[str]) -> str:
    if insee in metropole:
        return METROPOLE_LYON
    if insee.startswith(("97", "98")):
        return insee[:3]
    return insee[:2]  # includes 2A / 2B


def gen_communes(territories: list[dict], data: Path, readme_line: str) -> tuple[str, int, dict]:
    ids = {t["zip"]: i for i, t in enumerate(territories, 1)}
    metro = next((t for t in territories if t["zip"] == METROPOLE_LYON), None)
    metropole = set(metro.get("authorized_codes_insee") or []) if metro else set()
    path = data / "taxonomy-and-reference" / "codespostaux.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    seen = set()
    records = []
    per_territory: dict[str, int] = {}
    for r in rows:
        insee, postal = r["codeCommune"].strip(), r["codePostal"].strip()
        name, label = r["nomCommune"].strip(), r["libelleAcheminement"].strip()
        if not re.fullmatch(r"[0-9][0-9AB][0-9]{3}", insee) or not re.fullmatch(r"\d{5}", postal):
            raise SystemExit(f"bad commune row {r}")
        key = (insee, postal)
        if key in seen:
            raise SystemExit(f"duplicate (insee, postal) {key}")
        seen.add(key)
        code = territory_code_for_insee(insee, metropole)
        if code not in ids:
            raise SystemExit(f"no territory {code} for commune {insee} {name}")
        per_territory[code] = per_territory.get(code, 0) + 1
        records.append((insee, postal, name, label or None, ids[code]))
    records.sort(key=lambda x: (x[0], x[1]))
    out = [header(readme_line, f"communes ({len(records)} (INSEE code, postal code) pairs)")]
    out.append(
        "-- Territory = département of the INSEE code (first 2 characters, 3 for 97x; 2A/2B for\n"
        "-- Corsica), except the communes of the Métropole de Lyon (the INSEE list of territory\n"
        "-- 69A in Territory.yml), which belong to 69A. Sorted by (insee_code, postal_code).\n"
    )
    for start in range(0, len(records), COMMUNES_PER_INSERT):
        chunk = records[start:start + COMMUNES_PER_INSERT]
        out.append("\nINSERT INTO communes (insee_code, postal_code, name, delivery_label, territory_id) VALUES\n")
        out.append(",\n".join(
            f"({q(i)},{q(p)},{q(n)},{q(l)},{t})" for i, p, n, l, t in chunk
        ) + ";\n")
    return "".join(out), len(records), per_territory


def gen_taxonomy(data: Path, readme_line: str) -> tuple[str, dict]:
    base = data / "taxonomy-and-reference"
    office = read_yaml_list(base / "DesordreCategorie.yml", "desordre_categorie")
    criteria = read_yaml_list(base / "DesordreCritere.yml", "desordre_critere")
    precisions = read_yaml_list(base / "DesordrePrecision.yml", "desordre_precision")

    # back-office categories
    office_rows, office_ids = [], {}
    for i, c in enumerate(office, 1):
        label = c["label"]
        if label not in OFFICE_CATEGORY_LABELS:
            raise SystemExit(f"no label for back-office category {label!r}")
        code = slugify(label)
        office_ids[label] = i
        office_rows.append({"id": i, "code": code, "label": OFFICE_CATEGORY_LABELS[label],
                            "zones": set(), "app_context": c.get("app_context")})
    if len({r["code"] for r in office_rows}) != len(office_rows):
        raise SystemExit("back-office category codes collide")

    # form categories, in order of first appearance in the criteria file
    cat_ids: dict[str, int] = {}
    cat_rows: list[dict] = []
    crit_rows: list[dict] = []
    crit_by_slug: dict[str, dict] = {}
    for pos, c in enumerate(criteria, 1):
        cat = c["slug_categorie"]
        zone = c["zone_categorie"].lower()
        if zone not in ("batiment", "logement"):
            raise SystemExit(f"bad zone {zone}")
        if cat not in cat_ids:
            if cat not in CATEGORY_LABELS:
                raise SystemExit(f"no label for category {cat}")
            cat_ids[cat] = len(cat_rows) + 1
            cat_rows.append({"id": cat_ids[cat], "code": cat, "label": CATEGORY_LABELS[cat],
                             "zones": set(),
                             "app_context": "service_secours" if cat == "service_secours" else None})
        cat_rows[cat_ids[cat] - 1]["zones"].add(zone)
        olabel = c["desordre_categorie_label"]
        if olabel not in office_ids:
            raise SystemExit(f"criterion {c['slug_critere']} has unknown back-office category {olabel}")
        office_rows[office_ids[olabel] - 1]["zones"].add(zone)
        slug = c["slug_critere"]
        if slug in crit_by_slug:
            raise SystemExit(f"duplicate criterion {slug}")
        if slug not in CRITERION_LABELS:
            raise SystemExit(f"no label for criterion {slug}")
        kind = c.get("config_precision_libre_type")
        if kind not in (None, "critere", "precisions"):
            raise SystemExit(f"unknown free-text kind {kind}")
        row = {"id": pos, "category_id": cat_ids[cat], "office_category_id": office_ids[olabel],
               "code": slug, "label": CRITERION_LABELS[slug], "zone": zone,
               "free_text_kind": kind, "free_text_label": FREE_TEXT_LABELS[kind] if kind else None,
               "position": pos}
        crit_rows.append(row)
        crit_by_slug[slug] = row
    unused = set(CRITERION_LABELS) - set(crit_by_slug)
    if unused:
        raise SystemExit(f"labels for unknown criteria: {sorted(unused)}")

    prec_rows = []
    seen_prec = set()
    for pos, p in enumerate(precisions, 1):
        slug = p["desordre_precision_slug"]
        crit = crit_by_slug.get(p["desordre_critere_slug"])
        if crit is None:
            raise SystemExit(f"precision {slug} has unknown criterion")
        if slug in seen_prec:
            raise SystemExit(f"duplicate precision {slug}")
        seen_prec.add(slug)
        coef = str(p["coef"])
        if not re.fullmatch(r"\d{1,3}(\.\d{1,2})?", coef):
            raise SystemExit(f"bad coef {coef} for {slug}")
        quals = p.get("qualification") or []
        for qual in quals:
            if qual not in QUALIFICATIONS:
                raise SystemExit(f"unknown qualification {qual} on {slug}")
        prec_rows.append({
            "id": pos, "criterion_id": crit["id"], "code": slug,
            "label": precision_label(crit["code"], crit["label"], slug),
            "coef": coef,
            "is_danger": bool_lit(p.get("is_danger")),
            "is_suroccupation": bool_lit(p.get("is_suroccupation")),
            "is_insalubrite": bool_lit(p.get("is_insalubrite")),
            "is_unique": bool_lit(p.get("config_is_unique")),
            "qualifications": json.dumps([x.lower() for x in quals], separators=(",", ":")),
            "position": pos,
        })
    if len({r["label"] for r in prec_rows}) != len(prec_rows):
        dupes = sorted({r["label"] for r in prec_rows if sum(x["label"] == r["label"] for x in prec_rows) > 1})
        raise SystemExit(f"precision labels collide: {dupes}")

    def zone_of(zones: set) -> str | None:
        return next(iter(zones)) if len(zones) == 1 else None

    out = [header(readme_line, "defect taxonomy (back-office categories, form categories, criteria, precisions)",
                  "Labels are our own wording; facts (slugs, zones, coefficients, flags, qualifications) are copied.")]
    out.append(
        "-- Ids follow the order of the data files. Precision labels are derived from the slug:\n"
        "-- '<criterion label> – <detail from the slug suffix>'.\n\n"
    )
    out.append("INSERT INTO defect_office_categories (id, code, label, zone, app_context, position) VALUES\n")
    out.append(",\n".join(
        f"({r['id']}, {q(r['code'])}, {q(r['label'])}, {q(zone_of(r['zones']))}, {q(r['app_context'])}, {r['id']})"
        for r in office_rows) + ";\n\n")
    out.append("INSERT INTO defect_categories (id, code, label, zone, app_context, position) VALUES\n")
    out.append(",\n".join(
        f"({r['id']}, {q(r['code'])}, {q(r['label'])}, {q(zone_of(r['zones']))}, {q(r['app_context'])}, {r['id']})"
        for r in cat_rows) + ";\n\n")
    out.append("INSERT INTO defect_criteria (id, category_id, office_category_id, code, label, zone, "
               "free_text_kind, free_text_label, position) VALUES\n")
    out.append(",\n".join(
        f"({r['id']}, {r['category_id']}, {r['office_category_id']}, {q(r['code'])}, {q(r['label'])}, "
        f"{q(r['zone'])}, {q(r['free_text_kind'])}, {q(r['free_text_label'])}, {r['position']})"
        for r in crit_rows) + ";\n\n")
    out.append("INSERT INTO defect_precisions (id, criterion_id, code, label, coef, is_danger, "
               "is_suroccupation, is_insalubrite, is_unique, qualifications, position) VALUES\n")
    out.append(",\n".join(
        f"({r['id']}, {r['criterion_id']}, {q(r['code'])}, {q(r['label'])}, {r['coef']}, {r['is_danger']}, "
        f"{r['is_suroccupation']}, {r['is_insalubrite']}, {r['is_unique']}, {q(r['qualifications'])}, {r['position']})"
        for r in prec_rows) + ";\n")
    counts = {"defect_office_categories": len(office_rows), "defect_categories": len(cat_rows),
              "defect_criteria": len(crit_rows), "defect_precisions": len(prec_rows)}
    return "".join(out), counts


def readme_attribution(data: Path) -> str:
    for line in (data / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("Source:"):
            return line.strip()
    raise SystemExit("attribution line ('Source: ...') not found in README.md")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, required=True, help="a copy of Histologe's data files")
    ap.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    args = ap.parse_args()

    readme_line = readme_attribution(args.data_dir)
    territories = load_territories(args.data_dir)
    communes_sql, n_communes, per_territory = gen_communes(territories, args.data_dir, readme_line)
    taxonomy_sql, tax_counts = gen_taxonomy(args.data_dir, readme_line)
    files = {
        TERRITORIES_FILE: gen_territories(territories, readme_line),
        COMMUNES_FILE: communes_sql,
        TAXONOMY_FILE: taxonomy_sql,
    }
    stale = []
    for name, content in files.items():
        path = args.out_dir / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != content:
                stale.append(name)
        else:
            path.write_text(content, encoding="utf-8", newline="\n")
    empty = sorted(t["zip"] for t in territories if t["zip"] not in per_territory)
    print(f"territories: {len(territories)}", file=sys.stderr)
    print(f"communes: {n_communes} (territories without commune: {', '.join(empty) or 'none'})", file=sys.stderr)
    for k, v in tax_counts.items():
        print(f"{k}: {v}", file=sys.stderr)
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
