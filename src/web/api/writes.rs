//! The writes of `/api/v1`: answer an assignment, add a follow-up, plan and
//! conclude a visit, download a document. Each one performs exactly what
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
use utoipa::{IntoParams, ToSchema};

use super::{
    ApiCaller,
    cases::{Assignment, Document, Visit, rfc3339},
    problem::{ApiQuery, FieldError, Problem, ProblemBody, field},
};
use crate::{
    app::AppState,
    auth::{session::RequestOrigin, tokens::to_hex},
    case_plan::{self, ApplyContext, ApplyError},
    db::{self, case_view},
    domain::{
        api::{AccountScope, Permission},
        case::{Plan, Refusal, assignment, follow_up, visit},
        permissions::{Actor, Membership},
        roles::Role,
        workflow::{self, CaseAction, CaseFacts},
    },
    web::forms::looks_like_uuid,
};

/// The header of idempotent writes.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// A write's answer: its status and JSON body (kept for a retried key).
type Answer = (StatusCode, serde_json::Value);

/// The transaction of a write, handed to its body and handed back.
type Tx = Transaction<'static, MySql>;

fn json_response(status: StatusCode, body: String, replayed: bool) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// A JSON body read from raw bytes (the bytes are also what the
/// idempotency key is checked against).
fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, Problem> {
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
async fn idempotent<F, Fut>(
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
async fn case_facts(
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
fn actor_for(
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
fn api_field(form_field: &str) -> &str {
    match form_field {
        "body" => "texte",
        "assignment_reason" | "close_reason" | "reason" => "motif",
        "assignment_message" | "close_message" => "message",
        "scheduled_at" => "date_visite",
        "visit_partner" => "partenaire_id",
        "comment" => "commentaire",
        "visit_status" => "statut",
        other => other,
    }
}

fn refused(refusal: Refusal) -> Problem {
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
async fn apply(
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

fn value<T: Serialize>(status: StatusCode, body: &T) -> Result<Answer, Problem> {
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

// ----------------------------------------------------------------- visits

/// A visit to plan.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVisit {
    /// Date et heure de la visite, `AAAA-MM-JJTHH:MM` (heure de Paris, comme le back-office).
    pub date_visite: String,
    /// Le partenaire qui visite (il doit avoir accepté le signalement) ; par défaut celui du compte.
    pub partenaire_id: Option<u64>,
    /// Note pour la visite.
    pub commentaire: Option<String>,
}

/// The outcome of a visit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitConclusion {
    /// `done` (faite), `cancelled` (annulée) ou `not_done` (n’a pas pu se faire).
    pub statut: String,
    /// Constats (10 caractères au moins quand la visite a eu lieu).
    pub conclusions: Option<String>,
    /// L’occupant était présent.
    pub occupant_present: Option<bool>,
}

/// Plan a visit
///
/// Planifie une visite du logement ; l’usager en est averti.
#[utoipa::path(
    post,
    path = "/api/v1/signalements/{uuid}/visites",
    tag = "Visites",
    request_body = NewVisit,
    params(
        ("uuid" = String, Path, description = "Identifiant du signalement"),
        ("Idempotency-Key" = Option<String>, Header, description = "Clé d’idempotence : une requête rejouée avec la même clé reçoit la première réponse"),
    ),
    responses(
        (status = 201, description = "Visite planifiée", body = Visit),
        (status = 401, description = "Jeton absent, inconnu, expiré ou révoqué", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Permission ou statut ne permettant pas de planifier", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Signalement inconnu ou hors du périmètre du compte", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "Corps non JSON", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Limite de requêtes atteinte", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn plan_visit(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require(Permission::WriteVisits)?;
    let facts = case_facts(&state, &caller, &uuid).await?;
    let input: NewVisit = json_body(&headers, &body)?;
    let actor = actor_for(&caller, &facts, None)?;
    let partner = input
        .partenaire_id
        .or_else(|| actor.memberships.first().map(|m| m.partner_id));
    let visit_partners = db::visits::visit_partners(&state.db, facts.territory_id).await?;
    let path = format!("/api/v1/signalements/{}/visites", facts.uuid);
    idempotent(
        &state,
        &caller,
        &headers,
        (&Method::POST, &path, &body),
        |mut tx| async {
            let now = time::OffsetDateTime::now_utc();
            let planned = visit::plan_visit(
                &actor,
                &facts,
                visit::PlanVisitInput {
                    scheduled_at: input.date_visite.clone(),
                    partner: partner.map(|p| p.to_string()).unwrap_or_default(),
                    comment: input.commentaire.clone().unwrap_or_default(),
                    ..Default::default()
                },
                visit::PlanContext {
                    now: time::PrimitiveDateTime::new(now.date(), now.time()),
                    visit_partners: &visit_partners,
                },
            );
            let result = async {
                apply(&state, &caller, &origin, &mut tx, planned).await?;
                let row = db::api::latest_visit_in(&mut tx, facts.report_id)
                    .await?
                    .ok_or_else(Problem::not_found)?;
                value(StatusCode::CREATED, &super::cases::visit_of(row))
            }
            .await;
            (tx, result)
        },
    )
    .await
}

/// Conclude a visit
///
/// Enregistre le résultat d’une visite planifiée (faite avec ses constats,
/// annulée, ou n’ayant pas pu se faire) ; l’usager en est averti.
#[utoipa::path(
    post,
    path = "/api/v1/visites/{uuid}/conclusion",
    tag = "Visites",
    request_body = VisitConclusion,
    params(
        ("uuid" = String, Path, description = "Identifiant de la visite"),
        ("Idempotency-Key" = Option<String>, Header, description = "Clé d’idempotence : une requête rejouée avec la même clé reçoit la première réponse"),
    ),
    responses(
        (status = 200, description = "La visite conclue", body = Visit),
        (status = 401, description = "Jeton absent, inconnu, expiré ou révoqué", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Permission ou statut ne permettant pas de conclure", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Visite inconnue ou hors du périmètre du compte", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Visite déjà conclue", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "Corps non JSON", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Limite de requêtes atteinte", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn conclude_visit(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require(Permission::WriteVisits)?;
    let uuid = uuid.to_ascii_lowercase();
    let Some((report_uuid, visit_id)) = (if looks_like_uuid(&uuid) {
        db::api::find_visit(&state.db, &uuid).await?
    } else {
        None
    }) else {
        return Err(Problem::not_found());
    };
    let facts = case_facts(&state, &caller, &report_uuid).await?;
    let input: VisitConclusion = json_body(&headers, &body)?;
    let actor = actor_for(&caller, &facts, None)?;
    let path = format!("/api/v1/visites/{uuid}/conclusion");
    idempotent(
        &state,
        &caller,
        &headers,
        (&Method::POST, &path, &body),
        |mut tx| async {
            let planned = visit::conclude_visit(
                &actor,
                &facts,
                visit::OutcomeInput {
                    visit_id,
                    outcome: input.statut.clone(),
                    conclusions: input.conclusions.clone().unwrap_or_default(),
                    occupant_present: match input.occupant_present {
                        Some(true) => "oui".into(),
                        Some(false) => "non".into(),
                        None => String::new(),
                    },
                    // The API's conclusion has always been the resident's.
                    public: true,
                    ..Default::default()
                },
            );
            let result = async {
                apply(&state, &caller, &origin, &mut tx, planned).await?;
                let row = db::api::visit_in(&mut tx, &uuid)
                    .await?
                    .ok_or_else(Problem::not_found)?;
                value(StatusCode::OK, &super::cases::visit_of(row))
            }
            .await;
            (tx, result)
        },
    )
    .await
}

// -------------------------------------------------------------- documents

/// Download a document
///
/// Le fichier, une fois analysé sain par l’antivirus : 409 (avec
/// `Retry-After`) tant qu’il est en cours d’analyse, 410 s’il est en
/// quarantaine.
#[utoipa::path(
    get,
    path = "/api/v1/documents/{uuid}",
    tag = "Documents",
    params(("uuid" = String, Path, description = "Identifiant du document")),
    responses(
        (status = 200, description = "Le fichier", content_type = "application/octet-stream"),
        (status = 401, description = "Jeton absent, inconnu, expiré ou révoqué", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Le compte ne peut pas lire les signalements", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Document inconnu ou hors du périmètre du compte", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Analyse antivirus en cours", body = ProblemBody, content_type = "application/problem+json"),
        (status = 410, description = "Fichier en quarantaine", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Limite de requêtes atteinte", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn download_document(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path(uuid): Path<String>,
) -> Result<Response, Problem> {
    use crate::domain::antivirus::Serving;
    caller.require(Permission::ReadCases)?;
    let uuid = uuid.to_ascii_lowercase();
    if !looks_like_uuid(&uuid) {
        return Err(Problem::not_found());
    }
    let Some((report_uuid, download)) = db::api::find_document(&state.db, &uuid).await? else {
        return Err(Problem::not_found());
    };
    let scope = caller.account.scope.report_scope();
    if db::api::find_case_in_scope(&state.db, &scope, &report_uuid)
        .await?
        .is_none()
    {
        return Err(Problem::not_found());
    }
    match download.scan_status.serving() {
        Serving::NotYet => {
            let mut problem = Problem::new(
                StatusCode::CONFLICT,
                "Analyse en cours",
                "Ce fichier est en cours d’analyse par l’antivirus : il sera disponible dans quelques instants.",
            );
            problem.retry_after = Some(u64::from(crate::web::downloads::RETRY_AFTER_SECONDS));
            Err(problem)
        }
        Serving::Blocked => Err(Problem::new(
            StatusCode::GONE,
            "Fichier en quarantaine",
            "L’antivirus a détecté une menace dans ce fichier : il est en quarantaine et ne sera pas servi.",
        )),
        Serving::Serve => Ok(crate::web::downloads::serve(
            &state,
            crate::web::downloads::Download {
                object_key: download.object_key,
                filename: download.filename,
                mime: download.mime,
                scan_status: download.scan_status,
            },
        )
        .await?),
    }
}

/// Where and how an uploaded file goes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// Nom du fichier, avec son extension.
    pub nom_fichier: String,
    /// Visible par l’usager (non par défaut).
    pub public: Option<bool>,
}

/// Upload a document
///
/// Dépose un fichier (corps de la requête : ses octets, 10 Mo au plus ;
/// images, PDF et documents bureautiques, reconnus à leur contenu) sur le
/// signalement, avec les contrôles du site : il n’est servi qu’une fois
/// analysé sain par l’antivirus.
#[utoipa::path(
    post,
    path = "/api/v1/signalements/{uuid}/documents",
    tag = "Documents",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "Les octets du fichier"),
    params(
        ("uuid" = String, Path, description = "Identifiant du signalement"),
        UploadParams,
        ("Idempotency-Key" = Option<String>, Header, description = "Clé d’idempotence : une requête rejouée avec la même clé reçoit la première réponse"),
    ),
    responses(
        (status = 201, description = "Fichier déposé, en attente d’analyse", body = Document),
        (status = 400, description = "Paramètre mal formé", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Jeton absent, inconnu, expiré ou révoqué", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Permission ou statut ne permettant pas de déposer", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Signalement inconnu ou hors du périmètre du compte", body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "Fichier trop volumineux", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Fichier refusé", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Limite de requêtes atteinte", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[allow(
    clippy::too_many_arguments,
    reason = "one extractor per part of the request"
)]
pub async fn upload_document(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    ApiQuery(params): ApiQuery<UploadParams>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    use crate::{
        error::{AppError, Component},
        uploads,
    };
    caller.require(Permission::WriteDocuments)?;
    let facts = case_facts(&state, &caller, &uuid).await?;
    let actor = actor_for(&caller, &facts, None)?;
    // Adding a file is writing on the case: the follow-up's rule.
    if !workflow::can(&actor, &facts, CaseAction::WriteFollowUp) {
        return Err(Problem::forbidden(
            "Ce compte API ne peut pas déposer de fichier sur ce signalement.",
        ));
    }
    if body.is_empty() {
        return Err(Problem::invalid(vec![field(
            "corps",
            "Le fichier est vide.",
        )]));
    }
    let already = db::documents::count_for_report(&state.db, facts.report_id).await?;
    if usize::try_from(already).unwrap_or(usize::MAX) >= uploads::MAX_FILES_PER_REPORT {
        return Err(Problem::invalid(vec![field(
            "corps",
            "Ce signalement a déjà le nombre maximal de fichiers (20).",
        )]));
    }
    let request = uri
        .path_and_query()
        .map_or(uri.path(), |pq| pq.as_str())
        .to_owned();
    idempotent(
        &state,
        &caller,
        &headers,
        (&Method::POST, &request, &body),
        |mut tx| async {
            let result = async {
                let stored = uploads::store(
                    &state.storage,
                    &state.image_gate,
                    &params.nom_fichier,
                    body.clone(),
                )
                .await
                .map_err(|e| {
                    Problem::from(AppError::Unavailable(Component::Storage, e.to_string()))
                })?
                .map_err(|refused| match refused {
                    uploads::UploadError::Busy => {
                        Problem::from(AppError::Busy(refused.to_string()))
                    }
                    other => Problem::invalid(vec![field("corps", &other.to_string())]),
                })?;
                let document_uuid = uuid::Uuid::new_v4().to_string();
                let public = params.public.unwrap_or(false);
                let document_id = uploads::record(
                    &mut tx,
                    &db::documents::NewDocument {
                        uuid: &document_uuid,
                        report_id: facts.report_id,
                        follow_up_id: None,
                        object_key: &stored.key,
                        thumbnail_key: stored.thumbnail_key.as_deref(),
                        filename: &stored.filename,
                        mime: &stored.mime,
                        size: stored.size,
                        sha256: &stored.sha256,
                        kind: stored.kind,
                        document_type: crate::domain::document::DocumentType::Autre.code(),
                        defect_code: None,
                        is_public: public,
                    },
                )
                .await?;
                // Named as the partner's, not the resident's: a document
                // without uploader is always shown to the resident
                // (docs/documents.md), whatever `public` says.
                db::documents::set_uploader(&mut tx, document_id, Some(actor.user_id), None)
                    .await?;
                let actor_email = format!("api:{}", caller.account.uuid);
                db::audit::record(
                    &mut tx,
                    &db::audit::NewEvent::on_case(
                        Some((actor.user_id, &actor_email)),
                        "add_document",
                        facts.report_id,
                        crate::domain::audit::diff(&[(
                            "document",
                            String::new(),
                            stored.filename.clone(),
                        )]),
                    )
                    .from_origin(origin.ip, origin.user_agent.as_deref()),
                )
                .await?;
                value(
                    StatusCode::CREATED,
                    &Document {
                        uuid: document_uuid,
                        nom_fichier: stored.filename.clone(),
                        type_mime: stored.mime.clone(),
                        taille: stored.size,
                        type_document: stored.kind.to_owned(),
                        public,
                        date: rfc3339({
                            let now = time::OffsetDateTime::now_utc();
                            time::PrimitiveDateTime::new(now.date(), now.time())
                        }),
                        analyse: "en_attente".into(),
                    },
                )
            }
            .await;
            (tx, result)
        },
    )
    .await
}
