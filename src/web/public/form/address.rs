//! The dwelling's address: postal code ⇄ commune consistency against the
//! `communes` table, the territory's opening (docs/form.md §5.2), and the address
//! search that proxies the BAN for the browser's autocomplete.

use axum::{
    Json,
    extract::{Query, State},
};
use serde::Deserialize;

use crate::{
    app::AppState,
    db,
    domain::report::form::{self, Answers},
    error::AppResult,
    integrations::ban,
};

pub enum Outcome {
    /// The territory is open: its id.
    Open(u32),
    /// Consistent address, territory not open: the commune's name.
    Closed(String),
    /// Errors were added.
    Invalid,
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
        .map(|w| {
            if w == "saint" {
                "st"
            } else if w == "sainte" {
                "ste"
            } else {
                w
            }
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

/// Checks the commune and the territory; on success fixes the INSEE code
/// and the commune's official name in the answers.
pub async fn check(
    state: &AppState,
    a: &mut Answers,
    errors: &mut Vec<(String, String)>,
) -> AppResult<Outcome> {
    let postal = form::get(a, "adresse_logement_adresse_detail_code_postal")
        .unwrap_or_default()
        .to_owned();
    let city = form::get(a, "adresse_logement_adresse_detail_commune")
        .unwrap_or_default()
        .to_owned();
    let communes = db::reports::communes_by_postal_code(&state.db, &postal).await?;
    if communes.is_empty() {
        errors.push((
            "adresse_logement_adresse_detail_code_postal".into(),
            "Ce code postal n’existe pas. Vérifiez-le.".into(),
        ));
        return Ok(Outcome::Invalid);
    }
    let insee =
        form::get(a, "adresse_logement_adresse_detail_insee").map(|i| normalize_insee(i, &postal));
    let wanted = fold_name(&city);
    let commune = match &insee {
        Some(code) => communes.iter().find(|c| c.insee_code == *code),
        None => None,
    }
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
        errors.push((
            "adresse_logement_adresse_detail_commune".into(),
            format!(
                "Cette commune ne correspond pas au code postal {postal}. Communes possibles : {}.",
                names.join(", ")
            ),
        ));
        return Ok(Outcome::Invalid);
    };
    a.insert(
        "adresse_logement_adresse_detail_insee".into(),
        commune.insee_code.clone(),
    );
    a.insert(
        "adresse_logement_adresse_detail_commune".into(),
        commune.name.clone(),
    );
    if form::get(a, "adresse_logement_adresse").is_none() {
        let label = format!(
            "{} {} {}",
            form::get(a, "adresse_logement_adresse_detail_numero").unwrap_or_default(),
            postal,
            commune.name
        );
        a.insert("adresse_logement_adresse".into(), label);
    }
    let authorized = commune
        .authorized_insee_codes
        .as_ref()
        .map(|codes| codes.0.clone())
        .unwrap_or_default();
    let open = commune.territory_active
        && (authorized.is_empty() || authorized.contains(&commune.insee_code));
    Ok(if open {
        Outcome::Open(commune.territory_id)
    } else {
        Outcome::Closed(commune.name.clone())
    })
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// Suggestions the autocomplete shows at most.
const SUGGESTIONS: u8 = 5;

/// Address suggestions from the BAN (Géoplateforme), or an empty list when
/// it does not answer in time: the manual fields always work.
pub async fn search_address(
    State(state): State<AppState>,
    Query(query): Query<SearchQuery>,
) -> Json<Vec<ban::Suggestion>> {
    match ban::suggest(
        &state.http,
        &state.config.ban_api_url,
        &query.q,
        SUGGESTIONS,
    )
    .await
    {
        Ok(suggestions) => Json(suggestions),
        Err(e) => {
            tracing::warn!(error = %e, "BAN search failed");
            Json(Vec::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
