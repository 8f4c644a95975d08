//! `/metrics` of the web process (Prometheus text format, `crate::metrics`),
//! and the middleware that counts requests by route template.

use std::time::Instant;

use axum::{
    extract::{Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{app::AppState, error::AppResult, metrics};

/// The figures, for the bearer of `METRICS_TOKEN` only; 404 when no token
/// is configured, 401 without the right one.
pub async fn serve(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    let Some(token) = &state.config.metrics_token else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !metrics::authorized(Some(token.expose()), given) {
        return Ok((
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response());
    }
    let body = metrics::exposition(&state.db, true).await?;
    Ok(([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], body).into_response())
}

/// Counts each answered request under its route template (never the raw
/// path: it may hold tokens), with its status and latency.
pub async fn track(request: Request, next: Next) -> Response {
    let route = crate::telemetry::route_of(&request).to_owned();
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics::record_request(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
