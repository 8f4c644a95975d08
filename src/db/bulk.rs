//! Bulk inserts of generated data (src/generator/), for the demo seed
//! (`histologe seed`) and the national-scale benchmark dataset (`histologe
//! bench-data`): multi-row `INSERT ... VALUES (...), (...)` statements built
//! with sqlx's `QueryBuilder` (every value bound), with ids chosen by the
//! generator so that children rows need no round trip. [`Batch`] is one
//! transaction's worth of rows, written by [`insert_batch`]. Never used by
//! the application itself.

use sqlx::{MySql, MySqlConnection, QueryBuilder, types::Json};
use time::PrimitiveDateTime;

use super::Pool;
use crate::domain::case::{AssignmentStatus, ReportStatus, VisitOutcome};

/// Rows per statement: under MySQL's 65,535 placeholders and the 16 MB
/// packet for the widest table (reports: 47 columns).
pub const REPORTS_PER_STATEMENT: usize = 1_000;
pub const CHILD_ROWS_PER_STATEMENT: usize = 5_000;

/// A territory with its bounding box (the reports are scattered inside).
pub struct TerritoryRow {
    pub id: u32,
    pub code: String,
    pub bbox: Option<Json<serde_json::Value>>,
}

pub async fn territories(pool: &Pool) -> Result<Vec<TerritoryRow>, sqlx::Error> {
    sqlx::query_as!(
        TerritoryRow,
        "SELECT id, code, bbox AS `bbox: Json<serde_json::Value>` FROM territories ORDER BY id"
    )
    .fetch_all(pool)
    .await
}

pub async fn activate_all_territories(pool: &Pool) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query!("UPDATE territories SET is_active = TRUE WHERE is_active = FALSE")
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

/// (territory id, INSEE code, postal code, name) of every commune.
pub async fn all_communes(pool: &Pool) -> Result<Vec<(u32, String, String, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT territory_id, insee_code, postal_code, name FROM communes ORDER BY territory_id, insee_code, postal_code"
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.territory_id, r.insee_code, r.postal_code, r.name))
        .collect())
}

pub async fn count_reports(pool: &Pool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!("SELECT COUNT(*) AS `n!: i64` FROM reports")
        .fetch_one(pool)
        .await
}

/// The next free id of the tables the loader fills with explicit ids.
pub struct NextIds {
    pub partner: u64,
    pub user: u64,
    pub report: u64,
}

pub async fn next_ids(conn: &mut MySqlConnection) -> Result<NextIds, sqlx::Error> {
    let partner = sqlx::query_scalar!(
        "SELECT CAST(COALESCE(MAX(id), 0) + 1 AS UNSIGNED) AS `n!: u64` FROM partners"
    )
    .fetch_one(&mut *conn)
    .await?;
    let user = sqlx::query_scalar!(
        "SELECT CAST(COALESCE(MAX(id), 0) + 1 AS UNSIGNED) AS `n!: u64` FROM users"
    )
    .fetch_one(&mut *conn)
    .await?;
    let report = sqlx::query_scalar!(
        "SELECT CAST(COALESCE(MAX(id), 0) + 1 AS UNSIGNED) AS `n!: u64` FROM reports"
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(NextIds {
        partner,
        user,
        report,
    })
}

pub struct PartnerRow {
    pub id: u64,
    pub territory_id: u32,
    pub name: String,
    pub partner_type: &'static str,
    pub competences: Json<Vec<String>>,
    pub email: String,
}

pub async fn insert_partners(
    conn: &mut MySqlConnection,
    rows: &[PartnerRow],
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(CHILD_ROWS_PER_STATEMENT / 2) {
        let mut qb: QueryBuilder<MySql> = QueryBuilder::new(
            "INSERT INTO partners (id, territory_id, name, type, competences, email, email_notifiable) ",
        );
        qb.push_values(chunk, |mut b, p| {
            b.push_bind(p.id)
                .push_bind(p.territory_id)
                .push_bind(&p.name)
                .push_bind(p.partner_type)
                .push_bind(&p.competences)
                .push_bind(&p.email)
                .push_bind(true);
        });
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// (partner id, INSEE code) perimeter rows.
pub async fn insert_partner_insee_codes(
    conn: &mut MySqlConnection,
    rows: &[(u64, String)],
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(CHILD_ROWS_PER_STATEMENT) {
        let mut qb: QueryBuilder<MySql> =
            QueryBuilder::new("INSERT IGNORE INTO partner_insee_codes (partner_id, insee_code) ");
        qb.push_values(chunk, |mut b, (p, code)| {
            b.push_bind(*p).push_bind(code);
        });
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

pub struct UserRow {
    pub id: u64,
    pub uuid: String,
    pub email: String,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub role: &'static str,
    /// (partner id, territory id) membership.
    pub membership: Option<(u64, u32)>,
    pub can_assign: bool,
}

/// Users (all active, same password hash) and their memberships.
pub async fn insert_users(
    conn: &mut MySqlConnection,
    rows: &[UserRow],
    password_hash: &str,
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(CHILD_ROWS_PER_STATEMENT / 2) {
        let mut qb: QueryBuilder<MySql> = QueryBuilder::new(
            "INSERT INTO users (id, uuid, email, password_hash, first_name, last_name, role, status, can_assign, terms_version) ",
        );
        qb.push_values(chunk, |mut b, u| {
            b.push_bind(u.id)
                .push_bind(&u.uuid)
                .push_bind(&u.email)
                .push_bind(password_hash)
                .push_bind(u.first_name)
                .push_bind(u.last_name)
                .push_bind(u.role)
                .push("'active'")
                .push_bind(u.can_assign)
                .push_bind(crate::domain::terms::Audience::Agents.current().code);
        });
        qb.build().execute(&mut *conn).await?;
        let members: Vec<(u64, u64, u32)> = chunk
            .iter()
            .filter_map(|u| u.membership.map(|(p, t)| (u.id, p, t)))
            .collect();
        if members.is_empty() {
            continue;
        }
        let mut qb: QueryBuilder<MySql> =
            QueryBuilder::new("INSERT INTO user_partners (user_id, partner_id, territory_id) ");
        qb.push_values(&members, |mut b, (u, p, t)| {
            b.push_bind(*u).push_bind(*p).push_bind(*t);
        });
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// A generated report (the columns a national deployment fills most).
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub id: u64,
    pub uuid: String,
    pub territory_id: u32,
    pub reference: String,
    pub status: ReportStatus,
    pub declarant_profile: &'static str,
    pub occupant_profile: Option<&'static str>,
    pub is_public_housing: Option<bool>,
    pub occupant_first_name: &'static str,
    pub occupant_last_name: &'static str,
    pub occupant_email: String,
    pub occupant_phone: String,
    pub declarant_first_name: Option<&'static str>,
    pub declarant_last_name: Option<&'static str>,
    pub declarant_email: Option<String>,
    pub landlord_name: &'static str,
    pub dwelling_type: &'static str,
    pub dwelling_surface: f64,
    pub dwelling_rooms: u16,
    pub occupants: u16,
    pub children_under_6: bool,
    pub housing_allowance: Option<bool>,
    /// `procedure_insurer_contacted` code; `None` for "don't know".
    pub insurer_contacted: Option<&'static str>,
    pub has_dpe: Option<bool>,
    /// `dwelling_dpe_class` (one letter), when the DPE is known.
    pub dpe_class: Option<String>,
    pub details: &'static str,
    pub address_line: String,
    pub postal_code: String,
    pub city: String,
    pub insee_code: String,
    pub latitude: f64,
    pub longitude: f64,
    pub severity: f64,
    pub severity_raw: f64,
    pub severity_building: f64,
    pub severity_dwelling: f64,
    pub follow_up_code: String,
    pub created_at: PrimitiveDateTime,
    pub validated_at: Option<PrimitiveDateTime>,
    pub closed_at: Option<PrimitiveDateTime>,
    pub closure_reason: Option<&'static str>,
    pub refused_at: Option<PrimitiveDateTime>,
    pub refusal_reason: Option<&'static str>,
    pub last_follow_up_at: PrimitiveDateTime,
    pub last_follow_up_author_kind: &'static str,
}

pub async fn insert_reports(
    conn: &mut MySqlConnection,
    rows: &[ReportRow],
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(REPORTS_PER_STATEMENT) {
        let mut qb: QueryBuilder<MySql> = QueryBuilder::new(
            "INSERT INTO reports (id, uuid, territory_id, reference, status, declarant_profile, occupant_profile,
                is_public_housing, creation_source, occupant_first_name, occupant_last_name, occupant_email,
                occupant_phone, declarant_first_name, declarant_last_name, declarant_email, landlord_kind,
                landlord_name, dwelling_type, dwelling_surface, dwelling_rooms, dwelling_occupants_count,
                dwelling_children_under_6, household_housing_allowance, procedure_insurer_contacted,
                dwelling_has_dpe, dwelling_dpe_class, consents, details, address_line,
                postal_code, city, insee_code, latitude, longitude, geocode_score, severity_score,
                severity_score_raw, severity_building, severity_dwelling, follow_up_code, created_at,
                updated_at, validated_at, closed_at, closure_reason, refused_at, refusal_reason,
                last_follow_up_at, last_follow_up_author_kind) ",
        );
        qb.push_values(chunk, |mut b, r| {
            b.push_bind(r.id)
                .push_bind(&r.uuid)
                .push_bind(r.territory_id)
                .push_bind(&r.reference)
                .push_bind(r.status)
                .push_bind(r.declarant_profile)
                .push_bind(r.occupant_profile)
                .push_bind(r.is_public_housing)
                .push("'form'")
                .push_bind(r.occupant_first_name)
                .push_bind(r.occupant_last_name)
                .push_bind(&r.occupant_email)
                .push_bind(&r.occupant_phone)
                .push_bind(r.declarant_first_name)
                .push_bind(r.declarant_last_name)
                .push_bind(&r.declarant_email)
                .push("'particulier'")
                .push_bind(r.landlord_name)
                .push_bind(r.dwelling_type)
                .push_bind(r.dwelling_surface)
                .push_bind(r.dwelling_rooms)
                .push_bind(r.occupants)
                .push_bind(r.children_under_6)
                .push_bind(r.housing_allowance)
                .push_bind(r.insurer_contacted)
                .push_bind(r.has_dpe)
                .push_bind(&r.dpe_class)
                .push(r#"'{"utilisation_service_ok_cgu":true}'"#)
                .push_bind(r.details)
                .push_bind(&r.address_line)
                .push_bind(&r.postal_code)
                .push_bind(&r.city)
                .push_bind(&r.insee_code)
                .push_bind(r.latitude)
                .push_bind(r.longitude)
                .push("0.9")
                .push_bind(r.severity)
                .push_bind(r.severity_raw)
                .push_bind(r.severity_building)
                .push_bind(r.severity_dwelling)
                .push_bind(&r.follow_up_code)
                .push_bind(r.created_at)
                .push_bind(r.last_follow_up_at)
                .push_bind(r.validated_at)
                .push_bind(r.closed_at)
                .push_bind(r.closure_reason)
                .push_bind(r.refused_at)
                .push_bind(r.refusal_reason)
                .push_bind(r.last_follow_up_at)
                .push_bind(r.last_follow_up_author_kind);
        });
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// (report id, precision id) chosen defects.
pub async fn insert_defects(
    conn: &mut MySqlConnection,
    rows: &[(u64, u32, PrimitiveDateTime)],
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(CHILD_ROWS_PER_STATEMENT) {
        let mut qb: QueryBuilder<MySql> =
            QueryBuilder::new("INSERT INTO report_defects (report_id, precision_id, created_at) ");
        qb.push_values(chunk, |mut b, (r, p, at)| {
            b.push_bind(*r).push_bind(*p).push_bind(*at);
        });
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct QualificationRow {
    pub report_id: u64,
    pub qualification: &'static str,
    pub status: &'static str,
    pub precision_codes: Json<Vec<String>>,
}

pub async fn insert_qualifications(
    conn: &mut MySqlConnection,
    rows: &[QualificationRow],
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(CHILD_ROWS_PER_STATEMENT) {
        let mut qb: QueryBuilder<MySql> = QueryBuilder::new(
            "INSERT IGNORE INTO report_qualifications (report_id, qualification, is_post_visit, status, precision_codes) ",
        );
        qb.push_values(chunk, |mut b, q| {
            b.push_bind(q.report_id)
                .push_bind(q.qualification)
                .push("FALSE")
                .push_bind(q.status)
                .push_bind(&q.precision_codes);
        });
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct AssignmentRow {
    pub report_id: u64,
    pub partner_id: u64,
    pub status: AssignmentStatus,
    pub created_at: PrimitiveDateTime,
}

pub async fn insert_assignments(
    conn: &mut MySqlConnection,
    rows: &[AssignmentRow],
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(CHILD_ROWS_PER_STATEMENT) {
        let mut qb: QueryBuilder<MySql> = QueryBuilder::new(
            "INSERT INTO assignments (report_id, partner_id, status, answered_at, created_at, updated_at) ",
        );
        qb.push_values(chunk, |mut b, a| {
            b.push_bind(a.report_id)
                .push_bind(a.partner_id)
                .push_bind(a.status)
                // A partner that accepted, refused or closed has answered.
                .push_bind((!a.status.is_new()).then_some(a.created_at))
                .push_bind(a.created_at)
                .push_bind(a.created_at);
        });
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct FollowUpRow {
    pub report_id: u64,
    pub author_user_id: Option<u64>,
    pub author_partner_id: Option<u64>,
    pub author_kind: &'static str,
    pub category: &'static str,
    pub body: &'static str,
    pub is_public: bool,
    pub created_at: PrimitiveDateTime,
}

pub async fn insert_follow_ups(
    conn: &mut MySqlConnection,
    rows: &[FollowUpRow],
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(CHILD_ROWS_PER_STATEMENT) {
        let mut qb: QueryBuilder<MySql> = QueryBuilder::new(
            "INSERT INTO follow_ups (report_id, author_user_id, author_partner_id, author_kind, category, body, is_public, created_at) ",
        );
        qb.push_values(chunk, |mut b, f| {
            b.push_bind(f.report_id)
                .push_bind(f.author_user_id)
                .push_bind(f.author_partner_id)
                .push_bind(f.author_kind)
                .push_bind(f.category)
                .push_bind(f.body)
                .push_bind(f.is_public)
                .push_bind(f.created_at);
        });
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct VisitRow {
    pub report_id: u64,
    pub partner_id: u64,
    pub scheduled_at: PrimitiveDateTime,
    pub status: VisitOutcome,
    pub conclusions: Option<&'static str>,
}

pub async fn insert_visits(
    conn: &mut MySqlConnection,
    rows: &[VisitRow],
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(CHILD_ROWS_PER_STATEMENT) {
        let mut qb: QueryBuilder<MySql> = QueryBuilder::new(
            "INSERT INTO visits (report_id, partner_id, kind, scheduled_at, status, conclusions, concluded_at) ",
        );
        qb.push_values(chunk, |mut b, v| {
            b.push_bind(v.report_id)
                .push_bind(v.partner_id)
                .push("'visite'")
                .push_bind(v.scheduled_at)
                .push_bind(v.status)
                .push_bind(v.conclusions)
                .push_bind((v.status == VisitOutcome::Done).then_some(v.scheduled_at));
        });
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// One transaction's worth of generated rows: reports and every row that
/// hangs on them.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Batch {
    pub reports: Vec<ReportRow>,
    /// (report id, precision id, created at): the set S of each report.
    pub defects: Vec<(u64, u32, PrimitiveDateTime)>,
    pub qualifications: Vec<QualificationRow>,
    pub assignments: Vec<AssignmentRow>,
    pub follow_ups: Vec<FollowUpRow>,
    pub visits: Vec<VisitRow>,
}

/// Writes a batch on the caller's transaction, parents first.
pub async fn insert_batch(conn: &mut MySqlConnection, batch: &Batch) -> Result<(), sqlx::Error> {
    insert_reports(&mut *conn, &batch.reports).await?;
    insert_defects(&mut *conn, &batch.defects).await?;
    insert_qualifications(&mut *conn, &batch.qualifications).await?;
    insert_assignments(&mut *conn, &batch.assignments).await?;
    insert_follow_ups(&mut *conn, &batch.follow_ups).await?;
    insert_visits(&mut *conn, &batch.visits).await
}

/// (territory id, year, last number) reference counters, so that reports
/// created afterwards (form submissions) continue the sequences.
pub async fn upsert_counters(
    conn: &mut MySqlConnection,
    rows: &[(u32, u16, u32)],
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(CHILD_ROWS_PER_STATEMENT) {
        let mut qb: QueryBuilder<MySql> = QueryBuilder::new(
            "INSERT INTO report_reference_counters (territory_id, year, last_number) ",
        );
        qb.push_values(chunk, |mut b, (t, y, n)| {
            b.push_bind(*t).push_bind(*y).push_bind(*n);
        });
        qb.push(
            " ON DUPLICATE KEY UPDATE last_number = GREATEST(last_number, VALUES(last_number))",
        );
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Report uuids spread over the table (every n-th id), for the load
/// scenarios that open a case.
pub async fn sample_report_uuids(pool: &Pool, count: u32) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT r.uuid FROM reports r
         JOIN (SELECT MIN(id) AS lo, GREATEST(1, (MAX(id) - MIN(id)) DIV ?) AS step FROM reports) b
         WHERE r.id >= b.lo AND (r.id - b.lo) MOD b.step = 0 AND r.status <> ?
         LIMIT ?",
        count,
        ReportStatus::Archived.as_str(),
        count
    )
    .fetch_all(pool)
    .await
}

/// Copies a completed form draft under a new uuid (the submission scenario
/// posts the summary of each copy once).
pub async fn clone_draft(pool: &Pool, from: &str, uuid: &str) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "INSERT INTO drafts (uuid, email, profile, territory_id, payload, current_step, status, checksum, landlord_informed_at)
         SELECT ?, email, profile, territory_id, payload, current_step, status, checksum, landlord_informed_at
         FROM drafts WHERE uuid = ?",
        uuid,
        from
    )
    .execute(pool)
    .await?
    .rows_affected())
}

/// Refreshes the optimizer's statistics after the load.
pub async fn analyze(pool: &Pool) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "ANALYZE TABLE reports, follow_ups, assignments, visits, report_defects, report_qualifications, partners, users, user_partners"
    )
    .fetch_all(pool)
    .await?;
    Ok(())
}
