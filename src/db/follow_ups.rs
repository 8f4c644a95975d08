//! The timeline of a report (`follow_ups`).

use sqlx::MySqlConnection;

use super::Pool;

pub async fn insert(
    conn: &mut MySqlConnection,
    report_id: u64,
    author_kind: &str,
    category: &str,
    body: &str,
    is_public: bool,
) -> Result<u64, sqlx::Error> {
    let id = sqlx::query!(
        "INSERT INTO follow_ups (report_id, author_kind, category, body, is_public) VALUES (?, ?, ?, ?, ?)",
        report_id,
        author_kind,
        category,
        body,
        is_public
    )
    .execute(&mut *conn)
    .await?
    .last_insert_id();
    sqlx::query!(
        "UPDATE reports SET last_follow_up_at = UTC_TIMESTAMP(), last_follow_up_author_kind = ? WHERE id = ?",
        author_kind,
        report_id
    )
    .execute(conn)
    .await?;
    Ok(id)
}

pub struct FollowUpRow {
    pub id: u64,
    pub author_kind: String,
    pub category: String,
    pub body: String,
    pub created_at: time::PrimitiveDateTime,
}

/// The entries the resident may see, oldest first.
pub async fn list_public(pool: &Pool, report_id: u64) -> Result<Vec<FollowUpRow>, sqlx::Error> {
    sqlx::query_as!(
        FollowUpRow,
        "SELECT id, author_kind, category, body, created_at FROM follow_ups
         WHERE report_id = ? AND is_public = TRUE AND deleted_at IS NULL
         ORDER BY created_at, id",
        report_id
    )
    .fetch_all(pool)
    .await
}

/// Every entry (partners' view), oldest first.
pub async fn list_all(pool: &Pool, report_id: u64) -> Result<Vec<FollowUpRow>, sqlx::Error> {
    sqlx::query_as!(
        FollowUpRow,
        "SELECT id, author_kind, category, body, created_at FROM follow_ups
         WHERE report_id = ? AND deleted_at IS NULL ORDER BY created_at, id",
        report_id
    )
    .fetch_all(pool)
    .await
}
