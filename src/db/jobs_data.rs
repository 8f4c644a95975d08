//! What the worker's handlers read and write: report addresses, geocoding
//! and DPE results, assignments pushed to partner systems, periodic
//! clean-ups.

use sqlx::{
    MySqlConnection,
    types::time::{Date, PrimitiveDateTime},
};

use super::Pool;
use crate::domain::case::{AssignmentStatus, NotificationKind, ReportStatus, VisitOutcome};
use crate::domain::report::{draft::DraftState, form::DeclarantProfile};

/// The address of a report, as typed.
#[derive(Debug, Clone)]
pub struct ReportAddress {
    pub address_line: String,
    pub postal_code: String,
    pub city: String,
    pub ban_id: Option<String>,
}

pub async fn report_address(
    pool: &Pool,
    report_id: u64,
) -> Result<Option<ReportAddress>, sqlx::Error> {
    sqlx::query_as!(
        ReportAddress,
        "SELECT address_line, postal_code, city, ban_id FROM reports WHERE id = ?",
        report_id
    )
    .fetch_optional(pool)
    .await
}

/// A geocoding result to store.
#[derive(Debug, Clone)]
pub struct Geocode {
    pub latitude: f64,
    pub longitude: f64,
    pub insee_code: Option<String>,
    pub ban_id: Option<String>,
    pub score: f64,
    pub needs_check: bool,
}

pub async fn set_geocode(
    conn: &mut MySqlConnection,
    report_id: u64,
    geocode: &Geocode,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE reports SET latitude = ?, longitude = ?, insee_code = COALESCE(?, insee_code),
                ban_id = ?, geocode_score = ?, address_needs_check = ?
         WHERE id = ?",
        geocode.latitude,
        geocode.longitude,
        geocode.insee_code,
        geocode.ban_id,
        geocode.score,
        geocode.needs_check,
        report_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// No usable BAN answer: the address is flagged for an agent to check.
pub async fn flag_address(pool: &Pool, report_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE reports SET address_needs_check = TRUE WHERE id = ?",
        report_id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// What geocoding stored (tests, case page).
#[derive(Debug, Clone)]
pub struct StoredGeo {
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub insee_code: Option<String>,
    pub ban_id: Option<String>,
    pub geocode_score: Option<f64>,
    pub address_needs_check: bool,
    pub dpe_label: Option<String>,
    pub dpe_date: Option<Date>,
    pub dpe_number: Option<String>,
}

pub async fn stored_geo(pool: &Pool, report_id: u64) -> Result<StoredGeo, sqlx::Error> {
    sqlx::query_as!(
        StoredGeo,
        "SELECT CAST(latitude AS DOUBLE) AS `latitude: f64`,
                CAST(longitude AS DOUBLE) AS `longitude: f64`, insee_code, ban_id,
                CAST(geocode_score AS DOUBLE) AS `geocode_score: f64`,
                address_needs_check AS `address_needs_check: bool`,
                dpe_label, dpe_date, dpe_number
         FROM reports WHERE id = ?",
        report_id
    )
    .fetch_one(pool)
    .await
}

/// A DPE found at ADEME.
#[derive(Debug, Clone)]
pub struct Dpe {
    pub label: String,
    pub date: Option<Date>,
    pub number: String,
    pub consumption: Option<f64>,
}

pub async fn set_dpe(pool: &Pool, report_id: u64, dpe: &Dpe) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE reports SET dpe_label = ?, dpe_date = ?, dpe_number = LEFT(?, 20),
                dpe_consumption = ?
         WHERE id = ?",
        dpe.label,
        dpe.date,
        dpe.number,
        dpe.consumption,
        report_id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// An assignment with its partner's interconnection settings and the report
/// fields the partner systems receive.
#[derive(Debug, Clone)]
pub struct AssignmentContext {
    pub assignment_id: u64,
    pub assignment_status: AssignmentStatus,
    pub assignment_created_at: PrimitiveDateTime,
    pub is_synchronized: bool,
    pub partner_id: u64,
    pub partner_name: String,
    pub partner_type: String,
    pub partner_email: Option<String>,
    pub esabora_kind: Option<String>,
    pub esabora_url: Option<String>,
    pub esabora_token: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    pub zapier_url: Option<String>,
    pub zapier_token: Option<String>,
    pub report_id: u64,
    pub report_uuid: String,
    pub reference: String,
    pub report_status: ReportStatus,
    pub report_created_at: PrimitiveDateTime,
    pub declarant_profile: DeclarantProfile,
    pub occupant_civility: Option<String>,
    pub occupant_first_name: Option<String>,
    pub occupant_last_name: Option<String>,
    pub occupant_email: Option<String>,
    pub occupant_phone: Option<String>,
    pub declarant_first_name: Option<String>,
    pub declarant_last_name: Option<String>,
    pub declarant_email: Option<String>,
    pub declarant_phone: Option<String>,
    pub declarant_structure: Option<String>,
    pub declarant_link: Option<String>,
    pub landlord_kind: Option<String>,
    pub landlord_name: Option<String>,
    pub landlord_first_name: Option<String>,
    pub landlord_email: Option<String>,
    pub landlord_phone: Option<String>,
    pub landlord_address: Option<String>,
    pub landlord_postal_code: Option<String>,
    pub landlord_city: Option<String>,
    pub address_line: String,
    pub address_complement: Option<String>,
    pub floor: Option<String>,
    pub staircase: Option<String>,
    pub door: Option<String>,
    pub postal_code: String,
    pub city: String,
    pub insee_code: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub details: Option<String>,
    pub dwelling_type: Option<String>,
    pub dwelling_surface: Option<f64>,
    pub dwelling_rooms: Option<u16>,
    pub dwelling_occupants_count: Option<u16>,
    pub dwelling_children_count: Option<u16>,
    pub dwelling_construction_year: Option<u16>,
    pub dwelling_rent: Option<f64>,
    pub dwelling_tax_id: Option<String>,
    pub dwelling_has_lease: Option<bool>,
    pub dwelling_move_in_date: Option<Date>,
    pub is_public_housing: Option<bool>,
    pub household_allowance_number: Option<String>,
    pub household_allowance_amount: Option<f64>,
    pub household_notice_given: Option<bool>,
    pub household_wants_rehousing: Option<bool>,
    pub procedure_landlord_informed: Option<bool>,
    pub procedure_landlord_informed_at: Option<Date>,
    pub severity_score: Option<f64>,
}

pub async fn assignment_context(
    pool: &Pool,
    assignment_id: u64,
) -> Result<Option<AssignmentContext>, sqlx::Error> {
    sqlx::query_as!(
        AssignmentContext,
        "SELECT a.id AS assignment_id, a.status AS `assignment_status: AssignmentStatus`,
                a.created_at AS assignment_created_at,
                a.is_synchronized AS `is_synchronized: bool`,
                p.id AS partner_id, p.name AS partner_name, p.type AS partner_type,
                p.email AS partner_email, p.esabora_kind, p.esabora_url, p.esabora_token,
                p.webhook_url, p.webhook_secret, p.zapier_url, p.zapier_token,
                r.id AS report_id, r.uuid AS report_uuid, r.reference, r.status AS `report_status: ReportStatus`,
                r.created_at AS report_created_at,
                r.declarant_profile AS `declarant_profile: DeclarantProfile`,
                r.occupant_civility, r.occupant_first_name, r.occupant_last_name,
                r.occupant_email, r.occupant_phone,
                r.declarant_first_name, r.declarant_last_name, r.declarant_email,
                r.declarant_phone, r.declarant_structure, r.declarant_link,
                r.landlord_kind, r.landlord_name, r.landlord_first_name, r.landlord_email,
                r.landlord_phone, r.landlord_address, r.landlord_postal_code, r.landlord_city,
                r.address_line, r.address_complement, r.floor, r.staircase, r.door,
                r.postal_code, r.city, r.insee_code,
                CAST(r.latitude AS DOUBLE) AS `latitude: f64`,
                CAST(r.longitude AS DOUBLE) AS `longitude: f64`,
                r.details, r.dwelling_type,
                CAST(r.dwelling_surface AS DOUBLE) AS `dwelling_surface: f64`,
                r.dwelling_rooms, r.dwelling_occupants_count, r.dwelling_children_count,
                r.dwelling_construction_year,
                CAST(r.dwelling_rent AS DOUBLE) AS `dwelling_rent: f64`,
                r.dwelling_tax_id,
                r.dwelling_has_lease AS `dwelling_has_lease: bool`, r.dwelling_move_in_date,
                r.is_public_housing AS `is_public_housing: bool`,
                r.household_allowance_number,
                CAST(r.household_allowance_amount AS DOUBLE) AS `household_allowance_amount: f64`,
                r.household_notice_given AS `household_notice_given: bool`,
                r.household_wants_rehousing AS `household_wants_rehousing: bool`,
                r.procedure_landlord_informed AS `procedure_landlord_informed: bool`,
                r.procedure_landlord_informed_at,
                CAST(r.severity_score AS DOUBLE) AS `severity_score: f64`
         FROM assignments a
         JOIN partners p ON p.id = a.partner_id
         JOIN reports r ON r.id = a.report_id
         WHERE a.id = ?",
        assignment_id
    )
    .fetch_optional(pool)
    .await
}

/// E-mails of the partner's active users (Zapier `courrielContributeurs`).
pub async fn partner_user_emails(pool: &Pool, partner_id: u64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT u.email FROM users u JOIN user_partners up ON up.user_id = u.id
         WHERE up.partner_id = ? AND u.status = 'active' ORDER BY u.email",
        partner_id
    )
    .fetch_all(pool)
    .await
}

/// A document to attach to a push.
#[derive(Debug, Clone)]
pub struct DocumentRef {
    pub object_key: String,
    pub resized_key: Option<String>,
    pub filename: String,
    pub title: Option<String>,
    pub size: u64,
}

/// Only clean documents: a pending or infected file never leaves the
/// platform (docs/antivirus.md).
pub async fn report_documents(
    pool: &Pool,
    report_id: u64,
) -> Result<Vec<DocumentRef>, sqlx::Error> {
    sqlx::query_as!(
        DocumentRef,
        "SELECT object_key, resized_key, filename, title, size FROM documents
         WHERE report_id = ? AND scan_status = 'clean' AND deleted_at IS NULL ORDER BY id",
        report_id
    )
    .fetch_all(pool)
    .await
}

/// The partner system has the dossier.
pub async fn mark_synchronized(
    conn: &mut MySqlConnection,
    assignment_id: u64,
    external_reference: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE assignments SET is_synchronized = TRUE, synchronized_at = UTC_TIMESTAMP(),
                external_reference = COALESCE(LEFT(?, 60), external_reference)
         WHERE id = ?",
        external_reference,
        assignment_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Applies a state read from the partner system: new assignment status and
/// a system follow-up telling what happened.
pub async fn apply_external_status(
    conn: &mut MySqlConnection,
    assignment_id: u64,
    report_id: u64,
    partner_id: u64,
    new_status: Option<AssignmentStatus>,
    external_status: &str,
    follow_up: Option<&str>,
) -> Result<(), sqlx::Error> {
    // An answer (accepted or refused) dates the answer, a closure the
    // closure; going back to "new" dates nothing.
    let answered = matches!(
        new_status,
        Some(AssignmentStatus::Accepted | AssignmentStatus::Refused)
    );
    let closed = new_status == Some(AssignmentStatus::Closed);
    sqlx::query!(
        "UPDATE assignments SET status = COALESCE(?, status), external_status = LEFT(?, 60),
                synchronized_at = UTC_TIMESTAMP(),
                answered_at = IF(?, UTC_TIMESTAMP(), answered_at),
                closed_at = IF(?, UTC_TIMESTAMP(), closed_at)
         WHERE id = ?",
        new_status,
        external_status,
        answered,
        closed,
        assignment_id
    )
    .execute(&mut *conn)
    .await?;
    if let Some(body) = follow_up {
        sqlx::query!(
            "INSERT INTO follow_ups (report_id, author_partner_id, author_kind, category, body, is_public)
             VALUES (?, ?, 'technical', 'interconnection', ?, FALSE)",
            report_id,
            partner_id,
            body
        )
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Assignments to sync with Esabora of this kind (`schs` or `sish`):
/// pushed, partner still configured, report still open.
pub async fn assignments_to_sync(
    pool: &Pool,
    kind: &str,
) -> Result<Vec<(u64, u64, u64)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT a.id, a.partner_id, a.report_id FROM assignments a
         JOIN partners p ON p.id = a.partner_id
         JOIN reports r ON r.id = a.report_id
         WHERE a.is_synchronized = TRUE AND p.esabora_kind = ? AND p.esabora_url IS NOT NULL
           AND p.esabora_token IS NOT NULL AND p.is_archived = FALSE
           AND r.status NOT IN (?, ?, ?)
         ORDER BY a.id",
        kind,
        ReportStatus::Archived,
        ReportStatus::Refused,
        ReportStatus::Closed
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.partner_id, r.report_id))
        .collect())
}

/// Deletes the drafts nobody touched for six months. Returns how many.
pub async fn purge_old_drafts(pool: &Pool) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "DELETE FROM drafts WHERE status = ?
           AND updated_at < UTC_TIMESTAMP() - INTERVAL 6 MONTH",
        DraftState::InProgress
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Archives back-office accounts unused for a year (warned a month before).
/// Returns how many were archived.
pub async fn archive_inactive_accounts(pool: &Pool) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE users SET status = 'archived', archived_at = UTC_TIMESTAMP()
         WHERE status = 'active' AND role <> 'super_admin'
           AND COALESCE(last_login_at, created_at) < UTC_TIMESTAMP() - INTERVAL 1 YEAR
           AND inactivity_warned_at > COALESCE(last_login_at, created_at)
           AND inactivity_warned_at < UTC_TIMESTAMP() - INTERVAL 30 DAY"
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// A follow-up read from a partner system (technical author, not public).
pub async fn insert_external_follow_up(
    conn: &mut MySqlConnection,
    report_id: u64,
    partner_id: u64,
    body: &str,
    at: Option<PrimitiveDateTime>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO follow_ups (report_id, author_partner_id, author_kind, category, body, is_public, created_at)
         VALUES (?, ?, 'technical', 'interconnection', ?, FALSE, COALESCE(?, UTC_TIMESTAMP()))",
        report_id,
        partner_id,
        body,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A visit read from a partner system.
pub async fn insert_external_visit(
    conn: &mut MySqlConnection,
    report_id: u64,
    partner_id: u64,
    operator: Option<&str>,
    kind: &str,
    scheduled_at: PrimitiveDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO visits (report_id, partner_id, external_operator, kind, scheduled_at, status)
         VALUES (?, ?, ?, ?, ?, IF(? < UTC_TIMESTAMP(), ?, ?))",
        report_id,
        partner_id,
        operator,
        kind,
        scheduled_at,
        scheduled_at,
        VisitOutcome::Done,
        VisitOutcome::Planned
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A resident to ask for news: an active report without public follow-up
/// for 45 days. `since` is the start of that silence (the key of the ask).
#[derive(Debug, Clone)]
pub struct FeedbackTarget {
    pub report_id: u64,
    pub reference: String,
    pub email: String,
    pub follow_up_code: String,
    pub since: PrimitiveDateTime,
}

pub async fn feedback_targets(pool: &Pool) -> Result<Vec<FeedbackTarget>, sqlx::Error> {
    sqlx::query_as!(
        FeedbackTarget,
        "SELECT id AS report_id, reference, email AS `email!`, follow_up_code AS `follow_up_code: String`,
                since AS `since!: PrimitiveDateTime`
         FROM (
             SELECT r.id, r.reference, COALESCE(r.occupant_email, r.declarant_email) AS email,
                    r.follow_up_code,
                    COALESCE((SELECT MAX(f.created_at) FROM follow_ups f
                              WHERE f.report_id = r.id AND f.is_public = TRUE AND f.deleted_at IS NULL),
                             r.validated_at, r.created_at) AS since
             FROM reports r WHERE r.status = ?
         ) t
         WHERE email IS NOT NULL AND since < UTC_TIMESTAMP() - INTERVAL 45 DAY
         ORDER BY id",
        ReportStatus::Active
    )
    .fetch_all(pool)
    .await
}

/// A planned visit to remind, with who to tell.
#[derive(Debug, Clone)]
pub struct VisitReminder {
    pub visit_id: u64,
    pub report_id: u64,
    pub partner_id: Option<u64>,
    pub scheduled_at: PrimitiveDateTime,
    pub reference: String,
    pub report_uuid: String,
    pub resident_email: Option<String>,
    pub follow_up_code: String,
}

/// Planned visits of the day after tomorrow (`before = true`), or planned
/// visits two days past without conclusion (`before = false`).
pub async fn visits_to_remind(
    pool: &Pool,
    before: bool,
) -> Result<Vec<VisitReminder>, sqlx::Error> {
    sqlx::query_as!(
        VisitReminder,
        "SELECT v.id AS visit_id, v.report_id, v.partner_id, v.scheduled_at, r.reference,
                r.uuid AS report_uuid,
                COALESCE(r.occupant_email, r.declarant_email) AS resident_email,
                r.follow_up_code AS `follow_up_code: String`
         FROM visits v JOIN reports r ON r.id = v.report_id
         WHERE v.status = ? AND r.status = ?
           AND ((? AND DATE(v.scheduled_at) = DATE(UTC_TIMESTAMP() + INTERVAL 2 DAY))
                OR (NOT ? AND v.scheduled_at < UTC_TIMESTAMP() - INTERVAL 2 DAY AND v.conclusions IS NULL))
         ORDER BY v.id",
        VisitOutcome::Planned,
        ReportStatus::Active,
        before,
        before
    )
    .fetch_all(pool)
    .await
}

/// A draft left aside (3 days untouched, never reminded), with its e-mail.
#[derive(Debug, Clone)]
pub struct DraftReminder {
    pub id: u64,
    pub uuid: String,
    pub email: String,
    pub current_step: String,
}

pub async fn drafts_to_remind(pool: &Pool) -> Result<Vec<DraftReminder>, sqlx::Error> {
    sqlx::query_as!(
        DraftReminder,
        "SELECT id, uuid, email AS `email!`, current_step FROM drafts
         WHERE status = ? AND email IS NOT NULL AND reminded_at IS NULL
           AND updated_at < UTC_TIMESTAMP() - INTERVAL 3 DAY
           AND updated_at > UTC_TIMESTAMP() - INTERVAL 6 MONTH
         ORDER BY id",
        DraftState::InProgress
    )
    .fetch_all(pool)
    .await
}

pub async fn mark_draft_reminded(
    conn: &mut MySqlConnection,
    draft_id: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE drafts SET reminded_at = UTC_TIMESTAMP() WHERE id = ?",
        draft_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A back-office account to warn: unused for eleven months, not warned
/// since its last login.
#[derive(Debug, Clone)]
pub struct InactiveUser {
    pub id: u64,
    pub email: String,
    pub first_name: String,
    pub last_seen: PrimitiveDateTime,
}

pub async fn inactive_users_to_warn(pool: &Pool) -> Result<Vec<InactiveUser>, sqlx::Error> {
    sqlx::query_as!(
        InactiveUser,
        "SELECT id, email, first_name, COALESCE(last_login_at, created_at) AS `last_seen!: PrimitiveDateTime`
         FROM users
         WHERE status = 'active' AND role <> 'super_admin'
           AND COALESCE(last_login_at, created_at) < UTC_TIMESTAMP() - INTERVAL 11 MONTH
           AND (inactivity_warned_at IS NULL
                OR inactivity_warned_at < COALESCE(last_login_at, created_at))
         ORDER BY id"
    )
    .fetch_all(pool)
    .await
}

pub async fn mark_inactivity_warned(
    conn: &mut MySqlConnection,
    user_id: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE users SET inactivity_warned_at = UTC_TIMESTAMP() WHERE id = ?",
        user_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A notification not yet e-mailed to a user who chose the daily digest.
#[derive(Debug, Clone)]
pub struct DigestRow {
    pub id: u64,
    pub user_id: u64,
    pub email: String,
    pub kind: NotificationKind,
    pub reference: Option<String>,
    pub report_uuid: Option<String>,
}

pub async fn digest_rows(pool: &Pool) -> Result<Vec<DigestRow>, sqlx::Error> {
    sqlx::query_as!(
        DigestRow,
        "SELECT n.id, n.user_id, u.email, n.kind AS `kind: NotificationKind`, r.reference AS `reference?`,
                r.uuid AS `report_uuid?`
         FROM notifications n
         JOIN users u ON u.id = n.user_id
         LEFT JOIN reports r ON r.id = n.report_id
         WHERE n.emailed_at IS NULL AND u.notification_pref = 'digest' AND u.status = 'active'
         ORDER BY n.user_id, n.id"
    )
    .fetch_all(pool)
    .await
}

/// Marks a user's notifications up to `last_id` as e-mailed.
pub async fn mark_digested(
    conn: &mut MySqlConnection,
    user_id: u64,
    last_id: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE notifications SET emailed_at = UTC_TIMESTAMP()
         WHERE user_id = ? AND id <= ? AND emailed_at IS NULL",
        user_id,
        last_id
    )
    .execute(conn)
    .await?;
    Ok(())
}
