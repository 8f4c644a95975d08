//! Orders (arrêtés): writing one, reading those of a case or of an
//! address (docs/arretes.md).

use sqlx::MySqlConnection;
use time::{Date, PrimitiveDateTime};

use super::Pool;
use crate::domain::address::AddressKey;
use crate::domain::arrete::{Source, ValidArrete};

/// Where an order is written: its territory, address, and case if known.
pub struct Placement<'a> {
    pub territory_id: u32,
    pub report_id: Option<u64>,
    pub address_key: &'a AddressKey,
    pub address_label: &'a str,
    pub source: Source,
    pub created_by: Option<u64>,
}

/// Why an order was not written.
#[derive(Debug)]
pub enum InsertError {
    /// The territory already has an order with this number and date.
    Duplicate,
    Db(sqlx::Error),
}

impl From<sqlx::Error> for InsertError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e)
    }
}

/// Writes an order in the caller's transaction; a second order with the
/// same territory, number and date is `Duplicate` (the unique key decides,
/// so two concurrent imports cannot both write it).
pub async fn insert(
    conn: &mut MySqlConnection,
    at: &Placement<'_>,
    order: &ValidArrete,
) -> Result<u64, InsertError> {
    let uuid = uuid::Uuid::new_v4().to_string();
    let done = sqlx::query!(
        "INSERT INTO arretes (uuid, territory_id, report_id, address_key, address_label, kind, number,
            order_date, signatory, signer_name, works_deadline, lifted_on, source, created_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        uuid,
        at.territory_id,
        at.report_id,
        at.address_key.as_str(),
        at.address_label,
        order.kind.as_str(),
        order.number,
        order.date,
        order.signatory.as_str(),
        order.signer_name,
        order.works_deadline,
        order.lifted_on,
        at.source.as_str(),
        at.created_by
    )
    .execute(conn)
    .await;
    match done {
        Ok(done) => Ok(done.last_insert_id()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(InsertError::Duplicate),
        Err(e) => Err(e.into()),
    }
}

/// Writes an order on a case (`case_plan::apply`, in its transaction): the
/// territory and the address are the case's, read by the same statement.
/// `None` when the case is unknown or `document_id` is not one of its live
/// documents; `Duplicate` when the territory has this number and date.
pub async fn insert_for_case(
    conn: &mut MySqlConnection,
    report_id: u64,
    created_by: Option<u64>,
    order: &ValidArrete,
    document_id: Option<u64>,
) -> Result<Option<String>, InsertError> {
    let uuid = uuid::Uuid::new_v4().to_string();
    let done = sqlx::query!(
        "INSERT INTO arretes (uuid, territory_id, report_id, address_key, address_label, kind, number,
            order_date, signatory, signer_name, works_deadline, lifted_on, document_id, source, created_by)
         SELECT ?, r.territory_id, r.id, r.address_key, CONCAT(r.address_line, ', ', r.postal_code, ' ', r.city),
            ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
         FROM reports r
         WHERE r.id = ?
           AND (? IS NULL OR EXISTS (SELECT 1 FROM documents d
                WHERE d.id = ? AND d.report_id = r.id AND d.deleted_at IS NULL))",
        uuid,
        order.kind.as_str(),
        order.number,
        order.date,
        order.signatory.as_str(),
        order.signer_name,
        order.works_deadline,
        order.lifted_on,
        document_id,
        Source::Manual.as_str(),
        created_by,
        report_id,
        document_id,
        document_id
    )
    .execute(conn)
    .await;
    match done {
        Ok(done) if done.rows_affected() == 1 => Ok(Some(uuid)),
        Ok(_) => Ok(None),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(InsertError::Duplicate),
        Err(e) => Err(e.into()),
    }
}

/// Whether the territory already has this order (number and date).
pub async fn exists(
    pool: &Pool,
    territory_id: u32,
    number: &str,
    date: Date,
) -> Result<bool, sqlx::Error> {
    let found = sqlx::query_scalar!(
        "SELECT COUNT(*) FROM arretes WHERE territory_id = ? AND number = ? AND order_date = ?",
        territory_id,
        number,
        date
    )
    .fetch_one(pool)
    .await?;
    Ok(found > 0)
}

/// An order as listed on a case page or an address page.
pub struct ArreteRow {
    pub uuid: String,
    pub report_id: Option<u64>,
    pub address_label: String,
    pub kind: String,
    pub number: String,
    pub order_date: Date,
    pub signatory: String,
    pub signer_name: Option<String>,
    pub works_deadline: Option<Date>,
    pub lifted_on: Option<Date>,
    pub source: String,
    pub created_at: PrimitiveDateTime,
}

/// The orders recorded at an address, newest first (at most 200: an
/// address with more is a data problem, not a page to draw).
pub async fn at_address(pool: &Pool, key: &AddressKey) -> Result<Vec<ArreteRow>, sqlx::Error> {
    sqlx::query_as!(
        ArreteRow,
        "SELECT uuid, report_id, address_label, kind, number, order_date, signatory, signer_name,
                works_deadline, lifted_on, source, created_at
         FROM arretes WHERE address_key = ? ORDER BY order_date DESC, id DESC LIMIT 200",
        key.as_str()
    )
    .fetch_all(pool)
    .await
}

/// The address key of a case (`reports.address_key`) and its address as
/// written ("12 rue X, 69003 Lyon").
pub async fn case_address(pool: &Pool, report_id: u64) -> Result<(String, String), sqlx::Error> {
    let row = sqlx::query!(
        "SELECT address_key AS `address_key!`, address_line, postal_code, city FROM reports WHERE id = ?",
        report_id
    )
    .fetch_one(pool)
    .await?;
    Ok((
        row.address_key,
        format!("{}, {} {}", row.address_line, row.postal_code, row.city),
    ))
}

/// The newest case of the territory at this address, if any: an imported
/// order is attached to it. (id, reference, uuid)
pub async fn case_at(
    pool: &Pool,
    territory_id: u32,
    key: &AddressKey,
) -> Result<Option<(u64, String, String)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT id, reference, uuid FROM reports
         WHERE address_key = ? AND territory_id = ?
         ORDER BY created_at DESC LIMIT 1",
        key.as_str(),
        territory_id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.id, r.reference, r.uuid)))
}

/// "Arrêté en cours" in the case list: an order recorded on the case and
/// not lifted (an EXISTS probe on `idx_arretes_report_lifted`).
pub fn push_in_force(qb: &mut sqlx::QueryBuilder<'_, sqlx::MySql>) {
    qb.push("EXISTS (SELECT 1 FROM arretes ar WHERE ar.report_id = r.id AND ar.lifted_on IS NULL)");
}
