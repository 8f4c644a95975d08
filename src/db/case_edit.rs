//! Reads and writes of a report's editable sections (the back office's
//! "modifier" page, `domain::case::edit`). The score is recomputed
//! afterwards by `db::scoring::rescore`.

use sqlx::MySqlConnection;

use super::Pool;
pub use crate::domain::case::edit::Sections;

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

/// Writes the sections. The version is the plan's guard's business
/// (`case_plan::apply` checks and bumps it first).
pub async fn save(
    conn: &mut MySqlConnection,
    report_id: u64,
    s: &Sections,
    insee_code: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE reports SET occupant_first_name = ?, occupant_last_name = ?, occupant_email = ?, occupant_phone = ?,
            landlord_name = ?, landlord_email = ?, landlord_phone = ?, dwelling_surface = ?, dwelling_rooms = ?,
            dwelling_occupants_count = ?, dwelling_children_under_6 = ?, is_public_housing = ?,
            household_housing_allowance = ?, address_line = ?, postal_code = ?, city = ?, insee_code = ?
         WHERE id = ?",
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
        report_id
    )
    .execute(conn)
    .await?;
    Ok(())
}
