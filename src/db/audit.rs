//! The audit log: who did what, when, from where, with a field-level diff.
//!
//! [`record`] is the one way to write it, and it takes the connection of
//! the business transaction: the event is committed with the change it
//! describes, or not at all (never after the commit, where a crash would
//! leave an unaudited change).

use sqlx::{MySqlConnection, types::Json};
use time::PrimitiveDateTime;

use super::Pool;

/// One event to record.
#[derive(Debug, Clone)]
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

impl<'a> NewEvent<'a> {
    /// An action of a signed-in user (or of the system when `actor` is
    /// `None`) on one entity; origin, report and diff are added with the
    /// methods below.
    pub fn new(
        actor: Option<(u64, &'a str)>,
        action: &'a str,
        entity_type: &'a str,
        entity_id: Option<String>,
    ) -> Self {
        Self {
            actor_user_id: actor.map(|(id, _)| id),
            actor_email: actor.map(|(_, email)| email),
            action,
            entity_type,
            entity_id,
            report_id: None,
            ip: None,
            user_agent: None,
            diff: None,
        }
    }

    /// An action on a case (entity "report", linked to the report).
    pub fn on_case(
        actor: Option<(u64, &'a str)>,
        action: &'a str,
        report_id: u64,
        diff: Option<serde_json::Value>,
    ) -> Self {
        Self {
            report_id: Some(report_id),
            diff,
            ..Self::new(actor, action, "report", Some(report_id.to_string()))
        }
    }

    /// Where the request came from.
    pub fn from_origin(self, ip: Option<std::net::IpAddr>, user_agent: Option<&'a str>) -> Self {
        Self {
            ip,
            user_agent,
            ..self
        }
    }

    pub fn with_diff(self, diff: Option<serde_json::Value>) -> Self {
        Self { diff, ..self }
    }
}

/// Writes one audit event, inside the caller's business transaction.
pub async fn record(conn: &mut MySqlConnection, event: &NewEvent<'_>) -> Result<(), sqlx::Error> {
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
