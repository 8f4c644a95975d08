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

/// A pending change of address, waiting for its link.
#[derive(Debug, Clone)]
pub struct EmailChange {
    pub id: u64,
    pub report_id: u64,
    pub target: String,
    pub new_email: String,
    pub expired: bool,
}

/// Records a change to confirm (link valid `hours` hours).
pub async fn create_email_change(
    conn: &mut MySqlConnection,
    report_id: u64,
    target: &str,
    new_email: &str,
    token_hash: &str,
    hours: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "INSERT INTO email_changes (report_id, target, new_email, token_hash, created_at, expires_at)
         VALUES (?, ?, ?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP() + INTERVAL ? HOUR)",
        report_id,
        target,
        new_email,
        token_hash,
        hours
    )
    .execute(conn)
    .await?
    .last_insert_id())
}

/// The unused change whose token hashes to `token_hash` (expired or not).
pub async fn unused_email_change(
    pool: &Pool,
    token_hash: &str,
) -> Result<Option<EmailChange>, sqlx::Error> {
    sqlx::query_as!(
        EmailChange,
        "SELECT id, report_id, target, new_email, (expires_at < UTC_TIMESTAMP()) AS `expired!: bool`
         FROM email_changes WHERE token_hash = ? AND used_at IS NULL",
        token_hash
    )
    .fetch_optional(pool)
    .await
}

/// Uses the change once (false: a concurrent opening used it first) and
/// writes the address: the declarant's, and the occupant's too when
/// `both` (the declarant is the occupant) or the target is the occupant.
pub async fn apply_email_change(
    conn: &mut MySqlConnection,
    change: &EmailChange,
    both: bool,
) -> Result<bool, sqlx::Error> {
    let used = sqlx::query!(
        "UPDATE email_changes SET used_at = UTC_TIMESTAMP() WHERE id = ? AND used_at IS NULL",
        change.id
    )
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if !used {
        return Ok(false);
    }
    let declarant = both || change.target == "declarant";
    let occupant = both || change.target == "occupant";
    sqlx::query!(
        "UPDATE reports SET declarant_email = IF(?, ?, declarant_email),
                            occupant_email = IF(?, ?, occupant_email)
         WHERE id = ?",
        declarant,
        change.new_email,
        occupant,
        change.new_email,
        change.report_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(true)
}
