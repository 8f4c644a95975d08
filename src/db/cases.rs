//! The back-office case list: every filter of the list page, the role
//! scope, sort and pagination, in one dynamic query.
//!
//! This is the one place where SQL is assembled at run time (sqlx's
//! `QueryBuilder`, every value bound, never interpolated): the combination
//! of two dozen optional filters cannot be written as static queries. The
//! integration tests run every filter against known data.

use sqlx::{MySql, QueryBuilder, Row};
use time::PrimitiveDateTime;

use super::Pool;
use crate::domain::document::{DocumentPresence, DocumentType};
use crate::domain::{
    case::{AssignmentStatus, ReportStatus},
    case_filter::{CaseFilter, SearchTerm, search_term},
    permissions::ReportScope,
};

pub const PER_PAGE: u32 = 25;

/// How many matching reports the list counts beyond the current page.
/// Counting every visible report of a national view reads a million index
/// entries (130 ms at 1M, seconds under load), and a count of 10,000 still
/// cost 10 to 100 ms when a filter needs the rows; nobody pages 40 pages
/// ahead, so past this horizon the page says "plus de …" (BENCHMARKS.md).
/// The dashboard and the statistics give exact figures.
pub const COUNT_HORIZON: u32 = 1_000;

/// The number of reports matching a list's filters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListTotal {
    pub count: i64,
    /// `count` is a lower bound: more reports match, past [`COUNT_HORIZON`].
    pub capped: bool,
}

/// A row of the list.
#[derive(Debug, Clone)]
pub struct CaseRow {
    pub id: u64,
    pub uuid: String,
    pub reference: String,
    pub territory_code: String,
    pub status: String,
    pub created_at: PrimitiveDateTime,
    pub last_follow_up_at: Option<PrimitiveDateTime>,
    pub occupant_name: String,
    pub address: String,
    pub city: String,
    pub postal_code: String,
    pub severity: Option<f64>,
    pub declarant_profile: String,
}

/// Appends `AND <the reports this scope may see>` (alias `r`).
/// ` AND [NOT] EXISTS` an assignment of the report whose status is [not]
/// one of `statuses` (bound, never spelled in the SQL).
fn push_assignment_exists(
    qb: &mut QueryBuilder<'_, MySql>,
    exists: bool,
    status_in: bool,
    statuses: &[AssignmentStatus],
) {
    qb.push(if exists {
        " AND EXISTS"
    } else {
        " AND NOT EXISTS"
    })
    .push(" (SELECT 1 FROM assignments x WHERE x.report_id = r.id AND x.status ")
    .push(if status_in { "IN (" } else { "NOT IN (" });
    let mut list = qb.separated(", ");
    for status in statuses {
        list.push_bind(*status);
    }
    qb.push("))");
}

pub(crate) fn push_scope(qb: &mut QueryBuilder<'_, MySql>, scope: &ReportScope) {
    let (prefix, ids, suffix): (&str, Vec<u64>, &str) = match scope {
        ReportScope::All => return,
        ReportScope::Territories(ids) => (
            " AND r.territory_id IN (",
            ids.iter().map(|i| u64::from(*i)).collect(),
            ")",
        ),
        ReportScope::Partners(ids) => (
            " AND EXISTS (SELECT 1 FROM assignments sa WHERE sa.report_id = r.id AND sa.partner_id IN (",
            ids.clone(),
            "))",
        ),
    };
    qb.push(prefix);
    let mut list = qb.separated(", ");
    for id in &ids {
        list.push_bind(*id);
    }
    if ids.is_empty() {
        list.push("NULL");
    }
    qb.push(suffix);
}

/// Appends the WHERE clause shared by the list and its count.
pub(crate) fn push_where(
    qb: &mut QueryBuilder<'_, MySql>,
    scope: &ReportScope,
    filter: &CaseFilter,
    user_id: u64,
) {
    qb.push(" WHERE 1 = 1");
    push_scope(qb, scope);
    if let Some(t) = filter.territory_id {
        qb.push(" AND r.territory_id = ").push_bind(t);
    }
    if filter.statuses.is_empty() {
        // Archived cases are out of the way unless asked for.
        qb.push(" AND r.status <> ")
            .push_bind(ReportStatus::Archived);
    } else {
        qb.push(" AND r.status IN (");
        let mut list = qb.separated(", ");
        for s in &filter.statuses {
            list.push_bind(s.clone());
        }
        qb.push(")");
    }
    match search_term(&filter.q) {
        Some(SearchTerm::Reference(reference)) => {
            qb.push(" AND r.reference = ").push_bind(reference);
        }
        Some(SearchTerm::Code(code)) => {
            qb.push(" AND (r.postal_code = ")
                .push_bind(code.clone())
                .push(" OR r.insee_code = ")
                .push_bind(code)
                .push(")");
        }
        Some(SearchTerm::Email(email)) => {
            qb.push(" AND (r.occupant_email = ")
                .push_bind(email.clone())
                .push(" OR r.declarant_email = ")
                .push_bind(email)
                .push(")");
        }
        Some(SearchTerm::Words(words)) => {
            qb.push(
                " AND MATCH(r.occupant_last_name, r.occupant_first_name, r.occupant_email, r.declarant_last_name,
                   r.declarant_first_name, r.declarant_email, r.address_line, r.city, r.landlord_name) AGAINST (",
            )
            .push_bind(words)
            .push(" IN BOOLEAN MODE)");
        }
        None => {}
    }
    if !filter.postal_codes.is_empty() {
        qb.push(" AND (r.postal_code IN (");
        let mut list = qb.separated(", ");
        for c in &filter.postal_codes {
            list.push_bind(c.clone());
        }
        qb.push(") OR r.insee_code IN (");
        let mut list = qb.separated(", ");
        for c in &filter.postal_codes {
            list.push_bind(c.clone());
        }
        qb.push("))");
    }
    if let Some(d) = filter.date_from {
        qb.push(" AND r.created_at >= ")
            .push_bind(PrimitiveDateTime::new(d, time::Time::MIDNIGHT));
    }
    if let Some(d) = filter.date_to {
        qb.push(" AND r.created_at < ")
            .push_bind(PrimitiveDateTime::new(
                d.next_day().unwrap_or(d),
                time::Time::MIDNIGHT,
            ));
    }
    if !filter.partner_ids.is_empty() || filter.no_partner {
        qb.push(" AND (");
        if !filter.partner_ids.is_empty() {
            qb.push("EXISTS (SELECT 1 FROM assignments pa WHERE pa.report_id = r.id AND pa.partner_id IN (");
            let mut list = qb.separated(", ");
            for p in &filter.partner_ids {
                list.push_bind(*p);
            }
            qb.push("))");
            if filter.no_partner {
                qb.push(" OR ");
            }
        }
        if filter.no_partner {
            qb.push("NOT EXISTS (SELECT 1 FROM assignments na WHERE na.report_id = r.id)");
        }
        qb.push(")");
    }
    if let Some(a) = filter.assignment.as_deref() {
        use AssignmentStatus as A;
        match a {
            "en_attente" => push_assignment_exists(qb, true, true, &[A::New]),
            "acceptee" => push_assignment_exists(qb, true, true, &[A::Accepted]),
            "refusee" => push_assignment_exists(qb, true, true, &[A::Refused]),
            "aucune_acceptee" => {
                qb.push(" AND r.status = ").push_bind(ReportStatus::Active);
                push_assignment_exists(qb, false, true, &[A::Accepted, A::Closed]);
            }
            "cloture_un_partenaire" => push_assignment_exists(qb, true, true, &[A::Closed]),
            // Every partner closed its assignment.
            _ => {
                qb.push(" AND EXISTS (SELECT 1 FROM assignments x WHERE x.report_id = r.id)");
                push_assignment_exists(qb, false, false, &[A::Closed]);
            }
        }
    }
    if let Some(p) = &filter.profile {
        qb.push(" AND r.declarant_profile = ").push_bind(p.clone());
    }
    match filter.housing.as_deref() {
        Some("public") => {
            qb.push(" AND r.is_public_housing = TRUE");
        }
        Some("prive") => {
            qb.push(" AND r.is_public_housing = FALSE");
        }
        Some(_) => {
            qb.push(" AND r.is_public_housing IS NULL");
        }
        None => {}
    }
    if let Some(a) = filter.allowance {
        qb.push(" AND r.household_housing_allowance = ")
            .push_bind(a);
    }
    if let Some(c) = filter.children_under_6 {
        qb.push(" AND r.dwelling_children_under_6 = ").push_bind(c);
    }
    if let Some(min) = filter.severity_min {
        qb.push(" AND r.severity_score >= ").push_bind(min);
    }
    if let Some(max) = filter.severity_max {
        qb.push(" AND r.severity_score <= ").push_bind(max);
    }
    if let Some(q) = &filter.qualification {
        qb.push(" AND EXISTS (SELECT 1 FROM report_qualifications rq WHERE rq.report_id = r.id AND rq.qualification = ")
            .push_bind(q.clone())
            .push(" AND rq.status <> ")
            .push_bind(super::states::ARCHIVED_QUALIFICATION)
            .push(")");
    }
    for tag in &filter.tag_ids {
        qb.push(
            " AND EXISTS (SELECT 1 FROM report_tags rt WHERE rt.report_id = r.id AND rt.tag_id = ",
        )
        .push_bind(*tag)
        .push(")");
    }
    if let Some(d) = filter.last_follow_up_from {
        qb.push(" AND r.last_follow_up_at >= ")
            .push_bind(PrimitiveDateTime::new(d, time::Time::MIDNIGHT));
    }
    if let Some(d) = filter.last_follow_up_to {
        qb.push(" AND r.last_follow_up_at < ")
            .push_bind(PrimitiveDateTime::new(
                d.next_day().unwrap_or(d),
                time::Time::MIDNIGHT,
            ));
    }
    if let Some(author) = &filter.last_follow_up_author {
        qb.push(" AND r.last_follow_up_author_kind = ")
            .push_bind(author.clone());
    }
    match filter.visit_status.as_deref() {
        Some("aucune") => {
            qb.push(" AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.report_id = r.id)");
        }
        Some("necessaire") => {
            qb.push(" AND ");
            super::visits::push_visit_needed(qb);
        }
        Some(status) => {
            qb.push(" AND EXISTS (SELECT 1 FROM visits v WHERE v.report_id = r.id AND v.status = ")
                .push_bind(status.to_owned())
                .push(")");
        }
        None => {}
    }
    // Probes (report_id, document_type | kind, deleted_at) per case.
    match filter.documents {
        Some(DocumentPresence::WithVisitReport) => {
            qb.push(" AND EXISTS (SELECT 1 FROM documents d WHERE d.report_id = r.id AND d.document_type = ")
                .push_bind(DocumentType::RapportVisite.code())
                .push(" AND d.deleted_at IS NULL)");
        }
        Some(DocumentPresence::WithoutPhoto) => {
            qb.push(" AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.report_id = r.id AND d.kind = 'photo' AND d.deleted_at IS NULL)");
        }
        None => {}
    }
    if let Some(procedure) = &filter.procedure {
        qb.push(" AND ");
        super::visits::push_procedure_found(qb, procedure);
    }
    if filter.arrete.is_some() {
        qb.push(" AND ");
        super::arretes::push_in_force(qb);
    }
    if let Some(reason) = &filter.closure_reason {
        qb.push(" AND r.closure_reason = ")
            .push_bind(reason.clone());
    }
    if filter.email_to_check {
        super::delivery::push_email_to_check(qb);
    }
    if filter.mine {
        qb.push(
            " AND (EXISTS (SELECT 1 FROM report_subscriptions s WHERE s.report_id = r.id AND s.user_id = ",
        )
        .push_bind(user_id)
        .push(") OR EXISTS (SELECT 1 FROM follow_ups mf WHERE mf.report_id = r.id AND mf.author_user_id = ")
        .push_bind(user_id)
        .push("))");
    }
}

/// One page of the list and the number of matching reports, counted up to
/// [`COUNT_HORIZON`] past the page.
pub async fn list(
    pool: &Pool,
    scope: &ReportScope,
    filter: &CaseFilter,
    user_id: u64,
) -> Result<(Vec<CaseRow>, ListTotal), sqlx::Error> {
    list_counted_to(pool, scope, filter, user_id, COUNT_HORIZON).await
}

/// [`list`] with another horizon (the tests use a small one).
pub async fn list_counted_to(
    pool: &Pool,
    scope: &ReportScope,
    filter: &CaseFilter,
    user_id: u64,
    horizon: u32,
) -> Result<(Vec<CaseRow>, ListTotal), sqlx::Error> {
    // A full-text search finds and sorts every match to return the first
    // page anyway: the same statement counts them (SQL_CALC_FOUND_ROWS),
    // where a separate count would evaluate the search a second time.
    let full_text = matches!(search_term(&filter.q), Some(SearchTerm::Words(_)));
    let mut conn = pool.acquire().await?;
    let modifier = if full_text {
        "SQL_CALC_FOUND_ROWS "
    } else {
        ""
    };
    let rows = page_query_with("", modifier, scope, filter, user_id)
        .build()
        .fetch_all(&mut *conn)
        .await?;
    let found = if full_text {
        Some(
            sqlx::query_scalar!("SELECT FOUND_ROWS() AS `n!: i64`")
                .fetch_one(&mut *conn)
                .await?,
        )
    } else {
        None
    };
    let cases = rows
        .into_iter()
        .map(|row| {
            Ok(CaseRow {
                id: row.try_get("id")?,
                uuid: row.try_get("uuid")?,
                reference: row.try_get("reference")?,
                territory_code: row.try_get("territory_code")?,
                status: row.try_get("status")?,
                created_at: row.try_get("created_at")?,
                last_follow_up_at: row.try_get("last_follow_up_at")?,
                occupant_name: row
                    .try_get::<Option<String>, _>("occupant_name")?
                    .unwrap_or_default(),
                address: row.try_get("address_line")?,
                city: row.try_get("city")?,
                postal_code: row.try_get("postal_code")?,
                severity: row.try_get("severity")?,
                declarant_profile: row.try_get("declarant_profile")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    if let Some(count) = found {
        return Ok((
            cases,
            ListTotal {
                count,
                capped: false,
            },
        ));
    }
    let limit = i64::from(offset(filter)) + i64::from(horizon);
    let count: i64 = count_query("", scope, filter, user_id, horizon)
        .build()
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    let total = ListTotal {
        count: count.min(limit),
        capped: count > limit,
    };
    Ok((cases, total))
}

/// The page query of the list, after `prefix` (empty, or `EXPLAIN `).
fn page_query<'a>(
    prefix: &str,
    scope: &ReportScope,
    filter: &CaseFilter,
    user_id: u64,
) -> QueryBuilder<'a, MySql> {
    page_query_with(prefix, "", scope, filter, user_id)
}

/// The page query with a `SELECT` modifier (`SQL_CALC_FOUND_ROWS `).
/// `reports` is the only table of the FROM clause (the territory code is a
/// scalar subquery): joined with the 101-row `territories`, the optimizer
/// read territories first and sorted every visible report for the first
/// page; alone, it walks `idx_reports_created` (or a territory
/// index) backwards and stops after one page (BENCHMARKS.md).
fn page_query_with<'a>(
    prefix: &str,
    modifier: &str,
    scope: &ReportScope,
    filter: &CaseFilter,
    user_id: u64,
) -> QueryBuilder<'a, MySql> {
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new(format!(
        "{prefix}SELECT {modifier}r.id, r.uuid, r.reference,
                (SELECT t.code FROM territories t WHERE t.id = r.territory_id) AS territory_code,
                r.status, r.created_at, r.last_follow_up_at,
                CONCAT_WS(' ', r.occupant_first_name, r.occupant_last_name) AS occupant_name,
                r.address_line, r.city, r.postal_code, CAST(r.severity_score AS DOUBLE) AS severity, r.declarant_profile
         FROM reports r"
    ));
    push_where(&mut qb, scope, filter, user_id);
    let direction = if filter.descending { "DESC" } else { "ASC" };
    let column = match filter.sort.as_str() {
        "reference" => "r.territory_id, r.created_at",
        "dernier_suivi" => "r.last_follow_up_at",
        "ville" => "r.city",
        "criticite" => "r.severity_score",
        _ => "r.created_at",
    };
    qb.push(format!(" ORDER BY {column} {direction}, r.id {direction}"));
    qb.push(" LIMIT ")
        .push_bind(PER_PAGE)
        .push(" OFFSET ")
        .push_bind(offset(filter));
    qb
}

fn offset(filter: &CaseFilter) -> u32 {
    (filter.page.max(1) - 1).saturating_mul(PER_PAGE)
}

/// The count query of the list, after `prefix`: the matching reports up to
/// one past the horizon (the inner `LIMIT` stops the index walk there).
fn count_query<'a>(
    prefix: &str,
    scope: &ReportScope,
    filter: &CaseFilter,
    user_id: u64,
    horizon: u32,
) -> QueryBuilder<'a, MySql> {
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new(format!(
        "{prefix}SELECT COUNT(*) FROM (SELECT 1 FROM reports r"
    ));
    push_where(&mut qb, scope, filter, user_id);
    qb.push(" LIMIT ")
        .push_bind(i64::from(offset(filter)) + i64::from(horizon) + 1)
        .push(") AS matching");
    qb
}

/// A row of `EXPLAIN` (MySQL / MariaDB tabular format).
#[derive(Debug, Clone)]
pub struct ExplainRow {
    pub table: Option<String>,
    pub access_type: Option<String>,
    pub key: Option<String>,
    pub rows: Option<u64>,
    pub extra: Option<String>,
}

/// `EXPLAIN` of the list's page query and of its count, built by the same
/// code as `list` (tests/it/explain.rs asserts that they use indexes).
pub async fn explain_list(
    pool: &Pool,
    scope: &ReportScope,
    filter: &CaseFilter,
    user_id: u64,
) -> Result<Vec<ExplainRow>, sqlx::Error> {
    explain_rows(
        pool,
        [
            page_query("EXPLAIN ", scope, filter, user_id),
            count_query("EXPLAIN ", scope, filter, user_id, COUNT_HORIZON),
        ],
    )
    .await
}

/// Runs these `EXPLAIN ...` queries and reads their rows, in order.
pub(crate) async fn explain_rows<'a>(
    pool: &Pool,
    queries: impl IntoIterator<Item = QueryBuilder<'a, MySql>>,
) -> Result<Vec<ExplainRow>, sqlx::Error> {
    let mut out = Vec::new();
    for mut qb in queries {
        for row in qb.build().fetch_all(pool).await? {
            out.push(ExplainRow {
                table: row.try_get("table")?,
                access_type: row.try_get("type")?,
                key: row.try_get("key")?,
                rows: row
                    .try_get::<Option<u64>, _>("rows")
                    .or_else(|_| {
                        row.try_get::<Option<i64>, _>("rows")
                            .map(|r| r.map(|r| r.max(0) as u64))
                    })
                    .unwrap_or(None),
                extra: row.try_get("Extra")?,
            });
        }
    }
    Ok(out)
}

/// (report id, partner name, assignment status) for the reports of a page:
/// one query for the whole page (an `IN` list, so the index on
/// `assignments.report_id` serves it).
pub async fn assignments_of(
    pool: &Pool,
    report_ids: &[u64],
) -> Result<Vec<(u64, String, String)>, sqlx::Error> {
    if report_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new(
        "SELECT a.report_id, p.name, a.status FROM assignments a JOIN partners p ON p.id = a.partner_id WHERE a.report_id IN (",
    );
    let mut list = qb.separated(", ");
    for id in report_ids {
        list.push_bind(*id);
    }
    qb.push(") ORDER BY p.name");
    let rows = qb.build().fetch_all(pool).await?;
    rows.into_iter()
        .map(|row| {
            Ok((
                row.try_get("report_id")?,
                row.try_get("name")?,
                row.try_get("status")?,
            ))
        })
        .collect()
}
