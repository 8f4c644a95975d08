//! The gate of every route: anonymous users go to the login page, users
//! whose role the route's access level does not allow get a 403, others go
//! on with their [`CurrentUser`] in the request (see `web::routes`).
//!
//! The session itself (what it holds, the user's loading) is
//! `auth::session`; this module is the HTTP middleware over it, in the web
//! layer because it draws responses (redirects, the error page).

use axum::{
    Extension,
    extract::{Request, State},
    http::Uri,
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

use crate::{
    app::AppState,
    auth::session::{CurrentUser, load_user, started_generation, user_id},
    domain::permissions::Access,
    error::AppError,
};

/// The login page URL that brings the user back to `uri` afterwards.
pub fn login_url(uri: &Uri) -> String {
    let target = uri.path_and_query().map_or("/bo", |pq| pq.as_str());
    format!("/connexion?suite={}", super::forms::url_encode(target))
}

/// The gate of a route of the given access level.
pub async fn gate(
    State(access): State<Access>,
    Extension(state): Extension<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    if access == Access::Public {
        return next.run(request).await;
    }
    let current: Option<CurrentUser> = match user_id(&session).await {
        Ok(Some(id)) => match load_user(&state.db, id).await {
            Ok(user) => user,
            Err(error) => return error.into_response(),
        },
        Ok(None) => None,
        Err(error) => return error.into_response(),
    };
    // A session without a generation (started before generations existed)
    // is ended too: failing closed costs one sign-in.
    let started_at = match started_generation(&session).await {
        Ok(generation) => generation,
        Err(error) => return error.into_response(),
    };
    let current = current.filter(|user| started_at == Some(user.session_generation));
    let Some(current) = current else {
        // A session pointing at a deactivated account, or started before
        // a password change, a reset or a change of rights, is ended.
        let _ = session.flush().await;
        return Redirect::to(&login_url(request.uri())).into_response();
    };
    if !access.allows(current.role) {
        let mut response = AppError::Forbidden.into_response();
        // Tells the role × route test that the route's gate (not a record
        // check) refused.
        response.headers_mut().insert(
            "x-denied-by",
            axum::http::HeaderValue::from_static("route-policy"),
        );
        return response;
    }
    // Terms of use to accept since sign-in: only their page until answered
    // (docs/terms.md §3).
    let pending = match session.get::<bool>(super::office::terms::PENDING_KEY).await {
        Ok(pending) => pending == Some(true),
        Err(error) => return AppError::from(error).into_response(),
    };
    if pending && request.uri().path() != super::office::terms::PATH {
        let target = request
            .uri()
            .path_and_query()
            .map_or("/bo", |pq| pq.as_str());
        return Redirect::to(&super::office::terms::interstitial_url(target)).into_response();
    }
    request.extensions_mut().insert(current);
    next.run(request).await
}
