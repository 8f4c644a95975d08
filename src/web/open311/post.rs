//! `POST /open311/v2/requests.{fmt}` (docs/open311.md §4): a partner system
//! holding an API account files a report. The body becomes form answers
//! (`domain::open311::answers_of`), then takes the public form's own path:
//! `submission::validate` (every screen, the address, at least one defect),
//! `submission::plan` (scoring, qualifications, e-mails, geocoding) and
//! `filing::persist` (one transaction, the same jobs). No rule is copied.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
};
use serde_json::json;

use super::{Answer, Failure, OrFail, find_service, render::Format, respond};
use crate::{
    app::AppState,
    db,
    domain::{
        open311::{self, Open311Error, PostedRequest},
        report::{
            address,
            defects::{self, Category},
            draft::DraftPayload,
            form::{Answers, Step},
            submission::{self, KnownPrecision, SummaryError},
        },
    },
    filing::{self, Filed},
    web::public::form::new_follow_up_code,
};

/// What the requester is told once the report is filed.
const NOTICE: &str = "Signalement enregistré : il sera examiné par le territoire avant \
                      d’être transmis aux partenaires. Le déclarant reçoit un e-mail de suivi.";

fn bad_request(format: Format, descriptions: Vec<String>) -> Failure {
    Failure::Spec(
        format,
        Open311Error {
            status: 400,
            errors: descriptions.into_iter().map(|d| (400, d)).collect(),
        },
    )
}

fn forbidden(format: Format, description: &str) -> Failure {
    Failure::Spec(format, Open311Error::new(403, description))
}

/// The form's errors, each named by the Open311 field or attribute that
/// answers it.
fn describe_errors(
    category: &Category,
    taxonomy: &[Category],
    answers: &Answers,
    errors: Vec<SummaryError>,
) -> Vec<String> {
    errors
        .into_iter()
        .map(|e| {
            let slug = defects::step_questions(taxonomy, e.step, answers)
                .into_iter()
                .chain(e.step.questions(answers))
                .find(|q| q.label == e.label)
                .map(|q| q.slug);
            let field = match (slug, e.step) {
                (Some(slug), _) => open311::attribute_for_slug(category, &slug),
                (None, Step::Adresse) => "address_string".to_owned(),
                (None, Step::DesordresBatiment | Step::DesordresLogement) => {
                    format!("attribute[{}]", category.code)
                }
                (None, _) => e.step.title().to_owned(),
            };
            format!("{field} : {} — {}", e.label, e.message)
        })
        .collect()
}

/// `POST requests.{fmt}`.
pub async fn post_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    body: Bytes,
) -> Answer {
    let format = super::format_of(&file);
    if Format::split(&file).map(|(name, _)| name) != Some("requests") {
        return Err(super::not_found(format, "Ressource inconnue."));
    }
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return Err(bad_request(
            format,
            vec!["Le corps doit être au format application/x-www-form-urlencoded.".into()],
        ));
    };

    // The key first: nothing is said about the request to an unknown caller.
    let key = pairs
        .iter()
        .find(|(k, _)| k == "api_key")
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty());
    let Some(key) = key else {
        return Err(forbidden(format, "api_key manquant."));
    };
    let Some(sender) = verify_api_key(&state, key).await.or_fail(format)? else {
        return Err(forbidden(format, "api_key invalide ou révoqué."));
    };
    // The same budget as the partner API: one limit per account.
    match crate::web::api::within_rate(&state, sender.account_id).await {
        Ok(None) => {}
        Ok(Some(_)) => {
            return Err(Failure::App(
                format,
                crate::error::AppError::TooManyRequests,
            ));
        }
        Err(_) => {
            return Err(Failure::Spec(
                format,
                Open311Error::new(503, "Service momentanément indisponible."),
            ));
        }
    }
    file_request(&state, &sender, &pairs, format).await
}

/// Who files through Open311: the API account holding the key.
#[derive(Debug, Clone)]
pub struct Sender {
    pub account_id: u64,
    /// The account's name: the declarant's organisation.
    pub name: String,
    /// Requests may only be filed in this territory.
    pub territory_id: u32,
}

/// The API account of an `api_key`: the partner API's own check of an
/// account secret (a revoked account is refused), and the account's
/// per-minute budget shared with `/api/v1`.
async fn verify_api_key(
    state: &AppState,
    key: &str,
) -> Result<Option<Sender>, crate::error::AppError> {
    let Some(account) = crate::auth::api::account_of_secret(&state.db, None, key).await? else {
        return Ok(None);
    };
    Ok(Some(Sender {
        account_id: account.id,
        name: account.name,
        territory_id: account.territory_id,
    }))
}

/// Files a request for an authenticated sender: answers, the form's
/// validation, plan and filing. Public so that tests can drive the filing
/// path for a given sender without spending an account's rate budget.
pub async fn file_request(
    state: &AppState,
    account: &Sender,
    pairs: &[(String, String)],
    format: Format,
) -> Answer {
    let posted = PostedRequest::from_pairs(pairs);
    let Some(code) = posted.service_code.as_deref() else {
        return Err(bad_request(format, vec!["service_code est requis.".into()]));
    };
    let taxonomy = state.taxonomy().await.or_fail(format)?;
    let Some(category) = find_service(&taxonomy, code) else {
        return Err(super::not_found(format, "service_code inconnu."));
    };
    let answers = open311::answers_of(&posted, category, &account.name)
        .map_err(|errors| bad_request(format, errors))?;

    let communes = db::reports::communes(&state.db, address::postal_code(&answers))
        .await
        .or_fail(format)?;
    let facts = submission::Facts {
        taxonomy: &taxonomy,
        communes: &communes,
        today: time::OffsetDateTime::now_utc().date(),
    };
    let valid = submission::validate(&answers, &facts).map_err(|errors| {
        bad_request(
            format,
            describe_errors(category, &taxonomy, &answers, errors),
        )
    })?;
    if valid.territory_id != account.territory_id {
        return Err(forbidden(
            format,
            "Cette adresse est hors du territoire de ce compte API.",
        ));
    }

    let precisions: Vec<KnownPrecision> =
        db::defects::find_precisions(&state.db, &valid.precision_codes)
            .await
            .or_fail(format)?
            .into_iter()
            .map(|p| KnownPrecision {
                id: p.id,
                precision: p.precision,
            })
            .collect();
    // The form files a draft: so does Open311, with a draft made of the
    // request, so that filing (its lock, its gate, its jobs) is the same.
    let payload = DraftPayload {
        answers: valid.answers.clone(),
        ..DraftPayload::default()
    };
    let draft_uuid = uuid::Uuid::new_v4().to_string();
    let territory_id = valid.territory_id;
    let plan = submission::plan(
        valid,
        &submission::PlanFacts {
            precisions: &precisions,
            files: &[],
            report_uuid: uuid::Uuid::new_v4().to_string(),
            follow_up_code: new_follow_up_code(),
            base_url: &state.config.base_url,
            now: time::OffsetDateTime::now_utc(),
        },
    );
    {
        let mut conn = state.db.acquire().await.or_fail(format)?;
        db::drafts::insert(
            &mut conn,
            &draft_uuid,
            &payload,
            Step::Recapitulatif.slug(),
            territory_id,
        )
        .await
        .or_fail(format)?;
    }
    let filed = filing::persist(&state.db, &draft_uuid, &payload, &plan)
        .await
        .or_fail(format)?;
    let Filed::Filed {
        report_id,
        reference,
    } = filed
    else {
        // Nobody else knows this draft: it cannot have changed.
        return Err(Failure::App(
            format,
            crate::error::AppError::Conflict("brouillon Open311 modifié".into()),
        ));
    };
    let territory = db::territories::find(&state.db, territory_id)
        .await
        .or_fail(format)?
        .map(|t| t.code)
        .unwrap_or_default();
    tracing::info!(
        report.id = report_id,
        report.reference = %reference,
        api_account.id = account.account_id,
        "report filed through Open311"
    );
    Ok(respond(
        StatusCode::OK,
        format,
        "service_requests",
        &json!([{
            "service_request_id": open311::request_id(&territory, &reference),
            "service_notice": NOTICE,
        }]),
    ))
}
