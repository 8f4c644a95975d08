//! Serving a stored document, after the caller's access check: the one
//! place that decides what a download gets (docs/antivirus.md).
//!
//! - not scanned yet → 409 with `Retry-After` and a French page
//!   "analyse en cours" (the worker scans right after the upload);
//! - infected → 410 and a French page: it is in quarantine, never served;
//! - clean → the bytes, always as an attachment named after the detected
//!   type (`uploads::download_name`), with `nosniff` and
//!   `no-store`, so that a browser never renders an uploaded file in the
//!   platform's origin nor keeps a copy.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::{
    app::AppState,
    domain::antivirus::{ScanStatus, Serving},
    error::{AppError, AppResult, Component},
    uploads,
    web::layout::ErrorPage,
};

/// Seconds a client is told to wait before asking again for a file not yet
/// scanned (a scan takes about a second once the worker has the job).
pub const RETRY_AFTER_SECONDS: u32 = 30;

/// What the caller found and checked.
pub struct Download {
    pub object_key: String,
    pub filename: String,
    pub mime: String,
    pub scan_status: ScanStatus,
}

/// The response to a download the user is allowed to make.
pub async fn serve(state: &AppState, document: Download) -> AppResult<Response> {
    match document.scan_status.serving() {
        Serving::NotYet => return Ok(not_yet_scanned()),
        Serving::Blocked => return Ok(blocked()),
        Serving::Serve => {}
    }
    let bytes = uploads::read(&state.storage, &document.object_key)
        .await
        .map_err(|e| AppError::Unavailable(Component::Storage, e.to_string()))?;
    // Under the extension of the type detected at upload, whatever the name
    // the file was sent with (`uploads::download_name`); never inline.
    let content_disposition = HeaderValue::from_str(&uploads::content_disposition(
        false,
        &document.filename,
        &document.mime,
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    let content_type = HeaderValue::from_str(&document.mime)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, content_disposition),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        bytes,
    )
        .into_response())
}

fn not_yet_scanned() -> Response {
    let mut response = (
        StatusCode::CONFLICT,
        ErrorPage::new(
            StatusCode::CONFLICT,
            "Analyse en cours",
            "Ce fichier est en cours d’analyse par notre antivirus : il sera disponible dans \
             quelques instants. Réessayez un peu plus tard."
                .to_owned(),
        ),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn blocked() -> Response {
    let mut response = (
        StatusCode::GONE,
        ErrorPage::new(
            StatusCode::GONE,
            "Fichier bloqué",
            "Notre antivirus a détecté un programme malveillant dans ce fichier. Il a été mis en \
             quarantaine et ne peut pas être téléchargé."
                .to_owned(),
        ),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
