//! Queries on reports (signalements).

use super::Pool;

/// How many reports were ever filed, read from the per-territory reference
/// counters: constant time, unlike `COUNT(*)` over a million rows.
pub async fn count_filed(pool: &Pool) -> Result<u64, sqlx::Error> {
    let total = sqlx::query_scalar!(
        "SELECT CAST(COALESCE(SUM(last_number), 0) AS UNSIGNED) AS `total!: u64` FROM report_reference_counters"
    )
    .fetch_one(pool)
    .await?;
    Ok(total)
}
