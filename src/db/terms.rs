//! Acceptances of the agents' terms of use (docs/terms.md §3).

use sqlx::MySqlConnection;
use time::PrimitiveDateTime;

use super::Pool;

/// The version an agent accepted last, and when.
pub async fn accepted(
    pool: &Pool,
    user_id: u64,
) -> Result<(Option<String>, Option<PrimitiveDateTime>), sqlx::Error> {
    let row = sqlx::query!(
        "SELECT terms_version, terms_accepted_at FROM users WHERE id = ?",
        user_id
    )
    .fetch_one(pool)
    .await?;
    Ok((row.terms_version, row.terms_accepted_at))
}

/// Records that the agent accepted `version` now (in the caller's
/// transaction, with its audit event).
pub async fn accept(
    conn: &mut MySqlConnection,
    user_id: u64,
    version: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE users SET terms_version = ?, terms_accepted_at = UTC_TIMESTAMP() WHERE id = ?",
        version,
        user_id
    )
    .execute(conn)
    .await?;
    Ok(())
}
