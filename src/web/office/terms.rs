//! The terms-of-use interstitial of the back office (docs/terms.md §3): an
//! agent whose accepted version is not the current one is sent here after
//! signing in, and every back-office page sends them back here until they
//! accept (recorded with the time and an audit event) or refuse (signed
//! out).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

use crate::{
    app::AppState,
    auth::session::{self, RequestOrigin},
    db,
    domain::{
        permissions::Access,
        terms::{Audience, Version},
    },
    error::{AppError, AppResult},
    web::{
        forms::{safe_next, url_encode},
        layout::{Layout, OfficePage},
        routes::Routes,
    },
};

/// The interstitial's path.
pub const PATH: &str = "/bo/conditions-utilisation";
/// Session flag set at sign-in while the current version is not accepted;
/// the gate (`web::gate`) sends every back-office request here meanwhile.
pub const PENDING_KEY: &str = "terms_pending";

/// Adds the interstitial's routes.
pub fn register(routes: Routes) -> Routes {
    routes
        .get(PATH, Access::SignedIn, show)
        .post(PATH, Access::SignedIn, answer)
}

/// Where the gate sends a user who has not accepted yet.
pub fn interstitial_url(next: &str) -> String {
    format!("{PATH}?suite={}", url_encode(next))
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/office/terms.html")]
pub struct TermsInterstitial {
    pub layout: Layout,
    pub current: Version,
    /// "Vous avez accepté la version … le …", when it is the current one.
    pub accepted: Option<String>,
    pub next: String,
}

#[derive(Deserialize)]
pub struct NextQuery {
    suite: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    page: OfficePage,
    Query(query): Query<NextQuery>,
) -> AppResult<TermsInterstitial> {
    let current = Audience::Agents.current();
    let (version, at) = db::terms::accepted(&state.db, page.user.id).await?;
    let accepted = match (version, at) {
        (Some(v), Some(at)) if v == current.code => Some(format!(
            "Vous avez accepté cette version le {}.",
            super::cases::format_datetime(&at)
        )),
        _ => None,
    };
    Ok(TermsInterstitial {
        layout: page.layout,
        current,
        accepted,
        next: safe_next(query.suite.as_deref()),
    })
}

#[derive(Deserialize)]
pub struct Answer {
    #[serde(default)]
    decision: String,
    suite: Option<String>,
}

/// "J'accepte": recorded, then on to the page asked. "Je refuse": signed
/// out (the back office cannot be used without accepting).
pub async fn answer(
    State(state): State<AppState>,
    page: OfficePage,
    origin: RequestOrigin,
    session: Session,
    Form(form): Form<Answer>,
) -> AppResult<Response> {
    let current = Audience::Agents.current();
    let action = match form.decision.as_str() {
        "accepter" => "terms_accepted",
        "refuser" => "terms_refused",
        _ => {
            return Err(AppError::BadRequest(
                "Choisissez d’accepter ou de refuser les conditions d’utilisation.".into(),
            ));
        }
    };
    let mut tx = state.db.begin().await?;
    if action == "terms_accepted" {
        db::terms::accept(&mut tx, page.user.id, current.code).await?;
    }
    let event = db::audit::NewEvent::new(
        Some((page.user.id, &page.user.email)),
        action,
        "user",
        Some(page.user.id.to_string()),
    )
    .from_origin(origin.ip, origin.user_agent.as_deref())
    .with_diff(Some(serde_json::json!({ "terms_version": current.code })));
    db::audit::record(&mut tx, &event).await?;
    tx.commit().await?;
    if action == "terms_refused" {
        session::end(&session).await?;
        return Ok(Redirect::to("/connexion?ok=cgu-refusees").into_response());
    }
    session.remove::<bool>(PENDING_KEY).await?;
    Ok(Redirect::to(&safe_next(form.suite.as_deref())).into_response())
}
