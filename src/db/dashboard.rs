//! Counts of the dashboard queues, each within the user's scope.

use sqlx::{MySql, QueryBuilder, Row};

use super::Pool;
use crate::domain::permissions::ReportScope;

/// The queues: (code, count).
pub async fn queue_counts(
    pool: &Pool,
    scope: &ReportScope,
    partner_ids: &[u64],
) -> Result<Vec<(&'static str, i64)>, sqlx::Error> {
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new("SELECT ");
    qb.push(
        // SUM gives DECIMAL; the casts keep the columns plain integers.
        "CAST(COALESCE(SUM(r.status = 'need_validation'), 0) AS SIGNED) AS to_validate,
         CAST(COALESCE(SUM(r.status = 'active' AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.report_id = r.id AND a.status IN ('en_cours', 'ferme'))), 0) AS SIGNED) AS no_accepted,
         CAST(COALESCE(SUM(r.status = 'active' AND r.last_follow_up_author_kind = 'resident'), 0) AS SIGNED) AS resident_messages,
         CAST(COALESCE(SUM(r.status = 'active' AND r.last_follow_up_at < UTC_TIMESTAMP() - INTERVAL 30 DAY), 0) AS SIGNED) AS inactive,
         CAST(COALESCE(SUM(r.status = 'active' AND EXISTS (SELECT 1 FROM follow_ups f WHERE f.report_id = r.id AND f.category IN ('demande_abandon_procedure', 'closure_request'))), 0) AS SIGNED) AS closure_requests,
         CAST(COALESCE(SUM(r.status = 'active' AND EXISTS (SELECT 1 FROM assignments a WHERE a.report_id = r.id AND a.status = 'nouveau'",
    );
    if !partner_ids.is_empty() {
        qb.push(" AND a.partner_id IN (");
        let mut list = qb.separated(", ");
        for id in partner_ids {
            list.push_bind(*id);
        }
        qb.push(")");
    }
    qb.push(")), 0) AS SIGNED) AS waiting_answer FROM reports r WHERE r.status IN ('need_validation', 'active')");
    super::cases::push_scope(&mut qb, scope);
    let row = qb.build().fetch_one(pool).await?;
    let value = |name: &str| -> Result<i64, sqlx::Error> { row.try_get::<i64, _>(name) };
    Ok(vec![
        ("to_validate", value("to_validate")?),
        ("no_accepted", value("no_accepted")?),
        ("waiting_answer", value("waiting_answer")?),
        ("resident_messages", value("resident_messages")?),
        ("inactive", value("inactive")?),
        ("closure_requests", value("closure_requests")?),
    ])
}
