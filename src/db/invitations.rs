//! The third parties invited to a follow-up space
//! (`domain::case::invitation`, docs/resident-space.md §3): only the
//! SHA-256 of each link's token is stored; a revoked invitation opens
//! nothing.

use sqlx::MySqlConnection;

use super::Pool;
use crate::domain::case::invitation::{NewInvitation, Relation};

/// An invitation as the space lists it.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: u64,
    pub report_id: u64,
    pub name: String,
    pub email: String,
    pub relation: Relation,
    pub created_at: time::PrimitiveDateTime,
}

struct Row {
    id: u64,
    report_id: u64,
    name: String,
    email: String,
    relation: String,
    created_at: time::PrimitiveDateTime,
}

impl From<Row> for Invitation {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            report_id: r.report_id,
            name: r.name,
            email: r.email,
            relation: Relation::parse(&r.relation).unwrap_or(Relation::Other),
            created_at: r.created_at,
        }
    }
}

pub async fn create(
    conn: &mut MySqlConnection,
    report_id: u64,
    invitation: &NewInvitation,
    token_hash: &str,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "INSERT INTO invitations (report_id, name, email, relation, token_hash, created_at)
         VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP())",
        report_id,
        invitation.name,
        invitation.email,
        invitation.relation.code(),
        token_hash
    )
    .execute(conn)
    .await?
    .last_insert_id())
}

/// The invitations of a report still in force, oldest first.
pub async fn active_of_report(pool: &Pool, report_id: u64) -> Result<Vec<Invitation>, sqlx::Error> {
    Ok(sqlx::query_as!(
        Row,
        "SELECT id, report_id, name, email, relation, created_at FROM invitations
         WHERE report_id = ? AND revoked_at IS NULL ORDER BY id",
        report_id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(Invitation::from)
    .collect())
}

/// The invitation in force whose link token hashes to `token_hash`.
pub async fn active_by_token(
    pool: &Pool,
    token_hash: &str,
) -> Result<Option<Invitation>, sqlx::Error> {
    Ok(sqlx::query_as!(
        Row,
        "SELECT id, report_id, name, email, relation, created_at FROM invitations
         WHERE token_hash = ? AND revoked_at IS NULL",
        token_hash
    )
    .fetch_optional(pool)
    .await?
    .map(Invitation::from))
}

/// The invitation `id` of the report, if still in force.
pub async fn active(
    pool: &Pool,
    report_id: u64,
    id: u64,
) -> Result<Option<Invitation>, sqlx::Error> {
    Ok(sqlx::query_as!(
        Row,
        "SELECT id, report_id, name, email, relation, created_at FROM invitations
         WHERE id = ? AND report_id = ? AND revoked_at IS NULL",
        id,
        report_id
    )
    .fetch_optional(pool)
    .await?
    .map(Invitation::from))
}

/// Revokes the invitation; false when it was not in force (already
/// revoked by a concurrent request).
pub async fn revoke(
    conn: &mut MySqlConnection,
    report_id: u64,
    id: u64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query!(
        "UPDATE invitations SET revoked_at = UTC_TIMESTAMP()
         WHERE id = ? AND report_id = ? AND revoked_at IS NULL",
        id,
        report_id
    )
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// The follow-up code of a report (where a guest's link leads).
pub async fn follow_up_code(pool: &Pool, report_id: u64) -> Result<String, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT CAST(follow_up_code AS CHAR) AS `code!: String` FROM reports WHERE id = ?",
        report_id
    )
    .fetch_one(pool)
    .await
}
