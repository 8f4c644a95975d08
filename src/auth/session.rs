//! Signed-in users: what the session holds, the current-user and
//! request-origin extractors. The gate that every back-office route passes
//! through is in the web layer (`web::gate`) and uses these.
//!
//! The session (in Redis) holds only the user id and the user's session
//! generation at sign-in. The user, their role, their memberships and their
//! current generation are read from MySQL on each request (one indexed
//! lookup, the one that loads the user anyway), so that a deactivation or a
//! role change takes effect at once, and a session whose generation is
//! behind the user's is ended: the generation is bumped by a password change
//! or reset, a deactivation, a role or membership change (see
//! `docs/security-accounts.md`).

use axum::{extract::FromRequestParts, http::request::Parts};
use std::net::IpAddr;

use tower_sessions::{Expiry, Session};

use crate::{
    db,
    domain::{
        permissions::{Actor, Membership},
        roles::Role,
    },
    error::{AppError, AppResult},
};

const USER_ID_KEY: &str = "user_id";
/// `users.session_generation` when the session was started.
const GENERATION_KEY: &str = "session_generation";
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
    /// Sessions started before the last bump of this number are ended.
    pub session_generation: u32,
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
        session_generation: user.session_generation,
    }))
}

/// Starts a signed-in session: a new session id (against fixation), the
/// user id and session generation, and the expiry chosen.
pub async fn start(
    session: &Session,
    user_id: u64,
    generation: u32,
    remember: bool,
) -> AppResult<()> {
    session.cycle_id().await?;
    session.insert(USER_ID_KEY, user_id).await?;
    session.insert(GENERATION_KEY, generation).await?;
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

/// Keeps the current session alive across a bump of the user's generation
/// that it made itself (its own password change), with a new id.
pub async fn renew(session: &Session, generation: u32) -> AppResult<()> {
    session.cycle_id().await?;
    session.insert(GENERATION_KEY, generation).await?;
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

/// The session generation recorded when this session was signed in
/// (`None` for an anonymous session, or one started before generations
/// existed).
pub async fn started_generation(session: &Session) -> AppResult<Option<u32>> {
    Ok(session.get::<u32>(GENERATION_KEY).await?)
}

/// Whether the client's address is read from `X-Forwarded-For`
/// (`TRUST_X_FORWARDED_FOR`), put in every request by the application so
/// that this module needs nothing from the layers above it.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrustForwardedFor(pub bool);

/// The client's address: the last `X-Forwarded-For` hop when
/// `TRUST_X_FORWARDED_FOR` is on (the platform's router appends it; anything
/// before it was written by the client), else the peer address. A hop that
/// does not parse as an IP address is ignored rather than trusted as text.
pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    let trusted = parts
        .extensions
        .get::<TrustForwardedFor>()
        .is_some_and(|trust| trust.0);
    if trusted
        && let Some(ip) = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|hop| hop.trim().parse::<IpAddr>().ok())
    {
        return Some(ip.to_canonical());
    }
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_canonical())
}

/// Who made the request, for the audit log and the per-address limits.
#[derive(Debug, Clone)]
pub struct RequestOrigin {
    /// None only when the server was started without peer addresses.
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl RequestOrigin {
    /// The key of per-address rate limits and throttles: the IPv4 address,
    /// or the /64 network of an IPv6 one (one subscriber usually holds a
    /// whole /64, and would otherwise get 2^64 fresh addresses to rotate
    /// through).
    pub fn rate_key(&self) -> String {
        match self.ip {
            Some(IpAddr::V4(ip)) => ip.to_string(),
            Some(IpAddr::V6(ip)) => {
                let s = ip.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            None => "unknown".to_owned(),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(ip: &str) -> RequestOrigin {
        RequestOrigin {
            ip: Some(ip.parse().unwrap()),
            user_agent: None,
        }
    }

    #[test]
    fn rate_keys_group_ipv6_addresses_by_their_64_network() {
        assert_eq!(origin("203.0.113.7").rate_key(), "203.0.113.7");
        assert_eq!(
            origin("2001:db8:1:2:aaaa::1").rate_key(),
            origin("2001:db8:1:2:ffff:1:2:3").rate_key()
        );
        assert_ne!(
            origin("2001:db8:1:2::1").rate_key(),
            origin("2001:db8:1:3::1").rate_key()
        );
        assert_eq!(origin("2001:db8:1:2::1").rate_key(), "2001:db8:1:2::/64");
    }
}
