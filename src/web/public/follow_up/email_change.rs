//! The resident changes their e-mail address
//! (`domain::case::resident_email`, docs/resident-space.md §2): the new
//! address gets a confirmation link (256-bit token, SHA-256 stored, 24 h,
//! single use); the change applies when the link is opened, and the old
//! address is then told.

use axum::{
    Form,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

use super::{apply_plan, check, find_report, page::render_space, resident_case};
use crate::{
    app::AppState,
    auth::tokens,
    db,
    domain::{
        case::{
            Refusal,
            resident_email::{self, CONFIRMATION_HOURS, Target},
        },
        report::form::DeclarantProfile,
    },
    error::{AppError, AppResult},
    queue::{self, Email, Job, JobContext},
    web::layout::PublicLayout,
};

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    nouveau_courriel: String,
    #[serde(default)]
    qui: String,
}

/// The declarant files for their own home: one address for both.
fn declarant_is_occupant(report: &db::reports::ResidentReport) -> bool {
    DeclarantProfile::parse(&report.declarant_profile).is_some_and(DeclarantProfile::is_occupant)
}

pub async fn request(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    session: Session,
    Path(code): Path<String>,
    Form(form): Form<ChangeForm>,
) -> AppResult<Response> {
    let report = find_report(&state, &code).await?;
    match check::viewer(&state, &session, &code, report.id).await? {
        Some(check::Viewer::Resident) => {}
        _ => return Err(AppError::Forbidden),
    }
    let target = if declarant_is_occupant(&report) {
        Target::Declarant
    } else {
        Target::parse(&form.qui).unwrap_or(Target::Declarant)
    };
    let current = match target {
        Target::Declarant => report.declarant_email.as_deref(),
        Target::Occupant => report.occupant_email.as_deref(),
    };
    let case = resident_case(&state, &report).await?;
    let new_email = match resident_email::request_change(&case, current, &form.nouveau_courriel) {
        Ok(email) => email,
        Err(Refusal::Invalid(errors)) => {
            let mut page = render_space(
                &state,
                layout,
                &report,
                &check::Viewer::Resident,
                String::new(),
                None,
                None,
            )
            .await?;
            page.email_error = errors.get("nouveau_courriel").map(str::to_owned);
            page.new_email = form.nouveau_courriel.clone();
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        Err(_) => return Err(AppError::Forbidden),
    };
    let token = tokens::generate();
    let mut tx = state.db.begin().await?;
    let id = db::resident_details::create_email_change(
        &mut tx,
        report.id,
        target.code(),
        &new_email,
        &tokens::digest(&token),
        CONFIRMATION_HOURS,
    )
    .await?;
    queue::enqueue(
        &mut tx,
        &Job::SendEmail(Email::EmailChangeConfirmation {
            to: new_email,
            reference: report.reference.clone(),
            link: format!("{}/confirmer-courriel/{token}", state.config.base_url),
        }),
        Some(&format!("email-change:{id}")),
        JobContext {
            report_id: Some(report.id),
            ..JobContext::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/suivre-mon-signalement/{code}?ok=courriel")).into_response())
}

const EXPIRED: &str = "Ce lien de confirmation a expiré : l’adresse électronique n’a pas été changée. Demandez-la à nouveau depuis le suivi de votre signalement.";

/// The new address's link: the change applies, once.
pub async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> AppResult<Response> {
    if !tokens::looks_valid(&token) {
        return Err(AppError::NotFound);
    }
    let change = db::resident_details::unused_email_change(&state.db, &tokens::digest(&token))
        .await?
        .ok_or(AppError::NotFound)?;
    if change.expired {
        return Err(AppError::BadRequest(EXPIRED.into()));
    }
    let code = db::invitations::follow_up_code(&state.db, change.report_id).await?;
    let report = find_report(&state, &code).await?;
    let target = Target::parse(&change.target).unwrap_or(Target::Declarant);
    let both = declarant_is_occupant(&report);
    let old = match target {
        Target::Declarant => report.declarant_email.clone(),
        Target::Occupant => report.occupant_email.clone(),
    }
    .unwrap_or_default();
    let plan = resident_email::confirmed(
        &resident_case(&state, &report).await?,
        target,
        &old,
        &change.new_email,
    );
    let mut tx = state.db.begin().await?;
    if !db::resident_details::apply_email_change(&mut tx, &change, both).await? {
        return Err(AppError::NotFound);
    }
    apply_plan(&state, &mut tx, &plan).await?;
    if !old.is_empty() && old != change.new_email {
        queue::enqueue(
            &mut tx,
            &Job::SendEmail(Email::EmailChangeNotice {
                to: old,
                reference: report.reference.clone(),
                link: format!("{}/suivre-mon-signalement/{code}", state.config.base_url),
            }),
            Some(&format!("email-change-notice:{}", change.id)),
            JobContext {
                report_id: Some(report.id),
                ..JobContext::default()
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/suivre-mon-signalement/{code}?ok=courriel-confirme"
    ))
    .into_response())
}
