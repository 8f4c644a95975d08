//! BAN / Géoplateforme geocoding (docs/contracts.md §1):
//! `GET {base}/search/?q=<address>&limit=1`, a GeoJSON FeatureCollection.
//!
//! Two callers, one client: the worker geocodes a filed report
//! ([`search`]), the public form's autocomplete asks for a few
//! suggestions while the visitor types ([`suggest`]). Both go through
//! [`Http::send`]: its timeouts, its size cap and its call log.

use serde::Deserialize;

use super::{Call, CallContext, Http, JobError};

/// The best address found.
#[derive(Debug, Clone, PartialEq)]
pub struct Address {
    pub label: String,
    pub score: f64,
    pub latitude: f64,
    pub longitude: f64,
    pub citycode: Option<String>,
    /// BAN interoperability key (`properties.id`, or `banId` when present).
    pub ban_id: Option<String>,
}

/// Results below this score are kept but flagged for an agent to check
/// (Histologe's `SCORE_IF_BAN_ID_ACCEPTED`).
pub const ACCEPTED_SCORE: f64 = 0.9;

#[derive(Deserialize)]
struct Collection {
    features: Vec<Feature>,
}

#[derive(Deserialize)]
struct Feature {
    geometry: Geometry,
    properties: Properties,
}

#[derive(Deserialize)]
struct Geometry {
    coordinates: Vec<f64>,
}

#[derive(Deserialize)]
struct Properties {
    #[serde(default)]
    label: String,
    score: f64,
    citycode: Option<String>,
    id: Option<String>,
}

/// Searches an address. `Ok(None)` when the BAN knows nothing like it.
pub async fn search(
    http: &Http,
    ctx: &CallContext,
    base_url: &str,
    query: &str,
) -> Result<Option<Address>, JobError> {
    let url = format!("{}/search/", base_url.trim_end_matches('/'));
    let request = http
        .client()
        .get(&url)
        .query(&[("q", query), ("limit", "1")]);
    let endpoint = format!(
        "GET {}",
        super::loggable_url(&format!(
            "{url}?{}",
            serde_urlencoded::to_string([("q", query), ("limit", "1")]).unwrap_or_default()
        ))
    );
    let answer = http
        .send(
            ctx,
            Call {
                service: "ban",
                action: "geocode",
                endpoint,
                request_excerpt: None,
            },
            request,
        )
        .await?;
    if !answer.is_success() {
        return Err(answer.to_error("BAN"));
    }
    parse(&answer.body)
}

/// One suggestion of the form's address autocomplete.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Suggestion {
    pub label: String,
    pub street: String,
    pub postcode: String,
    pub city: String,
    pub citycode: String,
}

/// The BAN refuses queries outside 3–200 characters (§1.5): they are not
/// sent.
pub fn is_searchable(query: &str) -> bool {
    (3..=200).contains(&query.trim().chars().count())
}

/// At most `limit` address suggestions for what the visitor typed. The
/// caller decides what a failure means (the form falls back to its manual
/// fields).
pub async fn suggest(
    http: &Http,
    base_url: &str,
    query: &str,
    limit: u8,
) -> Result<Vec<Suggestion>, JobError> {
    let query = query.trim();
    if !is_searchable(query) {
        return Ok(Vec::new());
    }
    let url = format!("{}/search", base_url.trim_end_matches('/'));
    let limit = limit.to_string();
    let params = [("q", query), ("limit", &limit), ("index", "address")];
    let request = http.client().get(&url).query(&params);
    let endpoint = format!(
        "GET {}",
        super::loggable_url(&format!(
            "{url}?{}",
            serde_urlencoded::to_string(params).unwrap_or_default()
        ))
    );
    let answer = http
        .send(
            &CallContext::default(),
            Call {
                service: "ban",
                action: "autocomplete",
                endpoint,
                request_excerpt: None,
            },
            request,
        )
        .await?;
    if !answer.is_success() {
        return Err(answer.to_error("BAN"));
    }
    parse_suggestions(&answer.body)
}

#[derive(Deserialize)]
struct SuggestionCollection {
    #[serde(default)]
    features: Vec<SuggestionFeature>,
}

#[derive(Deserialize)]
struct SuggestionFeature {
    #[serde(default)]
    properties: SuggestionProperties,
}

#[derive(Deserialize, Default)]
struct SuggestionProperties {
    #[serde(default)]
    label: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    postcode: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    citycode: String,
}

/// Reads the suggestions of a BAN answer; missing properties are empty.
pub fn parse_suggestions(body: &str) -> Result<Vec<Suggestion>, JobError> {
    let collection: SuggestionCollection = serde_json::from_str(body)
        .map_err(|e| JobError::retry(format!("BAN : réponse illisible ({e})")))?;
    Ok(collection
        .features
        .into_iter()
        .map(|f| {
            let p = f.properties;
            Suggestion {
                label: p.label,
                street: p.name,
                postcode: p.postcode,
                city: p.city,
                citycode: p.citycode,
            }
        })
        .collect())
}

/// Reads a BAN answer.
pub fn parse(body: &str) -> Result<Option<Address>, JobError> {
    let collection: Collection = serde_json::from_str(body)
        .map_err(|e| JobError::retry(format!("BAN : réponse illisible ({e})")))?;
    let Some(feature) = collection.features.into_iter().next() else {
        return Ok(None);
    };
    let [longitude, latitude] = feature.geometry.coordinates[..] else {
        return Err(JobError::retry("BAN : coordonnées manquantes"));
    };
    let p = feature.properties;
    Ok(Some(Address {
        label: p.label,
        score: p.score,
        latitude,
        longitude,
        citycode: p.citycode,
        ban_id: p.id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_captured_answer_gives_coordinates_in_latitude_longitude_order() {
        let body = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
          "geometry":{"type":"Point","coordinates":[-1.446559,47.349607]},
          "properties":{"label":"8 la bodiniere 44850 Saint-Mars-du-Désert","score":0.953,
          "id":"44179_xarfhv_00008","citycode":"44179"}}]}"#;
        let a = parse(body).unwrap().unwrap();
        assert_eq!((a.latitude, a.longitude), (47.349607, -1.446559));
        assert_eq!(a.ban_id.as_deref(), Some("44179_xarfhv_00008"));
        assert_eq!(
            parse(r#"{"type":"FeatureCollection","features":[]}"#).unwrap(),
            None
        );
        assert!(matches!(parse("<html>"), Err(JobError::Retry { .. })));
    }

    #[test]
    fn suggestions_keep_the_fields_the_form_fills() {
        let body = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
          "geometry":{"type":"Point","coordinates":[-1.446559,47.349607]},
          "properties":{"label":"8 la bodiniere 44850 Saint-Mars-du-Désert","score":0.953,
          "name":"8 la bodiniere","postcode":"44850","city":"Saint-Mars-du-Désert",
          "citycode":"44179"}},{"type":"Feature","properties":{"label":"Lyon"}}]}"#;
        let found = parse_suggestions(body).unwrap();
        assert_eq!(
            found[0],
            Suggestion {
                label: "8 la bodiniere 44850 Saint-Mars-du-Désert".into(),
                street: "8 la bodiniere".into(),
                postcode: "44850".into(),
                city: "Saint-Mars-du-Désert".into(),
                citycode: "44179".into(),
            }
        );
        assert_eq!(found[1].label, "Lyon");
        assert_eq!(found[1].postcode, "");
        assert!(parse_suggestions("<html>").is_err());
        assert!(is_searchable(" 12 rue "));
        assert!(!is_searchable("12"));
        assert!(!is_searchable(&"a".repeat(201)));
    }
}
