//! The job outbox: insertion in the business transaction, the worker's
//! claim (lease) and acknowledgement queries, pruning of finished jobs, and
//! reading for tests and the interconnection page. Rows are opaque here
//! (kind + JSON payload): `crate::queue` gives them their type, and imports
//! this module, never the other way round.

use sqlx::{MySqlConnection, types::Json};

use super::Pool;

/// Links a job to the report or partner it concerns (for the
/// interconnection log and its filters).
#[derive(Debug, Clone, Copy, Default)]
pub struct JobContext {
    pub report_id: Option<u64>,
    pub partner_id: Option<u64>,
    /// Run no earlier than this many seconds from now.
    pub delay_secs: i64,
}

/// Records one job. With an idempotency key, a second insert of the same
/// key is a no-op, also once the first job was done and pruned (its key
/// then lives in `outbox_done_keys`).
pub async fn insert(
    conn: &mut MySqlConnection,
    kind: &str,
    payload: &serde_json::Value,
    idempotency_key: Option<&str>,
    context: JobContext,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO outbox (kind, payload, idempotency_key, report_id, partner_id, run_after)
         SELECT ?, ?, ?, ?, ?, UTC_TIMESTAMP() + INTERVAL ? SECOND FROM DUAL
         WHERE NOT EXISTS (SELECT 1 FROM outbox_done_keys WHERE idempotency_key = ?)
         ON DUPLICATE KEY UPDATE outbox.id = outbox.id",
        kind,
        Json(payload),
        idempotency_key,
        context.report_id,
        context.partner_id,
        context.delay_secs,
        idempotency_key
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

/// A statement that lost a lock conflict: an InnoDB deadlock victim (1213)
/// or a lock wait timeout (1205). The statement was rolled back whole, so
/// it can simply run again; the claim and the writes of the worker meet
/// such conflicts whenever several workers share the table.
pub fn is_lock_conflict(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(d) = e else {
        return false;
    };
    d.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
        .is_some_and(|m| matches!(m.number(), 1205 | 1213))
        || d.code().as_deref() == Some("40001")
}

/// Running jobs whose lease has expired (their worker died), oldest lease
/// first: a range of `idx_outbox_status_locked_until`.
pub const CLAIM_EXPIRED_SQL: &str = "SELECT id FROM outbox
     WHERE status = 'running' AND locked_until < UTC_TIMESTAMP()
     ORDER BY locked_until LIMIT ? FOR UPDATE SKIP LOCKED";

/// Pending or failed jobs whose time has come, earliest first: two ranges
/// of `idx_outbox_status_run_after` (done and dead rows are never read).
pub const CLAIM_DUE_SQL: &str = "SELECT id FROM outbox
     WHERE status IN ('pending', 'failed') AND run_after <= UTC_TIMESTAMP()
     ORDER BY run_after, id LIMIT ? FOR UPDATE SKIP LOCKED";

/// Hands up to `limit` due jobs to `worker_id` for `lease_secs` seconds.
///
/// Due = running whose lease has expired (its worker died), or pending or
/// failed whose `run_after` has passed. `FOR UPDATE SKIP LOCKED` lets any
/// number of workers claim at once without waiting on each other or taking
/// the same row; the rows are marked running before the transaction commits.
/// Each step reads an index range, then the primary key
/// (tests/it/explain.rs).
pub async fn claim(
    pool: &Pool,
    worker_id: &str,
    limit: u32,
    lease_secs: u32,
) -> Result<Vec<ClaimedJob>, sqlx::Error> {
    // READ COMMITTED for this one transaction: the locking reads then lock
    // the rows they return and no gap, so that two workers claiming at
    // once no longer deadlock on the end of the index range (seen under
    // load with REPEATABLE READ's next-key locks). SKIP LOCKED and the
    // row locks are what keep claims apart; the gaps protect nothing here.
    let mut conn = pool.acquire().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .execute(&mut *conn)
        .await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let mut ids: Vec<u64> = sqlx::query_scalar(CLAIM_EXPIRED_SQL)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
    if let Some(left) = limit.checked_sub(ids.len() as u32).filter(|n| *n > 0) {
        let due: Vec<u64> = sqlx::query_scalar(CLAIM_DUE_SQL)
            .bind(left)
            .fetch_all(&mut *tx)
            .await?;
        ids.extend(due);
    }
    if ids.is_empty() {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let mut update: sqlx::QueryBuilder<sqlx::MySql> = sqlx::QueryBuilder::new(
        "UPDATE outbox SET status = 'running', attempts = attempts + 1, locked_by = ",
    );
    update
        .push_bind(worker_id)
        .push(", locked_until = UTC_TIMESTAMP() + INTERVAL ")
        .push_bind(lease_secs)
        .push(" SECOND WHERE id IN ");
    push_id_list(&mut update, &ids);
    update.build().execute(&mut *tx).await?;
    let mut select: sqlx::QueryBuilder<sqlx::MySql> = sqlx::QueryBuilder::new(
        "SELECT id, kind, payload, attempts, max_attempts, report_id, partner_id
         FROM outbox WHERE id IN ",
    );
    push_id_list(&mut select, &ids);
    select.push(" ORDER BY id");
    let rows = select.build().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    rows.iter().map(claimed_of_row).collect()
}

fn push_id_list(qb: &mut sqlx::QueryBuilder<'_, sqlx::MySql>, ids: &[u64]) {
    qb.push("(");
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    list.push_unseparated(")");
}

fn claimed_of_row(row: &sqlx::mysql::MySqlRow) -> Result<ClaimedJob, sqlx::Error> {
    use sqlx::Row;
    Ok(ClaimedJob {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        payload: row.try_get("payload")?,
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
        report_id: row.try_get("report_id")?,
        partner_id: row.try_get("partner_id")?,
    })
}

/// `EXPLAIN` of the two claim reads (tests/it/explain.rs).
pub async fn explain_claim(pool: &Pool) -> Result<Vec<super::cases::ExplainRow>, sqlx::Error> {
    let explain = |sql: &str| {
        let mut qb = sqlx::QueryBuilder::new("EXPLAIN ");
        qb.push(sql.replace("LIMIT ?", "LIMIT 8"));
        qb
    };
    super::cases::explain_rows(pool, [explain(CLAIM_EXPIRED_SQL), explain(CLAIM_DUE_SQL)]).await
}

/// Deletes up to `batch` jobs done more than `older_than_secs` ago, keeping
/// their idempotency keys in `outbox_done_keys` (same transaction), and
/// returns how many went. Dead jobs stay: an admin has to see them. Called
/// in a loop until it returns less than `batch`, so that no transaction
/// holds many locks.
pub async fn prune_done(pool: &Pool, older_than_secs: u64, batch: u32) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let ids: Vec<u64> = sqlx::query_scalar!(
        "SELECT id FROM outbox
         WHERE status = 'done' AND done_at < UTC_TIMESTAMP() - INTERVAL ? SECOND
         ORDER BY done_at LIMIT ? FOR UPDATE SKIP LOCKED",
        older_than_secs,
        batch
    )
    .fetch_all(&mut *tx)
    .await?;
    if ids.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }
    let mut keep: sqlx::QueryBuilder<sqlx::MySql> = sqlx::QueryBuilder::new(
        "INSERT IGNORE INTO outbox_done_keys (idempotency_key, done_at)
         SELECT idempotency_key, done_at FROM outbox
         WHERE idempotency_key IS NOT NULL AND id IN ",
    );
    push_id_list(&mut keep, &ids);
    keep.build().execute(&mut *tx).await?;
    let mut delete: sqlx::QueryBuilder<sqlx::MySql> =
        sqlx::QueryBuilder::new("DELETE FROM outbox WHERE id IN ");
    push_id_list(&mut delete, &ids);
    let deleted = delete.build().execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(deleted)
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

/// Extends the leases of the jobs `worker_id` still holds among `ids` (the
/// heartbeat of a worker). Returns how many were extended.
pub async fn extend_leases(
    pool: &Pool,
    ids: &[u64],
    worker_id: &str,
    lease_secs: u32,
) -> Result<u64, sqlx::Error> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut qb: sqlx::QueryBuilder<sqlx::MySql> =
        sqlx::QueryBuilder::new("UPDATE outbox SET locked_until = UTC_TIMESTAMP() + INTERVAL ");
    qb.push_bind(lease_secs)
        .push(" SECOND WHERE status = 'running' AND locked_by = ")
        .push_bind(worker_id)
        .push(" AND id IN ");
    push_id_list(&mut qb, ids);
    Ok(qb.build().execute(pool).await?.rows_affected())
}

/// Hands claimed jobs that never started back to the queue (a worker
/// shutting down): pending again at once, their claim not counted as an
/// attempt. Returns how many went back.
pub async fn hand_back(pool: &Pool, ids: &[u64], worker_id: &str) -> Result<u64, sqlx::Error> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut qb: sqlx::QueryBuilder<sqlx::MySql> = sqlx::QueryBuilder::new(
        "UPDATE outbox SET status = 'pending', attempts = GREATEST(attempts, 1) - 1,
                locked_by = NULL, locked_until = NULL, run_after = UTC_TIMESTAMP()
         WHERE status = 'running' AND locked_by = ",
    );
    qb.push_bind(worker_id).push(" AND id IN ");
    push_id_list(&mut qb, ids);
    Ok(qb.build().execute(pool).await?.rows_affected())
}

/// Hands back every job `worker_id` holds except `running` (a worker's
/// last act on shutdown, `worker::backend`): rows claimed for it that no
/// handler started. Returns how many went back.
pub async fn hand_back_all_but(
    pool: &Pool,
    worker_id: &str,
    running: &[u64],
) -> Result<u64, sqlx::Error> {
    let mut qb: sqlx::QueryBuilder<sqlx::MySql> = sqlx::QueryBuilder::new(
        "UPDATE outbox SET status = 'pending', attempts = GREATEST(attempts, 1) - 1,
                locked_by = NULL, locked_until = NULL, run_after = UTC_TIMESTAMP()
         WHERE status = 'running' AND locked_by = ",
    );
    qb.push_bind(worker_id);
    if !running.is_empty() {
        qb.push(" AND id NOT IN ");
        push_id_list(&mut qb, running);
    }
    Ok(qb.build().execute(pool).await?.rows_affected())
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

/// The queue's figures for one job kind (operations view, `/metrics`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFigures {
    pub kind: String,
    /// Waiting for their first attempt (due or delayed).
    pub pending: u64,
    /// How long the oldest due pending or failed job has waited (seconds).
    pub oldest_due_secs: u64,
    pub running: u64,
    /// Failed, waiting for their next attempt.
    pub failed: u64,
    /// Given up, waiting for an administrator.
    pub dead: u64,
    /// Done in the last hour (throughput).
    pub done_last_hour: u64,
}

/// The figures per kind, from two index ranges: the open statuses
/// (`idx_outbox_status_run_after`) and the last hour of done jobs
/// (`idx_outbox_status_done_at`), never the whole table.
pub async fn queue_figures(pool: &Pool) -> Result<Vec<QueueFigures>, sqlx::Error> {
    let open = sqlx::query!(
        "SELECT kind, status, COUNT(*) AS `count!: i64`,
                MAX(CASE WHEN status IN ('pending', 'failed') AND run_after <= UTC_TIMESTAMP()
                         THEN TIMESTAMPDIFF(SECOND, run_after, UTC_TIMESTAMP()) END)
                    AS `oldest?: i64`
         FROM outbox WHERE status IN ('pending', 'failed', 'running', 'dead')
         GROUP BY kind, status"
    )
    .fetch_all(pool)
    .await?;
    let done = sqlx::query!(
        "SELECT kind, COUNT(*) AS `count!: i64` FROM outbox
         WHERE status = 'done' AND done_at >= UTC_TIMESTAMP() - INTERVAL 1 HOUR
         GROUP BY kind"
    )
    .fetch_all(pool)
    .await?;
    let mut by_kind: std::collections::BTreeMap<String, QueueFigures> = Default::default();
    let count = |n: i64| u64::try_from(n).unwrap_or_default();
    for row in open {
        let figures = by_kind
            .entry(row.kind.clone())
            .or_insert_with(|| QueueFigures {
                kind: row.kind.clone(),
                ..QueueFigures::default()
            });
        match row.status.as_str() {
            "pending" => figures.pending = count(row.count),
            "failed" => figures.failed = count(row.count),
            "running" => figures.running = count(row.count),
            _ => figures.dead = count(row.count),
        }
        figures.oldest_due_secs = figures
            .oldest_due_secs
            .max(row.oldest.map(count).unwrap_or_default());
    }
    for row in done {
        by_kind
            .entry(row.kind.clone())
            .or_insert_with(|| QueueFigures {
                kind: row.kind.clone(),
                ..QueueFigures::default()
            })
            .done_last_hour = count(row.count);
    }
    Ok(by_kind.into_values().collect())
}
