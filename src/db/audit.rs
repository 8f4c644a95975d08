//! The audit log: who did what, when, from where, with a field-level diff.

use sqlx::{MySqlConnection, types::Json};
use time::PrimitiveDateTime;

use super::Pool;

/// One event to record.
pub struct NewEvent<'a> {
    pub actor_user_id: Option<u64>,
    pub actor_email: Option<&'a str>,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: Option<String>,
    pub report_id: Option<u64>,
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<&'a str>,
    pub diff: Option<serde_json::Value>,
}

pub async fn insert(conn: &mut MySqlConnection, event: &NewEvent<'_>) -> Result<(), sqlx::Error> {
    let user_agent = event
        .user_agent
        .map(|ua| ua.chars().take(255).collect::<String>());
    sqlx::query!(
        "INSERT INTO audit_events (actor_user_id, actor_email, action, entity_type, entity_id, report_id, ip, user_agent, diff)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        event.actor_user_id,
        event.actor_email,
        event.action,
        event.entity_type,
        event.entity_id,
        event.report_id,
        event.ip.map(|ip| ip.to_string()),
        user_agent,
        event.diff.as_ref().map(Json)
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub struct EventRow {
    pub id: u64,
    pub actor_email: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub ip: Option<String>,
    pub diff: Option<Json<serde_json::Value>>,
    pub created_at: PrimitiveDateTime,
}

/// Filters of the audit page.
#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    pub actor: String,
    pub action: String,
    pub entity_type: String,
}

pub async fn list(
    pool: &Pool,
    filter: &EventFilter,
    limit: u32,
    offset: u32,
) -> Result<(Vec<EventRow>, i64), sqlx::Error> {
    let actor = format!("%{}%", super::escape_like(filter.actor.trim()));
    let rows = sqlx::query_as!(
        EventRow,
        "SELECT id, actor_email, action, entity_type, entity_id, ip,
                diff AS `diff: Json<serde_json::Value>`, created_at
         FROM audit_events
         WHERE (? = '%%' OR actor_email LIKE ?)
           AND (? = '' OR action = ?)
           AND (? = '' OR entity_type = ?)
         ORDER BY created_at DESC, id DESC
         LIMIT ? OFFSET ?",
        actor,
        actor,
        filter.action,
        filter.action,
        filter.entity_type,
        filter.entity_type,
        limit,
        offset
    )
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar!(
        "SELECT COUNT(*) AS `n!: i64` FROM audit_events
         WHERE (? = '%%' OR actor_email LIKE ?)
           AND (? = '' OR action = ?)
           AND (? = '' OR entity_type = ?)",
        actor,
        actor,
        filter.action,
        filter.action,
        filter.entity_type,
        filter.entity_type
    )
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}
