//! `/metrics` of the worker: the queue's figures and the pool's connections
//! in the Prometheus text format (`crate::metrics`), behind the same
//! `METRICS_TOKEN` as the web process. `histologe-worker` serves it on
//! `WORKER_METRICS_ADDR` when set.

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use crate::{config::Secret, db::Pool, metrics};

#[derive(Clone)]
struct MetricsState {
    pool: Pool,
    token: Option<Secret>,
}

/// The worker's metrics server: `GET /metrics` only.
pub fn router(pool: Pool, token: Option<Secret>) -> Router {
    Router::new()
        .route("/metrics", get(serve))
        .with_state(MetricsState { pool, token })
}

async fn serve(State(state): State<MetricsState>, headers: HeaderMap) -> Response {
    let Some(token) = &state.token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !metrics::authorized(Some(token.expose()), given) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response();
    }
    match metrics::exposition(&state.pool, false).await {
        Ok(body) => ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], body).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: the queue could not be read");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
