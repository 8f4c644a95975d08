//! The error page: how an [`AppError`] is shown, and the French pages that
//! replace the plain-text English rejections of axum's extractors
//! (malformed form, query or path, body too large, wrong method).
//!
//! `crate::error` says what went wrong and with which status; this module,
//! in the web layer, draws it with the site's layout. Unexpected errors are
//! logged here, once, where the response is made.

use axum::{
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::layout::ErrorPage;
use crate::error::{AppError, InputFault};

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let this = self.reclassified();
        let status = this.status();
        if let AppError::Unauthenticated = &this {
            return (
                StatusCode::SEE_OTHER,
                [(axum::http::header::LOCATION, "/connexion")],
            )
                .into_response();
        }
        log(&this);
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

/// Logs an error once, where its response is made (the page here, the
/// API's problem document in `web::api`); user mistakes are not logged.
pub(crate) fn log(error: &AppError) {
    match error {
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
