//! The partner API's tables: accounts, their tokens, idempotent answers,
//! and the case reads of `/api/v1` (docs/api.md).
//!
//! Case pages are read in one query per page plus one query per kind of
//! child for the whole page (never one per case). The case detail reuses
//! the case page's own reads (`db::case_view`).

use sqlx::{MySql, MySqlConnection, QueryBuilder, Row};
use time::PrimitiveDateTime;

use super::Pool;
use crate::domain::{
    antivirus::ScanStatus,
    api::{AccountScope, ApiAccount, Permission, Permissions},
    case::ReportStatus,
    permissions::ReportScope,
};

// ------------------------------------------------------------ accounts

/// An account to create.
pub struct NewAccount<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    pub territory_id: u32,
    pub scope: &'a AccountScope,
    pub permissions: &'a Permissions,
    pub secret_hash: &'a str,
    pub created_by_user_id: u64,
}

pub async fn insert_account(
    conn: &mut MySqlConnection,
    account: &NewAccount<'_>,
) -> Result<u64, sqlx::Error> {
    let p = account.permissions;
    // The technical user the account acts through: no password, never
    // active, never e-mailed (docs/api.md §8).
    let user_id = sqlx::query!(
        "INSERT INTO users (uuid, email, first_name, last_name, role, status, notification_pref)
         VALUES (?, ?, 'Compte API', ?, 'agent', 'inactive', 'none')",
        uuid::Uuid::new_v4().to_string(),
        format!("api+{}@comptes-api.invalid", account.uuid),
        account.name
    )
    .execute(&mut *conn)
    .await?
    .last_insert_id();
    let id = sqlx::query!(
        "INSERT INTO api_accounts (uuid, name, territory_id, user_id, scope, can_read_cases, can_answer_assignments,
                                   can_write_follow_ups, can_write_visits, can_write_documents, secret_hash,
                                   created_by_user_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP())",
        account.uuid,
        account.name,
        account.territory_id,
        user_id,
        account.scope.code(),
        p.has(Permission::ReadCases),
        p.has(Permission::AnswerAssignments),
        p.has(Permission::WriteFollowUps),
        p.has(Permission::WriteVisits),
        p.has(Permission::WriteDocuments),
        account.secret_hash,
        account.created_by_user_id
    )
    .execute(&mut *conn)
    .await?
    .last_insert_id();
    if let AccountScope::Partners(ids) = account.scope {
        for partner_id in ids {
            sqlx::query!(
                "INSERT INTO api_account_partners (account_id, partner_id) VALUES (?, ?)",
                id,
                partner_id
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(id)
}

/// A row of the back-office list of accounts.
pub struct AccountRow {
    pub id: u64,
    pub uuid: String,
    pub name: String,
    pub territory_id: u32,
    pub territory_code: String,
    pub scope: String,
    pub partner_names: Option<String>,
    pub permissions: Vec<Permission>,
    pub created_at: PrimitiveDateTime,
    pub last_used_at: Option<PrimitiveDateTime>,
    pub revoked_at: Option<PrimitiveDateTime>,
}

/// The accounts of these territories (every territory when `None`),
/// active ones first, newest first.
pub async fn list_accounts(
    pool: &Pool,
    territory_ids: Option<&[u32]>,
) -> Result<Vec<AccountRow>, sqlx::Error> {
    let all = territory_ids.is_none();
    let ids = territory_ids.map(super::id_list).unwrap_or_default();
    let rows = sqlx::query!(
        "SELECT a.id, a.uuid, a.name, a.territory_id, t.code AS territory_code, a.scope,
                (SELECT GROUP_CONCAT(p.name ORDER BY p.name SEPARATOR ', ')
                   FROM api_account_partners ap JOIN partners p ON p.id = ap.partner_id
                  WHERE ap.account_id = a.id) AS partner_names,
                a.can_read_cases AS `can_read_cases: bool`,
                a.can_answer_assignments AS `can_answer_assignments: bool`,
                a.can_write_follow_ups AS `can_write_follow_ups: bool`,
                a.can_write_visits AS `can_write_visits: bool`,
                a.can_write_documents AS `can_write_documents: bool`,
                a.created_at, a.last_used_at, a.revoked_at
         FROM api_accounts a JOIN territories t ON t.id = a.territory_id
         WHERE ? OR FIND_IN_SET(a.territory_id, ?)
         ORDER BY a.revoked_at IS NOT NULL, a.created_at DESC, a.id DESC",
        all,
        ids
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AccountRow {
            permissions: permissions_of([
                r.can_read_cases,
                r.can_answer_assignments,
                r.can_write_follow_ups,
                r.can_write_visits,
                r.can_write_documents,
            ])
            .iter()
            .collect(),
            id: r.id,
            uuid: r.uuid,
            name: r.name,
            territory_id: r.territory_id,
            territory_code: r.territory_code,
            scope: r.scope,
            partner_names: r.partner_names,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        })
        .collect())
}

/// The territory of an account, if it exists.
pub async fn find_account_territory(pool: &Pool, id: u64) -> Result<Option<u32>, sqlx::Error> {
    sqlx::query_scalar!("SELECT territory_id FROM api_accounts WHERE id = ?", id)
        .fetch_optional(pool)
        .await
}

/// Revokes an account and every token it holds; false when it already was.
pub async fn revoke_account(
    conn: &mut MySqlConnection,
    id: u64,
    by_user_id: u64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE api_accounts SET revoked_at = UTC_TIMESTAMP(), revoked_by_user_id = ?
         WHERE id = ? AND revoked_at IS NULL",
        by_user_id,
        id
    )
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0;
    sqlx::query!(
        "UPDATE api_tokens SET revoked_at = UTC_TIMESTAMP() WHERE account_id = ? AND revoked_at IS NULL",
        id
    )
    .execute(&mut *conn)
    .await?;
    Ok(done)
}

fn permissions_of(flags: [bool; 5]) -> Permissions {
    Permissions::new(
        Permission::ALL
            .into_iter()
            .zip(flags)
            .filter_map(|(p, on)| on.then_some(p))
            .collect(),
    )
}

/// The account behind one row of `api_accounts` (with its partners).
async fn account_of(pool: &Pool, row: sqlx::mysql::MySqlRow) -> Result<ApiAccount, sqlx::Error> {
    let id: u64 = row.try_get("id")?;
    let territory_id: u32 = row.try_get("territory_id")?;
    let scope_code: String = row.try_get("scope")?;
    let scope = if scope_code == "partners" {
        let partners = sqlx::query_scalar!(
            "SELECT partner_id FROM api_account_partners WHERE account_id = ? ORDER BY partner_id",
            id
        )
        .fetch_all(pool)
        .await?;
        AccountScope::Partners(partners)
    } else {
        AccountScope::Territory(territory_id)
    };
    Ok(ApiAccount {
        id,
        uuid: row.try_get("uuid")?,
        name: row.try_get("name")?,
        territory_id,
        scope,
        permissions: permissions_of([
            row.try_get("can_read_cases")?,
            row.try_get("can_answer_assignments")?,
            row.try_get("can_write_follow_ups")?,
            row.try_get("can_write_visits")?,
            row.try_get("can_write_documents")?,
        ]),
        user_id: row.try_get("user_id")?,
    })
}

const ACCOUNT_COLUMNS: &str =
    "a.id, a.uuid, a.name, a.territory_id, a.user_id, a.scope, a.can_read_cases, a.can_answer_assignments,
     a.can_write_follow_ups, a.can_write_visits, a.can_write_documents";

/// The active account whose secret has this digest (and this public
/// identifier, when given).
pub async fn find_account_by_secret(
    pool: &Pool,
    uuid: Option<&str>,
    secret_hash: &str,
) -> Result<Option<ApiAccount>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM api_accounts a
         WHERE a.secret_hash = ? AND (? IS NULL OR a.uuid = ?) AND a.revoked_at IS NULL"
    ))
    .bind(secret_hash)
    .bind(uuid)
    .bind(uuid)
    .fetch_optional(pool)
    .await?;
    match row {
        Some(row) => account_of(pool, row).await.map(Some),
        None => Ok(None),
    }
}

// -------------------------------------------------------------- tokens

/// Stores a token digest valid `minutes`; returns its expiry (UTC).
pub async fn insert_token(
    pool: &Pool,
    account_id: u64,
    token_hash: &str,
    minutes: i64,
) -> Result<PrimitiveDateTime, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let id = sqlx::query!(
        "INSERT INTO api_tokens (account_id, token_hash, created_at, expires_at)
         VALUES (?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP() + INTERVAL ? MINUTE)",
        account_id,
        token_hash,
        minutes
    )
    .execute(&mut *tx)
    .await?
    .last_insert_id();
    let expires_at = sqlx::query_scalar!("SELECT expires_at FROM api_tokens WHERE id = ?", id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(expires_at)
}

/// The account of a live token (not expired, not revoked, account not
/// revoked), with the token's id.
pub async fn find_account_by_token(
    pool: &Pool,
    token_hash: &str,
) -> Result<Option<(ApiAccount, u64)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS}, k.id AS token_id FROM api_tokens k
         JOIN api_accounts a ON a.id = k.account_id
         WHERE k.token_hash = ? AND k.revoked_at IS NULL AND k.expires_at > UTC_TIMESTAMP()
           AND a.revoked_at IS NULL"
    ))
    .bind(token_hash)
    .fetch_optional(pool)
    .await?;
    match row {
        Some(row) => {
            let token_id: u64 = row.try_get("token_id")?;
            Ok(Some((account_of(pool, row).await?, token_id)))
        }
        None => Ok(None),
    }
}

/// Records the use of an account and its token, at most once a minute
/// (the list of accounts shows it; a write per call would be waste).
pub async fn touch(pool: &Pool, account_id: u64, token_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE api_accounts SET last_used_at = UTC_TIMESTAMP()
         WHERE id = ? AND (last_used_at IS NULL OR last_used_at < UTC_TIMESTAMP() - INTERVAL 1 MINUTE)",
        account_id
    )
    .execute(pool)
    .await?;
    sqlx::query!(
        "UPDATE api_tokens SET last_used_at = UTC_TIMESTAMP()
         WHERE id = ? AND (last_used_at IS NULL OR last_used_at < UTC_TIMESTAMP() - INTERVAL 1 MINUTE)",
        token_id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Revokes one token (its holder logging out).
pub async fn revoke_token(pool: &Pool, token_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE api_tokens SET revoked_at = UTC_TIMESTAMP() WHERE id = ? AND revoked_at IS NULL",
        token_id
    )
    .execute(pool)
    .await?;
    Ok(())
}

// ----------------------------------------------------------- idempotency

/// The answer kept for an Idempotency-Key.
pub struct StoredAnswer {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

pub async fn find_answer(
    pool: &Pool,
    account_id: u64,
    key: &str,
) -> Result<Option<StoredAnswer>, sqlx::Error> {
    sqlx::query_as!(
        StoredAnswer,
        "SELECT request_hash, status, body FROM api_idempotency_keys
         WHERE account_id = ? AND idempotency_key = ?",
        account_id,
        key
    )
    .fetch_optional(pool)
    .await
}

// ---------------------------------------------------------------- cases

/// Filters of `GET /api/v1/signalements`, parsed.
#[derive(Debug, Default, Clone)]
pub struct CaseQuery {
    /// Only cases changed (`reports.updated_at`) at or after this instant.
    pub since: Option<PrimitiveDateTime>,
    pub status: Option<ReportStatus>,
    pub insee_code: Option<String>,
    /// An assignment to the account's scope made in this range (inclusive).
    pub assigned_from: Option<PrimitiveDateTime>,
    pub assigned_to: Option<PrimitiveDateTime>,
    /// Cases of id greater than this (the cursor).
    pub after_id: u64,
    pub limit: u32,
}

/// One case of a page.
#[derive(Debug, Clone)]
pub struct CaseSummary {
    pub id: u64,
    pub uuid: String,
    pub reference: String,
    pub territory_code: String,
    pub status: ReportStatus,
    pub declarant_profile: String,
    pub address_line: String,
    pub postal_code: String,
    pub city: String,
    pub insee_code: Option<String>,
    pub severity: Option<f64>,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
    pub validated_at: Option<PrimitiveDateTime>,
    pub closed_at: Option<PrimitiveDateTime>,
}

/// One page of the cases `scope` may read, in id order, at most
/// `query.limit + 1` rows (the extra one says whether a next page exists).
pub async fn list_cases(
    pool: &Pool,
    scope: &ReportScope,
    query: &CaseQuery,
) -> Result<Vec<CaseSummary>, sqlx::Error> {
    let mut qb: QueryBuilder<'_, MySql> = QueryBuilder::new(
        "SELECT r.id, r.uuid, r.reference, t.code AS territory_code, r.status, r.declarant_profile,
                r.address_line, r.postal_code, r.city, r.insee_code,
                CAST(r.severity_score AS DOUBLE) AS severity, r.created_at, r.updated_at,
                r.validated_at, r.closed_at
         FROM reports r JOIN territories t ON t.id = r.territory_id
         WHERE r.id > ",
    );
    qb.push_bind(query.after_id);
    super::cases::push_scope(&mut qb, scope);
    if let Some(since) = query.since {
        qb.push(" AND r.updated_at >= ").push_bind(since);
    }
    if let Some(status) = &query.status {
        qb.push(" AND r.status = ").push_bind(*status);
    }
    if let Some(insee) = &query.insee_code {
        qb.push(" AND r.insee_code = ").push_bind(insee.clone());
    }
    if query.assigned_from.is_some() || query.assigned_to.is_some() {
        qb.push(" AND EXISTS (SELECT 1 FROM assignments fa WHERE fa.report_id = r.id");
        if let ReportScope::Partners(ids) = scope {
            qb.push(" AND fa.partner_id IN (");
            let mut list = qb.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            if ids.is_empty() {
                list.push("NULL");
            }
            qb.push(")");
        }
        if let Some(from) = query.assigned_from {
            qb.push(" AND fa.created_at >= ").push_bind(from);
        }
        if let Some(to) = query.assigned_to {
            qb.push(" AND fa.created_at <= ").push_bind(to);
        }
        qb.push(")");
    }
    qb.push(" ORDER BY r.id LIMIT ").push_bind(query.limit + 1);
    let rows = qb.build().fetch_all(pool).await?;
    rows.into_iter()
        .map(|r| {
            Ok(CaseSummary {
                id: r.try_get("id")?,
                uuid: r.try_get("uuid")?,
                reference: r.try_get("reference")?,
                territory_code: r.try_get("territory_code")?,
                status: r.try_get("status")?,
                declarant_profile: r.try_get("declarant_profile")?,
                address_line: r.try_get("address_line")?,
                postal_code: r.try_get("postal_code")?,
                city: r.try_get("city")?,
                insee_code: r.try_get("insee_code")?,
                severity: r.try_get("severity")?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
                validated_at: r.try_get("validated_at")?,
                closed_at: r.try_get("closed_at")?,
            })
        })
        .collect()
}

/// An assignment, with its public id, for the API.
#[derive(Debug, Clone)]
pub struct AssignmentSummary {
    pub report_id: u64,
    pub uuid: String,
    pub partner_id: u64,
    pub partner_name: String,
    pub status: String,
    pub refusal_reason: Option<String>,
    pub closure_reason: Option<String>,
    pub answer_message: Option<String>,
    pub created_at: PrimitiveDateTime,
    pub answered_at: Option<PrimitiveDateTime>,
    pub closed_at: Option<PrimitiveDateTime>,
}

/// The assignments of these cases, in one query.
pub async fn assignments_of(
    pool: &Pool,
    report_ids: &[u64],
) -> Result<Vec<AssignmentSummary>, sqlx::Error> {
    if report_ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = super::id_list(report_ids);
    sqlx::query_as!(
        AssignmentSummary,
        "SELECT a.report_id, a.uuid, a.partner_id, p.name AS partner_name, a.status, a.refusal_reason,
                a.closure_reason, a.answer_message, a.created_at, a.answered_at, a.closed_at
         FROM assignments a JOIN partners p ON p.id = a.partner_id
         WHERE FIND_IN_SET(a.report_id, ?)
         ORDER BY a.report_id, a.created_at, a.id",
        ids
    )
    .fetch_all(pool)
    .await
}

/// A visit, with its public id.
pub struct VisitSummary {
    pub uuid: String,
    pub partner_name: Option<String>,
    pub external_operator: Option<String>,
    pub kind: String,
    pub scheduled_at: PrimitiveDateTime,
    pub status: String,
    pub comment_before: Option<String>,
    pub conclusions: Option<String>,
    pub occupant_present: Option<bool>,
    pub owner_present: Option<bool>,
    pub concluded_at: Option<PrimitiveDateTime>,
    pub procedures: Option<sqlx::types::Json<Vec<String>>>,
    pub conclusion_public: bool,
}

pub async fn visits_of(pool: &Pool, report_id: u64) -> Result<Vec<VisitSummary>, sqlx::Error> {
    sqlx::query_as!(
        VisitSummary,
        "SELECT v.uuid, p.name AS `partner_name?`, v.external_operator, v.kind, v.scheduled_at, v.status,
                v.comment_before, v.conclusions, v.occupant_present AS `occupant_present: bool`,
                v.owner_present AS `owner_present: bool`, v.concluded_at,
                v.procedures AS `procedures: sqlx::types::Json<Vec<String>>`,
                v.conclusion_public AS `conclusion_public: bool`
         FROM visits v LEFT JOIN partners p ON p.id = v.partner_id
         WHERE v.report_id = ? ORDER BY v.scheduled_at, v.id",
        report_id
    )
    .fetch_all(pool)
    .await
}

/// The report id and `updated_at` of a case `scope` may read.
pub async fn find_case_in_scope(
    pool: &Pool,
    scope: &ReportScope,
    uuid: &str,
) -> Result<Option<(u64, PrimitiveDateTime)>, sqlx::Error> {
    let mut qb: QueryBuilder<'_, MySql> =
        QueryBuilder::new("SELECT r.id, r.updated_at FROM reports r WHERE r.uuid = ");
    qb.push_bind(uuid.to_owned());
    super::cases::push_scope(&mut qb, scope);
    let row = qb.build().fetch_optional(pool).await?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("updated_at")?)))
        .transpose()
}

// ----------------------------------------------------------------- writes

/// Reserves an Idempotency-Key in the write's transaction; false when the
/// account already used it (a concurrent retry waits here on the row until
/// the first write commits or rolls back).
pub async fn reserve_key(
    conn: &mut MySqlConnection,
    account_id: u64,
    key: &str,
    request_hash: &str,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        "INSERT INTO api_idempotency_keys (account_id, idempotency_key, request_hash, status, body, created_at)
         VALUES (?, ?, ?, 0, '', UTC_TIMESTAMP())",
        account_id,
        key,
        request_hash
    )
    .execute(conn)
    .await;
    match inserted {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Keeps the answer of a reserved key, before the commit.
pub async fn store_answer(
    conn: &mut MySqlConnection,
    account_id: u64,
    key: &str,
    status: u16,
    body: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE api_idempotency_keys SET status = ?, body = ? WHERE account_id = ? AND idempotency_key = ?",
        status,
        body,
        account_id,
        key
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Drops a key reserved by Open311's POST (committed before filing, which
/// has its own transaction) when the filing was refused: the key may be
/// used again. A key holding an answer is never dropped here.
pub async fn release_key(pool: &Pool, account_id: u64, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM api_idempotency_keys WHERE account_id = ? AND idempotency_key = ? AND status = 0",
        account_id,
        key
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// (case uuid, partner id) of an assignment.
pub async fn find_assignment(
    pool: &Pool,
    uuid: &str,
) -> Result<Option<(String, u64)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT r.uuid AS report_uuid, a.partner_id FROM assignments a JOIN reports r ON r.id = a.report_id
         WHERE a.uuid = ?",
        uuid
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.report_uuid, r.partner_id)))
}

/// An assignment as the write's transaction sees it.
pub async fn assignment_in(
    conn: &mut MySqlConnection,
    uuid: &str,
) -> Result<Option<AssignmentSummary>, sqlx::Error> {
    sqlx::query_as!(
        AssignmentSummary,
        "SELECT a.report_id, a.uuid, a.partner_id, p.name AS partner_name, a.status, a.refusal_reason,
                a.closure_reason, a.answer_message, a.created_at, a.answered_at, a.closed_at
         FROM assignments a JOIN partners p ON p.id = a.partner_id
         WHERE a.uuid = ?",
        uuid
    )
    .fetch_optional(conn)
    .await
}

/// (case uuid, visit id) of a visit.
pub async fn find_visit(pool: &Pool, uuid: &str) -> Result<Option<(String, u64)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT r.uuid AS report_uuid, v.id FROM visits v JOIN reports r ON r.id = v.report_id
         WHERE v.uuid = ?",
        uuid
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.report_uuid, r.id)))
}

/// A visit as the write's transaction sees it.
pub async fn visit_in(
    conn: &mut MySqlConnection,
    uuid: &str,
) -> Result<Option<VisitSummary>, sqlx::Error> {
    sqlx::query_as!(
        VisitSummary,
        "SELECT v.uuid, p.name AS `partner_name?`, v.external_operator, v.kind, v.scheduled_at, v.status,
                v.comment_before, v.conclusions, v.occupant_present AS `occupant_present: bool`,
                v.owner_present AS `owner_present: bool`, v.concluded_at,
                v.procedures AS `procedures: sqlx::types::Json<Vec<String>>`,
                v.conclusion_public AS `conclusion_public: bool`
         FROM visits v LEFT JOIN partners p ON p.id = v.partner_id
         WHERE v.uuid = ?",
        uuid
    )
    .fetch_optional(conn)
    .await
}

/// The visit of the case planned last (the one a write just planned, in
/// its transaction).
pub async fn latest_visit_in(
    conn: &mut MySqlConnection,
    report_id: u64,
) -> Result<Option<VisitSummary>, sqlx::Error> {
    sqlx::query_as!(
        VisitSummary,
        "SELECT v.uuid, p.name AS `partner_name?`, v.external_operator, v.kind, v.scheduled_at, v.status,
                v.comment_before, v.conclusions, v.occupant_present AS `occupant_present: bool`,
                v.owner_present AS `owner_present: bool`, v.concluded_at,
                v.procedures AS `procedures: sqlx::types::Json<Vec<String>>`,
                v.conclusion_public AS `conclusion_public: bool`
         FROM visits v LEFT JOIN partners p ON p.id = v.partner_id
         WHERE v.report_id = ? ORDER BY v.id DESC LIMIT 1",
        report_id
    )
    .fetch_optional(conn)
    .await
}

/// A stored file and its antivirus state.
pub struct DocumentFile {
    pub object_key: String,
    pub filename: String,
    pub mime: String,
    pub scan_status: ScanStatus,
}

/// (case uuid, file) of a document.
pub async fn find_document(
    pool: &Pool,
    uuid: &str,
) -> Result<Option<(String, DocumentFile)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT r.uuid AS report_uuid, d.object_key, d.filename, d.mime,
                d.scan_status AS `scan_status: ScanStatus`
         FROM documents d JOIN reports r ON r.id = d.report_id
         WHERE d.uuid = ? AND d.deleted_at IS NULL",
        uuid
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| {
        (
            r.report_uuid,
            DocumentFile {
                object_key: r.object_key,
                filename: r.filename,
                mime: r.mime,
                scan_status: r.scan_status,
            },
        )
    }))
}

// ---------------------------------------------------------------- purge

/// Removes what the API keeps only for a while (the `api_purge` schedule):
/// tokens expired or revoked more than a day ago (a token lives an hour;
/// the day leaves the last ones to read when something went wrong) and
/// idempotency keys older than a day (a retry comes within minutes; Stripe
/// keeps them 24 hours too). Returns (tokens, keys) removed.
pub async fn purge(pool: &Pool) -> Result<(u64, u64), sqlx::Error> {
    let tokens = sqlx::query!(
        "DELETE FROM api_tokens
         WHERE expires_at < UTC_TIMESTAMP() - INTERVAL 1 DAY
            OR revoked_at < UTC_TIMESTAMP() - INTERVAL 1 DAY"
    )
    .execute(pool)
    .await?
    .rows_affected();
    let keys = sqlx::query!(
        "DELETE FROM api_idempotency_keys WHERE created_at < UTC_TIMESTAMP() - INTERVAL 1 DAY"
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok((tokens, keys))
}
