//! Brevo's transactional webhook: delivery failures recorded in
//! `email_delivery_issues`, successes resolving them
//! (docs/deliverability.md §2).
//!
//! Brevo signs nothing; it authenticates with what its webhook settings
//! allow: `https://user:SECRET@host/webhooks/brevo` (HTTP Basic, the
//! password is the secret) or a bearer token. Either is compared in
//! constant time with `BREVO_WEBHOOK_SECRET`.

use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::Engine;
use serde_json::Value;

use crate::{
    app::AppState,
    db,
    domain::delivery::{Incoming, read_brevo},
    error::AppError,
};

/// Largest body read: a batched webhook of [`MAX_EVENTS`] events fits.
pub const BODY_LIMIT: usize = 256 * 1024;
/// Most events in one (batched) call.
const MAX_EVENTS: usize = 500;

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// The secret the request carries: the password of HTTP Basic, or a bearer
/// token.
fn given_secret(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.trim().to_owned());
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    decoded
        .split_once(':')
        .map(|(_, password)| password.to_owned())
}

/// `POST /webhooks/brevo`: 404 without `BREVO_WEBHOOK_SECRET`, 401 without
/// the secret, 413 over [`BODY_LIMIT`], 415 when not JSON, 400 for an
/// unreadable event (nothing of the call is recorded then), 200 otherwise.
pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let Some(secret) = &state.config.brevo_webhook_secret else {
        return AppError::NotFound.into_response();
    };
    // The bearer comparison of /metrics (hashes compared in constant time).
    let given = given_secret(&headers).map(|s| format!("Bearer {s}"));
    if !crate::metrics::authorized(Some(secret.expose()), given.as_deref()) {
        let mut response = plain(StatusCode::UNAUTHORIZED, "Unauthorized");
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"webhook\""),
        );
        return response;
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !is_json {
        return plain(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type");
    }
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large");
    };
    let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
        return plain(StatusCode::BAD_REQUEST, "Bad Request: invalid JSON");
    };
    // One event, or an array of them (Brevo's batched webhooks).
    let events = match value {
        Value::Array(events) if !events.is_empty() && events.len() <= MAX_EVENTS => events,
        Value::Array(_) => return plain(StatusCode::BAD_REQUEST, "Bad Request: event count"),
        event => vec![event],
    };
    let now = {
        let now = time::OffsetDateTime::now_utc();
        time::PrimitiveDateTime::new(now.date(), now.time())
    };
    let mut read = Vec::with_capacity(events.len());
    for event in &events {
        match read_brevo(event, now) {
            Ok(incoming) => read.push(incoming),
            Err(refusal) => {
                tracing::warn!(reason = refusal.message(), "Brevo webhook event refused");
                return (StatusCode::BAD_REQUEST, refusal.message()).into_response();
            }
        }
    }
    for incoming in read {
        let result = match &incoming {
            Incoming::Issue(notice) => db::delivery::record(&state.db, notice).await.map(|_| ()),
            Incoming::Delivered(email) => db::delivery::resolve_delivered(&state.db, email)
                .await
                .map(|_| ()),
            Incoming::Ignored => Ok(()),
        };
        // Brevo retries a call that failed: an error here loses nothing.
        if let Err(error) = result {
            return AppError::from(error).into_response();
        }
    }
    plain(StatusCode::OK, "OK")
}
