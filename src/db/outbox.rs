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

/// Records several jobs of one context in one statement (a follow-up
/// notifying thirty people is one round trip, not thirty).
pub async fn insert_many(
    conn: &mut MySqlConnection,
    jobs: &[(&str, serde_json::Value)],
    context: JobContext,
) -> Result<(), sqlx::Error> {
    if jobs.is_empty() {
        return Ok(());
    }
    let mut qb: sqlx::QueryBuilder<sqlx::MySql> = sqlx::QueryBuilder::new(
        "INSERT INTO outbox (kind, payload, idempotency_key, report_id, partner_id, run_after) ",
    );
    qb.push_values(jobs, |mut row, (kind, payload)| {
        row.push_bind(*kind)
            .push_bind(Json(payload))
            .push_bind(None::<String>)
            .push_bind(context.report_id)
            .push_bind(context.partner_id)
            .push("UTC_TIMESTAMP() + INTERVAL ")
            .push_bind_unseparated(context.delay_secs)
            .push_unseparated(" SECOND");
    });
    qb.build().execute(conn).await?;
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

/// A job handed to a worker by [`claim`].
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: u64,
    pub kind: String,
    pub payload: Json<serde_json::Value>,
    /// Attempts including this one.
    pub attempts: u32,
    pub max_attempts: u32,
    pub report_id: Option<u64>,
    pub partner_id: Option<u64>,
}

/// Hands up to `limit` due jobs to `worker_id` for `lease_secs` seconds.
///
/// Due = pending or failed whose `run_after` has passed, or running whose
/// lease has expired (its worker died). `FOR UPDATE SKIP LOCKED` lets any
/// number of workers claim at once without waiting on each other or taking
/// the same row; the rows are marked running before the transaction commits.
pub async fn claim(
    pool: &Pool,
    worker_id: &str,
    limit: u32,
    lease_secs: u32,
) -> Result<Vec<ClaimedJob>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let ids = sqlx::query_scalar!(
        "SELECT id FROM outbox
         WHERE (status IN ('pending', 'failed') AND run_after <= UTC_TIMESTAMP())
            OR (status = 'running' AND locked_until < UTC_TIMESTAMP())
         ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED",
        limit
    )
    .fetch_all(&mut *tx)
    .await?;
    if ids.is_empty() {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let list = super::id_list(&ids);
    sqlx::query!(
        "UPDATE outbox SET status = 'running', attempts = attempts + 1, locked_by = ?,
                locked_until = UTC_TIMESTAMP() + INTERVAL ? SECOND
         WHERE FIND_IN_SET(id, ?)",
        worker_id,
        lease_secs,
        list
    )
    .execute(&mut *tx)
    .await?;
    let rows = sqlx::query!(
        "SELECT id, kind, payload AS `payload: Json<serde_json::Value>`, attempts, max_attempts,
                report_id, partner_id
         FROM outbox WHERE FIND_IN_SET(id, ?) ORDER BY id",
        list
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| ClaimedJob {
            id: r.id,
            kind: r.kind,
            payload: r.payload,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            report_id: r.report_id,
            partner_id: r.partner_id,
        })
        .collect())
}

/// Marks a job done, if `worker_id` still holds it. Returns false when the
/// lease was lost (another worker took the row over).
pub async fn mark_done(
    conn: &mut MySqlConnection,
    id: u64,
    worker_id: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE outbox SET status = 'done', done_at = UTC_TIMESTAMP(), locked_by = NULL,
                locked_until = NULL, last_error = NULL
         WHERE id = ? AND status = 'running' AND locked_by = ?",
        id,
        worker_id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failure: the job runs again after `retry_in_secs`, or is dead
/// when `dead` (no attempt left, or a permanent error).
pub async fn mark_failed(
    pool: &Pool,
    id: u64,
    worker_id: &str,
    error: &str,
    retry_in_secs: u32,
    dead: bool,
) -> Result<bool, sqlx::Error> {
    let status = if dead { "dead" } else { "failed" };
    let done = sqlx::query!(
        "UPDATE outbox SET status = ?, last_error = ?, locked_by = NULL, locked_until = NULL,
                run_after = UTC_TIMESTAMP() + INTERVAL ? SECOND
         WHERE id = ? AND status = 'running' AND locked_by = ?",
        status,
        error,
        retry_in_secs,
        id,
        worker_id
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Extends the lease of a job still running (long jobs).
pub async fn extend_lease(
    pool: &Pool,
    id: u64,
    worker_id: &str,
    lease_secs: u32,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE outbox SET locked_until = UTC_TIMESTAMP() + INTERVAL ? SECOND
         WHERE id = ? AND status = 'running' AND locked_by = ?",
        lease_secs,
        id,
        worker_id
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An admin's "Relancer": a failed or dead job runs again now, with a fresh
/// attempt budget. Returns false when the job is not failed or dead.
pub async fn retry_now(pool: &Pool, id: u64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE outbox SET status = 'pending', run_after = UTC_TIMESTAMP(),
                max_attempts = attempts + 3, last_error = NULL
         WHERE id = ? AND status IN ('failed', 'dead')",
        id
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One job with its state (tests, interconnection page).
#[derive(Debug, Clone)]
pub struct JobState {
    pub id: u64,
    pub kind: String,
    pub status: String,
    pub attempts: u32,
    pub max_attempts: u32,
    pub last_error: Option<String>,
    pub partner_id: Option<u64>,
    pub report_id: Option<u64>,
    pub idempotency_key: Option<String>,
}

pub async fn find(pool: &Pool, id: u64) -> Result<Option<JobState>, sqlx::Error> {
    sqlx::query_as!(
        JobState,
        "SELECT id, kind, status, attempts, max_attempts, last_error, partner_id, report_id,
                idempotency_key
         FROM outbox WHERE id = ?",
        id
    )
    .fetch_optional(pool)
    .await
}

pub async fn find_by_key(pool: &Pool, key: &str) -> Result<Option<JobState>, sqlx::Error> {
    sqlx::query_as!(
        JobState,
        "SELECT id, kind, status, attempts, max_attempts, last_error, partner_id, report_id,
                idempotency_key
         FROM outbox WHERE idempotency_key = ?",
        key
    )
    .fetch_optional(pool)
    .await
}

/// Every job, oldest first (tests and diagnostics).
pub async fn list_all(pool: &Pool) -> Result<Vec<JobState>, sqlx::Error> {
    sqlx::query_as!(
        JobState,
        "SELECT id, kind, status, attempts, max_attempts, last_error, partner_id, report_id,
                idempotency_key
         FROM outbox ORDER BY id"
    )
    .fetch_all(pool)
    .await
}
