//! Cross-site request forgery protection for every state-changing request.
//!
//! Double-submit token: a random token lives in an HttpOnly, SameSite=Lax
//! cookie and is repeated in each form (hidden field `_csrf`; multipart forms
//! carry it in the action URL's query string, since their body is streamed to
//! the handler). On top of that, a browser-sent `Origin` must be our own.
//! The check is a middleware, so no route can forget it.

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use rand::RngCore;

use crate::{app::AppState, error::AppError};

pub const COOKIE_NAME: &str = "histologe_csrf";
pub const FIELD_NAME: &str = "_csrf";
/// Largest urlencoded body the middleware buffers to read the token.
const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

/// The token of the current browser, put in the request extensions for
/// templates to embed.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn cookie_token(request: &Request) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Constant-time comparison, so the token cannot be guessed byte by byte.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn form_field(query: &str, name: &str) -> Option<String> {
    form_urlencoded_pairs(query)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Minimal `application/x-www-form-urlencoded` reader (keys and values).
fn form_urlencoded_pairs(input: &str) -> impl Iterator<Item = (String, String)> + '_ {
    input.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k), percent_decode(v))
    })
}

fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn origin_is_ours(request: &Request, base_url: &str) -> bool {
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        // "null" is what browsers send for opaque origins: never ours.
        return origin == base_url || same_host(origin, headers);
    }
    true
}

/// Accepts an Origin equal to the Host the request was sent to, so that the
/// app works behind any host name (tests bind random ports).
fn same_host(origin: &str, headers: &axum::http::HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin.split_once("://"), host) {
        (Some((_, origin_host)), Some(host)) => origin_host == host,
        _ => false,
    }
}

pub async fn protect(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // Machine endpoints authenticated by a shared secret: no browser form
    // posts them, and their sender carries no cookie (web::webhooks).
    if request.uri().path().starts_with(super::webhooks::PREFIX) {
        return next.run(request).await;
    }
    let existing = cookie_token(&request);
    let token = existing.clone().unwrap_or_else(new_token);
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(CsrfToken(token.clone()));

    let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    let request = if unsafe_method {
        let probe = Request::from_parts(parts, Body::empty());
        if !origin_is_ours(&probe, &state.config.base_url) {
            return AppError::Csrf.into_response();
        }
        let (parts, _) = probe.into_parts();
        let Some(expected) = existing.as_deref() else {
            return AppError::Csrf.into_response();
        };
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let from_header = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let from_query = parts.uri.query().and_then(|q| form_field(q, FIELD_NAME));
        if content_type.starts_with("application/x-www-form-urlencoded") {
            let bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
                Ok(bytes) => bytes,
                Err(_) => {
                    return AppError::BadRequest(
                        "Le formulaire envoyé est trop volumineux.".into(),
                    )
                    .into_response();
                }
            };
            let submitted = form_field(&String::from_utf8_lossy(&bytes), FIELD_NAME)
                .or(from_header)
                .or(from_query);
            if !submitted.is_some_and(|s| same_token(&s, expected)) {
                return AppError::Csrf.into_response();
            }
            Request::from_parts(parts, Body::from(bytes))
        } else {
            let submitted = from_header.or(from_query);
            if !submitted.is_some_and(|s| same_token(&s, expected)) {
                return AppError::Csrf.into_response();
            }
            Request::from_parts(parts, body)
        }
    } else {
        Request::from_parts(parts, body)
    };

    let mut response = next.run(request).await;
    if existing.is_none() {
        let secure = if state.config.is_https() {
            "; Secure"
        } else {
            ""
        };
        let cookie = format!("{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Lax{secure}");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_form_fields() {
        assert_eq!(
            form_field("a=1&_csrf=ab%2Fc+d", "_csrf").as_deref(),
            Some("ab/c d")
        );
        assert_eq!(form_field("a=%", "a").as_deref(), Some("%"));
        assert_eq!(form_field("a=%4", "a").as_deref(), Some("%4"));
        assert_eq!(form_field("a=%zz", "a").as_deref(), Some("%zz"));
        assert_eq!(form_field("a=1", "_csrf"), None);
    }

    #[test]
    fn tokens_compare_in_full() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "abcd"));
    }
}
