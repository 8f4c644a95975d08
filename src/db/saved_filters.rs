//! Saved list filters, per user.

use sqlx::MySqlConnection;

use super::Pool;

pub struct SavedFilterRow {
    pub id: u64,
    pub name: String,
    pub query_string: String,
}

pub async fn list(pool: &Pool, user_id: u64) -> Result<Vec<SavedFilterRow>, sqlx::Error> {
    sqlx::query_as!(
        SavedFilterRow,
        "SELECT id, name, query_string FROM saved_filters WHERE user_id = ? ORDER BY name",
        user_id
    )
    .fetch_all(pool)
    .await
}

pub async fn insert(
    conn: &mut MySqlConnection,
    user_id: u64,
    name: &str,
    query_string: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO saved_filters (user_id, name, query_string) VALUES (?, ?, ?)",
        user_id,
        name,
        query_string
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes one of the user's own filters; false if it is not theirs.
pub async fn delete(
    conn: &mut MySqlConnection,
    user_id: u64,
    id: u64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        "DELETE FROM saved_filters WHERE id = ? AND user_id = ?",
        id,
        user_id
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}
