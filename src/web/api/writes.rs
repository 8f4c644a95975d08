//! The writes of `/api/v1` and what they share: answer an assignment, add a
//! follow-up here; the visits (`visits.rs`) and the documents
//! (`documents.rs`) use the same machinery. Each one performs exactly what
//! the back office performs: the same domain command (`domain::case`) with
//! the account acting as its partner, the same `case_plan::apply` in one
//! transaction (rules, audit, notifications and jobs), no second copy of
//! any rule (docs/case-commands.md §6, docs/api.md §8).
//!
//! An account acts through its technical user (`api_accounts.user_id`, the
//! author of its follow-ups and answers) as a member of the one partner of
//! its scope concerned by the case; a territory account, bound to no
//! partner, only reads.
//!
//! Writes honour an `Idempotency-Key` header ([`idempotent`]): the first
//! answer is kept with the key, in the transaction of the write itself, and
//! a retry with the same key and the same request gets it again without
//! acting twice.

use axum::{
    Extension,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};
use sqlx::{MySql, Transaction};
use utoipa::ToSchema;

use super::{
    ApiCaller,
    cases::Assignment,
    problem::{FieldError, Problem, ProblemBody, field},
};
use crate::{
    app::AppState,
    auth::{session::RequestOrigin, tokens::to_hex},
    case_plan::{self, ApplyContext, ApplyError},
    db::{self, case_view},
    domain::{
        api::{AccountScope, Permission},
        case::{Plan, Refusal, assignment, follow_up},
        permissions::{Actor, Membership},
        roles::Role,
        workflow::CaseFacts,
    },
    web::forms::looks_like_uuid,
};

/// The header of idempotent writes.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// A write's answer: its status and JSON body (kept for a retried key).
pub(super) type Answer = (StatusCode, serde_json::Value);

/// The transaction of a write, handed to its body and handed back.
pub(super) type Tx = Transaction<'static, MySql>;

fn json_response(status: StatusCode, body: String, replayed: bool) -> Response {
    // A 204 (a deletion) has no body at all.
    let no_content = status == StatusCode::NO_CONTENT;
    let mut response = (status, if no_content { String::new() } else { body }).into_response();
    let headers = response.headers_mut();
    if !no_content {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// A JSON body read from raw bytes (the bytes are also what the
/// idempotency key is checked against).
pub(super) fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, Problem> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.starts_with("application/json")
                || (v.starts_with("application/") && v.contains("+json"))
        });
    if !is_json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Format non pris en charge",
            "Le corps de la requête doit être envoyé en JSON (Content-Type: application/json).",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        Problem::invalid(vec![field(
            "corps",
            &format!("Le corps JSON ne correspond pas au format attendu ({e})."),
        )])
    })
}

/// The `Idempotency-Key` of a request, if it sent one; the French reason
/// when it is malformed (1 to 100 visible ASCII characters). Open311's
/// POST reads it the same way (docs/open311.md §4.3).
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, &'static str> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|k| (1..=100).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .map(|k| Some(k.to_owned()))
        .ok_or("Une clé d’idempotence a 1 à 100 caractères ASCII visibles.")
}

/// What a key is checked against: SHA-256 of the method, the path with its
/// query, and the body.
pub(crate) fn request_hash(method: &Method, path: &str, body: &[u8]) -> String {
    let mut digest = Sha256::new();
    digest.update(method.as_str());
    digest.update(b"\n");
    digest.update(path);
    digest.update(b"\n");
    digest.update(body);
    to_hex(&digest.finalize())
}

/// Runs a write in one transaction, honouring `Idempotency-Key`: the key is
/// reserved first (a concurrent retry waits on its row, then finds the
/// answer), the answer stored with it before the commit. A failed write
/// keeps nothing: the key may be used again.
pub(super) async fn idempotent<F, Fut>(
    state: &AppState,
    caller: &ApiCaller,
    headers: &HeaderMap,
    (method, path, body): (&Method, &str, &[u8]),
    write: F,
) -> Result<Response, Problem>
where
    F: FnOnce(Tx) -> Fut,
    Fut: std::future::Future<Output = (Tx, Result<Answer, Problem>)>,
{
    let key = idempotency_key(headers)
        .map_err(|message| Problem::invalid(vec![field("Idempotency-Key", message)]))?;
    let request_hash = request_hash(method, path, body);
    let account_id = caller.account.id;
    let mut tx = state.db.begin().await?;
    if let Some(key) = &key
        && !db::api::reserve_key(&mut tx, account_id, key, &request_hash).await?
    {
        drop(tx);
        return replay(state, account_id, key, &request_hash).await;
    }
    let (mut tx, result) = write(tx).await;
    let (status, answer) = match result {
        Ok(answer) => answer,
        Err(problem) => {
            let _ = tx.rollback().await;
            return Err(problem);
        }
    };
    let text = answer.to_string();
    if let Some(key) = &key {
        db::api::store_answer(&mut tx, account_id, key, status.as_u16(), &text).await?;
    }
    tx.commit().await?;
    Ok(json_response(status, text, false))
}

/// The kept answer of a key already used.
async fn replay(
    state: &AppState,
    account_id: u64,
    key: &str,
    request_hash: &str,
) -> Result<Response, Problem> {
    let stored = db::api::find_answer(&state.db, account_id, key)
        .await?
        .ok_or_else(|| {
            Problem::new(
                StatusCode::CONFLICT,
                "Conflit",
                "Cette clé d’idempotence est en cours d’utilisation ; réessayez.",
            )
        })?;
    if stored.request_hash != request_hash {
        return Err(Problem::invalid(vec![field(
            "Idempotency-Key",
            "Cette clé d’idempotence a déjà servi pour une autre requête : utilisez une nouvelle clé.",
        )]));
    }
    // Status 0: reserved by an Open311 POST still being filed.
    if stored.status == 0 {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "Conflit",
            "Cette clé d’idempotence est en cours d’utilisation ; réessayez.",
        ));
    }
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    Ok(json_response(status, stored.body, true))
}

/// The facts of a case of the account's scope (404 otherwise).
pub(super) async fn case_facts(
    state: &AppState,
    caller: &ApiCaller,
    uuid: &str,
) -> Result<CaseFacts, Problem> {
    let uuid = uuid.to_ascii_lowercase();
    if !looks_like_uuid(&uuid) {
        return Err(Problem::not_found());
    }
    let scope = caller.account.scope.report_scope();
    if db::api::find_case_in_scope(&state.db, &scope, &uuid)
        .await?
        .is_none()
    {
        return Err(Problem::not_found());
    }
    let key = case_view::find_key(&state.db, &uuid)
        .await?
        .ok_or_else(Problem::not_found)?;
    let assignments = case_view::assignments(&state.db, key.id).await?;
    Ok(CaseFacts {
        report_id: key.id,
        uuid,
        version: key.version,
        territory_id: key.territory_id,
        status: key.status,
        assignments: assignments
            .iter()
            .map(|a| (a.partner_id, a.status))
            .collect(),
    })
}

/// Who acts for the account on this case: its technical user, member of
/// the account's partner concerned (`partner`, else the first of its
/// partners assigned to the case). A territory account only reads.
pub(super) fn actor_for(
    caller: &ApiCaller,
    facts: &CaseFacts,
    partner: Option<u64>,
) -> Result<Actor, Problem> {
    let account = &caller.account;
    let (AccountScope::Partners(ids), Some(user_id)) = (&account.scope, account.user_id) else {
        return Err(Problem::forbidden(
            "Un compte API lié à tout le territoire ne peut que lire : les réponses et les écritures se font au nom d’un partenaire (créez un compte lié à ce partenaire).",
        ));
    };
    let partner_id = partner
        .filter(|p| ids.contains(p))
        .or_else(|| {
            ids.iter()
                .copied()
                .find(|p| facts.assignments.iter().any(|(a, _)| a == p))
        })
        .or_else(|| ids.first().copied())
        .ok_or_else(|| Problem::forbidden("Ce compte API n’agit pour aucun partenaire."))?;
    Ok(Actor {
        user_id,
        role: Role::Agent,
        memberships: vec![Membership {
            partner_id,
            territory_id: facts.territory_id,
        }],
    })
}

/// The form field names of the commands, as the API names them.
pub(super) fn api_field(form_field: &str) -> &str {
    match form_field {
        "body" => "texte",
        "assignment_reason" | "close_reason" | "reason" => "motif",
        "assignment_message" | "close_message" => "message",
        "scheduled_at" => "date_visite",
        "visit_partner" => "partenaire_id",
        "comment" => "commentaire",
        "visit_status" => "statut",
        "external_operator" => "operateur_externe",
        "kind" => "type_visite",
        "owner_present" => "proprietaire_present",
        "visit" => "visite",
        "fichiers" | "nature" => "corps",
        "document_type" => "type_document",
        "title" => "titre",
        "rotation" => "degres",
        other => other,
    }
}

pub(super) fn refused(refusal: Refusal) -> Problem {
    match refusal {
        Refusal::Stale => Problem::new(
            StatusCode::CONFLICT,
            "Conflit",
            "Le signalement a changé entre-temps : relisez-le puis recommencez si besoin.",
        ),
        Refusal::NotAllowed => {
            Problem::forbidden("Ce compte API ne peut pas faire cette action sur ce signalement.")
        }
        Refusal::WrongStatus(status) => Problem::forbidden(&format!(
            "Cette action n’est pas possible sur un signalement au statut « {} ».",
            status.label()
        )),
        Refusal::NotFound => Problem::not_found(),
        Refusal::BadInput(message) => Problem::bad_request(message.to_string()),
        Refusal::Invalid(fields) => Problem::invalid(
            fields
                .0
                .into_iter()
                .map(|(name, message)| FieldError {
                    champ: api_field(name).to_owned(),
                    message,
                })
                .collect(),
        ),
    }
}

/// Applies a command's plan in the write's transaction, as the back office
/// does, the audit naming the account (`api:<uuid>`).
pub(super) async fn apply(
    state: &AppState,
    caller: &ApiCaller,
    origin: &RequestOrigin,
    tx: &mut Tx,
    planned: Result<Plan, Refusal>,
) -> Result<case_plan::Applied, Problem> {
    let plan = planned.map_err(refused)?;
    let actor_email = format!("api:{}", caller.account.uuid);
    let ctx = ApplyContext {
        base_url: &state.config.base_url,
        actor_email: Some(&actor_email),
        ip: origin.ip,
        user_agent: origin.user_agent.as_deref(),
    };
    case_plan::apply(tx, &plan, &ctx).await.map_err(|e| match e {
        ApplyError::Conflict => Problem::new(
            StatusCode::CONFLICT,
            "Conflit",
            "Le signalement a changé entre-temps (réponse déjà donnée, visite déjà conclue…) : relisez-le.",
        ),
        ApplyError::NotFound => Problem::not_found(),
        ApplyError::NoActor => Problem::forbidden("Ce compte API n’a pas d’utilisateur technique."),
        ApplyError::Db(e) => Problem::from(e),
    })
}

pub(super) fn value<T: Serialize>(status: StatusCode, body: &T) -> Result<Answer, Problem> {
    serde_json::to_value(body)
        .map(|v| (status, v))
        .map_err(|e| Problem::from(crate::error::AppError::Unexpected(e.into())))
}

// ------------------------------------------------------------ assignments

/// The answer of a partner to its assignment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentAnswer {
    /// `accepter`, `refuser` (avec `motif` et `message`) ou `clore` (avec `motif` et `message`).
    pub action: String,
    /// Motif du refus (`hors_pdlhi`, `hors_zone_geographique`, `hors_competence`, `doublon`, `autre`) ou de la clôture (motifs de clôture d’Histologe).
    pub motif: Option<String>,
    /// Explication du refus ou de la clôture (10 à 5 000 caractères).
    pub message: Option<String>,
}

/// Answer an assignment
///
/// Accepte, refuse (avec motif) ou clôt l’affectation d’un partenaire du
/// compte, comme le ferait un agent de ce partenaire dans le back-office.
#[utoipa::path(
    patch,
    path = "/api/v1/affectations/{uuid}",
    tag = "Affectations",
    request_body = AssignmentAnswer,
    params(
        ("uuid" = String, Path, description = "Identifiant de l’affectation"),
        ("Idempotency-Key" = Option<String>, Header, description = "Clé d’idempotence : une requête rejouée avec la même clé reçoit la première réponse"),
    ),
    responses(
        (status = 200, description = "L’affectation après la réponse", body = Assignment),
        (status = 400, description = "Requête invalide", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Jeton absent, inconnu, expiré ou révoqué", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Permission ou statut ne permettant pas cette réponse", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Affectation inconnue ou hors du périmètre du compte", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "L’affectation a changé entre-temps", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "Corps non JSON", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Limite de requêtes atteinte", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn answer_assignment(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require(Permission::AnswerAssignments)?;
    let uuid = uuid.to_ascii_lowercase();
    let Some((report_uuid, partner_id)) = (if looks_like_uuid(&uuid) {
        db::api::find_assignment(&state.db, &uuid).await?
    } else {
        None
    }) else {
        return Err(Problem::not_found());
    };
    if let AccountScope::Partners(ids) = &caller.account.scope
        && !ids.contains(&partner_id)
    {
        return Err(Problem::not_found());
    }
    let input: AssignmentAnswer = json_body(&headers, &body)?;
    let facts = case_facts(&state, &caller, &report_uuid).await?;
    let actor = actor_for(&caller, &facts, Some(partner_id))?;
    let path = format!("/api/v1/affectations/{uuid}");
    idempotent(
        &state,
        &caller,
        &headers,
        (&Method::PATCH, &path, &body),
        |mut tx| async {
            let end = assignment::EndInput {
                reason: input.motif.clone().unwrap_or_default(),
                message: input.message.clone().unwrap_or_default(),
            };
            let planned = match input.action.as_str() {
                "accepter" => assignment::accept_assignment(&actor, &facts),
                "refuser" => assignment::refuse_assignment(&actor, &facts, end),
                "clore" => assignment::close_assignment(&actor, &facts, end),
                _ => {
                    return (
                        tx,
                        Err(Problem::invalid(vec![field(
                            "action",
                            "Action inconnue : accepter, refuser ou clore.",
                        )])),
                    );
                }
            };
            let result = async {
                apply(&state, &caller, &origin, &mut tx, planned).await?;
                let row = db::api::assignment_in(&mut tx, &uuid)
                    .await?
                    .ok_or_else(Problem::not_found)?;
                value(StatusCode::OK, &super::cases::assignment_of(row))
            }
            .await;
            (tx, result)
        },
    )
    .await
}

// ------------------------------------------------------------- follow-ups

/// A follow-up to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFollowUp {
    /// Le texte du suivi (2 à 10 000 caractères).
    pub texte: String,
    /// Visible par l’usager (et envoyé à l’occupant et au déclarant) ; interne au partenaire sinon.
    #[serde(default)]
    pub public: bool,
}

/// A follow-up added.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedFollowUp {
    /// Identifiant du suivi.
    pub id: u64,
    pub texte: String,
    pub public: bool,
}

/// Add a follow-up
///
/// Ajoute un suivi au signalement, public (l’usager en est averti) ou
/// interne, au nom du partenaire du compte.
#[utoipa::path(
    post,
    path = "/api/v1/signalements/{uuid}/suivis",
    tag = "Suivis",
    request_body = NewFollowUp,
    params(
        ("uuid" = String, Path, description = "Identifiant du signalement"),
        ("Idempotency-Key" = Option<String>, Header, description = "Clé d’idempotence : une requête rejouée avec la même clé reçoit la première réponse"),
    ),
    responses(
        (status = 201, description = "Suivi ajouté", body = CreatedFollowUp),
        (status = 401, description = "Jeton absent, inconnu, expiré ou révoqué", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Permission ou statut ne permettant pas d’écrire", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Signalement inconnu ou hors du périmètre du compte", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "Corps non JSON", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Limite de requêtes atteinte", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn add_follow_up(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require(Permission::WriteFollowUps)?;
    let facts = case_facts(&state, &caller, &uuid).await?;
    let input: NewFollowUp = json_body(&headers, &body)?;
    let actor = actor_for(&caller, &facts, None)?;
    let path = format!("/api/v1/signalements/{}/suivis", facts.uuid);
    idempotent(
        &state,
        &caller,
        &headers,
        (&Method::POST, &path, &body),
        |mut tx| async {
            let planned = follow_up::write_follow_up(
                &actor,
                &facts,
                follow_up::FollowUpInput {
                    body: input.texte.clone(),
                    public: input.public,
                },
            );
            let result = async {
                let applied = apply(&state, &caller, &origin, &mut tx, planned).await?;
                value(
                    StatusCode::CREATED,
                    &CreatedFollowUp {
                        id: applied.follow_up_id.unwrap_or_default(),
                        texte: input.texte.trim().to_owned(),
                        public: input.public,
                    },
                )
            }
            .await;
            (tx, result)
        },
    )
    .await
}
