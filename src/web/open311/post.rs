//! `POST /open311/v2/requests.{fmt}` (docs/open311.md §4): a partner system
//! holding an API account files a report. The body becomes form answers
//! (`domain::open311::answers_of`), then takes the public form's own path:
//! `submission::validate` (every screen, the address, at least one defect),
//! `submission::plan` (scoring, qualifications, e-mails, geocoding) and
//! `filing::persist` (one transaction, the same jobs). No rule is copied.
//! A retry with the same `Idempotency-Key` files nothing twice, and every
//! call made with a valid key is audited with its account, as on `/api/v1`.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::{Answer, Failure, OrFail, find_service, render::Format, respond};
use crate::{
    app::AppState,
    auth::session::RequestOrigin,
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

/// `POST requests.{fmt}`: the key checked, the account's budget spent, the
/// request filed at most once per `Idempotency-Key`, the call audited with
/// the account like every call of `/api/v1`.
pub async fn post_request(
    State(state): State<AppState>,
    origin: RequestOrigin,
    Path(file): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let format = super::format_of(&file);
    if Format::split(&file).map(|(name, _)| name) != Some("requests") {
        return super::not_found(format, "Ressource inconnue.").into_response();
    }
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return bad_request(
            format,
            vec!["Le corps doit être au format application/x-www-form-urlencoded.".into()],
        )
        .into_response();
    };

    // The key first: nothing is said about the request to an unknown caller.
    let key = pairs
        .iter()
        .find(|(k, _)| k == "api_key")
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty());
    let Some(key) = key else {
        return forbidden(format, "api_key manquant.").into_response();
    };
    let account = match crate::auth::api::account_of_secret(&state.db, None, key).await {
        Ok(Some(account)) => account,
        Ok(None) => return forbidden(format, "api_key invalide ou révoqué.").into_response(),
        Err(error) => return Failure::App(format, error.into()).into_response(),
    };
    let sender = Sender {
        account_id: account.id,
        name: account.name,
        territory_id: account.territory_id,
    };
    let response = match crate::web::api::within_rate(&state, sender.account_id).await {
        // The same budget as the partner API: one limit per account.
        Ok(None) => file_once(&state, &sender, &pairs, format, &headers, (&uri, &body))
            .await
            .into_response(),
        Ok(Some(seconds)) => super::too_many_requests(format, seconds),
        Err(_) => Failure::Spec(
            format,
            Open311Error::new(503, "Service momentanément indisponible."),
        )
        .into_response(),
    };
    crate::web::api::audit_call(
        &state,
        (sender.account_id, &account.uuid),
        &origin,
        &format!("POST {}/{{file}}", super::PREFIX),
        response.status().as_u16(),
    )
    .await;
    response
}

/// Files the request once per `Idempotency-Key` (docs/open311.md §4):
/// filing commits its own transaction, so the key is reserved beforehand
/// (committed, answer pending), the answer kept once filed, the
/// reservation dropped when filing fails (the key may be used again). A
/// retry with the same key and request gets the first answer with
/// `Idempotent-Replayed: true`; one sent while the first is still being
/// filed gets a 409 with `Retry-After`.
async fn file_once(
    state: &AppState,
    sender: &Sender,
    pairs: &[(String, String)],
    format: Format,
    headers: &HeaderMap,
    (uri, body): (&Uri, &[u8]),
) -> Answer {
    let key = crate::web::api::writes::idempotency_key(headers)
        .map_err(|message| bad_request(format, vec![format!("Idempotency-Key : {message}")]))?;
    let Some(key) = key else {
        return file_request(state, sender, pairs, format).await;
    };
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let hash = crate::web::api::writes::request_hash(&Method::POST, path, body);
    let reserved = {
        let mut conn = state.db.acquire().await.or_fail(format)?;
        db::api::reserve_key(&mut conn, sender.account_id, &key, &hash)
            .await
            .or_fail(format)?
    };
    if !reserved {
        let stored = db::api::find_answer(&state.db, sender.account_id, &key)
            .await
            .or_fail(format)?;
        return match stored {
            Some(stored) if stored.request_hash != hash => Err(bad_request(
                format,
                vec!["Idempotency-Key : cette clé a déjà servi pour une autre requête ; utilisez une nouvelle clé.".into()],
            )),
            Some(stored) if stored.status != 0 => {
                let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
                let mut response =
                    (status, [(header::CONTENT_TYPE, format.content_type())], stored.body)
                        .into_response();
                response
                    .headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
                Ok(response)
            }
            // Still being filed (or the reservation was just dropped).
            _ => {
                let mut response = Failure::Spec(
                    format,
                    Open311Error::new(
                        409,
                        "Cette clé d’idempotence est en cours d’utilisation ; réessayez dans quelques secondes.",
                    ),
                )
                .into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                Ok(response)
            }
        };
    }
    let filed = file_request(state, sender, pairs, format).await;
    match filed {
        Ok(response) => {
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 1024 * 1024)
                .await
                .map_err(|e| {
                    Failure::App(
                        format,
                        crate::error::AppError::Unexpected(anyhow::anyhow!(e)),
                    )
                })?;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let mut conn = state.db.acquire().await.or_fail(format)?;
            db::api::store_answer(&mut conn, sender.account_id, &key, status.as_u16(), &text)
                .await
                .or_fail(format)?;
            Ok((
                status,
                [(header::CONTENT_TYPE, format.content_type())],
                text,
            )
                .into_response())
        }
        Err(failure) => {
            if let Err(error) = db::api::release_key(&state.db, sender.account_id, &key).await {
                tracing::warn!(error = %error, "Open311 idempotency key not released");
            }
            Err(failure)
        }
    }
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
