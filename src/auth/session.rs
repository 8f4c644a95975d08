//! Signed-in users: what the session holds, the current-user extractor and
//! the gate that every back-office route passes through.
//!
//! The session (in Redis) holds only the user id. The user, their role and
//! their memberships are read from MySQL on each request, so that a
//! deactivation or a role change takes effect at once.

use axum::{
    Extension,
    extract::{FromRequestParts, Request, State},
    http::{Uri, request::Parts},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::{Expiry, Session};

use crate::{
    app::AppState,
    db,
    domain::{
        permissions::{Access, Actor, Membership},
        roles::Role,
    },
    error::{AppError, AppResult},
};

const USER_ID_KEY: &str = "user_id";
/// "Se souvenir de moi": the session survives 30 days of inactivity.
const REMEMBER_DAYS: i64 = 30;

/// A partner the user belongs to, with names for display.
#[derive(Debug, Clone)]
pub struct PartnerMembership {
    pub partner_id: u64,
    pub partner_name: String,
    pub territory_id: u32,
    pub territory_code: String,
    pub territory_name: String,
}

/// The signed-in user, put in the request by the gate.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: u64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub notification_pref: String,
    pub memberships: Vec<PartnerMembership>,
    pub actor: Actor,
}

impl CurrentUser {
    pub fn display_name(&self) -> String {
        let name = format!("{} {}", self.first_name, self.last_name);
        if name.trim().is_empty() {
            self.email.clone()
        } else {
            name.trim().to_owned()
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or(AppError::Unauthenticated)
    }
}

/// Loads the active user with this id, or nothing.
pub async fn load_user(pool: &db::Pool, user_id: u64) -> AppResult<Option<CurrentUser>> {
    let Some((user, memberships)) = db::users::find_with_memberships(pool, user_id).await? else {
        return Ok(None);
    };
    let Some(role) = Role::parse(&user.role) else {
        return Ok(None);
    };
    if user.status != "active" {
        return Ok(None);
    }
    let memberships: Vec<PartnerMembership> = memberships
        .into_iter()
        .map(|m| PartnerMembership {
            partner_id: m.partner_id,
            partner_name: m.partner_name,
            territory_id: m.territory_id,
            territory_code: m.territory_code,
            territory_name: m.territory_name,
        })
        .collect();
    let actor = Actor {
        user_id,
        role,
        memberships: memberships
            .iter()
            .map(|m| Membership {
                partner_id: m.partner_id,
                territory_id: m.territory_id,
            })
            .collect(),
    };
    Ok(Some(CurrentUser {
        id: user.id,
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
        role,
        notification_pref: user.notification_pref,
        memberships,
        actor,
    }))
}

/// Starts a signed-in session: a new session id (against fixation), the
/// user id, and the expiry chosen.
pub async fn start(session: &Session, user_id: u64, remember: bool) -> AppResult<()> {
    session.cycle_id().await?;
    session.insert(USER_ID_KEY, user_id).await?;
    if remember {
        session.set_expiry(Some(Expiry::OnInactivity(time::Duration::days(
            REMEMBER_DAYS,
        ))));
    }
    // Saved here rather than by the layer after the response, so that a
    // Redis outage is a 503 here instead of a silent 500 later.
    session.save().await?;
    Ok(())
}

pub async fn end(session: &Session) -> AppResult<()> {
    session.flush().await?;
    Ok(())
}

pub async fn user_id(session: &Session) -> AppResult<Option<u64>> {
    Ok(session.get::<u64>(USER_ID_KEY).await?)
}

/// The login page URL that brings the user back to `uri` afterwards.
pub fn login_url(uri: &Uri) -> String {
    let target = uri.path_and_query().map_or("/bo", |pq| pq.as_str());
    format!("/connexion?suite={}", crate::web::forms::url_encode(target))
}

/// The gate of a back-office route: anonymous users go to the login page,
/// users whose role the route does not allow get a 403, others go on with
/// [`CurrentUser`] in the request.
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
    let current = match user_id(&session).await {
        Ok(Some(id)) => match load_user(&state.db, id).await {
            Ok(user) => user,
            Err(error) => return error.into_response(),
        },
        Ok(None) => None,
        Err(error) => return error.into_response(),
    };
    let Some(current) = current else {
        // A session pointing at a deactivated account is ended.
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
    request.extensions_mut().insert(current);
    next.run(request).await
}

/// The client's address: the last `X-Forwarded-For` hop (added by the
/// platform's router, when we trust it) or the peer address.
pub fn client_ip(parts: &Parts) -> String {
    let trusted = parts
        .extensions
        .get::<AppState>()
        .is_none_or(|s| s.config.trust_forwarded_for);
    if trusted
        && let Some(forwarded) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
        && let Some(last) = forwarded.rsplit(',').next()
    {
        let ip = last.trim();
        if !ip.is_empty() {
            return ip.chars().take(45).collect();
        }
    }
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

/// Who made the request, for the audit log.
#[derive(Debug, Clone)]
pub struct RequestOrigin {
    pub ip: String,
    pub user_agent: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestOrigin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            ip: client_ip(parts),
            user_agent: parts
                .headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        })
    }
}
