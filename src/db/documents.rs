//! Files of a report (`documents`). The objects themselves live in the
//! storage under `object_key`, served only through the app.

use sqlx::{
    MySql, MySqlConnection,
    encode::IsNull,
    error::BoxDynError,
    mysql::{MySqlTypeInfo, MySqlValueRef},
};

use time::PrimitiveDateTime;

use super::Pool;
use crate::domain::antivirus::ScanStatus;

// `documents.scan_status` is a VARCHAR read and written as the domain's
// enum (the domain knows nothing of sqlx, so the impls live here).
impl sqlx::Type<MySql> for ScanStatus {
    fn type_info() -> MySqlTypeInfo {
        <str as sqlx::Type<MySql>>::type_info()
    }
    fn compatible(ty: &MySqlTypeInfo) -> bool {
        <str as sqlx::Type<MySql>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, MySql> for ScanStatus {
    fn decode(value: MySqlValueRef<'r>) -> Result<Self, BoxDynError> {
        let raw = <&str as sqlx::Decode<MySql>>::decode(value)?;
        ScanStatus::parse(raw).ok_or_else(|| format!("unknown scan_status {raw:?}").into())
    }
}

impl sqlx::Encode<'_, MySql> for ScanStatus {
    fn encode_by_ref(&self, buf: &mut Vec<u8>) -> Result<IsNull, BoxDynError> {
        <&str as sqlx::Encode<MySql>>::encode(self.as_str(), buf)
    }
}

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

/// Records a document, `pending` until its antivirus scan. Callers go
/// through `uploads::record`, which queues the scan job in the same
/// transaction (this layer knows no jobs).
pub async fn insert_pending(
    conn: &mut MySqlConnection,
    d: &NewDocument<'_>,
) -> Result<u64, sqlx::Error> {
    let id = sqlx::query!(
        "INSERT INTO documents (uuid, report_id, follow_up_id, object_key, thumbnail_key, filename, mime,
                                size, sha256, kind, document_type, defect_code, is_public, scan_status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
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
    .execute(&mut *conn)
    .await?
    .last_insert_id();
    Ok(id)
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
    pub scan_status: ScanStatus,
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
                is_public AS `is_public: bool`, scan_status AS `scan_status: ScanStatus`
         FROM documents
         WHERE report_id = ? AND (is_public = TRUE OR uploaded_by_user_id IS NULL) AND (visit_id IS NULL OR is_public = TRUE)
           AND deleted_at IS NULL
         ORDER BY id",
        report_id
    )
    .fetch_all(pool)
    .await
}

pub async fn count_for_report(pool: &Pool, report_id: u64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT COUNT(*) FROM documents WHERE report_id = ? AND deleted_at IS NULL",
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
                is_public AS `is_public: bool`, scan_status AS `scan_status: ScanStatus`
         FROM documents
         WHERE report_id = ? AND uuid = ? AND (is_public = TRUE OR uploaded_by_user_id IS NULL)
           AND (visit_id IS NULL OR is_public = TRUE) AND deleted_at IS NULL",
        report_id,
        uuid
    )
    .fetch_optional(pool)
    .await
}

/// A document as the antivirus job sees it.
pub struct ScanTarget {
    pub id: u64,
    pub uuid: String,
    pub report_id: u64,
    pub report_uuid: String,
    pub territory_id: u32,
    pub object_key: String,
    pub thumbnail_key: Option<String>,
    pub filename: String,
    pub scan_status: ScanStatus,
    /// The back-office user who sent it; `None` for the resident.
    pub uploader_email: Option<String>,
}

pub async fn find_for_scan(pool: &Pool, id: u64) -> Result<Option<ScanTarget>, sqlx::Error> {
    sqlx::query_as!(
        ScanTarget,
        "SELECT d.id, d.uuid, d.report_id, r.uuid AS report_uuid, r.territory_id, d.object_key,
                d.thumbnail_key, d.filename, d.scan_status AS `scan_status: ScanStatus`,
                u.email AS `uploader_email?`
         FROM documents d JOIN reports r ON r.id = d.report_id
         LEFT JOIN users u ON u.id = d.uploaded_by_user_id
         WHERE d.id = ?",
        id
    )
    .fetch_optional(pool)
    .await
}

/// clamd found nothing: the file may be served. Only a pending document
/// changes (a verdict is final).
pub async fn mark_clean(pool: &Pool, id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE documents SET scan_status = 'clean', scanned_at = UTC_TIMESTAMP()
         WHERE id = ? AND scan_status = 'pending'",
        id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// clamd found `signature`: the row now points at the quarantined copy and
/// loses its thumbnail. Returns false when the document was not pending
/// (another worker got there first).
pub async fn mark_infected(
    conn: &mut MySqlConnection,
    id: u64,
    signature: &str,
    quarantine_key: &str,
) -> Result<bool, sqlx::Error> {
    let signature: String = signature.chars().take(255).collect();
    let done = sqlx::query!(
        "UPDATE documents SET scan_status = 'infected', scanned_at = UTC_TIMESTAMP(),
                scan_signature = ?, object_key = ?, thumbnail_key = NULL
         WHERE id = ? AND scan_status = 'pending'",
        signature,
        quarantine_key,
        id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Documents still waiting for a verdict (the daily rescan), oldest first.
pub async fn list_pending(pool: &Pool, limit: u32) -> Result<Vec<(u64, u64)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT id, report_id FROM documents WHERE scan_status = 'pending' ORDER BY id LIMIT ?",
        limit
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.report_id)).collect())
}

/// A document of a case as the back office lists it (deleted ones left out).
pub struct CaseDocumentRow {
    pub id: u64,
    pub uuid: String,
    pub filename: String,
    pub title: Option<String>,
    pub mime: String,
    pub size: u64,
    pub kind: String,
    pub document_type: Option<String>,
    pub is_public: bool,
    pub has_thumbnail: bool,
    pub created_at: PrimitiveDateTime,
    pub scan_status: ScanStatus,
    pub uploaded_by_user_id: Option<u64>,
    pub uploader_name: Option<String>,
    pub visit_id: Option<u64>,
}

/// The case page's documents, oldest first.
pub async fn list_for_case(
    pool: &Pool,
    report_id: u64,
) -> Result<Vec<CaseDocumentRow>, sqlx::Error> {
    sqlx::query_as!(
        CaseDocumentRow,
        "SELECT d.id, d.uuid, d.filename, d.title, d.mime, d.size, d.kind, d.document_type,
                d.is_public AS `is_public: bool`, (d.thumbnail_key IS NOT NULL) AS `has_thumbnail: bool`,
                d.created_at, d.scan_status AS `scan_status: ScanStatus`, d.uploaded_by_user_id,
                CONCAT_WS(' ', u.first_name, u.last_name) AS `uploader_name?`, d.visit_id
         FROM documents d LEFT JOIN users u ON u.id = d.uploaded_by_user_id
         WHERE d.report_id = ? AND d.deleted_at IS NULL
         ORDER BY d.created_at, d.id",
        report_id
    )
    .fetch_all(pool)
    .await
}

/// One live document of the case list's shape, read in a write's
/// transaction (the document a write just added).
pub async fn case_document_in(
    conn: &mut sqlx::MySqlConnection,
    id: u64,
) -> Result<Option<CaseDocumentRow>, sqlx::Error> {
    sqlx::query_as!(
        CaseDocumentRow,
        "SELECT d.id, d.uuid, d.filename, d.title, d.mime, d.size, d.kind, d.document_type,
                d.is_public AS `is_public: bool`, (d.thumbnail_key IS NOT NULL) AS `has_thumbnail: bool`,
                d.created_at, d.scan_status AS `scan_status: ScanStatus`, d.uploaded_by_user_id,
                CONCAT_WS(' ', u.first_name, u.last_name) AS `uploader_name?`, d.visit_id
         FROM documents d LEFT JOIN users u ON u.id = d.uploaded_by_user_id
         WHERE d.id = ? AND d.deleted_at IS NULL",
        id
    )
    .fetch_optional(conn)
    .await
}

/// One live document with what the back-office actions need.
pub struct ManagedDocument {
    pub id: u64,
    pub uuid: String,
    pub report_uuid: String,
    pub object_key: String,
    pub thumbnail_key: Option<String>,
    pub filename: String,
    pub title: Option<String>,
    pub mime: String,
    pub kind: String,
    pub document_type: Option<String>,
    pub is_public: bool,
    pub scan_status: ScanStatus,
    pub uploaded_by_user_id: Option<u64>,
}

impl ManagedDocument {
    /// What the document commands decide on.
    pub fn facts(&self) -> crate::domain::document::commands::DocumentFacts {
        crate::domain::document::commands::DocumentFacts {
            id: self.id,
            uuid: self.uuid.clone(),
            filename: self.filename.clone(),
            title: self.title.clone(),
            document_type: crate::domain::document::DocumentType::from_stored(
                self.document_type.as_deref(),
            ),
            is_public: self.is_public,
            is_image: self.kind == "photo",
            scan_status: self.scan_status,
            uploaded_by: self.uploaded_by_user_id,
        }
    }
}

/// A document not deleted, by its public id.
pub async fn find_managed(pool: &Pool, uuid: &str) -> Result<Option<ManagedDocument>, sqlx::Error> {
    sqlx::query_as!(
        ManagedDocument,
        "SELECT d.id, d.uuid, r.uuid AS report_uuid, d.object_key, d.thumbnail_key, d.filename, d.title,
                d.mime, d.kind, d.document_type, d.is_public AS `is_public: bool`,
                d.scan_status AS `scan_status: ScanStatus`, d.uploaded_by_user_id
         FROM documents d JOIN reports r ON r.id = d.report_id
         WHERE d.uuid = ? AND d.deleted_at IS NULL",
        uuid
    )
    .fetch_optional(pool)
    .await
}

/// Names the back-office user who added a document, and its title.
pub async fn set_uploader(
    conn: &mut MySqlConnection,
    id: u64,
    user_id: Option<u64>,
    title: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE documents SET uploaded_by_user_id = ?, title = ? WHERE id = ?",
        user_id,
        title,
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// New title, type and visibility; false when the document is gone.
pub async fn update_details(
    conn: &mut MySqlConnection,
    id: u64,
    title: Option<&str>,
    document_type: &str,
    is_public: bool,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE documents SET title = ?, document_type = ?, is_public = ?, updated_at = UTC_TIMESTAMP()
         WHERE id = ? AND deleted_at IS NULL",
        title,
        document_type,
        is_public,
        id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The turned image's objects replace the old ones, only if the row still
/// points at `from_key`; false otherwise (turned or deleted meanwhile).
pub async fn replace_objects(
    conn: &mut MySqlConnection,
    id: u64,
    from_key: &str,
    d: &NewObjects<'_>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE documents SET object_key = ?, thumbnail_key = ?, resized_key = NULL, mime = ?, size = ?,
                sha256 = ?, updated_at = UTC_TIMESTAMP()
         WHERE id = ? AND object_key = ? AND deleted_at IS NULL",
        d.object_key,
        d.thumbnail_key,
        d.mime,
        d.size,
        d.sha256,
        id,
        from_key
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The objects a document points at after a rotation.
pub struct NewObjects<'a> {
    pub object_key: &'a str,
    pub thumbnail_key: Option<&'a str>,
    pub mime: &'a str,
    pub size: u64,
    pub sha256: &'a str,
}

/// Soft delete; false when already deleted.
pub async fn soft_delete(
    conn: &mut MySqlConnection,
    id: u64,
    by: Option<u64>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE documents SET deleted_at = UTC_TIMESTAMP(), deleted_by_user_id = ?
         WHERE id = ? AND deleted_at IS NULL",
        by,
        id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
