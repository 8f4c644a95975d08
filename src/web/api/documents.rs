//! The documents through `/api/v1`: download one once scanned clean,
//! upload one (with its type, its title and whether the resident sees it),
//! rename it or change its type or visibility, turn a photo, delete one.
//! Each write is the back office's document command
//! (`domain::document::commands`, docs/documents.md) applied by
//! `case_plan::apply` in the write's transaction, the account acting as its
//! partner: the same checks and antivirus scan of every upload, the same
//! rule on who deletes (whoever added it), the same e-mail to the resident
//! when a document becomes visible to them.

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
    cases::{Document, document_of},
    problem::{ApiQuery, Problem, ProblemBody, field},
    writes::{Answer, Tx, actor_for, apply, case_facts, idempotent, json_body, refused, value},
};
use crate::{
    app::AppState,
    auth::session::RequestOrigin,
    case_plan::Applied,
    db::{self, documents::ManagedDocument},
    domain::{
        api::Permission,
        document::{
            DocumentType,
            commands::{self, StoredFile},
        },
        workflow::CaseFacts,
    },
    error::{AppError, Component},
    uploads,
    web::forms::looks_like_uuid,
};

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

/// Stores the bytes of a request as one file, through the checks of every
/// upload (type read from the content, size, image decode gate).
pub(super) async fn store_body(
    state: &AppState,
    name: &str,
    bytes: Bytes,
) -> Result<StoredFile, Problem> {
    if bytes.is_empty() {
        return Err(Problem::invalid(vec![field(
            "corps",
            "Le fichier est vide.",
        )]));
    }
    let stored = uploads::store(&state.storage, &state.image_gate, name, bytes)
        .await
        .map_err(|e| Problem::from(AppError::Unavailable(Component::Storage, e.to_string())))?
        .map_err(|refused| match refused {
            uploads::UploadError::Busy => Problem::from(AppError::Busy(refused.to_string())),
            other => Problem::invalid(vec![field("corps", &other.to_string())]),
        })?;
    Ok(stored.into())
}

/// The 201 answer of an upload: the document the plan added, read back in
/// the write's transaction.
pub(super) async fn document_answer(tx: &mut Tx, applied: &Applied) -> Result<Answer, Problem> {
    let id = applied
        .added_documents
        .first()
        .copied()
        .ok_or_else(Problem::not_found)?;
    let row = db::documents::case_document_in(tx, id)
        .await?
        .ok_or_else(Problem::not_found)?;
    value(StatusCode::CREATED, &document_of(row))
}

/// A live document of a case of the account's scope, with its case (404
/// otherwise: unknown, deleted, or outside the scope).
async fn document_target(
    state: &AppState,
    caller: &ApiCaller,
    uuid: &str,
) -> Result<(ManagedDocument, CaseFacts), Problem> {
    let uuid = uuid.to_ascii_lowercase();
    if !looks_like_uuid(&uuid) {
        return Err(Problem::not_found());
    }
    let row = db::documents::find_managed(&state.db, &uuid)
        .await?
        .ok_or_else(Problem::not_found)?;
    let facts = case_facts(state, caller, &row.report_uuid).await?;
    Ok((row, facts))
}

/// The document as a write left it.
async fn updated_answer(tx: &mut Tx, id: u64) -> Result<Answer, Problem> {
    let row = db::documents::case_document_in(tx, id)
        .await?
        .ok_or_else(Problem::not_found)?;
    value(StatusCode::OK, &document_of(row))
}

/// Where and how an uploaded file goes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// Nom du fichier, avec son extension.
    pub nom_fichier: String,
    /// Type du document (voir `Document.categorie`) ; `autre` par défaut.
    pub type_document: Option<String>,
    /// Titre à afficher à la place du nom du fichier.
    pub titre: Option<String>,
    /// Visible par l’usager (non par défaut).
    pub public: Option<bool>,
}

/// Upload a document
///
/// Dépose un fichier (corps de la requête : ses octets, 10 Mo au plus ;
/// images, PDF et documents bureautiques, reconnus à leur contenu) sur le
/// signalement, avec son type, avec les contrôles du site : il n’est servi
/// qu’une fois analysé sain par l’antivirus. Rendu visible, l’usager en est
/// averti.
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
        (status = 422, description = "Fichier ou type refusé", body = ProblemBody, content_type = "application/problem+json"),
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
    caller.require(Permission::WriteDocuments)?;
    let facts = case_facts(&state, &caller, &uuid).await?;
    let actor = actor_for(&caller, &facts, None)?;
    let approved = commands::approve_upload(
        &actor,
        &facts,
        &commands::UploadInput {
            document_type: params
                .type_document
                .clone()
                .unwrap_or_else(|| DocumentType::Autre.code().to_owned()),
            title: params.titre.clone().unwrap_or_default(),
            public: params.public.unwrap_or(false),
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
                match apply(&state, &caller, &origin, &mut tx, Ok(plan)).await {
                    Ok(applied) => document_answer(&mut tx, &applied).await,
                    Err(problem) => {
                        uploads::forget(&state.storage, keys).await;
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

/// A document's new details.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentChanges {
    /// Nouveau titre (vide : le nom du fichier) ; inchangé si absent.
    pub titre: Option<String>,
    /// Nouveau type (voir `Document.categorie`) ; inchangé si absent.
    pub type_document: Option<String>,
    /// Visible par l’usager ; inchangé si absent.
    pub public: Option<bool>,
}

/// Change a document
///
/// Renomme un document, change son type ou sa visibilité pour l’usager
/// (averti quand un document lui devient visible). Les champs absents
/// restent inchangés.
#[utoipa::path(
    patch,
    path = "/api/v1/documents/{uuid}",
    tag = "Documents",
    request_body = DocumentChanges,
    params(
        ("uuid" = String, Path, description = "Identifiant du document"),
        ("Idempotency-Key" = Option<String>, Header, description = "Clé d’idempotence : une requête rejouée avec la même clé reçoit la première réponse"),
    ),
    responses(
        (status = 200, description = "Le document modifié", body = Document),
        (status = 400, description = "Requête invalide", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Jeton absent, inconnu, expiré ou révoqué", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Permission ou statut ne permettant pas de modifier", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Document inconnu, supprimé ou hors du périmètre du compte", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "Corps non JSON", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Limite de requêtes atteinte", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn edit_document(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require(Permission::WriteDocuments)?;
    let (row, facts) = document_target(&state, &caller, &uuid).await?;
    let input: DocumentChanges = json_body(&headers, &body)?;
    let actor = actor_for(&caller, &facts, None)?;
    let document = row.facts();
    let path = format!("/api/v1/documents/{}", row.uuid);
    idempotent(
        &state,
        &caller,
        &headers,
        (&Method::PATCH, &path, &body),
        |mut tx| async {
            let planned = commands::edit(
                &actor,
                &facts,
                &document,
                &commands::EditInput {
                    document_type: input
                        .type_document
                        .clone()
                        .unwrap_or_else(|| document.document_type.code().to_owned()),
                    title: input
                        .titre
                        .clone()
                        .unwrap_or_else(|| document.title.clone().unwrap_or_default()),
                    public: input.public.unwrap_or(document.is_public),
                },
            );
            let result = async {
                apply(&state, &caller, &origin, &mut tx, planned).await?;
                updated_answer(&mut tx, document.id).await
            }
            .await;
            (tx, result)
        },
    )
    .await
}

/// A quarter turn of a photo.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// 90, 180 ou 270 (degrés, sens des aiguilles d’une montre).
    pub degres: i32,
}

/// Turn a photo
///
/// Fait pivoter une photo d’un quart de tour, d’un demi-tour ou de trois
/// quarts de tour : l’image est réencodée (sans ses métadonnées) et sa
/// vignette refaite.
#[utoipa::path(
    post,
    path = "/api/v1/documents/{uuid}/rotation",
    tag = "Documents",
    request_body = Rotation,
    params(
        ("uuid" = String, Path, description = "Identifiant du document"),
        ("Idempotency-Key" = Option<String>, Header, description = "Clé d’idempotence : une requête rejouée avec la même clé reçoit la première réponse"),
    ),
    responses(
        (status = 200, description = "La photo pivotée", body = Document),
        (status = 400, description = "Angle autre que 90, 180 ou 270", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Jeton absent, inconnu, expiré ou révoqué", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Permission ou statut ne permettant pas de modifier", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Document inconnu, supprimé ou hors du périmètre du compte", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Le document a changé entre-temps", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "Corps non JSON", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Pas une photo, ou bloquée par l’antivirus", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Limite de requêtes atteinte", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn rotate_document(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require(Permission::WriteDocuments)?;
    let (row, facts) = document_target(&state, &caller, &uuid).await?;
    let input: Rotation = json_body(&headers, &body)?;
    let actor = actor_for(&caller, &facts, None)?;
    let document = row.facts();
    let approved = commands::approve_rotation(&actor, &facts, &document, &input.degres.to_string())
        .map_err(refused)?;
    let path = format!("/api/v1/documents/{}/rotation", row.uuid);
    let old_keys: Vec<String> = std::iter::once(row.object_key.clone())
        .chain(row.thumbnail_key.clone())
        .collect();
    let response = idempotent(
        &state,
        &caller,
        &headers,
        (&Method::POST, &path, &body),
        |mut tx| async {
            let result = async {
                let turned = uploads::rotate(
                    &state.storage,
                    &state.image_gate,
                    &row.object_key,
                    &row.mime,
                    approved.quarter_turns,
                )
                .await
                .map_err(|e| {
                    Problem::from(AppError::Unavailable(Component::Storage, e.to_string()))
                })?
                .map_err(|refused| match refused {
                    uploads::UploadError::Busy => {
                        Problem::from(AppError::Busy(refused.to_string()))
                    }
                    other => Problem::invalid(vec![field("degres", &other.to_string())]),
                })?;
                let file = StoredFile::from(turned);
                let new_keys = file.object_keys();
                let plan =
                    commands::rotate(&actor, &facts, &document, &row.object_key, approved, file);
                match apply(&state, &caller, &origin, &mut tx, Ok(plan)).await {
                    Ok(_) => updated_answer(&mut tx, document.id).await,
                    Err(problem) => {
                        uploads::forget(&state.storage, new_keys).await;
                        Err(problem)
                    }
                }
            }
            .await;
            (tx, result)
        },
    )
    .await;
    // The row names the new objects once committed: the old ones go.
    if matches!(&response, Ok(r) if r.status() == StatusCode::OK
        && r.headers().get("idempotent-replayed").is_none())
    {
        uploads::forget(&state.storage, old_keys).await;
    }
    response
}

/// Delete a document
///
/// Supprime un document déposé par le compte (les administrateurs du
/// territoire suppriment tout document dans le back-office) : il n’est plus
/// listé ni servi, la suppression reste dans l’historique.
#[utoipa::path(
    delete,
    path = "/api/v1/documents/{uuid}",
    tag = "Documents",
    params(
        ("uuid" = String, Path, description = "Identifiant du document"),
        ("Idempotency-Key" = Option<String>, Header, description = "Clé d’idempotence : une requête rejouée avec la même clé reçoit la première réponse"),
    ),
    responses(
        (status = 204, description = "Document supprimé"),
        (status = 401, description = "Jeton absent, inconnu, expiré ou révoqué", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Document déposé par un autre, ou statut ne permettant pas de supprimer", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Document inconnu, déjà supprimé ou hors du périmètre du compte", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Limite de requêtes atteinte", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete_document(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    origin: RequestOrigin,
    Path(uuid): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    caller.require(Permission::WriteDocuments)?;
    let (row, facts) = document_target(&state, &caller, &uuid).await?;
    let actor = actor_for(&caller, &facts, None)?;
    let document = row.facts();
    let path = format!("/api/v1/documents/{}", row.uuid);
    idempotent(
        &state,
        &caller,
        &headers,
        (&Method::DELETE, &path, b""),
        |mut tx| async {
            let planned = commands::delete(&actor, &facts, &document);
            let result = async {
                apply(&state, &caller, &origin, &mut tx, planned).await?;
                Ok((StatusCode::NO_CONTENT, serde_json::Value::Null))
            }
            .await;
            (tx, result)
        },
    )
    .await
}
