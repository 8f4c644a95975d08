//! `POST /api/v1/token`: an account's identifier and secret exchanged for
//! a bearer token valid 60 minutes; `DELETE /api/v1/token` revokes the
//! token used.

use axum::{Extension, extract::State, http::StatusCode, response::IntoResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    ApiCaller,
    problem::{ApiJson, Problem, ProblemBody},
};
use crate::{
    app::AppState,
    auth::{self, session::RequestOrigin},
    db,
    domain::api::TOKEN_MINUTES,
    kv,
};

/// Attempts per minute and per client address: enough for any client,
/// too few to guess a secret (and secrets are 256 bits anyway).
const ATTEMPTS_PER_MINUTE: i64 = 20;

/// Les identifiants d’un compte API.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// Identifiant du compte (affiché dans le back-office).
    pub identifiant: String,
    /// Secret du compte (affiché une fois, à sa création).
    pub secret: String,
}

/// Un jeton d’accès.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// À envoyer en `Authorization: Bearer <jeton>`.
    pub jeton: String,
    /// Toujours `Bearer`.
    pub type_jeton: String,
    /// Durée de validité en secondes.
    pub expire_dans: i64,
    /// Fin de validité (RFC 3339, UTC).
    pub expire_le: String,
}

/// Obtenir un jeton
///
/// Échange l’identifiant et le secret d’un compte contre un jeton valable 60 minutes.
#[utoipa::path(
    post,
    path = "/api/v1/token",
    tag = "Authentification",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Jeton délivré", body = TokenResponse),
        (status = 401, description = "Identifiant ou secret incorrect, ou compte révoqué", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "Corps non JSON", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Corps mal formé", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Trop de tentatives", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    origin: RequestOrigin,
    ApiJson(request): ApiJson<TokenRequest>,
) -> Result<axum::Json<TokenResponse>, Problem> {
    let key = format!(
        "{}api:token:{}",
        state.config.redis_prefix,
        origin.rate_key()
    );
    let within = kv::within_rate(&state.redis, &key, ATTEMPTS_PER_MINUTE, 60)
        .await
        .map_err(|e| Problem::from(crate::error::AppError::from(e)))?;
    if !within {
        let left = kv::lock_remaining(&state.redis, &key).await.unwrap_or(60);
        return Err(Problem::too_many_requests(
            u64::try_from(left.max(1)).unwrap_or(60),
        ));
    }
    let account = auth::api::account_of_secret(
        &state.db,
        Some(request.identifiant.trim()),
        request.secret.trim(),
    )
    .await?
    .ok_or_else(|| {
        Problem::unauthorized("Identifiant ou secret incorrect, ou compte API révoqué.")
    })?;
    let issued = auth::api::issue_token(&state.db, &account).await?;
    Ok(axum::Json(TokenResponse {
        jeton: issued.token,
        type_jeton: "Bearer".into(),
        expire_dans: TOKEN_MINUTES * 60,
        expire_le: super::cases::rfc3339(issued.expires_at),
    }))
}

/// Révoquer le jeton
///
/// Révoque le jeton envoyé avec cette requête (fin de session).
#[utoipa::path(
    delete,
    path = "/api/v1/token",
    tag = "Authentification",
    responses(
        (status = 204, description = "Jeton révoqué"),
        (status = 401, description = "Jeton absent, inconnu, expiré ou révoqué", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Limite de requêtes atteinte", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
) -> Result<impl IntoResponse, Problem> {
    db::api::revoke_token(&state.db, caller.token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
