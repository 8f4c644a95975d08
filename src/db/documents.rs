//! Files of a report (`documents`). The objects themselves live in the
//! storage under `object_key`, served only through the app.

use sqlx::MySqlConnection;

use super::Pool;

pub struct NewDocument<'a> {
    pub uuid: &'a str,
    pub report_id: u64,
    pub follow_up_id: Option<u64>,
    pub object_key: &'a str,
    pub thumbnail_key: Option<&'a str>,
    pub filename: &'a str,
    pub mime: &'a str,
    pub size: u64,
    pub sha256: &'a str,
    pub kind: &'a str,
    pub document_type: &'a str,
    pub defect_code: Option<&'a str>,
    pub is_public: bool,
}

pub async fn insert(conn: &mut MySqlConnection, d: &NewDocument<'_>) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "INSERT INTO documents (uuid, report_id, follow_up_id, object_key, thumbnail_key, filename, mime,
                                size, sha256, kind, document_type, defect_code, is_public, scan_status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'clean')",
        d.uuid,
        d.report_id,
        d.follow_up_id,
        d.object_key,
        d.thumbnail_key,
        d.filename,
        d.mime,
        d.size,
        d.sha256,
        d.kind,
        d.document_type,
        d.defect_code,
        d.is_public
    )
    .execute(conn)
    .await?
    .last_insert_id())
}

pub struct DocumentRow {
    pub id: u64,
    pub uuid: String,
    pub follow_up_id: Option<u64>,
    pub object_key: String,
    pub thumbnail_key: Option<String>,
    pub filename: String,
    pub mime: String,
    pub size: u64,
    pub kind: String,
    pub document_type: Option<String>,
    pub is_public: bool,
}

/// The files of a report the resident may see: those sent from the form or
/// the follow-up space, and those partners made public.
pub async fn list_for_resident(
    pool: &Pool,
    report_id: u64,
) -> Result<Vec<DocumentRow>, sqlx::Error> {
    sqlx::query_as!(
        DocumentRow,
        "SELECT id, uuid, follow_up_id, object_key, thumbnail_key, filename, mime, size, kind, document_type,
                is_public AS `is_public: bool`
         FROM documents
         WHERE report_id = ? AND (is_public = TRUE OR uploaded_by_user_id IS NULL) AND visit_id IS NULL
         ORDER BY id",
        report_id
    )
    .fetch_all(pool)
    .await
}

pub async fn count_for_report(pool: &Pool, report_id: u64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT COUNT(*) FROM documents WHERE report_id = ?",
        report_id
    )
    .fetch_one(pool)
    .await
}

/// One file of a report the resident may download.
pub async fn find_for_resident(
    pool: &Pool,
    report_id: u64,
    uuid: &str,
) -> Result<Option<DocumentRow>, sqlx::Error> {
    sqlx::query_as!(
        DocumentRow,
        "SELECT id, uuid, follow_up_id, object_key, thumbnail_key, filename, mime, size, kind, document_type,
                is_public AS `is_public: bool`
         FROM documents
         WHERE report_id = ? AND uuid = ? AND (is_public = TRUE OR uploaded_by_user_id IS NULL)
           AND visit_id IS NULL",
        report_id,
        uuid
    )
    .fetch_optional(pool)
    .await
}
