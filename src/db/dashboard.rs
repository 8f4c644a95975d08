//! Counts of the dashboard queues, each within the user's scope.

use sqlx::{MySql, QueryBuilder, Row};

use super::Pool;
use crate::domain::{
    case::{AssignmentStatus as A, ReportStatus as R},
    permissions::ReportScope,
};

/// The queues: (code, count).
pub async fn queue_counts(
    pool: &Pool,
    scope: &ReportScope,
    partner_ids: &[u64],
) -> Result<Vec<(&'static str, i64)>, sqlx::Error> {
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new("SELECT ");
    // SUM gives DECIMAL; the casts keep the columns plain integers. The
    // states are bound, never spelled in the SQL.
    qb.push("CAST(COALESCE(SUM(r.status = ")
        .push_bind(R::NeedValidation)
        .push("), 0) AS SIGNED) AS to_validate,\n CAST(COALESCE(SUM(r.status = ")
        .push_bind(R::Active)
        .push(" AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.report_id = r.id AND a.status IN (")
        .push_bind(A::Accepted)
        .push(", ")
        .push_bind(A::Closed)
        .push("))), 0) AS SIGNED) AS no_accepted,\n CAST(COALESCE(SUM(r.status = ")
        .push_bind(R::Active)
        .push(" AND r.last_follow_up_author_kind = 'resident'), 0) AS SIGNED) AS resident_messages,\n CAST(COALESCE(SUM(");
    super::visits::push_visit_needed(&mut qb);
    qb.push("), 0) AS SIGNED) AS visit_needed,\n CAST(COALESCE(SUM(r.status = ")
        .push_bind(R::Active)
        .push(" AND r.last_follow_up_at < UTC_TIMESTAMP() - INTERVAL 30 DAY), 0) AS SIGNED) AS inactive,\n CAST(COALESCE(SUM(r.status = ")
        .push_bind(R::Active)
        .push(" AND EXISTS (SELECT 1 FROM follow_ups f WHERE f.report_id = r.id AND f.category IN ('demande_abandon_procedure', 'closure_request'))), 0) AS SIGNED) AS closure_requests,\n CAST(COALESCE(SUM(r.status = ")
        .push_bind(R::Active)
        .push(" AND EXISTS (SELECT 1 FROM assignments a WHERE a.report_id = r.id AND a.status = ")
        .push_bind(A::New);
    if !partner_ids.is_empty() {
        qb.push(" AND a.partner_id IN (");
        let mut list = qb.separated(", ");
        for id in partner_ids {
            list.push_bind(*id);
        }
        qb.push(")");
    }
    qb.push(")), 0) AS SIGNED) AS waiting_answer FROM reports r WHERE r.status IN (")
        .push_bind(R::NeedValidation)
        .push(", ")
        .push_bind(R::Active)
        .push(")");
    super::cases::push_scope(&mut qb, scope);
    let row = qb.build().fetch_one(pool).await?;
    let value = |name: &str| -> Result<i64, sqlx::Error> { row.try_get::<i64, _>(name) };
    Ok(vec![
        ("to_validate", value("to_validate")?),
        ("no_accepted", value("no_accepted")?),
        ("waiting_answer", value("waiting_answer")?),
        ("resident_messages", value("resident_messages")?),
        ("inactive", value("inactive")?),
        ("visit_needed", value("visit_needed")?),
        ("closure_requests", value("closure_requests")?),
    ])
}
