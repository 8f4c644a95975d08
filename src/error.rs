//! The one error type at the HTTP boundary.
//!
//! Handlers return `AppResult<T>`; every error becomes a French page with the
//! right status. Infrastructure failures that mean "a component is down"
//! (MySQL, Redis, storage) become 503 rather than 500, so that an outage reads
//! as an outage. Form validation failures are not errors: the handler
//! re-renders the form with a 422.
//!
//! Bad input never ends as a 500 (see docs/input-validation.md): a value
//! the database refuses (unknown reference, too long, out of range, ...)
//! becomes [`AppError::InvalidInput`], a 422 (409 for a duplicate) with a
//! French message; the rejections of axum's extractors (malformed form,
//! query or path, body too large) are turned into French pages by
//! [`french_rejections`].

use axum::{
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
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
    /// A value sent by the user that the database refused: the request
    /// was wrong, not the server (MySQL error `code`, logged with `detail`).
    #[error("invalid input ({fault:?}, MySQL {code}): {detail}")]
    InvalidInput {
        fault: InputFault,
        code: u16,
        detail: String,
    },
    /// The server is saturated by work of one kind (image decodes): 503,
    /// `Retry-After` and the given French message.
    #[error("busy: {0}")]
    Busy(String),
    #[error("{component} unavailable: {detail}", component = .0.name(), detail = .1)]
    Unavailable(Component, String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

/// What was wrong with a value the database refused, by MySQL error number.
/// Only errors that a request's content can cause are listed: anything
/// else stays a 500 (a bug or an outage, not the user's doing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFault {
    /// 1452: an id that names nothing (foreign key), e.g. a forged select.
    UnknownReference,
    /// 1451: the record is still used elsewhere and cannot be removed.
    StillReferenced,
    /// 1406: longer than the column.
    TooLong,
    /// 1264, 1690: a number out of the column's range.
    OutOfRange,
    /// 1366, 1292, 1265: not a value of the column's type (date, number,
    /// characters the column cannot store, choice not in the list).
    IncorrectValue,
    /// 1048: a required value is missing.
    Missing,
    /// 3819, 4025: a CHECK constraint refused the value.
    Rejected,
    /// 1267, 1271: characters that cannot be compared with the column's
    /// (an emoji searched in an ASCII column).
    Characters,
    /// 1062: the same value already exists where it must be unique.
    Duplicate,
}

impl InputFault {
    pub fn from_mysql(number: u16) -> Option<Self> {
        Some(match number {
            1452 => Self::UnknownReference,
            1451 => Self::StillReferenced,
            1406 => Self::TooLong,
            1264 | 1690 => Self::OutOfRange,
            1366 | 1292 | 1265 => Self::IncorrectValue,
            1048 => Self::Missing,
            3819 | 4025 => Self::Rejected,
            1267 | 1271 => Self::Characters,
            1062 => Self::Duplicate,
            _ => return None,
        })
    }

    /// The fault behind an sqlx error, if user input can explain it.
    pub fn of(error: &sqlx::Error) -> Option<(Self, u16)> {
        let sqlx::Error::Database(db) = error else {
            return None;
        };
        let number = db
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()?
            .number();
        Self::from_mysql(number).map(|fault| (fault, number))
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::Duplicate => StatusCode::CONFLICT,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn message(self) -> &'static str {
        match self {
            Self::UnknownReference => {
                "Un choix du formulaire ne correspond à aucun élément existant. Revenez à la page précédente, rechargez-la et choisissez dans la liste."
            }
            Self::StillReferenced => {
                "Cet élément est encore utilisé ailleurs et ne peut pas être supprimé."
            }
            Self::TooLong => {
                "Une des valeurs saisies est trop longue. Revenez à la page précédente, raccourcissez-la et réessayez."
            }
            Self::OutOfRange => {
                "Un nombre saisi est en dehors des valeurs possibles. Revenez à la page précédente, corrigez-le et réessayez."
            }
            Self::IncorrectValue | Self::Rejected => {
                "Une des valeurs saisies n’a pas le format attendu (date, nombre ou choix de la liste). Revenez à la page précédente, corrigez-la et réessayez."
            }
            Self::Missing => {
                "Un champ obligatoire n’est pas rempli. Revenez à la page précédente, complétez le formulaire et réessayez."
            }
            Self::Characters => {
                "Une des valeurs saisies contient des caractères non acceptés ici. Revenez à la page précédente, corrigez-la et réessayez."
            }
            Self::Duplicate => {
                "Cet élément existe déjà : il n’a pas été enregistré une seconde fois."
            }
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        if let Some((fault, code)) = InputFault::of(&error) {
            return AppError::InvalidInput {
                fault,
                code,
                detail: error.to_string(),
            };
        }
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
    /// An unexpected error whose cause is a database refusal of user input
    /// (a query run under `.context(..)`) is input, not a bug.
    fn reclassified(self) -> Self {
        if let AppError::Unexpected(error) = &self
            && let Some((fault, code, detail)) = error
                .chain()
                .filter_map(|cause| cause.downcast_ref::<sqlx::Error>())
                .find_map(|e| InputFault::of(e).map(|(f, c)| (f, c, e.to_string())))
        {
            return AppError::InvalidInput {
                fault,
                code,
                detail,
            };
        }
        self
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthenticated => StatusCode::SEE_OTHER,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::InvalidInput { fault, .. } => fault.status(),
            AppError::Unavailable(..) | AppError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let this = self.reclassified();
        let status = this.status();
        match &this {
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
            // The user's mistake, but logged: a form that lets the database
            // be the one to refuse a value lacks a check worth adding.
            AppError::InvalidInput {
                fault,
                code,
                detail,
            } => {
                tracing::warn!(fault = ?fault, mysql.code = code, detail = %detail, "input refused by the database");
            }
            _ => {}
        }
        let (title, message) = match &this {
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
            AppError::InvalidInput { fault, .. } => (
                if *fault == InputFault::Duplicate {
                    "Déjà enregistré"
                } else {
                    "Saisie non valide"
                },
                fault.message().to_owned(),
            ),
            AppError::Busy(reason) => ("Service très sollicité", reason.clone()),
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
        if let AppError::Busy(_) = &this {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("10"),
            );
        }
        if let AppError::Unavailable(component, _) = this {
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

/// What an axum extractor refused, read from its plain-text rejection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rejection {
    /// A path parameter that does not parse (`/bo/utilisateurs/abc`): no
    /// such page.
    Path,
    /// A query string or multipart body that cannot be read.
    Malformed,
    /// A body over the size limit.
    TooLarge,
    /// A body of another type than the form expects.
    UnsupportedType,
    /// A form field that does not fit its type (a number, a choice).
    Unprocessable,
    /// A method the route does not answer (GET on a POST-only action).
    Method,
}

impl Rejection {
    /// The rejection behind a response, when it is axum's own plain text
    /// (our pages are HTML, our JSON endpoints JSON).
    fn classify(status: StatusCode, text: &str) -> Option<Self> {
        Some(match status.as_u16() {
            400 if text.starts_with("Invalid URL") => Self::Path,
            400 => Self::Malformed,
            405 => Self::Method,
            413 => Self::TooLarge,
            415 => Self::UnsupportedType,
            422 => Self::Unprocessable,
            _ => return None,
        })
    }

    fn page(self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::Path => (
                StatusCode::NOT_FOUND,
                "Page non trouvée",
                "La page que vous cherchez n’existe pas ou a été déplacée.",
            ),
            Self::Malformed => (
                StatusCode::BAD_REQUEST,
                "Requête invalide",
                "La demande n’a pas pu être comprise : un de ses paramètres est mal formé. Revenez à la page précédente, rechargez-la et réessayez.",
            ),
            Self::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Envoi trop volumineux",
                "Les fichiers ou le texte envoyés dépassent la taille autorisée. Réduisez leur taille et réessayez.",
            ),
            Self::UnsupportedType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Envoi non pris en charge",
                "Le formulaire n’a pas été envoyé dans le format attendu. Revenez à la page précédente, rechargez-la et réessayez.",
            ),
            Self::Unprocessable => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Saisie non valide",
                "Une des valeurs envoyées n’a pas le format attendu (nombre, date ou choix de la liste). Revenez à la page précédente, corrigez le formulaire et réessayez.",
            ),
            Self::Method => (
                StatusCode::METHOD_NOT_ALLOWED,
                "Action non disponible",
                "Cette adresse ne s’utilise pas ainsi. Revenez à la page précédente et utilisez les boutons de la page.",
            ),
        }
    }
}

/// Largest rejection text read back (axum's are a line or two).
const REJECTION_BYTES: usize = 16 * 1024;

/// Replaces the plain-text English rejections of axum's extractors (`Form`,
/// `Query`, `Path`, `Multipart`, body limits) with the site's French error
/// page. Responses the handlers made (HTML, JSON) pass through untouched.
pub async fn french_rejections(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !matches!(status.as_u16(), 400 | 405 | 413 | 415 | 422) {
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
    let Some(rejection) = Rejection::classify(status, &text) else {
        return (parts, text.into_owned()).into_response();
    };
    // The user's mistake: for debugging only (the text may quote the input).
    tracing::debug!(status = status.as_u16(), rejection = %text, "request refused by an extractor");
    let (status, title, message) = rejection.page();
    let mut page = (status, ErrorPage::new(status, title, message.to_owned())).into_response();
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        page.headers_mut().insert(header::ALLOW, allow.clone());
    }
    page.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_refusals_that_input_can_cause_are_a_4xx() {
        for (code, status) in [
            (1452, 422),
            (1451, 422),
            (1406, 422),
            (1264, 422),
            (1690, 422),
            (1366, 422),
            (1292, 422),
            (1048, 422),
            (3819, 422),
            (4025, 422),
            (1267, 422),
            (1271, 422),
            (1062, 409),
        ] {
            let fault = InputFault::from_mysql(code).expect("an input fault");
            assert_eq!(fault.status().as_u16(), status, "MySQL {code}");
        }
        // A lost connection or a syntax error is ours, not the user's.
        assert_eq!(InputFault::from_mysql(2013), None);
        assert_eq!(InputFault::from_mysql(1064), None);
    }

    #[test]
    fn extractor_rejections_are_classified_by_status_and_text() {
        assert_eq!(
            Rejection::classify(
                StatusCode::BAD_REQUEST,
                "Invalid URL: Cannot parse `abc` to a `u64`"
            ),
            Some(Rejection::Path)
        );
        assert_eq!(Rejection::Path.page().0, StatusCode::NOT_FOUND);
        assert_eq!(
            Rejection::classify(
                StatusCode::BAD_REQUEST,
                "Failed to deserialize query string"
            ),
            Some(Rejection::Malformed)
        );
        assert_eq!(
            Rejection::classify(StatusCode::PAYLOAD_TOO_LARGE, ""),
            Some(Rejection::TooLarge)
        );
        assert_eq!(
            Rejection::classify(StatusCode::INTERNAL_SERVER_ERROR, "x"),
            None
        );
    }
}
