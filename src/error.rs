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
//! French message.
//!
//! This module says what went wrong and with which status; the page that
//! shows it (and the French pages that replace axum's own rejections) is
//! drawn by the web layer, `web::error_page`, so that nothing below `web`
//! depends on it (docs/architecture.md, "Layers").

use axum::http::StatusCode;

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

    /// The French explanation shown to the user.
    pub fn message(self) -> &'static str {
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
    pub fn reclassified(self) -> Self {
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
}
