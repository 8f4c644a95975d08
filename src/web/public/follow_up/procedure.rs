//! The resident asks to close the report, or to go on with the procedure
//! (`domain::case::resident::resident_request`).

use axum::{
    Form,
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

use super::{apply_plan, check, find_report, resident_case};
use crate::{
    app::AppState,
    domain::case::resident,
    error::{AppError, AppResult},
};

#[derive(Deserialize)]
pub struct ProcedureForm {
    #[serde(default)]
    demande: String,
    #[serde(default)]
    precision: String,
}

/// A request to close the report, or to go on with the procedure.
pub async fn request_procedure(
    State(state): State<AppState>,
    session: Session,
    Path(code): Path<String>,
    Form(form): Form<ProcedureForm>,
) -> AppResult<Response> {
    let report = find_report(&state, &code).await?;
    if !check::is_verified(&state, &session, &code, report.id).await? {
        return Err(AppError::Forbidden);
    }
    let request = resident::ProcedureRequest::parse(&form.demande)
        .ok_or_else(|| AppError::BadRequest("demande inconnue".into()))?;
    let plan = resident::resident_request(
        &resident_case(&state, &report).await?,
        request,
        &form.precision,
    );
    let mut tx = state.db.begin().await?;
    apply_plan(&state, &mut tx, &plan).await?;
    tx.commit().await?;
    let ok = request.notice();
    Ok(Redirect::to(&format!("/suivre-mon-signalement/{code}?ok={ok}")).into_response())
}
