//! Errors of the API as RFC 9457 problem documents
//! (`application/problem+json`), with French titles and details.
//!
//! The API's handlers return [`Problem`]. An [`AppError`] (the one error
//! type of the domain and database calls) becomes one through `From`, with
//! the status it has on the site and the same logging (`error_page::log`);
//! what only an API says (a missing token, a field of a JSON body) has its
//! own constructors. Rejections of axum's extractors, which are plain text,
//! are turned into problems by [`problem_rejections`].

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::{HeaderValue, StatusCode, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::{Serialize, de::DeserializeOwned};
use utoipa::ToSchema;

use crate::{error::AppError, web::error_page};

/// The media type of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Un document d’erreur (RFC 9457).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemBody {
    /// URI du type d’erreur (`about:blank` quand le statut suffit).
    #[serde(rename = "type")]
    pub kind: String,
    /// Résumé du type d’erreur.
    pub title: String,
    /// Le statut HTTP.
    pub status: u16,
    /// Explication de cette erreur.
    pub detail: String,
    /// Les champs refusés et pourquoi (422 seulement).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub erreurs: Vec<FieldError>,
}

/// Un champ refusé.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// Le champ (ou paramètre de requête).
    pub champ: String,
    /// Pourquoi il est refusé.
    pub message: String,
}

/// An error answered by the API.
#[derive(Debug)]
pub struct Problem {
    pub body: ProblemBody,
    /// `Retry-After` seconds (429, 503).
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, title: &str, detail: impl Into<String>) -> Self {
        Self {
            body: ProblemBody {
                kind: "about:blank".into(),
                title: title.into(),
                status: status.as_u16(),
                detail: detail.into(),
                erreurs: Vec::new(),
            },
            retry_after: None,
        }
    }

    /// 401: no token, or one that is unknown, expired or revoked.
    pub fn unauthorized(detail: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Authentification requise", detail)
    }

    /// 403: the account lacks the permission.
    pub fn forbidden(detail: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Accès refusé", detail)
    }

    /// 404: nothing there, or nothing the account may see (the same answer,
    /// so that a case out of scope cannot be told from a missing one).
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Ressource introuvable",
            "Cette ressource n’existe pas ou n’est pas accessible avec ce compte API.",
        )
    }

    /// 400: a malformed parameter.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Requête invalide", detail)
    }

    /// 422: fields of the request that are wrong.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let mut problem = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Données non valides",
            "Certaines valeurs envoyées ne sont pas acceptées : voir « erreurs ».",
        );
        problem.body.erreurs = errors;
        problem
    }

    /// 429 with the seconds to wait.
    pub fn too_many_requests(retry_after: u64) -> Self {
        let mut problem = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Trop de requêtes",
            format!(
                "La limite de requêtes par minute de ce compte API est atteinte. Réessayez dans {retry_after} s."
            ),
        );
        problem.retry_after = Some(retry_after);
        problem
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.body.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// One wrong field.
pub fn field(champ: &str, message: &str) -> FieldError {
    FieldError {
        champ: champ.into(),
        message: message.into(),
    }
}

impl From<AppError> for Problem {
    fn from(error: AppError) -> Self {
        let error = error.reclassified();
        error_page::log(&error);
        let status = error.status();
        match &error {
            AppError::NotFound => Self::not_found(),
            AppError::Unauthenticated => {
                Self::unauthorized("Un jeton d’accès valide est nécessaire.")
            }
            AppError::Forbidden | AppError::Csrf => {
                Self::forbidden("Ce compte API n’a pas le droit de faire cette action.")
            }
            AppError::BadRequest(reason) => Self::bad_request(reason.clone()),
            AppError::Conflict(reason) => {
                Self::new(StatusCode::CONFLICT, "Conflit", reason.clone())
            }
            AppError::TooManyRequests => Self::too_many_requests(60),
            AppError::InvalidInput { fault, .. } => {
                Self::new(status, "Données non valides", fault.message())
            }
            AppError::Busy(reason) => {
                let mut p = Self::new(status, "Service très sollicité", reason.clone());
                p.retry_after = Some(10);
                p
            }
            AppError::Unavailable(..) => {
                let mut p = Self::new(
                    status,
                    "Service momentanément indisponible",
                    "Le service rencontre une difficulté technique passagère ; réessayez dans quelques instants.",
                );
                p.retry_after = Some(5);
                p
            }
            AppError::Unexpected(_) => Self::new(
                status,
                "Erreur inattendue",
                "Une erreur inattendue s’est produite. L’équipe technique a été prévenue.",
            ),
        }
    }
}

impl From<sqlx::Error> for Problem {
    fn from(error: sqlx::Error) -> Self {
        AppError::from(error).into()
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self.body).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"histologe\""),
            );
        }
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// A JSON body; a body that is not JSON of the expected shape is a 422
/// problem (a 415 one when not sent as JSON).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(axum::extract::rejection::JsonRejection::MissingJsonContentType(_)) => {
                Err(Problem::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Format non pris en charge",
                    "Le corps de la requête doit être envoyé en JSON (Content-Type: application/json).",
                ))
            }
            Err(rejection) => Err(Problem::invalid(vec![field(
                "corps",
                &format!(
                    "Le corps JSON ne correspond pas au format attendu ({}).",
                    rejection.body_text()
                ),
            )])),
        }
    }
}

/// Query parameters; a malformed one is a 400 problem.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(query).map(Self).map_err(|e| {
            Problem::bad_request(format!("Un paramètre de la requête est mal formé : {e}."))
        })
    }
}

/// Largest rejection text read back.
const REJECTION_BYTES: usize = 16 * 1024;

/// Turns what axum answers by itself under `/api` (a wrong method, a path
/// parameter that does not parse, a body over the limit: plain text) into
/// problem documents.
pub async fn problem_rejections(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if status.as_u16() < 400 {
        return response;
    }
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"));
    if !plain {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, REJECTION_BYTES)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    tracing::debug!(status = status.as_u16(), rejection = %text, "API request refused by an extractor");
    let problem = match status.as_u16() {
        400 if text.starts_with("Invalid URL") => Problem::not_found(),
        405 => Problem::new(
            status,
            "Méthode non autorisée",
            "Cette adresse de l’API ne s’utilise pas avec cette méthode HTTP.",
        ),
        413 => Problem::new(
            status,
            "Envoi trop volumineux",
            "Le corps de la requête dépasse la taille autorisée.",
        ),
        _ => Problem::new(
            status,
            "Requête invalide",
            "La requête n’a pas pu être comprise.",
        ),
    };
    let mut answer = problem.into_response();
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        answer.headers_mut().insert(header::ALLOW, allow.clone());
    }
    answer
}
