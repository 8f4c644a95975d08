//! The job outbox: insertion in the business transaction, reading for tests
//! and the interconnection page. The worker's claim/ack queries live here
//! too when it arrives.

use sqlx::{MySqlConnection, types::Json};

use super::Pool;
use crate::queue::JobContext;

pub async fn insert(
    conn: &mut MySqlConnection,
    kind: &str,
    payload: &serde_json::Value,
    idempotency_key: Option<&str>,
    context: JobContext,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO outbox (kind, payload, idempotency_key, report_id, partner_id, run_after)
         VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP() + INTERVAL ? SECOND)
         ON DUPLICATE KEY UPDATE id = id",
        kind,
        Json(payload),
        idempotency_key,
        context.report_id,
        context.partner_id,
        context.delay_secs
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A queued job as stored.
pub struct OutboxRow {
    pub id: u64,
    pub kind: String,
    pub payload: Json<serde_json::Value>,
    pub status: String,
}

/// The jobs still waiting, oldest first.
pub async fn list_pending(pool: &Pool) -> Result<Vec<OutboxRow>, sqlx::Error> {
    sqlx::query_as!(
        OutboxRow,
        "SELECT id, kind, payload AS `payload: Json<serde_json::Value>`, status
         FROM outbox WHERE status IN ('pending', 'failed') ORDER BY id"
    )
    .fetch_all(pool)
    .await
}
