//! Partner types (Histologe's 18) and the competences (qualifications) a
//! partner can hold, with the defaults per type.

/// (code, label) of every partner type.
pub const PARTNER_TYPES: [(&str, &str); 18] = [
    ("adil", "ADIL"),
    ("ars", "ARS"),
    ("association", "Association"),
    ("bailleur_social", "Bailleur social"),
    ("caf_msa", "CAF / MSA"),
    ("ccas", "CCAS"),
    ("commune_schs", "Commune / SCHS"),
    ("conciliateurs", "Conciliateurs"),
    ("conseil_departemental", "Conseil départemental"),
    ("ddets", "DDETS"),
    ("ddt_m", "DDT / DDTM"),
    (
        "dispositif_renovation_habitat",
        "Dispositif de rénovation de l’habitat",
    ),
    ("epci", "EPCI"),
    (
        "operateur_visites_et_travaux",
        "Opérateur visites et travaux",
    ),
    ("police_gendarmerie", "Police / gendarmerie"),
    ("prefecture", "Préfecture"),
    ("tribunal", "Tribunal"),
    ("autre", "Autre"),
];

/// (code, label) of every competence.
pub const COMPETENCES: [(&str, &str); 21] = [
    ("accompagnement_juridique", "Accompagnement juridique"),
    ("accompagnement_social", "Accompagnement social"),
    ("accompagnement_travaux", "Accompagnement travaux"),
    ("aide_bailleurs", "Aide aux bailleurs"),
    ("arretes", "Arrêtés"),
    ("assurantiel", "Assurantiel"),
    ("conciliation", "Conciliation"),
    ("consignation_al", "Consignation de l’allocation logement"),
    ("dalo", "DALO"),
    ("salete", "Incurie / saleté"),
    ("fsl", "FSL"),
    ("hebergement_relogement", "Hébergement / relogement"),
    ("insalubrite", "Insalubrité"),
    ("mise_en_securite_peril", "Mise en sécurité / péril"),
    ("non_decence", "Non-décence"),
    ("non_decence_energetique", "Non-décence énergétique"),
    ("nuisibles", "Nuisibles"),
    ("rsd", "RSD"),
    ("visites", "Visites"),
    ("danger", "Danger"),
    ("suroccupation", "Suroccupation"),
];

pub fn is_partner_type(code: &str) -> bool {
    PARTNER_TYPES.iter().any(|(c, _)| *c == code)
}

pub fn partner_type_label(code: &str) -> &str {
    PARTNER_TYPES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, l)| l)
}

pub fn is_competence(code: &str) -> bool {
    COMPETENCES.iter().any(|(c, _)| *c == code)
}

/// The competences a new partner of this type gets by default (Histologe's
/// `competences.yaml`).
pub fn default_competences(partner_type: &str) -> &'static [&'static str] {
    match partner_type {
        "adil" => &[
            "accompagnement_juridique",
            "conciliation",
            "non_decence_energetique",
        ],
        "ars" => &["arretes", "salete", "insalubrite", "visites"],
        "bailleur_social" => &[
            "salete",
            "hebergement_relogement",
            "mise_en_securite_peril",
            "non_decence",
            "nuisibles",
            "rsd",
            "non_decence_energetique",
        ],
        "caf_msa" => &[
            "consignation_al",
            "non_decence",
            "visites",
            "non_decence_energetique",
        ],
        "ccas" => &["accompagnement_social", "conciliation", "salete"],
        "commune_schs" => &[
            "arretes",
            "conciliation",
            "salete",
            "insalubrite",
            "mise_en_securite_peril",
            "nuisibles",
            "rsd",
            "visites",
            "non_decence_energetique",
        ],
        "conciliateurs" => &["conciliation"],
        "conseil_departemental" => &["accompagnement_social", "accompagnement_travaux", "fsl"],
        "ddets" => &["dalo", "hebergement_relogement"],
        "ddt_m" => &["arretes", "conciliation", "dalo", "hebergement_relogement"],
        "dispositif_renovation_habitat" => &[
            "accompagnement_travaux",
            "conciliation",
            "visites",
            "non_decence_energetique",
        ],
        "epci" => &["conciliation"],
        "operateur_visites_et_travaux" => &[
            "accompagnement_travaux",
            "conciliation",
            "non_decence_energetique",
            "visites",
        ],
        "prefecture" => &["dalo"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_competence_is_a_known_competence() {
        for (code, _) in PARTNER_TYPES {
            for competence in default_competences(code) {
                assert!(is_competence(competence), "{code}: {competence}");
            }
        }
    }
}
