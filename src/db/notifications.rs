//! In-app notifications: unread count, list, marking seen.

use time::PrimitiveDateTime;

use super::Pool;
use crate::domain::case::NotificationKind;

pub async fn unread_count(pool: &Pool, user_id: u64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT COUNT(*) AS `n!: i64` FROM notifications WHERE user_id = ? AND seen_at IS NULL",
        user_id
    )
    .fetch_one(pool)
    .await
}

pub struct NotificationRow {
    pub id: u64,
    pub kind: NotificationKind,
    pub report_uuid: Option<String>,
    pub reference: Option<String>,
    pub seen: bool,
    pub created_at: PrimitiveDateTime,
}

pub async fn list(pool: &Pool, user_id: u64) -> Result<Vec<NotificationRow>, sqlx::Error> {
    sqlx::query_as!(
        NotificationRow,
        "SELECT n.id, n.kind AS `kind: NotificationKind`, r.uuid AS `report_uuid?`, r.reference AS `reference?`,
                (n.seen_at IS NOT NULL) AS `seen: bool`, n.created_at
         FROM notifications n LEFT JOIN reports r ON r.id = n.report_id
         WHERE n.user_id = ? ORDER BY n.created_at DESC, n.id DESC LIMIT 100",
        user_id
    )
    .fetch_all(pool)
    .await
}

/// Opening a case marks its notifications seen.
pub async fn mark_case_seen(pool: &Pool, user_id: u64, report_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE notifications SET seen_at = UTC_TIMESTAMP() WHERE user_id = ? AND report_id = ? AND seen_at IS NULL",
        user_id,
        report_id
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn mark_all_seen(pool: &Pool, user_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE notifications SET seen_at = UTC_TIMESTAMP() WHERE user_id = ? AND seen_at IS NULL",
        user_id
    )
    .execute(pool)
    .await?;
    Ok(())
}
