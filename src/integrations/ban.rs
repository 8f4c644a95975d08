//! BAN / Géoplateforme geocoding (docs/contracts.md §1):
//! `GET {base}/search/?q=<address>&limit=1`, a GeoJSON FeatureCollection.

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
}
