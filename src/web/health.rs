//! `/healthz` (the process answers) and `/readyz` (every component answers).
//!
//! Both are public (the platform's router and uptime monitors call them
//! without credentials), so they say only which component is up or down:
//! the error behind a "down" (host names, ports, driver messages, bucket
//! names) goes to the logs, never into the answer.

use std::time::Duration;

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde::Serialize;

use crate::{app::AppState, db, kv, storage};

/// Liveness: the process is up. Never touches a dependency, so an outage of
/// MySQL does not make the platform restart the web process in a loop.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The state of one component, as the public answer shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentStatus {
    Up,
    Down,
}

/// The answer of `/readyz`: component names and up/down, nothing else.
#[derive(Debug, Serialize)]
pub struct Readiness {
    /// `ok` when every component is up, else `unavailable`.
    pub status: &'static str,
    pub mysql: ComponentStatus,
    pub redis: ComponentStatus,
    pub storage: ComponentStatus,
    /// The components that are down, by name.
    pub down: Vec<&'static str>,
}

/// Runs one check with a 3 s bound; a failure is logged with its cause and
/// reported as `down`.
async fn check<F>(component: &'static str, future: F) -> ComponentStatus
where
    F: Future<Output = anyhow::Result<()>>,
{
    match tokio::time::timeout(Duration::from_secs(3), future).await {
        Ok(Ok(())) => ComponentStatus::Up,
        Ok(Err(error)) => {
            tracing::warn!(component, error = %error, "readiness check failed");
            ComponentStatus::Down
        }
        Err(_) => {
            tracing::warn!(component, "readiness check timed out after 3 s");
            ComponentStatus::Down
        }
    }
}

/// Readiness: JSON status of MySQL, Redis and storage; 503 naming what is down.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let (mysql, redis, storage) = tokio::join!(
        check("mysql", async { Ok(db::health::ping(&state.db).await?) }),
        check("redis", kv::ping(&state.redis)),
        check("storage", storage::ping(&state.storage)),
    );
    let down: Vec<&'static str> = [("mysql", mysql), ("redis", redis), ("storage", storage)]
        .into_iter()
        .filter(|(_, status)| *status == ComponentStatus::Down)
        .map(|(name, _)| name)
        .collect();
    let code = if down.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Readiness {
        status: if down.is_empty() { "ok" } else { "unavailable" },
        mysql,
        redis,
        storage,
        down,
    };
    (code, Json(body))
}
