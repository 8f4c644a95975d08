//! `/healthz` (the process answers) and `/readyz` (every component answers).

use std::time::Duration;

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde::Serialize;

use crate::{app::AppState, db, kv, storage};

/// Liveness: the process is up. Never touches a dependency, so an outage of
/// MySQL does not make the platform restart the web process in a loop.
pub async fn healthz() -> &'static str {
    "ok"
}

#[derive(Debug, Serialize)]
pub struct ComponentStatus {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Readiness {
    pub status: &'static str,
    pub mysql: ComponentStatus,
    pub redis: ComponentStatus,
    pub storage: ComponentStatus,
    /// The components that are down, by name.
    pub down: Vec<&'static str>,
}

async fn check<F>(future: F) -> ComponentStatus
where
    F: Future<Output = anyhow::Result<()>>,
{
    match tokio::time::timeout(Duration::from_secs(3), future).await {
        Ok(Ok(())) => ComponentStatus {
            status: "up",
            error: None,
        },
        Ok(Err(error)) => ComponentStatus {
            status: "down",
            error: Some(error.to_string()),
        },
        Err(_) => ComponentStatus {
            status: "down",
            error: Some("timeout".into()),
        },
    }
}

/// Readiness: JSON status of MySQL, Redis and storage; 503 naming what is down.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let (mysql, redis, storage) = tokio::join!(
        check(async { Ok(db::health::ping(&state.db).await?) }),
        check(kv::ping(&state.redis)),
        check(storage::ping(&state.storage)),
    );
    let down: Vec<&'static str> = [("mysql", &mysql), ("redis", &redis), ("storage", &storage)]
        .into_iter()
        .filter(|(_, c)| c.status != "up")
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
