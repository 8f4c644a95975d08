//! Drafts of the public form (`drafts`): one row per form in progress,
//! keyed by the uuid in the form's URLs.

use sqlx::{
    MySql, MySqlConnection,
    encode::IsNull,
    error::BoxDynError,
    mysql::{MySqlTypeInfo, MySqlValueRef},
    types::Json,
};

use super::Pool;
use crate::domain::contact::Email;
use crate::domain::report::draft::{DraftPayload, DraftState};
use crate::domain::report::form::DeclarantProfile;

// `drafts.status` is a VARCHAR read and written as the domain's enum.
impl sqlx::Type<MySql> for DraftState {
    fn type_info() -> MySqlTypeInfo {
        <str as sqlx::Type<MySql>>::type_info()
    }
    fn compatible(ty: &MySqlTypeInfo) -> bool {
        <str as sqlx::Type<MySql>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, MySql> for DraftState {
    fn decode(value: MySqlValueRef<'r>) -> Result<Self, BoxDynError> {
        let raw = <&str as sqlx::Decode<MySql>>::decode(value)?;
        DraftState::parse(raw).ok_or_else(|| format!("unknown draft status {raw:?}").into())
    }
}

impl sqlx::Encode<'_, MySql> for DraftState {
    fn encode_by_ref(&self, buf: &mut Vec<u8>) -> Result<IsNull, BoxDynError> {
        <&str as sqlx::Encode<MySql>>::encode(self.code(), buf)
    }
}

pub struct DraftRow {
    pub id: u64,
    pub uuid: String,
    pub payload: Json<DraftPayload>,
    pub current_step: String,
    pub status: DraftState,
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
        "SELECT id, uuid, payload AS `payload: Json<DraftPayload>`, current_step,
                status AS `status: DraftState`,
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
        "SELECT id, uuid, payload AS `payload: Json<DraftPayload>`, current_step,
                status AS `status: DraftState`,
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
    profile: Option<DeclarantProfile>,
    email: Option<&Email>,
    checksum: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE drafts SET payload = ?, current_step = ?, territory_id = ?, profile = ?, email = ?, checksum = ?
         WHERE id = ? AND status = ?",
        Json(payload),
        step,
        territory_id,
        profile,
        email,
        checksum,
        id,
        DraftState::InProgress
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
        "UPDATE drafts SET payload = ? WHERE id = ? AND status = ?",
        Json(payload),
        id,
        DraftState::InProgress
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
        "UPDATE drafts SET status = ?, report_id = ?, current_step = 'validation_signalement' WHERE id = ?",
        DraftState::Submitted,
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
        "UPDATE drafts SET status = ? WHERE id = ? AND status = ?",
        DraftState::Archived,
        draft_id,
        DraftState::InProgress
    )
    .execute(pool)
    .await?;
    Ok(())
}
