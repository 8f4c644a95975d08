//! The log of calls to external systems (`interconnection_calls`), read by
//! the "Interconnexions" page.

use sqlx::types::time::PrimitiveDateTime;

use super::Pool;

/// One call, as recorded by `integrations::Http`.
#[derive(Debug, Clone, Default)]
pub struct NewCall {
    pub outbox_id: Option<u64>,
    pub partner_id: Option<u64>,
    pub report_id: Option<u64>,
    pub service: String,
    pub action: String,
    pub endpoint: String,
    pub http_status: Option<u16>,
    pub duration_ms: u32,
    pub attempt: u32,
    pub error: Option<String>,
    pub request_excerpt: Option<String>,
    pub response_excerpt: Option<String>,
}

pub async fn insert(pool: &Pool, call: &NewCall) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO interconnection_calls
             (outbox_id, partner_id, report_id, service, action, endpoint, http_status,
              duration_ms, attempt, error, request_excerpt, response_excerpt)
         VALUES (?, ?, ?, ?, ?, LEFT(?, 255), ?, ?, ?, ?, ?, ?)",
        call.outbox_id,
        call.partner_id,
        call.report_id,
        call.service,
        call.action,
        call.endpoint,
        call.http_status,
        call.duration_ms,
        call.attempt,
        call.error,
        call.request_excerpt,
        call.response_excerpt
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Filters of the page. Empty = any.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    pub service: String,
    pub partner_id: Option<u64>,
    /// `ok` (2xx), `error` (no response or not 2xx), or a job status
    /// (`failed`, `dead`, `done`, `pending`, `running`).
    pub status: String,
    /// `YYYY-MM-DD` bounds, inclusive.
    pub from: String,
    pub to: String,
    /// `None` = every territory (super admin); otherwise only calls about
    /// partners of these territories.
    pub territory_ids: Option<Vec<u32>>,
}

/// A call with its job's state and partner name.
#[derive(Debug, Clone)]
pub struct CallRow {
    pub id: u64,
    pub created_at: PrimitiveDateTime,
    pub service: String,
    pub action: String,
    pub endpoint: Option<String>,
    pub http_status: Option<u16>,
    pub duration_ms: u32,
    pub attempt: u32,
    pub error: Option<String>,
    pub request_excerpt: Option<String>,
    pub response_excerpt: Option<String>,
    pub partner_id: Option<u64>,
    pub partner_name: Option<String>,
    pub report_id: Option<u64>,
    pub report_reference: Option<String>,
    pub outbox_id: Option<u64>,
    pub job_status: Option<String>,
    pub job_last_error: Option<String>,
}

pub async fn list(
    pool: &Pool,
    filter: &CallFilter,
    limit: u32,
    offset: u32,
) -> Result<(Vec<CallRow>, i64), sqlx::Error> {
    let all_territories = filter.territory_ids.is_none();
    let territories = super::id_list(filter.territory_ids.as_deref().unwrap_or(&[]));
    let rows = sqlx::query_as!(
        CallRow,
        "SELECT c.id, c.created_at, c.service, c.action, c.endpoint,
                c.http_status AS `http_status: u16`, c.duration_ms, c.attempt, c.error,
                c.request_excerpt, c.response_excerpt, c.partner_id, p.name AS `partner_name?`,
                c.report_id, r.reference AS `report_reference?`, c.outbox_id,
                o.status AS `job_status?`, o.last_error AS `job_last_error?`
         FROM interconnection_calls c
         LEFT JOIN partners p ON p.id = c.partner_id
         LEFT JOIN reports r ON r.id = c.report_id
         LEFT JOIN outbox o ON o.id = c.outbox_id
         WHERE (? = '' OR c.service = ?)
           AND (? IS NULL OR c.partner_id = ?)
           AND (? = ''
                OR (? = 'ok' AND c.http_status BETWEEN 200 AND 299)
                OR (? = 'error' AND (c.http_status IS NULL OR c.http_status NOT BETWEEN 200 AND 299))
                OR o.status = ?)
           AND (? = '' OR c.created_at >= ?)
           AND (? = '' OR c.created_at < DATE_ADD(?, INTERVAL 1 DAY))
           AND (? OR FIND_IN_SET(p.territory_id, ?))
         ORDER BY c.id DESC LIMIT ? OFFSET ?",
        filter.service,
        filter.service,
        filter.partner_id,
        filter.partner_id,
        filter.status,
        filter.status,
        filter.status,
        filter.status,
        filter.from,
        filter.from,
        filter.to,
        filter.to,
        all_territories,
        territories,
        limit,
        offset
    )
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar!(
        "SELECT COUNT(*)
         FROM interconnection_calls c
         LEFT JOIN partners p ON p.id = c.partner_id
         LEFT JOIN outbox o ON o.id = c.outbox_id
         WHERE (? = '' OR c.service = ?)
           AND (? IS NULL OR c.partner_id = ?)
           AND (? = ''
                OR (? = 'ok' AND c.http_status BETWEEN 200 AND 299)
                OR (? = 'error' AND (c.http_status IS NULL OR c.http_status NOT BETWEEN 200 AND 299))
                OR o.status = ?)
           AND (? = '' OR c.created_at >= ?)
           AND (? = '' OR c.created_at < DATE_ADD(?, INTERVAL 1 DAY))
           AND (? OR FIND_IN_SET(p.territory_id, ?))",
        filter.service,
        filter.service,
        filter.partner_id,
        filter.partner_id,
        filter.status,
        filter.status,
        filter.status,
        filter.status,
        filter.from,
        filter.from,
        filter.to,
        filter.to,
        all_territories,
        territories
    )
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

/// The territory of the partner a job concerns (scope check of a retry).
pub async fn job_territory(
    pool: &Pool,
    outbox_id: u64,
) -> Result<Option<Option<u32>>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT p.territory_id AS `territory_id?` FROM outbox o
         LEFT JOIN partners p ON p.id = o.partner_id WHERE o.id = ?",
        outbox_id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| r.territory_id))
}

/// Partners that appear in the log, for the filter (scoped like [`list`]).
pub async fn partners(
    pool: &Pool,
    territory_ids: Option<&[u32]>,
) -> Result<Vec<(u64, String)>, sqlx::Error> {
    let all = territory_ids.is_none();
    let territories = super::id_list(territory_ids.unwrap_or(&[]));
    let rows = sqlx::query!(
        "SELECT DISTINCT p.id, p.name FROM interconnection_calls c
         JOIN partners p ON p.id = c.partner_id
         WHERE (? OR FIND_IN_SET(p.territory_id, ?)) ORDER BY p.name",
        all,
        territories
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.name)).collect())
}

/// Every call of a job (tests).
pub async fn for_job(pool: &Pool, outbox_id: u64) -> Result<Vec<CallRow>, sqlx::Error> {
    list_where_job(pool, Some(outbox_id)).await
}

/// Every call (tests).
pub async fn all(pool: &Pool) -> Result<Vec<CallRow>, sqlx::Error> {
    list_where_job(pool, None).await
}

async fn list_where_job(pool: &Pool, outbox_id: Option<u64>) -> Result<Vec<CallRow>, sqlx::Error> {
    sqlx::query_as!(
        CallRow,
        "SELECT c.id, c.created_at, c.service, c.action, c.endpoint,
                c.http_status AS `http_status: u16`, c.duration_ms, c.attempt, c.error,
                c.request_excerpt, c.response_excerpt, c.partner_id, p.name AS `partner_name?`,
                c.report_id, r.reference AS `report_reference?`, c.outbox_id,
                o.status AS `job_status?`, o.last_error AS `job_last_error?`
         FROM interconnection_calls c
         LEFT JOIN partners p ON p.id = c.partner_id
         LEFT JOIN reports r ON r.id = c.report_id
         LEFT JOIN outbox o ON o.id = c.outbox_id
         WHERE (? IS NULL OR c.outbox_id = ?)
         ORDER BY c.id",
        outbox_id,
        outbox_id
    )
    .fetch_all(pool)
    .await
}

/// A job that failed (will retry) or is dead, for the page's first table.
#[derive(Debug, Clone)]
pub struct ProblemJob {
    pub id: u64,
    pub kind: String,
    pub status: String,
    pub attempts: u32,
    pub max_attempts: u32,
    pub last_error: Option<String>,
    pub updated_at: PrimitiveDateTime,
    pub run_after: PrimitiveDateTime,
    pub partner_name: Option<String>,
    pub report_reference: Option<String>,
}

/// Failed and dead jobs, newest first, scoped like [`list`] (jobs about no
/// partner are shown to super admins only).
pub async fn problem_jobs(
    pool: &Pool,
    territory_ids: Option<&[u32]>,
    limit: u32,
) -> Result<Vec<ProblemJob>, sqlx::Error> {
    let all = territory_ids.is_none();
    let territories = super::id_list(territory_ids.unwrap_or(&[]));
    sqlx::query_as!(
        ProblemJob,
        "SELECT o.id, o.kind, o.status, o.attempts, o.max_attempts, o.last_error, o.updated_at,
                o.run_after, p.name AS `partner_name?`, r.reference AS `report_reference?`
         FROM outbox o
         LEFT JOIN partners p ON p.id = o.partner_id
         LEFT JOIN reports r ON r.id = o.report_id
         WHERE o.status IN ('failed', 'dead')
           AND (? OR FIND_IN_SET(p.territory_id, ?))
         ORDER BY o.updated_at DESC, o.id DESC LIMIT ?",
        all,
        territories,
        limit
    )
    .fetch_all(pool)
    .await
}
