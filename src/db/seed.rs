//! Inserts for the demo data (`histologe seed`). Demo only: the production
//! platform is filled by its users.

use sqlx::{MySqlConnection, types::Json};
use time::PrimitiveDateTime;

use super::Pool;

pub async fn user_exists(pool: &Pool, email: &str) -> Result<bool, sqlx::Error> {
    let n = sqlx::query_scalar!(
        "SELECT COUNT(*) AS `n!: i64` FROM users WHERE email = ?",
        email
    )
    .fetch_one(pool)
    .await?;
    Ok(n > 0)
}

pub async fn territory_id(conn: &mut MySqlConnection, code: &str) -> Result<u32, sqlx::Error> {
    sqlx::query_scalar!("SELECT id FROM territories WHERE code = ?", code)
        .fetch_one(conn)
        .await
}

pub async fn activate_territory(conn: &mut MySqlConnection, id: u32) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE territories SET is_active = TRUE WHERE id = ?", id)
        .execute(conn)
        .await?;
    Ok(())
}

/// (INSEE code, postal code, name) of a territory's communes.
pub async fn communes(
    conn: &mut MySqlConnection,
    territory_id: u32,
) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT insee_code, postal_code, name FROM communes WHERE territory_id = ? ORDER BY insee_code, postal_code",
        territory_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.insee_code, r.postal_code, r.name))
        .collect())
}

/// A precision with what the score needs.
pub struct PrecisionRow {
    pub id: u32,
    pub code: String,
    pub zone: String,
    pub coef: f64,
    pub is_danger: bool,
    pub is_suroccupation: bool,
    pub is_insalubrite: bool,
    pub qualifications: Json<Vec<String>>,
}

/// Precisions a resident can pick (not the ones derived from housing facts
/// or reserved to emergency services).
pub async fn precisions(conn: &mut MySqlConnection) -> Result<Vec<PrecisionRow>, sqlx::Error> {
    sqlx::query_as!(
        PrecisionRow,
        "SELECT p.id, p.code, c.zone, CAST(p.coef AS DOUBLE) AS `coef!: f64`,
                p.is_danger AS `is_danger: bool`, p.is_suroccupation AS `is_suroccupation: bool`,
                p.is_insalubrite AS `is_insalubrite: bool`, p.qualifications AS `qualifications: Json<Vec<String>>`
         FROM defect_precisions p JOIN defect_criteria c ON c.id = p.criterion_id
         WHERE c.zone IN ('batiment', 'logement') AND c.code NOT LIKE 'desordres_type_composition%'
         ORDER BY p.id"
    )
    .fetch_all(conn)
    .await
}

pub struct DemoReport<'a> {
    pub uuid: String,
    pub territory_id: u32,
    pub reference: String,
    pub status: &'a str,
    pub declarant_profile: &'a str,
    pub is_public_housing: Option<bool>,
    pub occupant_first_name: &'a str,
    pub occupant_last_name: &'a str,
    pub occupant_email: String,
    pub occupant_phone: String,
    pub declarant_first_name: Option<&'a str>,
    pub declarant_last_name: Option<&'a str>,
    pub declarant_email: Option<String>,
    pub landlord_name: &'a str,
    pub dwelling_type: &'a str,
    pub dwelling_surface: f64,
    pub dwelling_rooms: i16,
    pub occupants: i16,
    pub children_under_6: bool,
    pub housing_allowance: Option<bool>,
    pub address_line: String,
    pub postal_code: &'a str,
    pub city: &'a str,
    pub insee_code: &'a str,
    pub latitude: f64,
    pub longitude: f64,
    pub severity: f64,
    pub severity_building: f64,
    pub severity_dwelling: f64,
    pub follow_up_code: String,
    pub details: String,
    pub created_at: PrimitiveDateTime,
    pub validated_at: Option<PrimitiveDateTime>,
    pub closed_at: Option<PrimitiveDateTime>,
    pub closure_reason: Option<&'a str>,
    pub refusal_reason: Option<&'a str>,
}

pub async fn insert_report(
    conn: &mut MySqlConnection,
    r: &DemoReport<'_>,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!(
        "INSERT INTO reports (uuid, territory_id, reference, status, declarant_profile, is_public_housing,
            occupant_first_name, occupant_last_name, occupant_email, occupant_phone,
            declarant_first_name, declarant_last_name, declarant_email, landlord_kind, landlord_name,
            dwelling_type, dwelling_surface, dwelling_rooms, dwelling_occupants_count,
            dwelling_children_under_6, household_housing_allowance, consents, details,
            address_line, postal_code, city, insee_code, latitude, longitude, geocode_score,
            severity_score, severity_score_raw, severity_building, severity_dwelling, follow_up_code,
            created_at, validated_at, closed_at, closure_reason, refused_at, refusal_reason)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'particulier', ?, ?, ?, ?, ?, ?, ?, ?, ?,
                 ?, ?, ?, ?, ?, ?, 0.95, ROUND(?, 2), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        r.uuid,
        r.territory_id,
        r.reference,
        r.status,
        r.declarant_profile,
        r.is_public_housing,
        r.occupant_first_name,
        r.occupant_last_name,
        r.occupant_email,
        r.occupant_phone,
        r.declarant_first_name,
        r.declarant_last_name,
        r.declarant_email,
        r.landlord_name,
        r.dwelling_type,
        r.dwelling_surface,
        r.dwelling_rooms,
        r.occupants,
        r.children_under_6,
        r.housing_allowance,
        Json(serde_json::json!({"cgu": true, "visite": true, "bailleur_prevenu": true})),
        r.details,
        r.address_line,
        r.postal_code,
        r.city,
        r.insee_code,
        r.latitude,
        r.longitude,
        r.severity,
        r.severity,
        r.severity_building,
        r.severity_dwelling,
        r.follow_up_code,
        r.created_at,
        r.validated_at,
        r.closed_at,
        r.closure_reason,
        r.refusal_reason.map(|_| r.created_at),
        r.refusal_reason
    )
    .execute(conn)
    .await?;
    Ok(result.last_insert_id())
}

pub async fn insert_assignment(
    conn: &mut MySqlConnection,
    report_id: u64,
    partner_id: u64,
    status: &str,
    at: PrimitiveDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT IGNORE INTO assignments (report_id, partner_id, status, answered_at, created_at)
         VALUES (?, ?, ?, IF(? = 'nouveau', NULL, ?), ?)",
        report_id,
        partner_id,
        status,
        status,
        at,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Demo follow-ups only; the arguments mirror the columns.
#[allow(clippy::too_many_arguments)]
pub async fn insert_follow_up(
    conn: &mut MySqlConnection,
    report_id: u64,
    author_user_id: Option<u64>,
    author_kind: &str,
    category: &str,
    body: &str,
    is_public: bool,
    at: PrimitiveDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO follow_ups (report_id, author_user_id, author_kind, category, body, is_public, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        report_id,
        author_user_id,
        author_kind,
        category,
        body,
        is_public,
        at
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE reports SET last_follow_up_at = ?, last_follow_up_author_kind = ?
         WHERE id = ? AND (last_follow_up_at IS NULL OR last_follow_up_at < ?)",
        at,
        author_kind,
        report_id,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_counter(
    conn: &mut MySqlConnection,
    territory_id: u32,
    year: u16,
    last: u32,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO report_reference_counters (territory_id, year, last_number) VALUES (?, ?, ?)
         ON DUPLICATE KEY UPDATE last_number = GREATEST(last_number, VALUES(last_number))",
        territory_id,
        year,
        last
    )
    .execute(conn)
    .await?;
    Ok(())
}
