//! ADEME DPE open data (docs/contracts.md §2.2): the most recent DPE of a
//! dwelling, by BAN id, in the `dpe03existant` dataset.

use serde::Deserialize;

use super::{Call, CallContext, Http, JobError};

#[derive(Debug, Clone, PartialEq)]
pub struct Dpe {
    pub number: String,
    pub label: String,
    /// `YYYY-MM-DD`.
    pub date: Option<String>,
    pub consumption: Option<f64>,
}

#[derive(Deserialize)]
struct Lines {
    #[serde(default)]
    results: Vec<Line>,
}

#[derive(Deserialize)]
struct Line {
    numero_dpe: Option<String>,
    etiquette_dpe: Option<String>,
    date_etablissement_dpe: Option<String>,
    conso_5_usages_par_m2_ep: Option<f64>,
}

/// The latest DPE of the dwelling with this BAN id; `Ok(None)` is the
/// normal outcome when none was ever filed.
pub async fn lookup(
    http: &Http,
    ctx: &CallContext,
    base_url: &str,
    ban_id: &str,
) -> Result<Option<Dpe>, JobError> {
    let url = format!("{}/lines", base_url.trim_end_matches('/'));
    let query = [
        ("identifiant_ban_eq", ban_id),
        ("size", "1"),
        ("sort", "-date_etablissement_dpe"),
        (
            "select",
            "numero_dpe,etiquette_dpe,date_etablissement_dpe,conso_5_usages_par_m2_ep",
        ),
    ];
    let endpoint = format!(
        "GET {url}?{}",
        serde_urlencoded::to_string(query).unwrap_or_default()
    );
    let answer = http
        .send(
            ctx,
            Call {
                service: "ademe_dpe",
                action: "dpe_lookup",
                endpoint,
                request_excerpt: None,
            },
            http.client().get(&url).query(&query),
        )
        .await?;
    if !answer.is_success() {
        return Err(answer.to_error("ADEME DPE"));
    }
    parse(&answer.body)
}

pub fn parse(body: &str) -> Result<Option<Dpe>, JobError> {
    let lines: Lines = serde_json::from_str(body)
        .map_err(|e| JobError::retry(format!("ADEME DPE : réponse illisible ({e})")))?;
    Ok(lines.results.into_iter().find_map(|line| {
        let label = line.etiquette_dpe?.trim().to_ascii_uppercase();
        if label.len() != 1 || !("A"..="G").contains(&label.as_str()) {
            return None;
        }
        Some(Dpe {
            number: line.numero_dpe?,
            label,
            date: line.date_etablissement_dpe,
            consumption: line.conso_5_usages_par_m2_ep,
        })
    }))
}
