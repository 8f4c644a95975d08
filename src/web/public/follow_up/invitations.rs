//! The resident invites a third party (`domain::case::invitation`): the
//! guest gets an e-mail with their own link (`/invitation/{token}`, a
//! single token of 256 bits whose SHA-256 only is stored), which opens the
//! case's space for them; the resident lists and revokes the invitations
//! from the space. Guests cannot invite or revoke.

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
    domain::case::{Refusal, invitation},
    error::{AppError, AppResult},
    queue::{self, Email, Job, JobContext},
    web::layout::PublicLayout,
};

/// Invitations in force per report: enough for a social worker and a few
/// relatives, not a mailing list.
const MAX_INVITATIONS: usize = 10;

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    nom: String,
    #[serde(default)]
    courriel: String,
    #[serde(default)]
    lien: String,
}

/// Only the resident (not a guest) manages the invitations.
async fn resident_only(
    state: &AppState,
    session: &Session,
    code: &str,
    report_id: u64,
) -> AppResult<()> {
    match check::viewer(state, session, code, report_id).await? {
        Some(check::Viewer::Resident) => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

pub async fn invite(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    session: Session,
    Path(code): Path<String>,
    Form(form): Form<InviteForm>,
) -> AppResult<Response> {
    let report = find_report(&state, &code).await?;
    resident_only(&state, &session, &code, report.id).await?;
    let case = resident_case(&state, &report).await?;
    let result = invitation::invite(&case, &form.nom, &form.courriel, &form.lien);
    let too_many = db::invitations::active_of_report(&state.db, report.id)
        .await?
        .len()
        >= MAX_INVITATIONS;
    let (new, plan) = match result {
        Ok(_) if too_many => {
            return reject(
                &state,
                layout,
                &report,
                &form,
                vec![(
                    "nom",
                    format!("{MAX_INVITATIONS} personnes sont déjà invitées : retirez un accès avant d’en inviter une autre."),
                )],
            )
            .await;
        }
        Ok(ok) => ok,
        Err(Refusal::Invalid(errors)) => {
            return reject(&state, layout, &report, &form, errors.0).await;
        }
        Err(_) => return Err(AppError::Forbidden),
    };
    let token = tokens::generate();
    let mut tx = state.db.begin().await?;
    let id = db::invitations::create(&mut tx, report.id, &new, &tokens::digest(&token)).await?;
    queue::enqueue(
        &mut tx,
        &Job::SendEmail(Email::GuestInvitation {
            to: new.email.clone(),
            name: new.name.clone(),
            reference: report.reference.clone(),
            link: format!("{}/invitation/{token}", state.config.base_url),
        }),
        Some(&format!("invitation:{id}")),
        JobContext {
            report_id: Some(report.id),
            ..JobContext::default()
        },
    )
    .await?;
    apply_plan(&state, &mut tx, &plan).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/suivre-mon-signalement/{code}?ok=invitation")).into_response())
}

/// The space again with the invitation form's errors (422).
async fn reject(
    state: &AppState,
    layout: crate::web::layout::Layout,
    report: &db::reports::ResidentReport,
    form: &InviteForm,
    errors: Vec<(&'static str, String)>,
) -> AppResult<Response> {
    let mut page = render_space(
        state,
        layout,
        report,
        &check::Viewer::Resident,
        String::new(),
        None,
        None,
    )
    .await?;
    page.invite = (form.nom.clone(), form.courriel.clone(), form.lien.clone());
    page.invite_errors = errors;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

pub async fn revoke(
    State(state): State<AppState>,
    session: Session,
    Path((code, id)): Path<(String, u64)>,
) -> AppResult<Response> {
    let report = find_report(&state, &code).await?;
    resident_only(&state, &session, &code, report.id).await?;
    let guest = db::invitations::active(&state.db, report.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let plan = invitation::revoke(&resident_case(&state, &report).await?, &guest.name);
    let mut tx = state.db.begin().await?;
    if !db::invitations::revoke(&mut tx, report.id, id).await? {
        return Err(AppError::NotFound);
    }
    apply_plan(&state, &mut tx, &plan).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/suivre-mon-signalement/{code}?ok=retrait")).into_response())
}

/// A guest opens their link: the session remembers it, and the space of
/// the case opens. A revoked, unknown or malformed link is a 404.
pub async fn open(
    State(state): State<AppState>,
    session: Session,
    Path(token): Path<String>,
) -> AppResult<Response> {
    if !tokens::looks_valid(&token) {
        return Err(AppError::NotFound);
    }
    let guest = db::invitations::active_by_token(&state.db, &tokens::digest(&token))
        .await?
        .ok_or(AppError::NotFound)?;
    let code = db::invitations::follow_up_code(&state.db, guest.report_id).await?;
    let mut guests: Vec<(String, u64)> = session.get(check::GUEST_KEY).await?.unwrap_or_default();
    guests.retain(|(c, _)| *c != code);
    guests.push((code.clone(), guest.id));
    if guests.len() > 10 {
        guests.remove(0);
    }
    session.insert(check::GUEST_KEY, guests).await?;
    Ok(Redirect::to(&format!("/suivre-mon-signalement/{code}")).into_response())
}
