//! What the demo data (`histologe seed`) reads and writes besides the
//! generated reports (those go through `db::bulk`). Demo and test fixtures
//! only: the production platform is filled by its users.

use sqlx::MySqlConnection;
use time::PrimitiveDateTime;

use super::Pool;
use crate::domain::case::AssignmentStatus;

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

pub async fn insert_assignment(
    conn: &mut MySqlConnection,
    report_id: u64,
    partner_id: u64,
    status: AssignmentStatus,
    at: PrimitiveDateTime,
) -> Result<(), sqlx::Error> {
    // Answered at the same time, unless still waiting for an answer.
    let answered_at = (status != AssignmentStatus::New).then_some(at);
    sqlx::query!(
        "INSERT IGNORE INTO assignments (report_id, partner_id, status, answered_at, created_at)
         VALUES (?, ?, ?, ?, ?)",
        report_id,
        partner_id,
        status,
        answered_at,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The two oldest active cases of a territory (the demo's pair of cases at
/// one address, docs/generator.md §5).
pub async fn two_active_cases(
    conn: &mut MySqlConnection,
    territory_id: u32,
) -> Result<Vec<u64>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM reports WHERE territory_id = ? AND status = ? ORDER BY id LIMIT 2",
        territory_id,
        crate::domain::case::ReportStatus::Active.as_str()
    )
    .fetch_all(conn)
    .await
}

/// Moves case `to` to the address of case `from`, spelled otherwise
/// (uppercase, a trailing dot): the normalised key makes them one address.
pub async fn copy_address(
    conn: &mut MySqlConnection,
    from: u64,
    to: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE reports r JOIN reports a ON a.id = ?
         SET r.address_line = CONCAT(UPPER(a.address_line), '.'), r.postal_code = a.postal_code,
             r.city = a.city, r.insee_code = a.insee_code, r.ban_id = a.ban_id,
             r.latitude = a.latitude, r.longitude = a.longitude
         WHERE r.id = ?",
        from,
        to
    )
    .execute(conn)
    .await?;
    Ok(())
}
