//! The visits through `/api/v1`: plan one (or record one already done),
//! conclude it, reschedule, cancel, rewrite its conclusion, add its report
//! and its photos. Each is the back office's command
//! (`domain::case::visit`, docs/visits.md) applied by `case_plan::apply`
//! in the write's transaction, with the account acting as its partner
//! (`writes::actor_for`): the same rules (the visit competence, who handles
//! a visit, a report only on a visit done), the same e-mails to the
//! resident, the same audit.

use axum::{
    Extension,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, Method, StatusCode},
    response::Response,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{
    ApiCaller,
    cases::{Document, Visit, visit_of},
    documents::{document_answer, store_body},
    problem::{ApiQuery, Problem, ProblemBody},
    writes::{actor_for, apply, case_facts, idempotent, json_body, refused, value},
};
use crate::{
    app::AppState,
    auth::session::RequestOrigin,
    db,
    domain::{
        api::Permission,
        case::visit::{self, ConclusionInput, VisitFacts},
        document::{DocumentType, commands},
        workflow::CaseFacts,
    },
    web::forms::looks_like_uuid,
};

/// What a visit that took place found: the conclusion of `POST …/visites`
/// for a past date, and the body of `PATCH …/conclusion`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConclusionBody {
    /// Procédures constatées, plusieurs possibles : `insalubrite`,
    /// `mise_en_securite_peril`, `non_decence`, `rsd`,
    /// `non_decence_energetique`, `suroccupation`, `suspicion_insalubre`,
    /// `responsabilite_occupant_assurantiel`, `salete`, `logement_decent`, `autre`.
    #[serde(default)]
    pub procedures: Vec<String>,
    /// Constats (10 caractères au moins).
    pub conclusions: String,
    /// L’occupant était présent.
    pub occupant_present: Option<bool>,
    /// Le propriétaire était présent.
    pub proprietaire_present: Option<bool>,
    /// L’usager lit la conclusion dans son espace de suivi (non par défaut).
    #[serde(default)]
    pub publique: bool,
}

fn yes_no(value: Option<bool>) -> String {
    match value {
        Some(true) => "oui".into(),
        Some(false) => "non".into(),
        None => String::new(),
    }
}

impl From<&ConclusionBody> for ConclusionInput {
    fn from(body: &ConclusionBody) -> Self {
        ConclusionInput {
            procedures: body.procedures.clone(),
            conclusions: body.conclusions.clone(),
            occupant_present: yes_no(body.occupant_present),
            owner_present: yes_no(body.proprietaire_present),
            public: body.publique,
        }
    }
}

/// A visit to plan.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVisit {
    /// Date et heure de la visite, `AAAA-MM-JJTHH:MM` (heure de Paris, comme le back-office).
    /// Une date passée enregistre une visite déjà faite : `conclusion` est alors requise.
    pub date_visite: String,
    /// `visite` (par défaut), `visite_controle` ou `arrete_prefectoral`.
    pub type_visite: Option<String>,
    /// Le partenaire qui visite (avec la compétence visites) ; par défaut celui du compte.
    pub partenaire_id: Option<u64>,
    /// Un opérateur extérieur à la plateforme qui visite, à la place d’un partenaire.
    pub operateur_externe: Option<String>,
    /// Note pour la visite.
    pub commentaire: Option<String>,
    /// Pour une visite déjà faite : ce qu’elle a constaté.
    pub conclusion: Option<ConclusionBody>,
}

/// The outcome of a visit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitConclusion {
    /// `done` (faite), `cancelled` (annulée) ou `not_done` (n’a pas pu se faire).
    pub statut: String,
    /// Constats (10 caractères au moins quand la visite a eu lieu).
    pub conclusions: Option<String>,
    /// Procédures constatées, plusieurs possibles (voir `ConclusionBody`).
    #[serde(default)]
    pub procedures: Vec<String>,
    /// L’occupant était présent.
    pub occupant_present: Option<bool>,
    /// Le propriétaire était présent.
    pub proprietaire_present: Option<bool>,
    /// L’usager lit la conclusion (oui par défaut).
    pub publique: Option<bool>,
}

/// A new date for a planned visit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDate {
    /// Nouvelle date, `AAAA-MM-JJTHH:MM` (heure de Paris), à venir.
    pub date_visite: String,
    /// Pourquoi la visite est reportée (gardé pour les partenaires).
    pub motif: String,
}

/// Why a planned visit is cancelled.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cancellation {
    /// Pourquoi la visite est annulée (gardé pour les partenaires).
    pub motif: String,
}

/// A file of a visit.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VisitFileParams {
    /// Nom du fichier, avec son extension.
    pub nom_fichier: String,
    /// Rapport seulement : l’usager peut le lire (non par défaut ; une photo de visite reste interne).
    pub public: Option<bool>,
}

fn now() -> time::PrimitiveDateTime {
    let now = time::OffsetDateTime::now_utc();
    time::PrimitiveDateTime::new(now.date(), now.time())
}

/// A visit of a case of the account's scope, its case and its public id
/// (404 otherwise).
async fn visit_target(
    state: &AppState,
    caller: &ApiCaller,
    uuid: &str,
) -> Result<(CaseFacts, VisitFacts, String), Problem> {
    let uuid = uuid.to_ascii_lowercase();
    let Some((report_uuid, visit_id)) = (if looks_like_uuid(&uuid) {
        db::api::find_visit(&state.db, &uuid).await?
    } else {
        None
    }) else {
        return Err(Problem::not_found());
    };
    let facts = case_facts(state, caller, &report_uuid).await?;
    let visit = db::visits::facts(&state.db, facts.report_id, visit_id)
        .await?
        .ok_or_else(Problem::not_found)?;
    Ok((facts, visit, uuid))
}

/// The visit as the write left it, in its transaction.
async fn visit_answer(
    tx: &mut super::writes::Tx,
    uuid: &str,
    status: StatusCode,
) -> Result<super::writes::Answer, Problem> {
    let row = db::api::visit_in(tx, uuid)
        .await?
        .ok_or_else(Problem::not_found)?;
    value(status, &visit_of(row))
}

/// Plan a visit
///
/// Planifie une visite du logement (par un partenaire ayant la compétence
/// visites, ou par un opérateur externe) ; une date passée enregistre une
/// visite déjà faite avec sa conclusion. L’usager en est averti.
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
        (status = 400, description = "Requête invalide", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Jeton absent, inconnu, expiré ou révoqué", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Permission ou statut ne permettant pas de planifier", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Signalement inconnu ou hors du périmètre du compte", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Le signalement a changé entre-temps", body = ProblemBody, content_type = "application/problem+json"),
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
    // The account's partner visits unless another partner or an external
    // operator is named.
    let partner = input.partenaire_id.or_else(|| {
        input
            .operateur_externe
            .is_none()
            .then(|| actor.memberships.first().map(|m| m.partner_id))
            .flatten()
    });
    let visit_partners = db::visits::visit_partners(&state.db, facts.territory_id).await?;
    let path = format!("/api/v1/signalements/{}/visites", facts.uuid);
    idempotent(
        &state,
        &caller,
        &headers,
        (&Method::POST, &path, &body),
        |mut tx| async {
            let planned = visit::plan_visit(
                &actor,
                &facts,
                visit::PlanVisitInput {
                    scheduled_at: input.date_visite.clone(),
                    partner: partner.map(|p| p.to_string()).unwrap_or_default(),
                    external_operator: input.operateur_externe.clone().unwrap_or_default(),
                    kind: input.type_visite.clone().unwrap_or_default(),
                    comment: input.commentaire.clone().unwrap_or_default(),
                    outcome: input
                        .conclusion
                        .as_ref()
                        .map(ConclusionInput::from)
                        .unwrap_or_default(),
                },
                visit::PlanContext {
                    now: now(),
                    visit_partners: &visit_partners,
                },
            );
            let result = async {
                apply(&state, &caller, &origin, &mut tx, planned).await?;
                let row = db::api::latest_visit_in(&mut tx, facts.report_id)
                    .await?
                    .ok_or_else(Problem::not_found)?;
                value(StatusCode::CREATED, &visit_of(row))
            }
            .await;
            (tx, result)
        },
    )
    .await
}

/// Conclude a visit
///
/// Enregistre le résultat d’une visite planifiée (faite avec ses constats et
/// les procédures constatées, annulée, ou n’ayant pas pu se faire) ;
/// l’usager en est averti (la conclusion seulement si elle est publique).
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
        (status = 400, description = "Requête invalide", body = ProblemBody, content_type = "application/problem+json"),
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
    let (facts, visit, uuid) = visit_target(&state, &caller, &uuid).await?;
    let input: VisitConclusion = json_body(&headers, &body)?;
    let actor = actor_for(&caller, &facts, visit.partner_id)?;
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
                    visit_id: visit.id,
                    outcome: input.statut.clone(),
                    conclusions: input.conclusions.clone().unwrap_or_default(),
                    occupant_present: yes_no(input.occupant_present),
                    owner_present: yes_no(input.proprietaire_present),
                    procedures: input.procedures.clone(),
                    // Before the back office had the choice, the API's
                    // conclusion was always the resident's: kept by default.
                    public: input.publique.unwrap_or(true),
                },
            );
            let result = async {
                apply(&state, &caller, &origin, &mut tx, planned).await?;
                visit_answer(&mut tx, &uuid, StatusCode::OK).await
            }
            .await;
            (tx, result)
        },
    )
    .await
}

/// Rewrite a visit's conclusion
///
/// Corrige la conclusion d’une visite faite (procédures, constats,
/// présences, visibilité) ; l’ancienne reste dans l’historique des
/// modifications. L’usager n’est averti que si la conclusion devient
/// publique.
#[utoipa::path(
    patch,
    path = "/api/v1/visites/{uuid}/conclusion",
    tag = "Visites",
    request_body = ConclusionBody,
    params(
        ("uuid" = String, Path, description = "Identifiant de la visite"),
        ("Idempotency-Key" = Option<String>, Header, description = "Clé d’idempotence : une requête rejouée avec la même clé reçoit la première réponse"),
    ),
    responses(
        (status = 200, description = "La visite avec sa nouvelle conclusion", body = Visit),
        (status = 400, description = "Requête invalide", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Jeton absent, inconnu, expiré ou révoqué", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Permission ou statut ne permettant pas de corriger", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Visite inconnue ou hors du périmètre du compte", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "La visite a changé entre-temps", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "Corps non JSON", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (visite non faite, conclusion inchangée…)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Limite de requêtes atteinte", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn edit_conclusion(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require(Permission::WriteVisits)?;
    let (facts, visit, uuid) = visit_target(&state, &caller, &uuid).await?;
    let input: ConclusionBody = json_body(&headers, &body)?;
    let actor = actor_for(&caller, &facts, visit.partner_id)?;
    let path = format!("/api/v1/visites/{uuid}/conclusion");
    idempotent(
        &state,
        &caller,
        &headers,
        (&Method::PATCH, &path, &body),
        |mut tx| async {
            let planned = visit::edit_conclusion(&actor, &facts, &visit, (&input).into());
            let result = async {
                apply(&state, &caller, &origin, &mut tx, planned).await?;
                visit_answer(&mut tx, &uuid, StatusCode::OK).await
            }
            .await;
            (tx, result)
        },
    )
    .await
}

/// Reschedule a visit
///
/// Reporte une visite planifiée à une nouvelle date (à venir) ; le motif
/// reste aux partenaires, l’usager et les partenaires qui suivent le
/// signalement reçoivent la nouvelle date.
#[utoipa::path(
    post,
    path = "/api/v1/visites/{uuid}/reprogrammation",
    tag = "Visites",
    request_body = NewDate,
    params(
        ("uuid" = String, Path, description = "Identifiant de la visite"),
        ("Idempotency-Key" = Option<String>, Header, description = "Clé d’idempotence : une requête rejouée avec la même clé reçoit la première réponse"),
    ),
    responses(
        (status = 200, description = "La visite à sa nouvelle date", body = Visit),
        (status = 400, description = "Requête invalide", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Jeton absent, inconnu, expiré ou révoqué", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Permission ou statut ne permettant pas de reporter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Visite inconnue ou hors du périmètre du compte", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "La visite a changé entre-temps", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "Corps non JSON", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (date passée ou identique, motif manquant, visite non planifiée)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Limite de requêtes atteinte", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn reschedule_visit(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require(Permission::WriteVisits)?;
    let (facts, visit, uuid) = visit_target(&state, &caller, &uuid).await?;
    let input: NewDate = json_body(&headers, &body)?;
    let actor = actor_for(&caller, &facts, visit.partner_id)?;
    let path = format!("/api/v1/visites/{uuid}/reprogrammation");
    idempotent(
        &state,
        &caller,
        &headers,
        (&Method::POST, &path, &body),
        |mut tx| async {
            let planned = visit::reschedule_visit(
                &actor,
                &facts,
                &visit,
                visit::RescheduleInput {
                    scheduled_at: input.date_visite.clone(),
                    reason: input.motif.clone(),
                },
                now(),
            );
            let result = async {
                apply(&state, &caller, &origin, &mut tx, planned).await?;
                visit_answer(&mut tx, &uuid, StatusCode::OK).await
            }
            .await;
            (tx, result)
        },
    )
    .await
}

/// Cancel a visit
///
/// Annule une visite planifiée ; le motif reste aux partenaires, l’usager et
/// les partenaires qui suivent le signalement en sont avertis.
#[utoipa::path(
    post,
    path = "/api/v1/visites/{uuid}/annulation",
    tag = "Visites",
    request_body = Cancellation,
    params(
        ("uuid" = String, Path, description = "Identifiant de la visite"),
        ("Idempotency-Key" = Option<String>, Header, description = "Clé d’idempotence : une requête rejouée avec la même clé reçoit la première réponse"),
    ),
    responses(
        (status = 200, description = "La visite annulée", body = Visit),
        (status = 400, description = "Requête invalide", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Jeton absent, inconnu, expiré ou révoqué", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Permission ou statut ne permettant pas d’annuler", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Visite inconnue ou hors du périmètre du compte", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "La visite a changé entre-temps", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "Corps non JSON", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (motif manquant, visite non planifiée)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Limite de requêtes atteinte", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn cancel_visit(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require(Permission::WriteVisits)?;
    let (facts, visit, uuid) = visit_target(&state, &caller, &uuid).await?;
    let input: Cancellation = json_body(&headers, &body)?;
    let actor = actor_for(&caller, &facts, visit.partner_id)?;
    let path = format!("/api/v1/visites/{uuid}/annulation");
    idempotent(
        &state,
        &caller,
        &headers,
        (&Method::POST, &path, &body),
        |mut tx| async {
            let planned = visit::cancel_visit(&actor, &facts, &visit, &input.motif);
            let result = async {
                apply(&state, &caller, &origin, &mut tx, planned).await?;
                visit_answer(&mut tx, &uuid, StatusCode::OK).await
            }
            .await;
            (tx, result)
        },
    )
    .await
}

/// Add the visit report
///
/// Dépose le rapport d’une visite faite (PDF ou document bureautique ;
/// corps de la requête : ses octets, 10 Mo au plus), avec les contrôles et
/// l’analyse antivirus de tout dépôt. Rendu public, l’usager est averti
/// qu’il est disponible.
#[utoipa::path(
    post,
    path = "/api/v1/visites/{uuid}/rapport-visite",
    tag = "Visites",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "Les octets du fichier"),
    params(
        ("uuid" = String, Path, description = "Identifiant de la visite"),
        VisitFileParams,
        ("Idempotency-Key" = Option<String>, Header, description = "Clé d’idempotence : une requête rejouée avec la même clé reçoit la première réponse"),
    ),
    responses(
        (status = 201, description = "Rapport déposé, en attente d’analyse", body = Document),
        (status = 400, description = "Paramètre mal formé", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Jeton absent, inconnu, expiré ou révoqué", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Permission ou statut ne permettant pas de déposer", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Visite inconnue ou hors du périmètre du compte", body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "Fichier trop volumineux", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Fichier refusé, ou visite pas encore faite", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Limite de requêtes atteinte", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[allow(
    clippy::too_many_arguments,
    reason = "one extractor per part of the request"
)]
pub async fn upload_report(
    state: State<AppState>,
    caller: Extension<ApiCaller>,
    origin: RequestOrigin,
    uuid: Path<String>,
    params: ApiQuery<VisitFileParams>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    upload_visit_file(
        "rapport", state, caller, origin, uuid, params, uri, headers, body,
    )
    .await
}

/// Add visit photos
///
/// Dépose une photo d’une visite faite (corps de la requête : ses octets,
/// 10 Mo au plus), avec les contrôles et l’analyse antivirus de tout dépôt ;
/// elle reste interne aux partenaires.
#[utoipa::path(
    post,
    path = "/api/v1/visites/{uuid}/photos-visite",
    tag = "Visites",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "Les octets de la photo"),
    params(
        ("uuid" = String, Path, description = "Identifiant de la visite"),
        VisitFileParams,
        ("Idempotency-Key" = Option<String>, Header, description = "Clé d’idempotence : une requête rejouée avec la même clé reçoit la première réponse"),
    ),
    responses(
        (status = 201, description = "Photo déposée, en attente d’analyse", body = Document),
        (status = 400, description = "Paramètre mal formé", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Jeton absent, inconnu, expiré ou révoqué", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Permission ou statut ne permettant pas de déposer", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Visite inconnue ou hors du périmètre du compte", body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "Fichier trop volumineux", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Fichier refusé, ou visite pas encore faite", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Limite de requêtes atteinte", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[allow(
    clippy::too_many_arguments,
    reason = "one extractor per part of the request"
)]
pub async fn upload_photo(
    state: State<AppState>,
    caller: Extension<ApiCaller>,
    origin: RequestOrigin,
    uuid: Path<String>,
    params: ApiQuery<VisitFileParams>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    upload_visit_file(
        "photos", state, caller, origin, uuid, params, uri, headers, body,
    )
    .await
}

/// The report or a photo of a visit: the back office's visit upload
/// (`visit::check_files`, `commands::upload`, `visit::files_added`) with
/// one file, the bytes of the request.
#[allow(
    clippy::too_many_arguments,
    reason = "the two endpoints' extractors, passed on"
)]
async fn upload_visit_file(
    nature: &str,
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    ApiQuery(params): ApiQuery<VisitFileParams>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require(Permission::WriteVisits)?;
    caller.require(Permission::WriteDocuments)?;
    let (facts, visit, _) = visit_target(&state, &caller, &uuid).await?;
    let actor = actor_for(&caller, &facts, visit.partner_id)?;
    let kind = visit::check_files(&actor, &facts, &visit, nature).map_err(refused)?;
    let public = kind == DocumentType::RapportVisite && params.public.unwrap_or(false);
    let approved = commands::approve_upload(
        &actor,
        &facts,
        &commands::UploadInput {
            document_type: kind.code().to_owned(),
            title: String::new(),
            public,
            files: 1,
        },
    )
    .map_err(refused)?;
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
                let file = store_body(&state, &params.nom_fichier, body.clone()).await?;
                let keys = file.object_keys();
                let plan = commands::upload(&actor, &facts, approved, vec![file]);
                let plan = visit::files_added(plan, &visit, kind, public);
                match apply(&state, &caller, &origin, &mut tx, Ok(plan)).await {
                    Ok(applied) => document_answer(&mut tx, &applied).await,
                    Err(problem) => {
                        crate::uploads::forget(&state.storage, keys).await;
                        Err(problem)
                    }
                }
            }
            .await;
            (tx, result)
        },
    )
    .await
}
