//! Development only: local stand-ins of BAN, ADEME DPE and Esabora (SCHS and
//! SI-SH) on one loopback port, answering as docs/contracts.md describes, so that
//! a local run shows geocoding, DPE and Esabora pushes end to end without
//! touching a real service. The test suite has stricter fakes
//! (tests/it/fakes); this one only follows the success paths.
//!
//! `FAKES_PORT` (default 8090). Then run the platform with
//! `BAN_API_URL=http://127.0.0.1:8090/ban DPE_API_URL=http://127.0.0.1:8090/dpe`
//! and give a partner the Esabora URL `http://127.0.0.1:8090/esabora/ws/rest`
//! (any token).

use axum::{
    Json, Router,
    extract::Query,
    routing::{get, post},
};
use serde_json::{Value, json};
use std::collections::HashMap;

async fn ban(Query(query): Query<HashMap<String, String>>) -> Json<Value> {
    let q = query.get("q").cloned().unwrap_or_default();
    tracing::info!(q = %q, "BAN search");
    if q.trim().len() < 3 {
        return Json(json!({"type": "FeatureCollection", "features": []}));
    }
    // Every address lands in Marseille 3e with a good score.
    Json(json!({
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [5.38107, 43.31138]},
            "properties": {
                "label": q, "score": 0.97, "housenumber": "7", "id": "13203_2430_00007",
                "name": q, "postcode": "13003", "citycode": "13203", "city": "Marseille",
                "context": "13, Bouches-du-Rhône, Provence-Alpes-Côte d'Azur",
                "type": "housenumber", "importance": 0.7, "_type": "address"
            }
        }]
    }))
}

async fn dpe(Query(query): Query<HashMap<String, String>>) -> Json<Value> {
    let ban_id = query.get("identifiant_ban_eq").cloned().unwrap_or_default();
    tracing::info!(ban_id = %ban_id, "DPE lookup");
    Json(json!({"total": 1, "results": [{
        "numero_dpe": "2313E0123456Z", "date_etablissement_dpe": "2023-03-14",
        "etiquette_dpe": "G", "etiquette_ges": "F", "conso_5_usages_par_m2_ep": 451.0,
        "identifiant_ban": ban_id
    }]}))
}

async fn treatment(Json(payload): Json<Value>) -> Json<Value> {
    let name = payload["treatmentName"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    tracing::info!(treatment = %name, "Esabora treatment");
    let (key, id) = match name.as_str() {
        "SISH_ADRESSE" => ("imp_adresse.imad_id", json!(3)),
        "SISH_DOSSIER" => ("imp_dossier.imdo_id", json!(14)),
        "SISH_DOSSIER_PERSONNE" => ("imp_dossier_pers.imdp_id", json!(1)),
        _ => ("import_affaire.iaff_id", json!("14")),
    };
    Json(json!({"action": "insert", "keyList": [key], "keyDataList": [id]}))
}

async fn search(Json(payload): Json<Value>) -> Json<Value> {
    let uuid = payload["criterionList"][0]["criterionValueList"][0].clone();
    tracing::info!(search = %payload["searchName"], "Esabora search");
    Json(json!({
        "searchId": "1", "nbResults": 1,
        "columnList": ["SAS_Référence","SAS_Etat","Doss_ID","Doss_Numéro","Doss_Statut_Abrégé","Doss_Statut","Doss_Etat","Doss_Cloture"],
        "keyList": ["i1.iaff_id"],
        "rowList": [{"columnDataList": [uuid, "Importé", "20261", "2026-1", "En cours", "En cours", "en cours", null], "keyDataList": ["21"]}]
    }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_target(false).init();
    let port: u16 = std::env::var("FAKES_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8090);
    let app = Router::new()
        .route("/ban/search", get(ban))
        .route("/ban/search/", get(ban))
        .route("/dpe/lines", get(dpe))
        .route("/esabora/ws/rest/modbdd/", post(treatment))
        .route("/esabora/ws/rest/mult/", post(search))
        .route("/esabora/ARS/ws/rest/modbdd/", post(treatment))
        .route("/esabora/ARS/ws/rest/mult/", post(search));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tracing::info!("fake BAN, DPE and Esabora on http://127.0.0.1:{port}");
    axum::serve(listener, app).await?;
    Ok(())
}
