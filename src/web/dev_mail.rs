//! Development only: the e-mails written to the local mailbox folder, at
//! `/dev/courriels`. Opt-in: the routes answer 404 unless `DEV_MAILBOX=true`
//! (set by `scripts/run.sh`), and always in production and whenever mail
//! leaves through Brevo or SMTP. The pages are public and list activation
//! and password links: a deployment that merely forgot its mail provider
//! must not publish them.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, State},
    response::{Html, IntoResponse, Response},
};

use crate::{
    app::AppState,
    config::{Environment, MailConfig},
    domain::permissions::Access,
    error::{AppError, AppResult},
    mail::mailbox::{self, StoredMail},
    web::{layout::PublicLayout, routes::Routes},
};

pub fn register(routes: Routes) -> Routes {
    routes
        .get("/dev/courriels", Access::Public, list_mails)
        .get("/dev/courriels/{id}", Access::Public, show_mail)
}

/// The mailbox folder when this page may exist.
fn mailbox_dir(state: &AppState) -> AppResult<std::path::PathBuf> {
    match (&state.config.mail, state.config.environment) {
        _ if !state.config.dev_mailbox => Err(AppError::NotFound),
        (_, Environment::Production) => Err(AppError::NotFound),
        (MailConfig::Mailbox { dir }, _) => Ok(dir.clone()),
        _ => Err(AppError::NotFound),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/dev/courriels.html")]
pub struct MailsPage {
    pub layout: crate::web::layout::Layout,
    pub mails: Vec<StoredMail>,
    pub dir: String,
}

pub async fn list_mails(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
) -> AppResult<MailsPage> {
    let dir = mailbox_dir(&state)?;
    let listed = dir.clone();
    let mails = tokio::task::spawn_blocking(move || mailbox::list(&listed))
        .await
        .map_err(|e| AppError::Unexpected(e.into()))?
        .map_err(|e| AppError::Unexpected(e.into()))?;
    Ok(MailsPage {
        layout,
        mails,
        dir: dir.display().to_string(),
    })
}

/// The HTML body of one e-mail, as the recipient would see it.
pub async fn show_mail(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let dir = mailbox_dir(&state)?;
    let html = tokio::task::spawn_blocking(move || mailbox::html(&dir, &id))
        .await
        .map_err(|e| AppError::Unexpected(e.into()))?
        .ok_or(AppError::NotFound)?;
    // The body comes from our own templates; a strict CSP still applies.
    Ok(Html(html).into_response())
}
