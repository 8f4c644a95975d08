//! Drafts of the public form (`drafts`): one row per form in progress,
//! keyed by the uuid in the form's URLs.

use sqlx::{MySqlConnection, types::Json};

use super::Pool;
use crate::domain::report::draft::DraftPayload;

pub struct DraftRow {
    pub id: u64,
    pub uuid: String,
    pub payload: Json<DraftPayload>,
    pub current_step: String,
    pub status: String,
    pub territory_id: Option<u32>,
    pub report_id: Option<u64>,
}

pub async fn insert(
    conn: &mut MySqlConnection,
    uuid: &str,
    payload: &DraftPayload,
    step: &str,
    territory_id: u32,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO drafts (uuid, payload, current_step, territory_id) VALUES (?, ?, ?, ?)",
        uuid,
        Json(payload),
        step,
        territory_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find(pool: &Pool, uuid: &str) -> Result<Option<DraftRow>, sqlx::Error> {
    sqlx::query_as!(
        DraftRow,
        "SELECT id, uuid, payload AS `payload: Json<DraftPayload>`, current_step, status,
                territory_id, report_id
         FROM drafts WHERE uuid = ?",
        uuid
    )
    .fetch_optional(pool)
    .await
}

/// Locks the draft row until the end of the transaction: two submissions
/// of the same draft run one after the other.
pub async fn lock(conn: &mut MySqlConnection, uuid: &str) -> Result<Option<DraftRow>, sqlx::Error> {
    sqlx::query_as!(
        DraftRow,
        "SELECT id, uuid, payload AS `payload: Json<DraftPayload>`, current_step, status,
                territory_id, report_id
         FROM drafts WHERE uuid = ? FOR UPDATE",
        uuid
    )
    .fetch_optional(conn)
    .await
}

/// Saves the answers of a step (only while the draft is in progress).
#[allow(clippy::too_many_arguments)]
pub async fn update(
    pool: &Pool,
    id: u64,
    payload: &DraftPayload,
    step: &str,
    territory_id: u32,
    profile: Option<&str>,
    email: Option<&str>,
    checksum: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE drafts SET payload = ?, current_step = ?, territory_id = ?, profile = ?, email = ?, checksum = ?
         WHERE id = ? AND status = 'en_cours'",
        Json(payload),
        step,
        territory_id,
        profile,
        email,
        checksum,
        id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Saves the payload only (files kept after a screen with errors).
pub async fn update_payload(
    pool: &Pool,
    id: u64,
    payload: &DraftPayload,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE drafts SET payload = ? WHERE id = ? AND status = 'en_cours'",
        Json(payload),
        id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The draft became a report.
pub async fn mark_submitted(
    conn: &mut MySqlConnection,
    id: u64,
    report_id: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE drafts SET status = 'en_signalement', report_id = ?, current_step = 'validation_signalement' WHERE id = ?",
        report_id,
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks a draft abandoned (a duplicate of an existing report).
pub async fn archive_draft(pool: &Pool, draft_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE drafts SET status = 'archive' WHERE id = ? AND status = 'en_cours'",
        draft_id
    )
    .execute(pool)
    .await?;
    Ok(())
}
