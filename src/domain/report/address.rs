//! The dwelling's address against the reference table of communes
//! (docs/form.md §5.2): the postal code and the commune must agree, the
//! commune gives the INSEE code and the territory, and the territory must be
//! open. Pure: the caller reads the communes of the postal code and passes
//! them in.

use super::form::{self, Answers};

/// The answers of the address screen this module reads and fixes.
pub const POSTAL_CODE: &str = "adresse_logement_adresse_detail_code_postal";
pub const CITY: &str = "adresse_logement_adresse_detail_commune";
pub const INSEE: &str = "adresse_logement_adresse_detail_insee";
pub const STREET: &str = "adresse_logement_adresse_detail_numero";
pub const LABEL: &str = "adresse_logement_adresse";

/// A commune of the reference table with its territory's opening state.
#[derive(Debug, Clone, PartialEq)]
pub struct Commune {
    pub insee_code: String,
    pub name: String,
    pub territory_id: u32,
    pub territory_active: bool,
    /// The territory's pilot communes; empty = the whole territory is open.
    pub authorized_insee_codes: Vec<String>,
}

/// What the address check concluded.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The territory is open: its id.
    Open(u32),
    /// Consistent address, territory not open: the commune's name.
    Closed(String),
    /// Errors by field.
    Invalid(Vec<(String, String)>),
}

/// The postal code whose communes the caller must look up.
pub fn postal_code(a: &Answers) -> &str {
    form::get(a, POSTAL_CODE).unwrap_or_default().trim()
}

/// Lower case, no accents, hyphens and apostrophes as spaces, `st` for
/// `saint`: how two spellings of a commune are compared.
pub fn fold_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().to_lowercase().chars() {
        let c = match c {
            'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ÿ' => 'y',
            '-' | '\'' | '’' => ' ',
            other => other,
        };
        out.push(c);
    }
    out.split_whitespace()
        .map(|w| match w {
            "saint" => "st",
            "sainte" => "ste",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Paris, Marseille and Lyon: the BAN may give the city's code where the
/// reference table lists arrondissements (13055 with 13001 → 13201).
pub fn normalize_insee(insee: &str, postal_code: &str) -> String {
    let arrondissement = postal_code.get(3..5).and_then(|s| s.parse::<u32>().ok());
    match (insee, arrondissement) {
        ("75056", Some(n)) if postal_code.starts_with("750") && (1..=20).contains(&n) => {
            format!("751{n:02}")
        }
        ("13055", Some(n)) if postal_code.starts_with("130") && (1..=16).contains(&n) => {
            format!("132{n:02}")
        }
        ("69123", Some(n)) if postal_code.starts_with("6900") && (1..=9).contains(&n) => {
            format!("6938{n}")
        }
        _ => insee.to_owned(),
    }
}

/// Checks the commune against `communes` (those of the answered postal
/// code) and the territory; on success fixes the INSEE code, the commune's
/// official name and the address label in the answers.
pub fn resolve(a: &mut Answers, communes: &[Commune]) -> Outcome {
    let postal = postal_code(a).to_owned();
    let city = form::get(a, CITY).unwrap_or_default().to_owned();
    if communes.is_empty() {
        return Outcome::Invalid(vec![(
            POSTAL_CODE.into(),
            "Ce code postal n’existe pas. Vérifiez-le.".into(),
        )]);
    }
    let insee = form::get(a, INSEE).map(|i| normalize_insee(i, &postal));
    let wanted = fold_name(&city);
    let commune = insee
        .and_then(|code| communes.iter().find(|c| c.insee_code == code))
        .or_else(|| communes.iter().find(|c| fold_name(&c.name) == wanted))
        .or_else(|| {
            // "Marseille" for 13001: one commune per postal code is enough.
            (communes.len() == 1
                || communes
                    .iter()
                    .all(|c| fold_name(&c.name).starts_with(&wanted)))
            .then(|| communes.first())
            .flatten()
            .filter(|c| !wanted.is_empty() && fold_name(&c.name).starts_with(&wanted))
        });
    let Some(commune) = commune else {
        let names: Vec<_> = communes.iter().map(|c| c.name.as_str()).take(5).collect();
        return Outcome::Invalid(vec![(
            CITY.into(),
            format!(
                "Cette commune ne correspond pas au code postal {postal}. Communes possibles : {}.",
                names.join(", ")
            ),
        )]);
    };
    a.insert(INSEE.into(), commune.insee_code.clone());
    a.insert(CITY.into(), commune.name.clone());
    if form::get(a, LABEL).is_none() {
        let label = format!(
            "{} {} {}",
            form::get(a, STREET).unwrap_or_default(),
            postal,
            commune.name
        );
        a.insert(LABEL.into(), label);
    }
    let open = commune.territory_active
        && (commune.authorized_insee_codes.is_empty()
            || commune.authorized_insee_codes.contains(&commune.insee_code));
    if open {
        Outcome::Open(commune.territory_id)
    } else {
        Outcome::Closed(commune.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commune(insee: &str, name: &str, active: bool) -> Commune {
        Commune {
            insee_code: insee.into(),
            name: name.into(),
            territory_id: 13,
            territory_active: active,
            authorized_insee_codes: Vec::new(),
        }
    }

    fn answers(pairs: &[(&str, &str)]) -> Answers {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn arrondissements_are_normalised() {
        assert_eq!(normalize_insee("13055", "13001"), "13201");
        assert_eq!(normalize_insee("69123", "69003"), "69383");
        assert_eq!(normalize_insee("75056", "75011"), "75111");
        assert_eq!(normalize_insee("13004", "13400"), "13004");
    }

    #[test]
    fn commune_names_compare_loosely() {
        assert_eq!(fold_name("Saint-Étienne"), fold_name("st etienne"));
        assert_eq!(fold_name("L’Isle-sur-la-Sorgue"), "l isle sur la sorgue");
    }

    #[test]
    fn the_commune_fixes_the_insee_code_and_name_and_opens_the_territory() {
        let mut a = answers(&[
            (STREET, "12 rue des Lilas"),
            (POSTAL_CODE, "13001"),
            (CITY, "marseille"),
        ]);
        let outcome = resolve(
            &mut a,
            &[commune("13201", "Marseille 1er Arrondissement", true)],
        );
        assert_eq!(outcome, Outcome::Open(13));
        assert_eq!(form::get(&a, INSEE), Some("13201"));
        assert_eq!(form::get(&a, CITY), Some("Marseille 1er Arrondissement"));
        assert_eq!(
            form::get(&a, LABEL),
            Some("12 rue des Lilas 13001 Marseille 1er Arrondissement")
        );
    }

    #[test]
    fn unknown_postal_codes_wrong_communes_and_closed_territories_are_told_apart() {
        let mut a = answers(&[(POSTAL_CODE, "99999"), (CITY, "Nulle part")]);
        assert!(matches!(resolve(&mut a, &[]), Outcome::Invalid(e) if e[0].0 == POSTAL_CODE));
        let both = [
            commune("13004", "Aubagne", true),
            commune("13005", "Auriol", true),
        ];
        let mut a = answers(&[(POSTAL_CODE, "13400"), (CITY, "Lyon")]);
        assert!(matches!(resolve(&mut a, &both), Outcome::Invalid(e) if e[0].0 == CITY));
        let mut a = answers(&[(POSTAL_CODE, "13400"), (CITY, "Aubagne")]);
        let mut closed = both.clone();
        closed[0].territory_active = false;
        assert_eq!(resolve(&mut a, &closed), Outcome::Closed("Aubagne".into()));
        // A pilot list that leaves the commune out keeps it closed.
        let mut pilot = both.clone();
        pilot[0].authorized_insee_codes = vec!["13005".into()];
        assert_eq!(resolve(&mut a, &pilot), Outcome::Closed("Aubagne".into()));
    }
}
