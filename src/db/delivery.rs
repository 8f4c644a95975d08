//! `email_delivery_issues`: the failures a provider reported, and which
//! cases have a resident's address "à vérifier" (docs/deliverability.md §3).
//!
//! A case matches by address: its occupant's or declarant's e-mail equals
//! an open issue's. Changing the case's address therefore ends the match
//! without touching the issue; an agent marking the address checked, or a
//! later delivery to it, resolves the issue itself.

use sqlx::{MySql, MySqlConnection, QueryBuilder, Row};
use time::PrimitiveDateTime;

use super::Pool;
use crate::domain::{
    case::ReportStatus,
    contact::Email,
    delivery::{IssueKind, Notice, Source, puts_to_check},
    permissions::ReportScope,
};

/// Records one failure; `false` when it was already recorded (a replayed
/// webhook: same event key and event).
pub async fn record(pool: &Pool, notice: &Notice) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // The address's unresolved soft bounces, read under lock so that two
    // concurrent ones count each other.
    let open_soft: i64 = sqlx::query_scalar!(
        "SELECT COUNT(*) FROM email_delivery_issues
         WHERE email = ? AND event = 'soft_bounce' AND resolved_at IS NULL FOR UPDATE",
        notice.email
    )
    .fetch_one(&mut *tx)
    .await?;
    let to_check = puts_to_check(notice.kind, u64::try_from(open_soft).unwrap_or(0));
    let provider_message_id = (notice.source == Source::Brevo).then_some(&notice.event_key);
    // IGNORE: only the unique (event_key, event) can refuse these typed
    // values, and a duplicate is the replay to skip.
    let inserted = sqlx::query!(
        "INSERT IGNORE INTO email_delivery_issues
            (email, event, reason, provider_message_id, event_key, source, occurred_at, to_check)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        notice.email,
        notice.kind.as_str(),
        notice.reason,
        provider_message_id,
        notice.event_key,
        notice.source.as_str(),
        notice.occurred_at,
        to_check
    )
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    tx.commit().await?;
    Ok(inserted)
}

/// A later delivery proved the address good: its open issues are resolved.
pub async fn resolve_delivered(pool: &Pool, email: &Email) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "UPDATE email_delivery_issues SET resolved_at = UTC_TIMESTAMP(), resolution = 'delivered'
         WHERE email = ? AND resolved_at IS NULL",
        email
    )
    .execute(pool)
    .await?
    .rows_affected())
}

/// An agent checked the addresses (the case's occupant and declarant): their
/// open issues are resolved, in the caller's transaction (with its audit).
pub async fn mark_checked(
    conn: &mut MySqlConnection,
    emails: [Option<&str>; 2],
    user_id: u64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "UPDATE email_delivery_issues
         SET resolved_at = UTC_TIMESTAMP(), resolved_by_user_id = ?, resolution = 'checked'
         WHERE resolved_at IS NULL AND email IN (?, ?)",
        user_id,
        emails[0],
        emails[1]
    )
    .execute(conn)
    .await?
    .rows_affected())
}

/// An open issue that puts an address "à vérifier".
#[derive(Debug, Clone)]
pub struct OpenIssue {
    pub email: String,
    pub kind: IssueKind,
    pub reason: Option<String>,
    pub occurred_at: PrimitiveDateTime,
}

/// The open issues of these addresses (a case's occupant and declarant),
/// newest first.
pub async fn open_for(
    pool: &Pool,
    emails: [Option<&str>; 2],
) -> Result<Vec<OpenIssue>, sqlx::Error> {
    if emails.iter().all(Option::is_none) {
        return Ok(Vec::new());
    }
    let rows = sqlx::query!(
        "SELECT email, event, reason, occurred_at FROM email_delivery_issues
         WHERE resolved_at IS NULL AND to_check = TRUE AND email IN (?, ?)
         ORDER BY occurred_at DESC, id DESC LIMIT 20",
        emails[0],
        emails[1]
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(OpenIssue {
                kind: IssueKind::parse(&r.event)?,
                email: r.email,
                reason: r.reason,
                occurred_at: r.occurred_at,
            })
        })
        .collect())
}

/// `AND r.id IN (…)`: the cases whose occupant's or declarant's address has
/// an open issue. Driven from the few open issues (index
/// `idx_email_delivery_issues_open`, then the reports' e-mail indexes), so
/// it stays fast at a million reports (tests/it/explain.rs).
pub(crate) fn push_email_to_check(qb: &mut QueryBuilder<'_, MySql>) {
    qb.push(
        " AND r.id IN (SELECT ec.report_id FROM (
            SELECT eo.id AS report_id FROM email_delivery_issues ei
              JOIN reports eo ON eo.occupant_email = ei.email
             WHERE ei.resolved_at IS NULL AND ei.to_check = TRUE
            UNION
            SELECT ed.id FROM email_delivery_issues ei2
              JOIN reports ed ON ed.declarant_email = ei2.email
             WHERE ei2.resolved_at IS NULL AND ei2.to_check = TRUE) ec)",
    );
}

fn count_query<'a>(prefix: &str, scope: &ReportScope) -> QueryBuilder<'a, MySql> {
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new(prefix);
    qb.push("SELECT COUNT(*) AS n FROM reports r WHERE r.status IN (")
        .push_bind(ReportStatus::NeedValidation)
        .push(", ")
        .push_bind(ReportStatus::Active)
        .push(")");
    push_email_to_check(&mut qb);
    super::cases::push_scope(&mut qb, scope);
    qb
}

/// The dashboard's "E-mail à vérifier" count: open cases (to validate or
/// active) in the user's scope.
pub async fn count_to_check(pool: &Pool, scope: &ReportScope) -> Result<i64, sqlx::Error> {
    count_query("", scope)
        .build()
        .fetch_one(pool)
        .await?
        .try_get("n")
}

/// `EXPLAIN` of [`count_to_check`] (tests/it/explain.rs).
pub async fn explain_count(
    pool: &Pool,
    scope: &ReportScope,
) -> Result<Vec<super::cases::ExplainRow>, sqlx::Error> {
    super::cases::explain_rows(pool, [count_query("EXPLAIN ", scope)]).await
}

/// The case's occupant and declarant addresses.
pub async fn case_emails(pool: &Pool, report_id: u64) -> Result<[Option<String>; 2], sqlx::Error> {
    let row = sqlx::query!(
        "SELECT occupant_email, declarant_email FROM reports WHERE id = ?",
        report_id
    )
    .fetch_one(pool)
    .await?;
    Ok([row.occupant_email, row.declarant_email])
}
