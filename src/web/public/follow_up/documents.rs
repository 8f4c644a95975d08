//! A document of the report, served to the checked resident through the
//! app (never a bucket URL), with the antivirus gate of `web::downloads`.

use axum::{
    extract::{Path, State},
    response::Response,
};
use tower_sessions::Session;

use super::{check, find_report};
use crate::{
    app::AppState,
    db,
    error::{AppError, AppResult},
    web::downloads::{self, Download},
};

/// Serves a file through the app, after the check: never a bucket URL.
pub async fn download_document(
    State(state): State<AppState>,
    session: Session,
    Path((code, uuid)): Path<(String, String)>,
) -> AppResult<Response> {
    if !crate::web::forms::looks_like_uuid(&uuid) {
        return Err(AppError::NotFound);
    }
    let report = find_report(&state, &code).await?;
    if !check::is_verified(&state, &session, &code, report.id).await? {
        return Err(AppError::Forbidden);
    }
    let document = db::documents::find_for_resident(&state.db, report.id, &uuid)
        .await?
        .ok_or(AppError::NotFound)?;
    downloads::serve(
        &state,
        Download {
            object_key: document.object_key,
            filename: document.filename,
            mime: document.mime,
            scan_status: document.scan_status,
        },
    )
    .await
}
