//! Reads and writes of the "edit report sections" page. The score is
//! recomputed afterwards by `db::scoring::rescore`.

use sqlx::MySqlConnection;

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
