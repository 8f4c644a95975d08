//! The statistics queries.
//!
//! Back office: every figure is computed over the selection of the case list
//! (same filters, same role scope, through [`super::cases::push_where`]), by
//! the database (`GROUP BY`), so that the page stays fast at national
//! scale. Durations come back as histograms of whole days, which
//! [`crate::domain::stats::median_of_histogram`] turns into medians.
//!
//! Public page: static queries over every territory, without any personal
//! data (counts only), in `src/db/sql/*.sql` (`sqlx::query_file!`, so that
//! [`explain_public`] runs the same text).

use sqlx::{MySql, QueryBuilder, Row};

use super::{
    Pool,
    cases::{ExplainRow, explain_rows, push_where},
};
use crate::domain::{
    case::{AssignmentStatus, ReportStatus},
    case_filter::CaseFilter,
    permissions::ReportScope,
};

/// Who is asking and for what: the list's selection.
pub struct Selection<'a> {
    pub scope: &'a ReportScope,
    pub filter: &'a CaseFilter,
    pub user_id: u64,
}

/// `(key, count)` rows of a grouped count.
pub type Counts = Vec<(String, i64)>;

/// A grouped count of the selected reports: `key` (a static SQL expression),
/// with optional static joins and conditions.
#[derive(Clone, Copy)]
struct Grouping {
    key: &'static str,
    joins: &'static str,
    /// Only the reports in this status.
    only_status: Option<ReportStatus>,
    order: &'static str,
}

impl Grouping {
    /// Most frequent key first.
    const fn by_count(key: &'static str) -> Self {
        Self {
            key,
            joins: "",
            only_status: None,
            order: "n DESC, k",
        }
    }

    /// In key order.
    const fn by_key(key: &'static str) -> Self {
        Self {
            order: "k",
            ..Self::by_count(key)
        }
    }

    const fn joining(self, joins: &'static str) -> Self {
        Self { joins, ..self }
    }

    const fn only(self, status: ReportStatus) -> Self {
        Self {
            only_status: Some(status),
            ..self
        }
    }
}

const BY_STATUS: Grouping = Grouping::by_count("r.status");

const BY_MONTH: Grouping = Grouping::by_key("DATE_FORMAT(r.created_at, '%Y-%m')");

const BY_SEVERITY_BAND: Grouping = Grouping::by_key(
    "CASE WHEN COALESCE(r.severity_score_raw, r.severity_score) IS NULL THEN 'inconnue'
          WHEN COALESCE(r.severity_score_raw, r.severity_score) <= 10 THEN 'a'
          WHEN COALESCE(r.severity_score_raw, r.severity_score) <= 30 THEN 'b'
          WHEN COALESCE(r.severity_score_raw, r.severity_score) <= 50 THEN 'c'
          ELSE 'd' END",
);

const BY_DECLARANT_PROFILE: Grouping = Grouping::by_count("r.declarant_profile");

const BY_DEFECT_CATEGORY: Grouping = Grouping::by_count("oc.label").joining(
    "JOIN report_defects rd ON rd.report_id = r.id
     JOIN defect_precisions dp ON dp.id = rd.precision_id
     JOIN defect_criteria dc ON dc.id = dp.criterion_id
     JOIN defect_office_categories oc ON oc.id = dc.office_category_id",
);

const BY_REFUSAL_REASON: Grouping =
    Grouping::by_count("r.refusal_reason").only(ReportStatus::Refused);

const BY_CLOSURE_REASON: Grouping =
    Grouping::by_count("r.closure_reason").only(ReportStatus::Closed);

/// Every grouped count, for [`explain_selection`].
const GROUPINGS: [&Grouping; 7] = [
    &BY_STATUS,
    &BY_MONTH,
    &BY_SEVERITY_BAND,
    &BY_DECLARANT_PROFILE,
    &BY_DEFECT_CATEGORY,
    &BY_REFUSAL_REASON,
    &BY_CLOSURE_REASON,
];

/// The query of a grouped count, after `prefix` (empty, or `EXPLAIN `).
fn grouped_query<'a>(prefix: &str, sel: &Selection<'_>, g: &Grouping) -> QueryBuilder<'a, MySql> {
    let Grouping {
        key,
        joins,
        only_status,
        order,
    } = g;
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new(format!(
        "{prefix}SELECT CAST(COALESCE({key}, '') AS CHAR) AS k, COUNT(DISTINCT r.id) AS n FROM reports r {joins}"
    ));
    push_where(&mut qb, sel.scope, sel.filter, sel.user_id);
    if let Some(status) = only_status {
        qb.push(" AND r.status = ").push_bind(*status);
    }
    qb.push(format!(" GROUP BY k ORDER BY {order}"));
    qb
}

async fn grouped(pool: &Pool, sel: &Selection<'_>, g: &Grouping) -> Result<Counts, sqlx::Error> {
    let rows = grouped_query("", sel, g).build().fetch_all(pool).await?;
    rows.into_iter()
        .map(|row| Ok((row.try_get("k")?, row.try_get("n")?)))
        .collect()
}

fn total_query<'a>(prefix: &str, sel: &Selection<'_>) -> QueryBuilder<'a, MySql> {
    let mut qb: QueryBuilder<MySql> =
        QueryBuilder::new(format!("{prefix}SELECT COUNT(*) FROM reports r"));
    push_where(&mut qb, sel.scope, sel.filter, sel.user_id);
    qb
}

pub async fn total(pool: &Pool, sel: &Selection<'_>) -> Result<i64, sqlx::Error> {
    total_query("", sel)
        .build()
        .fetch_one(pool)
        .await?
        .try_get(0)
}

pub async fn by_status(pool: &Pool, sel: &Selection<'_>) -> Result<Counts, sqlx::Error> {
    grouped(pool, sel, &BY_STATUS).await
}

/// By month of deposit (`YYYY-MM`), oldest first.
pub async fn by_month(pool: &Pool, sel: &Selection<'_>) -> Result<Counts, sqlx::Error> {
    grouped(pool, sel, &BY_MONTH).await
}

/// By severity band (codes of [`crate::domain::stats::SEVERITY_BANDS`]).
pub async fn by_severity_band(pool: &Pool, sel: &Selection<'_>) -> Result<Counts, sqlx::Error> {
    grouped(pool, sel, &BY_SEVERITY_BAND).await
}

pub async fn by_declarant_profile(pool: &Pool, sel: &Selection<'_>) -> Result<Counts, sqlx::Error> {
    grouped(pool, sel, &BY_DECLARANT_PROFILE).await
}

/// Reports per back-office defect category (a report counts once per
/// category it has a defect in).
pub async fn by_defect_category(pool: &Pool, sel: &Selection<'_>) -> Result<Counts, sqlx::Error> {
    grouped(pool, sel, &BY_DEFECT_CATEGORY).await
}

pub async fn refusal_reasons(pool: &Pool, sel: &Selection<'_>) -> Result<Counts, sqlx::Error> {
    grouped(pool, sel, &BY_REFUSAL_REASON).await
}

pub async fn closure_reasons(pool: &Pool, sel: &Selection<'_>) -> Result<Counts, sqlx::Error> {
    grouped(pool, sel, &BY_CLOSURE_REASON).await
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

fn partner_answers_query<'a>(prefix: &str, sel: &Selection<'_>) -> QueryBuilder<'a, MySql> {
    let mut qb: QueryBuilder<MySql> =
        QueryBuilder::new(format!("{prefix}SELECT p.name, COUNT(*) AS total"));
    for (status, column) in [
        (AssignmentStatus::New, "pending"),
        (AssignmentStatus::Accepted, "accepted"),
        (AssignmentStatus::Refused, "refused"),
        (AssignmentStatus::Closed, "closed"),
    ] {
        qb.push(", CAST(SUM(a.status = ")
            .push_bind(status)
            .push(format!(") AS SIGNED) AS {column}"));
    }
    qb.push(
        " FROM reports r JOIN assignments a ON a.report_id = r.id JOIN partners p ON p.id = a.partner_id",
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
    qb
}

pub async fn partner_answers(
    pool: &Pool,
    sel: &Selection<'_>,
) -> Result<Vec<PartnerAnswers>, sqlx::Error> {
    let rows = partner_answers_query("", sel)
        .build()
        .fetch_all(pool)
        .await?;
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

fn delay_query<'a>(prefix: &str, sel: &Selection<'_>, delay: Delay) -> QueryBuilder<'a, MySql> {
    // Grouped directly, without a derived table: wrapped in one, the role
    // scope's `EXISTS` on assignments was checked report by report over a
    // scan of `reports` instead of starting from the partner's assignments.
    let mut qb: QueryBuilder<MySql> =
        QueryBuilder::new(format!("{prefix}SELECT TIMESTAMPDIFF(DAY, r.created_at, "));
    match delay {
        Delay::Validation => {
            qb.push("r.validated_at");
        }
        Delay::FirstAcceptedAssignment => {
            qb.push(
                "(SELECT MIN(a.answered_at) FROM assignments a WHERE a.report_id = r.id
               AND a.status IN (",
            )
            .push_bind(AssignmentStatus::Accepted)
            .push(", ")
            .push_bind(AssignmentStatus::Closed)
            .push(") AND a.answered_at IS NOT NULL)");
        }
        Delay::Closure => {
            qb.push("r.closed_at");
        }
    }
    qb.push(") AS d, COUNT(*) AS n FROM reports r");
    push_where(&mut qb, sel.scope, sel.filter, sel.user_id);
    if delay == Delay::Closure {
        qb.push(" AND r.status = ").push_bind(ReportStatus::Closed);
    }
    qb.push(" GROUP BY d HAVING d IS NOT NULL");
    qb
}

/// `(whole days, number of reports)` for this delay.
pub async fn delay_histogram(
    pool: &Pool,
    sel: &Selection<'_>,
    delay: Delay,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let rows = delay_query("", sel, delay).build().fetch_all(pool).await?;
    rows.into_iter()
        .map(|row| Ok((row.try_get("d")?, row.try_get("n")?)))
        .collect()
}

/// `EXPLAIN` of every back-office statistics query for this selection
/// (total, the grouped counts, partner answers, the three delays), built by
/// the same code as the queries (tests/it/explain.rs asserts that they use
/// indexes).
pub async fn explain_selection(
    pool: &Pool,
    sel: &Selection<'_>,
) -> Result<Vec<ExplainRow>, sqlx::Error> {
    let mut queries = vec![
        total_query("EXPLAIN ", sel),
        partner_answers_query("EXPLAIN ", sel),
    ];
    queries.extend(GROUPINGS.iter().map(|g| grouped_query("EXPLAIN ", sel, g)));
    queries.extend(
        [
            Delay::Validation,
            Delay::FirstAcceptedAssignment,
            Delay::Closure,
        ]
        .into_iter()
        .map(|delay| delay_query("EXPLAIN ", sel, delay)),
    );
    explain_rows(pool, queries).await
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
    let [closed, refused, archived] = TOTALS_BINDS;
    let row = sqlx::query_file!("src/db/sql/public_totals.sql", closed, refused, archived)
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
    let [closed, archived] = BY_TERRITORY_BINDS;
    sqlx::query_file_as!(
        TerritoryCount,
        "src/db/sql/public_by_territory.sql",
        closed,
        archived
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
    let [closed, archived] = BY_MONTH_BINDS;
    let mut months = sqlx::query_file_as!(
        MonthCount,
        "src/db/sql/public_by_month.sql",
        closed,
        archived
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
    let [archived] = BY_DEFECT_CATEGORY_BINDS;
    sqlx::query_file_as!(
        CategoryCount,
        "src/db/sql/public_by_defect_category.sql",
        archived
    )
    .fetch_all(pool)
    .await
}

// The statuses the public queries bind, in the order of their `?`: the
// stored codes come from `ReportStatus`, never spelled in the SQL.
const TOTALS_BINDS: [ReportStatus; 3] = [
    ReportStatus::Closed,
    ReportStatus::Refused,
    ReportStatus::Archived,
];
const BY_TERRITORY_BINDS: [ReportStatus; 2] = [ReportStatus::Closed, ReportStatus::Archived];
const BY_MONTH_BINDS: [ReportStatus; 2] = [ReportStatus::Closed, ReportStatus::Archived];
const BY_DEFECT_CATEGORY_BINDS: [ReportStatus; 1] = [ReportStatus::Archived];

/// `EXPLAIN` + a query file, its `?` bound to `binds` in order.
fn with_binds<'a>(sql: &str, binds: &[ReportStatus]) -> QueryBuilder<'a, MySql> {
    let mut parts = sql.split('?');
    let mut qb = QueryBuilder::new(format!("EXPLAIN {}", parts.next().unwrap_or_default()));
    for (part, status) in parts.zip(binds) {
        qb.push_bind(*status).push(part);
    }
    qb
}

/// `EXPLAIN` of the four public queries. Their SQL lives in `src/db/sql/`
/// so that `sqlx::query_file!` checks it at compile time and this function
/// reads the very same text (tests/it/explain.rs asserts that they use
/// indexes).
pub async fn explain_public(pool: &Pool) -> Result<Vec<ExplainRow>, sqlx::Error> {
    explain_rows(
        pool,
        [
            with_binds(include_str!("sql/public_totals.sql"), &TOTALS_BINDS),
            with_binds(
                include_str!("sql/public_by_territory.sql"),
                &BY_TERRITORY_BINDS,
            ),
            with_binds(include_str!("sql/public_by_month.sql"), &BY_MONTH_BINDS),
            with_binds(
                include_str!("sql/public_by_defect_category.sql"),
                &BY_DEFECT_CATEGORY_BINDS,
            ),
        ],
    )
    .await
}
