//! Structured logs (JSON in production) and Sentry error reporting.
//!
//! Some URLs carry secrets: the password-reset and activation tokens
//! (`/mot-de-passe/{token}`, `/activation/{token}`), the resident's
//! follow-up code (`/suivre-mon-signalement/{code}`), draft and document
//! uuids, and query strings in general. Whoever reads the logs or the
//! Sentry project must not be able to replay them, so:
//! - the request span names the matched route template (axum's
//!   [`MatchedPath`]), never the raw path nor the query string;
//! - each request gets its own Sentry hub (see [`crate::app::router`]) whose
//!   transaction and `route` tag are that same template;
//! - Sentry's `before_send` scrubs whatever URL an event still carries
//!   ([`scrub_event`]), as a second line behind the first two.

use axum::{extract::MatchedPath, http::Request};
use sentry::protocol::Event;
use tracing::Span;
use tracing_subscriber::{
    EnvFilter, Layer, filter::LevelFilter, layer::SubscriberExt, util::SubscriberInitExt,
};

use crate::config::Config;

/// The route of a request that matched none (a 404): its path may hold
/// anything a client typed, a mistyped reset link included.
pub const UNMATCHED_ROUTE: &str = "(aucune route)";

/// Installs the global tracing subscriber. Safe to call more than once (the
/// later calls do nothing), which tests rely on.
pub fn init_logs(config: &Config) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info,fred=warn"));
    // Only ERROR events become Sentry events: unfiltered, the layer would
    // send every INFO line as an error.
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(sentry::integrations::tracing::ErrorLayer::new().with_filter(LevelFilter::ERROR));
    let result = if config.log_json {
        registry
            .with(tracing_subscriber::fmt::layer().json().flatten_event(true))
            .try_init()
    } else {
        registry.with(tracing_subscriber::fmt::layer()).try_init()
    };
    let _ = result;
}

/// Starts Sentry when `SENTRY_DSN` is set. Must run before the tokio runtime
/// is built; keep the guard alive for the whole process so events are flushed.
pub fn init_sentry(config: &Config) -> Option<sentry::ClientInitGuard> {
    let dsn = config.sentry_dsn.as_ref()?;
    Some(sentry::init((dsn.expose(), sentry_options(config))))
}

/// The Sentry options: environment, release, and the scrubbing callback.
pub fn sentry_options(config: &Config) -> sentry::ClientOptions {
    let environment = match config.environment {
        crate::config::Environment::Production => "production",
        crate::config::Environment::Test => "test",
        crate::config::Environment::Development => "development",
    };
    sentry::ClientOptions::new()
        .maybe_release(sentry::release_name!())
        .environment(environment)
        // Request bodies, cookies and client addresses are personal data.
        .send_default_pii(false)
        .before_send(|event| Some(scrub_event(event)))
}

/// The route template a request matched, or [`UNMATCHED_ROUTE`].
pub fn route_of<B>(request: &Request<B>) -> &str {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
}

/// The span of one request: method, route template and request id. Also
/// names the request's Sentry scope after the route (a no-op without
/// Sentry). Runs inside the router, where [`MatchedPath`] is known.
pub fn request_span<B>(request: &Request<B>) -> Span {
    let route = route_of(request);
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    sentry::configure_scope(|scope| {
        scope.set_transaction(Some(route));
        scope.set_tag("route", route);
    });
    tracing::info_span!(
        "request",
        method = %request.method(),
        route = %route,
        request_id = %request_id,
    )
}

/// Replaces the secret parts of a path with placeholders: the segment after
/// `mot-de-passe`, `activation` and `suivre-mon-signalement`, and any
/// segment that looks like an identifier or a token (a uuid, or 16 or more
/// letters and digits with at least one digit).
pub fn scrub_path(path: &str) -> String {
    let mut previous = "";
    let segments: Vec<&str> = path
        .split('/')
        .map(|segment| {
            let scrubbed = match previous {
                "mot-de-passe" | "activation" if !segment.is_empty() => "{token}",
                "suivre-mon-signalement" if !segment.is_empty() => "{code}",
                _ if looks_like_identifier(segment) => "{id}",
                _ => segment,
            };
            previous = segment;
            scrubbed
        })
        .collect();
    segments.join("/")
}

fn looks_like_identifier(segment: &str) -> bool {
    let compact: String = segment.chars().filter(|c| *c != '-').collect();
    compact.len() >= 16
        && compact
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        && compact.chars().any(|c| c.is_ascii_digit())
}

/// Removes from a Sentry event what could replay a secret or identify a
/// person: the query string, cookies, headers but a few harmless ones,
/// the request body, and the secret segments of every URL (request,
/// transaction, breadcrumbs).
pub fn scrub_event(mut event: Event<'static>) -> Event<'static> {
    if let Some(request) = event.request.as_mut() {
        if let Some(url) = request.url.as_mut() {
            let path = scrub_path(url.path());
            url.set_path(&path);
            url.set_query(None);
            url.set_fragment(None);
            let _ = url.set_username("");
            let _ = url.set_password(None);
        }
        request.query_string = None;
        request.cookies = None;
        request.data = None;
        request.env.clear();
        request.headers.retain(|name, _| {
            matches!(
                name.to_ascii_lowercase().as_str(),
                "user-agent" | "accept" | "content-type" | "content-length" | "x-request-id"
            )
        });
    }
    if let Some(transaction) = event.transaction.as_mut() {
        *transaction = scrub_path(transaction);
    }
    for breadcrumb in event.breadcrumbs.values.iter_mut() {
        for key in ["url", "to", "from"] {
            if let Some(sentry::protocol::Value::String(value)) = breadcrumb.data.get_mut(key) {
                let path = value.split(['?', '#']).next().unwrap_or("");
                *value = scrub_path(path);
            }
        }
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_segments_become_placeholders() {
        assert_eq!(
            scrub_path("/mot-de-passe/AbCdEf0123456789xyz"),
            "/mot-de-passe/{token}"
        );
        assert_eq!(scrub_path("/activation/abc"), "/activation/{token}");
        assert_eq!(
            scrub_path("/suivre-mon-signalement/0000abcdef"),
            "/suivre-mon-signalement/{code}"
        );
        assert_eq!(
            scrub_path("/signalement/brouillon/0b6f3a4e-8d1c-4c2e-9f5e-1a2b3c4d5e6f/photos"),
            "/signalement/brouillon/{id}/photos"
        );
        assert_eq!(
            scrub_path("/bo/signalements/export.csv"),
            "/bo/signalements/export.csv"
        );
        assert_eq!(scrub_path("/bo/utilisateurs/42"), "/bo/utilisateurs/42");
    }

    #[test]
    fn a_sentry_event_loses_its_query_string_cookies_body_and_tokens() {
        let mut event = Event {
            transaction: Some("/mot-de-passe/s3cr3t-t0ken-value-1234".into()),
            ..Event::default()
        };
        let mut headers = sentry::protocol::Map::new();
        headers.insert("Cookie".into(), "histologe_session=abc".into());
        headers.insert("Authorization".into(), "Bearer x".into());
        headers.insert("User-Agent".into(), "test".into());
        event.request = Some(sentry::protocol::Request {
            url: "https://histologe.example/activation/T0KEN1234567890abcdef?suite=/bo&code=42"
                .parse()
                .ok(),
            query_string: Some("suite=/bo&code=42".into()),
            cookies: Some("histologe_session=abc".into()),
            data: Some("password=hunter2".into()),
            headers,
            ..Default::default()
        });
        let event = scrub_event(event);
        let request = event.request.expect("request kept");
        assert_eq!(
            request.url.expect("url kept").as_str(),
            "https://histologe.example/activation/%7Btoken%7D"
        );
        assert_eq!(request.query_string, None);
        assert_eq!(request.cookies, None);
        assert_eq!(request.data, None);
        assert_eq!(
            request.headers.keys().collect::<Vec<_>>(),
            vec!["User-Agent"]
        );
        assert_eq!(event.transaction.as_deref(), Some("/mot-de-passe/{token}"));
    }
}
