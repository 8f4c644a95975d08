//! The reads of Open311's `GET requests` (docs/open311.md): a page of
//! reports in one query, with only the columns that may be published — no
//! name, e-mail, phone, street or free text is ever selected, so none can
//! leak into a response.
//!
//! Each report's service is its first form category (taxonomy order, the
//! composition-derived one last), computed by a subquery on
//! `report_defects`' primary key for the rows of the page only. The list is
//! bounded by the date span (≤ 90 days, on `idx_reports_status_created`)
//! and the page size (≤ 1000).

use sqlx::{MySql, QueryBuilder};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use super::Pool;
use crate::domain::{
    case::ReportStatus,
    open311::{BY_ID_STATUSES, ListQuery},
};

/// A report as Open311 may show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PublicReport {
    pub territory_code: String,
    pub reference: String,
    pub status: ReportStatus,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
    pub closed_at: Option<PrimitiveDateTime>,
    pub refused_at: Option<PrimitiveDateTime>,
    pub postal_code: String,
    pub city: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// The report's form category (`None` without any defect).
    pub service_code: Option<String>,
}

const SELECT: &str = "SELECT t.code AS territory_code, r.reference, r.status, r.created_at,
        r.updated_at, r.closed_at, r.refused_at, r.postal_code, r.city,
        CAST(r.latitude AS DOUBLE) AS latitude, CAST(r.longitude AS DOUBLE) AS longitude,
        (SELECT dc.code
         FROM report_defects rd
         JOIN defect_precisions p ON p.id = rd.precision_id
         JOIN defect_criteria cr ON cr.id = p.criterion_id
         JOIN defect_categories dc ON dc.id = cr.category_id
         WHERE rd.report_id = r.id
         ORDER BY dc.code = 'desordres_type_composition_logement', dc.position, dc.id
         LIMIT 1) AS service_code
    FROM reports r
    JOIN territories t ON t.id = r.territory_id
    WHERE ";

fn utc(at: OffsetDateTime) -> PrimitiveDateTime {
    let at = at.to_offset(UtcOffset::UTC);
    PrimitiveDateTime::new(at.date(), at.time())
}

fn push_list<'a>(qb: &mut QueryBuilder<'a, MySql>, values: impl IntoIterator<Item = &'a str>) {
    qb.push("(");
    let mut separated = qb.separated(", ");
    for value in values {
        separated.push_bind(value);
    }
    separated.push_unseparated(")");
}

/// A page of listed reports, newest first.
pub async fn list(pool: &Pool, query: &ListQuery) -> Result<Vec<PublicReport>, sqlx::Error> {
    if query.statuses.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = QueryBuilder::<MySql>::new(SELECT);
    qb.push("r.status IN ");
    push_list(&mut qb, query.statuses.iter().map(|s| s.as_str()));
    qb.push(" AND r.created_at >= ")
        .push_bind(utc(query.start))
        .push(" AND r.created_at <= ")
        .push_bind(utc(query.end));
    if !query.service_codes.is_empty() {
        qb.push(" HAVING service_code IN ");
        push_list(&mut qb, query.service_codes.iter().map(String::as_str));
    }
    qb.push(" ORDER BY r.created_at DESC, r.id DESC LIMIT ")
        .push_bind(query.page_size)
        .push(" OFFSET ")
        .push_bind(query.offset());
    qb.build_query_as().fetch_all(pool).await
}

/// The reports of these public ids (territory code, reference) that may be
/// read by id, in one query.
pub async fn by_ids(
    pool: &Pool,
    ids: &[(String, String)],
) -> Result<Vec<PublicReport>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = QueryBuilder::<MySql>::new(SELECT);
    qb.push("r.status IN ");
    push_list(&mut qb, BY_ID_STATUSES.map(ReportStatus::as_str));
    qb.push(" AND (");
    for (i, (territory, reference)) in ids.iter().enumerate() {
        if i > 0 {
            qb.push(" OR ");
        }
        qb.push("(t.code = ")
            .push_bind(territory.as_str())
            .push(" AND r.reference = ")
            .push_bind(reference.as_str())
            .push(")");
    }
    qb.push(") ORDER BY r.created_at DESC, r.id DESC");
    qb.build_query_as().fetch_all(pool).await
}
