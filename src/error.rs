//! The one error type at the HTTP boundary.
//!
//! Handlers return `AppResult<T>`; every error becomes a French page with the
//! right status. Infrastructure failures that mean "a component is down"
//! (MySQL, Redis, storage) become 503 rather than 500, so that an outage reads
//! as an outage. Form validation failures are not errors: the handler
//! re-renders the form with a 422.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};

use crate::web::layout::ErrorPage;

/// The part of the platform that could not be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Mysql,
    Redis,
    Storage,
}

impl Component {
    pub fn name(self) -> &'static str {
        match self {
            Component::Mysql => "mysql",
            Component::Redis => "redis",
            Component::Storage => "storage",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// Not logged in: the back office redirects to the login page.
    #[error("login required")]
    Unauthenticated,
    #[error("forbidden")]
    Forbidden,
    /// A request that cannot be understood (bad query parameter, bad token).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The CSRF check failed.
    #[error("csrf check failed")]
    Csrf,
    /// Someone else changed the record in the meantime.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("too many requests")]
    TooManyRequests,
    #[error("{component} unavailable: {detail}", component = .0.name(), detail = .1)]
    Unavailable(Component, String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::RowNotFound => AppError::NotFound,
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                AppError::Unavailable(Component::Mysql, error.to_string())
            }
            other => AppError::Unexpected(other.into()),
        }
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(error: tower_sessions::session::Error) -> Self {
        AppError::Unavailable(Component::Redis, error.to_string())
    }
}

impl From<crate::kv::fred::error::Error> for AppError {
    fn from(error: crate::kv::fred::error::Error) -> Self {
        AppError::Unavailable(Component::Redis, error.to_string())
    }
}

impl From<object_store::Error> for AppError {
    fn from(error: object_store::Error) -> Self {
        match error {
            object_store::Error::NotFound { .. } => AppError::NotFound,
            other => AppError::Unavailable(Component::Storage, other.to_string()),
        }
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthenticated => StatusCode::SEE_OTHER,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(..) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            AppError::Unauthenticated => {
                return (
                    StatusCode::SEE_OTHER,
                    [(axum::http::header::LOCATION, "/connexion")],
                )
                    .into_response();
            }
            // Logged once here, where the response is made; user mistakes are
            // not logged.
            AppError::Unexpected(error) => {
                // The tracing layer forwards error events to Sentry.
                tracing::error!(error = ?error, "unexpected error");
            }
            AppError::Unavailable(component, detail) => {
                tracing::warn!(component = component.name(), detail = %detail, "component unavailable");
            }
            _ => {}
        }
        let (title, message) = match &self {
            AppError::NotFound => (
                "Page non trouvée",
                "La page que vous cherchez n’existe pas ou a été déplacée.".to_owned(),
            ),
            AppError::Forbidden => (
                "Accès refusé",
                "Vous n’avez pas les droits nécessaires pour accéder à cette page.".to_owned(),
            ),
            AppError::Csrf => (
                "Formulaire expiré",
                "Pour votre sécurité, ce formulaire n’a pas été accepté : il a expiré ou provient d’un autre site. Revenez à la page précédente, rechargez-la et envoyez-le à nouveau.".to_owned(),
            ),
            AppError::BadRequest(reason) => ("Requête invalide", reason.clone()),
            AppError::Conflict(reason) => ("Modification concurrente", reason.clone()),
            AppError::TooManyRequests => (
                "Trop de tentatives",
                "Vous avez fait trop de demandes en peu de temps. Patientez quelques minutes avant de réessayer.".to_owned(),
            ),
            AppError::Unavailable(..) => (
                "Service momentanément indisponible",
                "Le service rencontre une difficulté technique passagère. Vos données sont en sécurité ; réessayez dans quelques instants.".to_owned(),
            ),
            AppError::Unexpected(_) | AppError::Unauthenticated => (
                "Erreur inattendue",
                "Une erreur inattendue s’est produite. L’équipe technique a été prévenue.".to_owned(),
            ),
        };
        let mut response = (status, ErrorPage::new(status, title, message)).into_response();
        if let AppError::Unavailable(component, _) = self {
            response.headers_mut().insert(
                "x-unavailable-component",
                axum::http::HeaderValue::from_static(component.name()),
            );
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
        }
        response
    }
}
