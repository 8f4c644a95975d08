//! Zapier catch hook for OILHI (docs/contracts.md §5): the report pushed on
//! assignment, authenticated by the secret URL and a `token` field; Zapier
//! answers `{"status": "success"}`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Call, CallContext, Http, JobError};
use crate::db::jobs_data::AssignmentContext;
use crate::domain::report::form::DeclarantProfile;

fn ymd(date: time::PrimitiveDateTime) -> String {
    format!(
        "{}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// The payload of §5 (`push_dossier`).
pub fn payload(
    c: &AssignmentContext,
    token: &str,
    base_url: &str,
    contributors: &[String],
) -> Value {
    let declarant_type = match c.declarant_profile {
        DeclarantProfile::Locataire => "Locataire",
        DeclarantProfile::BailleurOccupant => "Bailleur occupant",
        DeclarantProfile::Bailleur => "Bailleur",
        DeclarantProfile::TiersPro | DeclarantProfile::ServiceSecours => "Professionnel",
        DeclarantProfile::TiersParticulier => "Autre",
    };
    json!({
        "signalementUrl": format!("{}/bo/signalements/{}", base_url.trim_end_matches('/'), c.report_uuid),
        "token": token,
        "action": "push_dossier",
        "partnerType": c.partner_type.to_uppercase(),
        "uuidSignalement": c.report_uuid,
        "dateDepotSignalement": ymd(c.report_created_at),
        "dateAffectationSignalement": ymd(c.assignment_created_at),
        "courrielPartenaire": c.partner_email,
        "courrielContributeurs": contributors.join(","),
        "adresseSignalement": c.address_line,
        "communeSignalement": c.city,
        "codePostalSignalement": c.postal_code,
        "typeDeclarant": declarant_type,
        "telephoneDeclarant": c.declarant_phone,
        "courrielDeclarant": c.declarant_email,
        "nomOccupant": c.occupant_last_name,
        "prenomOccupant": c.occupant_first_name,
        "telephoneOccupant": c.occupant_phone,
        "courrielOccupant": c.occupant_email,
        "nomProprietaire": c.landlord_name,
        "telephoneProprietaire": c.landlord_phone,
        "courrielProprietaire": c.landlord_email,
        "desordresCategorie": null,
        "desordresCritere": null,
        "desordresPrecision": null,
        "statut": null,
        "rapportVisite": null,
        "dateVisite": null,
        "operateurVisite": null,
        "nbOccupants": c.dwelling_occupants_count,
        "desordres": [],
    })
}

#[derive(Deserialize)]
struct Accepted {
    status: Option<String>,
}

/// Posts the payload; only `status: "success"` counts.
pub async fn push(
    http: &Http,
    ctx: &CallContext,
    hook_url: &str,
    payload: &Value,
) -> Result<(), JobError> {
    let body = payload.to_string();
    let answer = http
        .send_to_partner(
            ctx,
            Call {
                service: "zapier",
                action: "push_dossier",
                // The hook URL is a secret: only its host is shown.
                endpoint: format!("POST {}", redact_hook(hook_url)),
                request_excerpt: Some(super::redact_json(&body)),
            },
            hook_url,
            |client, url| {
                client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body)
            },
        )
        .await?;
    if !answer.is_success() {
        return Err(answer.to_error("Zapier"));
    }
    // The answer's own words are not quoted: they come from wherever the
    // hook URL points (module documentation of `integrations`).
    let accepted: Accepted = serde_json::from_str(&answer.body)
        .map_err(|_| JobError::retry("Zapier : réponse illisible"))?;
    match accepted.status.as_deref() {
        Some("success") => Ok(()),
        _ => Err(JobError::retry(
            "Zapier : statut autre que \"success\" dans la réponse",
        )),
    }
}

/// `https://hooks.zapier.com/hooks/catch/1/abc` → `https://hooks.zapier.com/…`
pub fn redact_hook(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}{}/…",
            u.scheme(),
            u.host_str().unwrap_or_default(),
            u.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => "…".into(),
    }
}
