//! Reads and writes of what the resident corrects from the follow-up
//! space (`domain::case::resident_edit`), and the facts of the
//! message-after-closure rule. The version is the plan's guard's business;
//! the score is recomputed by `db::scoring::rescore` after a write.

use sqlx::MySqlConnection;

use super::Pool;
pub use crate::domain::case::resident_edit::ResidentDetails;

/// The correctable columns of a report, and its version.
pub async fn load(pool: &Pool, report_id: u64) -> Result<(ResidentDetails, u32), sqlx::Error> {
    let row = sqlx::query!(
        "SELECT declarant_first_name, declarant_last_name, declarant_phone,
                occupant_first_name, occupant_last_name, occupant_phone,
                landlord_name, landlord_first_name, landlord_email, landlord_phone,
                dwelling_occupants_count, dwelling_children_count,
                dwelling_children_under_6 AS `dwelling_children_under_6: bool`,
                CAST(dwelling_surface AS CHAR) AS dwelling_surface, dwelling_rooms, version
         FROM reports WHERE id = ?",
        report_id
    )
    .fetch_one(pool)
    .await?;
    Ok((
        ResidentDetails {
            declarant_first_name: row.declarant_first_name,
            declarant_last_name: row.declarant_last_name,
            declarant_phone: row.declarant_phone,
            occupant_first_name: row.occupant_first_name,
            occupant_last_name: row.occupant_last_name,
            occupant_phone: row.occupant_phone,
            landlord_name: row.landlord_name,
            landlord_first_name: row.landlord_first_name,
            landlord_email: row.landlord_email,
            landlord_phone: row.landlord_phone,
            occupants_count: row.dwelling_occupants_count,
            children_count: row.dwelling_children_count,
            children_under_6: row.dwelling_children_under_6,
            surface: row.dwelling_surface,
            rooms: row.dwelling_rooms,
        },
        row.version,
    ))
}

/// Writes the corrected columns (the surface as decimal text).
pub async fn save(
    conn: &mut MySqlConnection,
    report_id: u64,
    d: &ResidentDetails,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE reports SET declarant_first_name = ?, declarant_last_name = ?, declarant_phone = ?,
            occupant_first_name = ?, occupant_last_name = ?, occupant_phone = ?,
            landlord_name = ?, landlord_first_name = ?, landlord_email = ?, landlord_phone = ?,
            dwelling_occupants_count = ?, dwelling_children_count = ?, dwelling_children_under_6 = ?,
            dwelling_surface = CAST(? AS DECIMAL(7,2)), dwelling_rooms = ?
         WHERE id = ?",
        d.declarant_first_name,
        d.declarant_last_name,
        d.declarant_phone,
        d.occupant_first_name,
        d.occupant_last_name,
        d.occupant_phone,
        d.landlord_name,
        d.landlord_first_name,
        d.landlord_email,
        d.landlord_phone,
        d.occupants_count,
        d.children_count,
        d.children_under_6,
        d.surface,
        d.rooms,
        report_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether the resident (or a guest) wrote since the case was closed at
/// `closed_at`.
pub async fn wrote_since(
    pool: &Pool,
    report_id: u64,
    closed_at: time::PrimitiveDateTime,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT EXISTS (SELECT 1 FROM follow_ups
             WHERE report_id = ? AND author_kind = 'resident' AND created_at >= ?) AS `e: bool`",
        report_id,
        closed_at
    )
    .fetch_one(pool)
    .await
}
