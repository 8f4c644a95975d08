//! The light identity check of the follow-up space: the resident types the
//! initials of a name and the postal code the report holds
//! (`domain::case::resident::identity_matches` decides). Failures are
//! counted per code in Redis: after [`MAX_ATTEMPTS`] the code is locked for
//! [`LOCK_SECONDS`]. A passed check is remembered in the session.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

use super::find_report;
use crate::{
    app::AppState,
    db,
    domain::case::resident::{IdentityAnswer, NamedPeople, identity_matches},
    error::AppResult,
    kv,
    web::layout::{Layout, PublicLayout},
};

/// Failed checks before the code is locked, and the lock's length.
const MAX_ATTEMPTS: i64 = 5;
const LOCK_SECONDS: i64 = 15 * 60;
/// The session's list of the codes whose check passed.
const SESSION_KEY: &str = "follow_up_codes";
/// How many checked codes a session remembers (a handful is plenty; keep
/// the session small).
const SESSION_CODES: usize = 10;

#[derive(Template, WebTemplate)]
#[template(path = "pages/public/follow_up/check.html")]
pub struct CheckPage {
    pub layout: Layout,
    pub action: String,
    pub first: String,
    pub last: String,
    pub postal_code: String,
    pub error: Option<String>,
}

impl CheckPage {
    /// The check not tried yet.
    pub(super) fn empty(layout: Layout, code: &str) -> Self {
        Self {
            layout,
            action: format!("/suivre-mon-signalement/{code}"),
            first: String::new(),
            last: String::new(),
            postal_code: String::new(),
            error: None,
        }
    }
}

/// The session's guest links: (code, invitation id) opened with an
/// invitation's own link.
pub(super) const GUEST_KEY: &str = "follow_up_guests";

/// Who looks at the space of a code.
pub(super) enum Viewer {
    /// The resident, who passed the light check.
    Resident,
    /// A third party the resident invited, through their own link (the
    /// invitation still in force: a revoked one is read here at once).
    Guest(db::invitations::Invitation),
}

/// Who the session is for the space of `code` (of `report_id`), if anyone.
pub(super) async fn viewer(
    state: &AppState,
    session: &Session,
    code: &str,
    report_id: u64,
) -> AppResult<Option<Viewer>> {
    let codes: Vec<String> = session.get(SESSION_KEY).await?.unwrap_or_default();
    if codes.iter().any(|c| c == code) {
        return Ok(Some(Viewer::Resident));
    }
    let guests: Vec<(String, u64)> = session.get(GUEST_KEY).await?.unwrap_or_default();
    let Some((_, id)) = guests.iter().find(|(c, _)| c == code) else {
        return Ok(None);
    };
    Ok(db::invitations::active(&state.db, report_id, *id)
        .await?
        .map(Viewer::Guest))
}

/// The session may see the space of `code`: the resident or a guest.
pub(super) async fn is_verified(
    state: &AppState,
    session: &Session,
    code: &str,
    report_id: u64,
) -> AppResult<bool> {
    Ok(viewer(state, session, code, report_id).await?.is_some())
}

#[derive(Deserialize)]
pub struct CheckForm {
    #[serde(default)]
    initiale_prenom: String,
    #[serde(default)]
    initiale_nom: String,
    #[serde(default)]
    code_postal: String,
}

pub async fn check_identity(
    State(state): State<AppState>,
    PublicLayout(layout): PublicLayout,
    session: Session,
    Path(code): Path<String>,
    Form(form): Form<CheckForm>,
) -> AppResult<Response> {
    let report = find_report(&state, &code).await?;
    let prefix = &state.config.redis_prefix;
    let lock_key = format!("{prefix}follow-up:lock:{code}");
    let fail_key = format!("{prefix}follow-up:fail:{code}");
    let page = |status: StatusCode, error: String| {
        (
            status,
            CheckPage {
                error: Some(error),
                first: form.initiale_prenom.clone(),
                last: form.initiale_nom.clone(),
                postal_code: form.code_postal.clone(),
                ..CheckPage::empty(layout.clone(), &code)
            },
        )
            .into_response()
    };
    let locked = kv::lock_remaining(&state.redis, &lock_key).await?;
    if locked > 0 {
        let minutes = (locked + 59) / 60;
        return Ok(page(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Trop d’essais. Par sécurité, réessayez dans {minutes} minute{}.",
                if minutes > 1 { "s" } else { "" }
            ),
        ));
    }
    let named = NamedPeople {
        postal_code: &report.postal_code,
        people: [
            (
                report.occupant_first_name.as_deref(),
                report.occupant_last_name.as_deref(),
            ),
            (
                report.declarant_first_name.as_deref(),
                report.declarant_last_name.as_deref(),
            ),
        ],
    };
    let answer = IdentityAnswer {
        first_name_initial: &form.initiale_prenom,
        last_name_initial: &form.initiale_nom,
        postal_code: &form.code_postal,
    };
    if !identity_matches(&named, &answer) {
        let failures = kv::hit(&state.redis, &fail_key, LOCK_SECONDS).await?;
        if failures >= MAX_ATTEMPTS {
            kv::lock(&state.redis, &lock_key, LOCK_SECONDS).await?;
            kv::forget(&state.redis, &[fail_key]).await?;
            return Ok(page(
                StatusCode::TOO_MANY_REQUESTS,
                "Trop d’essais. Par sécurité, réessayez dans 15 minutes.".into(),
            ));
        }
        let left = MAX_ATTEMPTS - failures;
        return Ok(page(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "Ces informations ne correspondent pas au signalement. Il vous reste {left} essai{}.",
                if left > 1 { "s" } else { "" }
            ),
        ));
    }
    kv::forget(&state.redis, &[fail_key]).await?;
    let mut codes: Vec<String> = session.get(SESSION_KEY).await?.unwrap_or_default();
    if !codes.contains(&code) {
        codes.push(code.clone());
        if codes.len() > SESSION_CODES {
            codes.remove(0);
        }
        session.insert(SESSION_KEY, codes).await?;
    }
    Ok(Redirect::to(&format!("/suivre-mon-signalement/{code}")).into_response())
}
