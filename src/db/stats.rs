//! The statistics queries.
//!
//! Back office: every figure is computed over the selection of the case list
//! (same filters, same role scope, through [`super::cases::push_where`]), by
//! the database (`GROUP BY`), so that the page stays fast at national
//! scale. Durations come back as histograms of whole days, which
//! [`crate::domain::stats::median_of_histogram`] turns into medians.
//!
//! Public page: static queries over every territory, without any personal
//! data (counts only).

use sqlx::{MySql, QueryBuilder, Row};

use super::{Pool, cases::push_where};
use crate::domain::{case_filter::CaseFilter, permissions::ReportScope};

/// Who is asking and for what: the list's selection.
pub struct Selection<'a> {
    pub scope: &'a ReportScope,
    pub filter: &'a CaseFilter,
    pub user_id: u64,
}

/// `(key, count)` rows of a grouped count.
pub type Counts = Vec<(String, i64)>;

/// Counts the selected reports grouped by `key` (a static SQL expression),
/// with optional static joins and conditions.
async fn grouped(
    pool: &Pool,
    sel: &Selection<'_>,
    key: &str,
    joins: &str,
    condition: &str,
    order: &str,
) -> Result<Counts, sqlx::Error> {
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new(format!(
        "SELECT CAST(COALESCE({key}, '') AS CHAR) AS k, COUNT(DISTINCT r.id) AS n FROM reports r {joins}"
    ));
    push_where(&mut qb, sel.scope, sel.filter, sel.user_id);
    qb.push(format!(" {condition} GROUP BY k ORDER BY {order}"));
    let rows = qb.build().fetch_all(pool).await?;
    rows.into_iter()
        .map(|row| Ok((row.try_get("k")?, row.try_get("n")?)))
        .collect()
}

pub async fn total(pool: &Pool, sel: &Selection<'_>) -> Result<i64, sqlx::Error> {
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new("SELECT COUNT(*) FROM reports r");
    push_where(&mut qb, sel.scope, sel.filter, sel.user_id);
    qb.build().fetch_one(pool).await?.try_get(0)
}

pub async fn by_status(pool: &Pool, sel: &Selection<'_>) -> Result<Counts, sqlx::Error> {
    grouped(pool, sel, "r.status", "", "", "n DESC, k").await
}

/// By month of deposit (`YYYY-MM`), oldest first.
pub async fn by_month(pool: &Pool, sel: &Selection<'_>) -> Result<Counts, sqlx::Error> {
    grouped(pool, sel, "DATE_FORMAT(r.created_at, '%Y-%m')", "", "", "k").await
}

/// By severity band (codes of [`crate::domain::stats::SEVERITY_BANDS`]).
pub async fn by_severity_band(pool: &Pool, sel: &Selection<'_>) -> Result<Counts, sqlx::Error> {
    grouped(
        pool,
        sel,
        "CASE WHEN COALESCE(r.severity_score_raw, r.severity_score) IS NULL THEN 'inconnue'
              WHEN COALESCE(r.severity_score_raw, r.severity_score) <= 10 THEN 'a'
              WHEN COALESCE(r.severity_score_raw, r.severity_score) <= 30 THEN 'b'
              WHEN COALESCE(r.severity_score_raw, r.severity_score) <= 50 THEN 'c'
              ELSE 'd' END",
        "",
        "",
        "k",
    )
    .await
}

pub async fn by_declarant_profile(pool: &Pool, sel: &Selection<'_>) -> Result<Counts, sqlx::Error> {
    grouped(pool, sel, "r.declarant_profile", "", "", "n DESC, k").await
}

/// Reports per back-office defect category (a report counts once per
/// category it has a defect in).
pub async fn by_defect_category(pool: &Pool, sel: &Selection<'_>) -> Result<Counts, sqlx::Error> {
    grouped(
        pool,
        sel,
        "oc.label",
        "JOIN report_defects rd ON rd.report_id = r.id
         JOIN defect_precisions dp ON dp.id = rd.precision_id
         JOIN defect_criteria dc ON dc.id = dp.criterion_id
         JOIN defect_office_categories oc ON oc.id = dc.office_category_id",
        "",
        "n DESC, k",
    )
    .await
}

pub async fn refusal_reasons(pool: &Pool, sel: &Selection<'_>) -> Result<Counts, sqlx::Error> {
    grouped(
        pool,
        sel,
        "r.refusal_reason",
        "",
        "AND r.status = 'refused'",
        "n DESC, k",
    )
    .await
}

pub async fn closure_reasons(pool: &Pool, sel: &Selection<'_>) -> Result<Counts, sqlx::Error> {
    grouped(
        pool,
        sel,
        "r.closure_reason",
        "",
        "AND r.status = 'closed'",
        "n DESC, k",
    )
    .await
}

/// The assignments of the selected reports, per partner.
#[derive(Debug, Clone)]
pub struct PartnerAnswers {
    pub partner: String,
    pub total: i64,
    pub pending: i64,
    pub accepted: i64,
    pub refused: i64,
    pub closed: i64,
}

pub async fn partner_answers(
    pool: &Pool,
    sel: &Selection<'_>,
) -> Result<Vec<PartnerAnswers>, sqlx::Error> {
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new(
        "SELECT p.name, COUNT(*) AS total,
                CAST(SUM(a.status = 'nouveau') AS SIGNED) AS pending,
                CAST(SUM(a.status = 'en_cours') AS SIGNED) AS accepted,
                CAST(SUM(a.status = 'refuse') AS SIGNED) AS refused,
                CAST(SUM(a.status = 'ferme') AS SIGNED) AS closed
         FROM reports r JOIN assignments a ON a.report_id = r.id JOIN partners p ON p.id = a.partner_id",
    );
    push_where(&mut qb, sel.scope, sel.filter, sel.user_id);
    if !sel.filter.partner_ids.is_empty() {
        qb.push(" AND a.partner_id IN (");
        let mut list = qb.separated(", ");
        for id in &sel.filter.partner_ids {
            list.push_bind(*id);
        }
        qb.push(")");
    }
    qb.push(" GROUP BY p.id, p.name ORDER BY total DESC, p.name");
    let rows = qb.build().fetch_all(pool).await?;
    rows.into_iter()
        .map(|row| {
            Ok(PartnerAnswers {
                partner: row.try_get("name")?,
                total: row.try_get("total")?,
                pending: row.try_get("pending")?,
                accepted: row.try_get("accepted")?,
                refused: row.try_get("refused")?,
                closed: row.try_get("closed")?,
            })
        })
        .collect()
}

/// Which delay a histogram measures (all from the deposit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delay {
    Validation,
    FirstAcceptedAssignment,
    Closure,
}

/// `(whole days, number of reports)` for this delay.
pub async fn delay_histogram(
    pool: &Pool,
    sel: &Selection<'_>,
    delay: Delay,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let end = match delay {
        Delay::Validation => "r.validated_at",
        Delay::FirstAcceptedAssignment => {
            "(SELECT MIN(a.answered_at) FROM assignments a WHERE a.report_id = r.id
               AND a.status IN ('en_cours', 'ferme') AND a.answered_at IS NOT NULL)"
        }
        Delay::Closure => "r.closed_at",
    };
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new(format!(
        "SELECT d, COUNT(*) AS n FROM (SELECT TIMESTAMPDIFF(DAY, r.created_at, {end}) AS d FROM reports r"
    ));
    push_where(&mut qb, sel.scope, sel.filter, sel.user_id);
    if delay == Delay::Closure {
        qb.push(" AND r.status = 'closed'");
    }
    qb.push(") t WHERE d IS NOT NULL GROUP BY d");
    let rows = qb.build().fetch_all(pool).await?;
    rows.into_iter()
        .map(|row| Ok((row.try_get("d")?, row.try_get("n")?)))
        .collect()
}

// ------------------------------------------------------------ public page

/// Headline counts of the public page.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PublicTotals {
    pub received: i64,
    pub validated: i64,
    pub closed: i64,
    pub refused: i64,
}

pub async fn public_totals(pool: &Pool) -> Result<PublicTotals, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT COUNT(*) AS "received!: i64",
                  CAST(COALESCE(SUM(validated_at IS NOT NULL), 0) AS SIGNED) AS "validated!: i64",
                  CAST(COALESCE(SUM(status = 'closed'), 0) AS SIGNED) AS "closed!: i64",
                  CAST(COALESCE(SUM(status = 'refused'), 0) AS SIGNED) AS "refused!: i64"
           FROM reports WHERE status <> 'archived'"#
    )
    .fetch_one(pool)
    .await?;
    Ok(PublicTotals {
        received: row.received,
        validated: row.validated,
        closed: row.closed,
        refused: row.refused,
    })
}

/// Received and resolved reports of one territory.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TerritoryCount {
    pub code: String,
    pub name: String,
    pub received: i64,
    pub closed: i64,
}

pub async fn public_by_territory(pool: &Pool) -> Result<Vec<TerritoryCount>, sqlx::Error> {
    sqlx::query_as!(
        TerritoryCount,
        r#"SELECT t.code, t.name, COUNT(*) AS "received!: i64",
                  CAST(COALESCE(SUM(r.status = 'closed'), 0) AS SIGNED) AS "closed!: i64"
           FROM reports r JOIN territories t ON t.id = r.territory_id
           WHERE r.status <> 'archived'
           GROUP BY t.id, t.code, t.name ORDER BY t.code"#
    )
    .fetch_all(pool)
    .await
}

/// Received and resolved reports of one month (`YYYY-MM`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MonthCount {
    pub month: String,
    pub received: i64,
    pub closed: i64,
}

/// The last 24 months with reports, oldest first.
pub async fn public_by_month(pool: &Pool) -> Result<Vec<MonthCount>, sqlx::Error> {
    let mut months = sqlx::query_as!(
        MonthCount,
        r#"SELECT DATE_FORMAT(created_at, '%Y-%m') AS "month!: String", COUNT(*) AS "received!: i64",
                  CAST(COALESCE(SUM(status = 'closed'), 0) AS SIGNED) AS "closed!: i64"
           FROM reports WHERE status <> 'archived'
           GROUP BY DATE_FORMAT(created_at, '%Y-%m') ORDER BY 1 DESC LIMIT 24"#
    )
    .fetch_all(pool)
    .await?;
    months.reverse();
    Ok(months)
}

/// Reports per back-office defect category, for the public page.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CategoryCount {
    pub label: String,
    pub count: i64,
}

pub async fn public_by_defect_category(pool: &Pool) -> Result<Vec<CategoryCount>, sqlx::Error> {
    sqlx::query_as!(
        CategoryCount,
        r#"SELECT oc.label, COUNT(DISTINCT r.id) AS "count!: i64"
           FROM reports r
           JOIN report_defects rd ON rd.report_id = r.id
           JOIN defect_precisions dp ON dp.id = rd.precision_id
           JOIN defect_criteria dc ON dc.id = dp.criterion_id
           JOIN defect_office_categories oc ON oc.id = dc.office_category_id
           WHERE r.status <> 'archived'
           GROUP BY oc.id, oc.label ORDER BY 2 DESC, oc.label"#
    )
    .fetch_all(pool)
    .await
}
