//! The resident writes to the services from the space, with files:
//! `domain::case::resident::resident_message` decides, the files are stored
//! first (scanned later) and recorded under the follow-up the plan
//! creates, in the plan's transaction.

use axum::{
    extract::{Path, Request, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

use super::{apply_plan, check, find_report, page::render_space, resident_case};
use crate::{
    app::AppState,
    auth::session::RequestOrigin,
    db,
    domain::case::{Refusal, invitation, resident},
    error::{AppError, AppResult},
    kv, uploads,
    web::{
        layout::{Layout, PublicLayout},
        public::form::{TOO_MANY_FILES, read_body, store_files, within_upload_quota},
    },
};

/// Messages per report, and per address, per hour: each one notifies the
/// territory's agents by e-mail.
const MESSAGES_PER_REPORT_PER_HOUR: i64 = 20;
const MESSAGES_PER_IP_PER_HOUR: i64 = 60;

const TOO_MANY_MESSAGES: &str = "Trop de messages ont été envoyés sur ce signalement en peu de temps. Patientez une heure avant d’écrire à nouveau : vos messages précédents ont bien été transmis.";

pub async fn send_message(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    session: Session,
    origin: RequestOrigin,
    Path(code): Path<String>,
    request: Request,
) -> AppResult<Response> {
    let report = find_report(&state, &code).await?;
    let Some(viewer) = check::viewer(&state, &session, &code, report.id).await? else {
        return Err(AppError::Forbidden);
    };
    // Counted before the body is even read: a flood costs nothing.
    let prefix = &state.config.redis_prefix;
    let per_report = format!("{prefix}rate:messages:report:{}", report.id);
    let per_ip = format!("{prefix}rate:messages:ip:{}", origin.rate_key());
    if !kv::within_rate(
        &state.redis,
        &per_report,
        MESSAGES_PER_REPORT_PER_HOUR,
        3600,
    )
    .await?
        || !kv::within_rate(&state.redis, &per_ip, MESSAGES_PER_IP_PER_HOUR, 3600).await?
    {
        let page = render_space(
            &state,
            layout,
            &report,
            &viewer,
            String::new(),
            Some(TOO_MANY_MESSAGES.to_owned()),
            None,
        )
        .await?;
        return Ok((StatusCode::TOO_MANY_REQUESTS, page).into_response());
    }
    let (fields, incoming) = read_body(&state, request).await?;
    let message = fields
        .iter()
        .find(|(k, _)| k == "message")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let mut errors = Vec::new();
    let reject = |error: String, message: String, layout: Layout| async {
        let page =
            render_space(&state, layout, &report, &viewer, message, Some(error), None).await?;
        Ok::<_, AppError>((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    let plan = match resident::resident_message(&resident_case(&state, &report).await?, &message) {
        // A guest's message says who wrote it.
        Ok(plan) => match &viewer {
            check::Viewer::Guest(guest) => {
                invitation::from_guest(plan, &guest.name, guest.relation)
            }
            check::Viewer::Resident => plan,
        },
        Err(Refusal::Invalid(fields)) => {
            let error = fields.get("message").unwrap_or_default().to_owned();
            return reject(error, message, layout).await;
        }
        Err(_) => return Err(AppError::Forbidden),
    };
    if !within_upload_quota(&state, &origin.rate_key(), None, incoming.len()).await? {
        let page = render_space(
            &state,
            layout,
            &report,
            &viewer,
            message,
            Some(TOO_MANY_FILES.to_owned()),
            None,
        )
        .await?;
        return Ok((StatusCode::TOO_MANY_REQUESTS, page).into_response());
    }
    let already = db::documents::count_for_report(&state.db, report.id).await?;
    let stored = store_files(
        &state,
        incoming,
        &["documents".to_owned()],
        usize::try_from(already).unwrap_or(uploads::MAX_FILES_PER_REPORT),
        &mut errors,
    )
    .await?;
    if let Some((_, error)) = errors.into_iter().next() {
        return reject(error, message, layout).await;
    }
    let mut tx = state.db.begin().await?;
    let applied = apply_plan(&state, &mut tx, &plan).await?;
    let follow_up_id = applied.follow_up_id;
    for file in &stored {
        uploads::record(
            &mut tx,
            &db::documents::NewDocument {
                uuid: &uuid::Uuid::new_v4().to_string(),
                report_id: report.id,
                follow_up_id,
                object_key: &file.key,
                thumbnail_key: file.thumbnail_key.as_deref(),
                filename: &file.filename,
                mime: &file.mime,
                size: file.size,
                sha256: &file.sha256,
                kind: &file.kind,
                document_type: crate::domain::document::DocumentType::Autre.code(),
                defect_code: None,
                is_public: false,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/suivre-mon-signalement/{code}?ok=message")).into_response())
}
