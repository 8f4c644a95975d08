//! Reads and writes of the "edit report sections" page, and the recompute
//! of severity and qualifications after an edit.

use sqlx::{MySqlConnection, types::Json};

use super::Pool;

/// The editable sections of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Sections {
    pub occupant_first_name: Option<String>,
    pub occupant_last_name: Option<String>,
    pub occupant_email: Option<String>,
    pub occupant_phone: Option<String>,
    pub landlord_name: Option<String>,
    pub landlord_email: Option<String>,
    pub landlord_phone: Option<String>,
    pub dwelling_surface: Option<f64>,
    pub dwelling_rooms: Option<u16>,
    pub dwelling_occupants_count: Option<u16>,
    pub dwelling_children_under_6: Option<bool>,
    pub is_public_housing: Option<bool>,
    pub household_housing_allowance: Option<bool>,
    pub address_line: String,
    pub postal_code: String,
    pub city: String,
}

pub async fn load(pool: &Pool, report_id: u64) -> Result<Sections, sqlx::Error> {
    sqlx::query_as!(
        Sections,
        "SELECT occupant_first_name, occupant_last_name, occupant_email, occupant_phone,
                landlord_name, landlord_email, landlord_phone,
                CAST(dwelling_surface AS DOUBLE) AS `dwelling_surface: f64`, dwelling_rooms, dwelling_occupants_count,
                dwelling_children_under_6 AS `dwelling_children_under_6: bool`,
                is_public_housing AS `is_public_housing: bool`,
                household_housing_allowance AS `household_housing_allowance: bool`,
                address_line, postal_code, city
         FROM reports WHERE id = ?",
        report_id
    )
    .fetch_one(pool)
    .await
}

/// Writes the sections if the report is still at `version`; false when
/// someone changed it in the meantime.
pub async fn save(
    conn: &mut MySqlConnection,
    report_id: u64,
    version: u32,
    s: &Sections,
    insee_code: &str,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        "UPDATE reports SET occupant_first_name = ?, occupant_last_name = ?, occupant_email = ?, occupant_phone = ?,
            landlord_name = ?, landlord_email = ?, landlord_phone = ?, dwelling_surface = ?, dwelling_rooms = ?,
            dwelling_occupants_count = ?, dwelling_children_under_6 = ?, is_public_housing = ?,
            household_housing_allowance = ?, address_line = ?, postal_code = ?, city = ?, insee_code = ?,
            version = version + 1
         WHERE id = ? AND version = ?",
        s.occupant_first_name,
        s.occupant_last_name,
        s.occupant_email,
        s.occupant_phone,
        s.landlord_name,
        s.landlord_email,
        s.landlord_phone,
        s.dwelling_surface,
        s.dwelling_rooms,
        s.dwelling_occupants_count,
        s.dwelling_children_under_6,
        s.is_public_housing,
        s.household_housing_allowance,
        s.address_line,
        s.postal_code,
        s.city,
        insee_code,
        report_id,
        version
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The precision codes of a report (for the score).
pub async fn precision_codes(
    conn: &mut MySqlConnection,
    report_id: u64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT p.code FROM report_defects d JOIN defect_precisions p ON p.id = d.precision_id WHERE d.report_id = ?",
        report_id
    )
    .fetch_all(conn)
    .await
}

pub async fn set_severity(
    conn: &mut MySqlConnection,
    report_id: u64,
    raw: f64,
    building: f64,
    dwelling: f64,
    rounded: f64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE reports SET severity_score = ?, severity_score_raw = ?, severity_building = ?, severity_dwelling = ? WHERE id = ?",
        rounded,
        raw,
        building,
        dwelling,
        report_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces the automatic (not visit-confirmed) qualifications.
pub async fn replace_auto_qualifications(
    conn: &mut MySqlConnection,
    report_id: u64,
    qualifications: &[(String, String, Vec<String>)],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM report_qualifications WHERE report_id = ? AND is_post_visit = FALSE",
        report_id
    )
    .execute(&mut *conn)
    .await?;
    for (qualification, status, codes) in qualifications {
        sqlx::query!(
            "INSERT INTO report_qualifications (report_id, qualification, status, precision_codes) VALUES (?, ?, ?, ?)",
            report_id,
            qualification,
            status,
            Json(codes)
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
