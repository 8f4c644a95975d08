//! Writes of the case workflow: status changes under an optimistic lock,
//! assignments, office follow-ups, visits, tags, subscriptions and in-app
//! notifications. The caller owns the transaction (and queues its e-mails
//! in it).

use sqlx::MySqlConnection;

use sqlx::types::Json;

use crate::domain::case::plan::{Answer, NewVisit, VisitChange};
use crate::domain::case::visit::Procedure;
use crate::domain::case::{AssignmentStatus, NotificationKind, ReportStatus, VisitOutcome};

/// Moves a report from one of the `from` statuses to `to` if nobody changed
/// it since `version` was read; returns false when someone did (the caller
/// answers 409 and nothing is written). The dates that go with the new
/// status are decided here, from the enum, not by SQL string comparisons.
pub async fn transition(
    conn: &mut MySqlConnection,
    report_id: u64,
    version: u32,
    from: &[ReportStatus],
    to: ReportStatus,
) -> Result<bool, sqlx::Error> {
    let allowed: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let allowed = allowed.join(",");
    let validated = to == ReportStatus::Active;
    // Closing stamps closed_at, reopening (back to active) clears it.
    let closed = to == ReportStatus::Closed;
    let reopened = to == ReportStatus::Active;
    let refused = to == ReportStatus::Refused;
    let result = sqlx::query!(
        "UPDATE reports SET status = ?, version = version + 1,
            validated_at = IF(? AND validated_at IS NULL, UTC_TIMESTAMP(), validated_at),
            closed_at = IF(?, UTC_TIMESTAMP(), IF(?, NULL, closed_at)),
            refused_at = IF(?, UTC_TIMESTAMP(), refused_at)
         WHERE id = ? AND version = ? AND FIND_IN_SET(status, ?)",
        to,
        validated,
        closed,
        reopened,
        refused,
        report_id,
        version,
        allowed
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Bumps the version without changing the status (edits that must not be
/// lost to a concurrent change); false when the version moved.
pub async fn bump_version(
    conn: &mut MySqlConnection,
    report_id: u64,
    version: u32,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        "UPDATE reports SET version = version + 1 WHERE id = ? AND version = ?",
        report_id,
        version
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn set_refusal(
    conn: &mut MySqlConnection,
    report_id: u64,
    reason: &str,
    message: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE reports SET refusal_reason = ?, refusal_message = ? WHERE id = ?",
        reason,
        message,
        report_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_closure(
    conn: &mut MySqlConnection,
    report_id: u64,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE reports SET closure_reason = ? WHERE id = ?",
        reason,
        report_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds an assignment (no-op if the partner already has one); returns its id
/// when created.
pub async fn assign(
    conn: &mut MySqlConnection,
    report_id: u64,
    partner_id: u64,
    by: u64,
) -> Result<Option<u64>, sqlx::Error> {
    let result = sqlx::query!(
        "INSERT IGNORE INTO assignments (report_id, partner_id, status, assigned_by) VALUES (?, ?, ?, ?)",
        report_id,
        partner_id,
        AssignmentStatus::New,
        by
    )
    .execute(conn)
    .await?;
    Ok((result.rows_affected() == 1).then(|| result.last_insert_id()))
}

pub async fn unassign(
    conn: &mut MySqlConnection,
    report_id: u64,
    partner_id: u64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        "DELETE FROM assignments WHERE report_id = ? AND partner_id = ?",
        report_id,
        partner_id
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Applies a partner's answer if its assignment is still in the status the
/// answer starts from; false when it is not (someone answered first).
pub async fn answer_assignment(
    conn: &mut MySqlConnection,
    report_id: u64,
    partner_id: u64,
    answer: &Answer,
    by: u64,
) -> Result<bool, sqlx::Error> {
    let (from, to) = answer.transition();
    let result = match answer {
        Answer::Accept => {
            sqlx::query!(
                "UPDATE assignments SET status = ?, answered_by = ?, answered_at = UTC_TIMESTAMP()
                 WHERE report_id = ? AND partner_id = ? AND status = ?",
                to,
                by,
                report_id,
                partner_id,
                from
            )
            .execute(conn)
            .await?
        }
        Answer::Refuse { reason, message } => {
            sqlx::query!(
                "UPDATE assignments SET status = ?, refusal_reason = ?, answer_message = ?,
                    answered_by = ?, answered_at = UTC_TIMESTAMP()
                 WHERE report_id = ? AND partner_id = ? AND status = ?",
                to,
                reason,
                message,
                by,
                report_id,
                partner_id,
                from
            )
            .execute(conn)
            .await?
        }
        Answer::Close { reason, message } => {
            sqlx::query!(
                "UPDATE assignments SET status = ?, closure_reason = ?, answer_message = ?,
                    closed_by = ?, closed_at = UTC_TIMESTAMP()
                 WHERE report_id = ? AND partner_id = ? AND status = ?",
                to,
                reason,
                message,
                by,
                report_id,
                partner_id,
                from
            )
            .execute(conn)
            .await?
        }
    };
    Ok(result.rows_affected() == 1)
}

/// Closes every open assignment of a report (closure for all).
pub async fn close_all_assignments(
    conn: &mut MySqlConnection,
    report_id: u64,
    reason: &str,
    by: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE assignments SET status = ?, closure_reason = ?, closed_by = ?, closed_at = UTC_TIMESTAMP()
         WHERE report_id = ? AND status IN (?, ?)",
        AssignmentStatus::Closed,
        reason,
        by,
        report_id,
        AssignmentStatus::New,
        AssignmentStatus::Accepted
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Reopens the closed assignments (the case starts again with the same
/// partners, who must accept it again).
pub async fn reopen_assignments(
    conn: &mut MySqlConnection,
    report_id: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE assignments SET status = ?, closure_reason = NULL, closed_by = NULL, closed_at = NULL
         WHERE report_id = ? AND status = ?",
        AssignmentStatus::New,
        report_id,
        AssignmentStatus::Closed
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether every assignment of the report is closed.
pub async fn all_assignments_closed(
    conn: &mut MySqlConnection,
    report_id: u64,
) -> Result<bool, sqlx::Error> {
    let open = sqlx::query_scalar!(
        "SELECT COUNT(*) AS `n!: i64` FROM assignments WHERE report_id = ? AND status IN (?, ?)",
        report_id,
        AssignmentStatus::New,
        AssignmentStatus::Accepted
    )
    .fetch_one(conn)
    .await?;
    Ok(open == 0)
}

/// Adds a follow-up written in the back office (or by the system) and
/// moves the report's "last follow-up" markers.
#[allow(clippy::too_many_arguments)]
pub async fn add_follow_up(
    conn: &mut MySqlConnection,
    report_id: u64,
    author_user_id: Option<u64>,
    author_partner_id: Option<u64>,
    author_kind: &str,
    category: &str,
    body: &str,
    is_public: bool,
) -> Result<u64, sqlx::Error> {
    // The report row first: the follow-up's foreign key check takes a shared
    // lock on it, and two transactions each holding that shared lock and
    // then asking for the exclusive one deadlocked (seen under load).
    sqlx::query!(
        "UPDATE reports SET last_follow_up_at = UTC_TIMESTAMP(), last_follow_up_author_kind = ? WHERE id = ?",
        author_kind,
        report_id
    )
    .execute(&mut *conn)
    .await?;
    let result = sqlx::query!(
        "INSERT INTO follow_ups (report_id, author_user_id, author_partner_id, author_kind, category, body, is_public)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        report_id,
        author_user_id,
        author_partner_id,
        author_kind,
        category,
        body,
        is_public
    )
    .execute(conn)
    .await?;
    Ok(result.last_insert_id())
}

/// Puts a visit on the calendar (or records one already done, with its
/// conclusion); returns its id.
pub async fn plan_visit(
    conn: &mut MySqlConnection,
    report_id: u64,
    visit: &NewVisit,
    by: u64,
) -> Result<u64, sqlx::Error> {
    let (status, concluded) = match &visit.concluded {
        Some(c) => (VisitOutcome::Done, Some(c)),
        None => (VisitOutcome::Planned, None),
    };
    let procedures = concluded.map(|c| Json(c.procedure_codes()));
    let result = sqlx::query!(
        "INSERT INTO visits (report_id, partner_id, external_operator, kind, scheduled_at, status,
            comment_before, conclusions, conclusion_public, procedures, occupant_present, owner_present,
            concluded_at, created_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, IF(?, UTC_TIMESTAMP(), NULL), ?)",
        report_id,
        visit.visitor.partner_id(),
        visit.visitor.external_operator(),
        visit.kind,
        visit.scheduled_at,
        status,
        visit.comment,
        concluded.map(|c| c.text.as_str()),
        concluded.is_some_and(|c| c.public),
        procedures,
        concluded.and_then(|c| c.occupant_present),
        concluded.and_then(|c| c.owner_present),
        concluded.is_some(),
        by
    )
    .execute(conn)
    .await?;
    Ok(result.last_insert_id())
}

/// What a planned visit's outcome records.
pub struct OutcomeWrite<'a> {
    pub status: VisitOutcome,
    pub conclusions: Option<&'a str>,
    pub occupant_present: Option<bool>,
    pub owner_present: Option<bool>,
    pub procedures: &'a [Procedure],
    pub public: bool,
}

/// Records a planned visit's outcome; false if it is not planned any more.
pub async fn record_visit_outcome(
    conn: &mut MySqlConnection,
    report_id: u64,
    visit_id: u64,
    outcome: &OutcomeWrite<'_>,
) -> Result<bool, sqlx::Error> {
    let procedures: Vec<&str> = outcome.procedures.iter().map(|p| p.as_str()).collect();
    let procedures = (!procedures.is_empty()).then_some(Json(procedures));
    let result = sqlx::query!(
        "UPDATE visits SET status = ?, conclusions = ?, occupant_present = ?, owner_present = ?,
            procedures = ?, conclusion_public = ?, concluded_at = UTC_TIMESTAMP()
         WHERE id = ? AND report_id = ? AND status = ?",
        outcome.status,
        outcome.conclusions,
        outcome.occupant_present,
        outcome.owner_present,
        procedures,
        outcome.public,
        visit_id,
        report_id,
        VisitOutcome::Planned
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Applies a change to an existing visit; false if the visit is no longer
/// in the state the change starts from (or not on this report).
pub async fn change_visit(
    conn: &mut MySqlConnection,
    report_id: u64,
    visit_id: u64,
    change: &VisitChange,
    by: Option<u64>,
) -> Result<bool, sqlx::Error> {
    let rows = match change {
        VisitChange::Reschedule { from, to, reason } => {
            let moved = sqlx::query!(
                "UPDATE visits SET scheduled_at = ?
                 WHERE id = ? AND report_id = ? AND status = ? AND scheduled_at = ?",
                to,
                visit_id,
                report_id,
                VisitOutcome::Planned,
                from
            )
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if moved == 1 {
                sqlx::query!(
                    "INSERT INTO visit_reschedules (visit_id, previous_at, new_at, reason, created_by)
                     VALUES (?, ?, ?, ?, ?)",
                    visit_id,
                    from,
                    to,
                    reason,
                    by
                )
                .execute(&mut *conn)
                .await?;
            }
            moved
        }
        VisitChange::Cancel { reason } => sqlx::query!(
            "UPDATE visits SET status = ?, cancel_reason = ?, concluded_at = UTC_TIMESTAMP()
             WHERE id = ? AND report_id = ? AND status = ?",
            VisitOutcome::Cancelled,
            reason,
            visit_id,
            report_id,
            VisitOutcome::Planned
        )
        .execute(&mut *conn)
        .await?
        .rows_affected(),
        VisitChange::EditConclusion(c) => {
            let procedures = (!c.procedures.is_empty()).then(|| Json(c.procedure_codes()));
            sqlx::query!(
                "UPDATE visits SET conclusions = ?, procedures = ?, occupant_present = ?,
                    owner_present = ?, conclusion_public = ?
                 WHERE id = ? AND report_id = ? AND status = ?",
                c.text,
                procedures,
                c.occupant_present,
                c.owner_present,
                c.public,
                visit_id,
                report_id,
                VisitOutcome::Done
            )
            .execute(&mut *conn)
            .await?
            .rows_affected()
        }
    };
    Ok(rows == 1)
}

pub async fn set_tags(
    conn: &mut MySqlConnection,
    report_id: u64,
    territory_id: u32,
    tag_ids: &[u64],
) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM report_tags WHERE report_id = ?", report_id)
        .execute(&mut *conn)
        .await?;
    for tag in tag_ids {
        // Only tags of the report's territory are accepted.
        sqlx::query!(
            "INSERT INTO report_tags (report_id, tag_id)
             SELECT ?, id FROM tags WHERE id = ? AND territory_id = ? AND is_archived = FALSE",
            report_id,
            tag,
            territory_id
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn subscribe(
    conn: &mut MySqlConnection,
    report_id: u64,
    user_id: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT IGNORE INTO report_subscriptions (report_id, user_id) VALUES (?, ?)",
        report_id,
        user_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn unsubscribe(
    conn: &mut MySqlConnection,
    report_id: u64,
    user_id: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM report_subscriptions WHERE report_id = ? AND user_id = ?",
        report_id,
        user_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Who receives a notification about a partner: its active users, with
/// their e-mail preference.
pub struct Recipient {
    pub user_id: u64,
    pub email: String,
    pub notification_pref: String,
}

pub async fn partner_recipients(
    conn: &mut MySqlConnection,
    partner_id: u64,
) -> Result<Vec<Recipient>, sqlx::Error> {
    sqlx::query_as!(
        Recipient,
        "SELECT u.id AS user_id, u.email, u.notification_pref FROM users u
         JOIN user_partners up ON up.user_id = u.id
         JOIN partners p ON p.id = up.partner_id AND p.is_archived = FALSE
         WHERE up.partner_id = ? AND u.status = 'active'",
        partner_id
    )
    .fetch_all(conn)
    .await
}

pub async fn territory_admins(
    conn: &mut MySqlConnection,
    territory_id: u32,
) -> Result<Vec<Recipient>, sqlx::Error> {
    sqlx::query_as!(
        Recipient,
        "SELECT u.id AS user_id, u.email, u.notification_pref FROM users u
         JOIN user_partners up ON up.user_id = u.id
         JOIN partners p ON p.id = up.partner_id AND p.is_archived = FALSE
         WHERE up.territory_id = ? AND u.role = 'territory_admin' AND u.status = 'active'",
        territory_id
    )
    .fetch_all(conn)
    .await
}

/// The partner's generic mailbox, when it wants notifications.
pub async fn partner_mailbox(
    conn: &mut MySqlConnection,
    partner_id: u64,
) -> Result<Option<String>, sqlx::Error> {
    let email = sqlx::query_scalar!(
        "SELECT email FROM partners WHERE id = ? AND email_notifiable = TRUE AND email IS NOT NULL",
        partner_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(email.flatten())
}

/// Users of the accepted partners of a report, plus its subscribers who
/// may still follow it (the rule of `db::subscriptions`: a subscription
/// that outlived its access brings nothing, even before it is pruned).
pub async fn case_followers(
    conn: &mut MySqlConnection,
    report_id: u64,
) -> Result<Vec<Recipient>, sqlx::Error> {
    sqlx::query_as!(
        Recipient,
        "SELECT DISTINCT u.id AS user_id, u.email, u.notification_pref FROM users u
         JOIN reports r ON r.id = ?
         WHERE u.status = 'active' AND (
             (EXISTS (SELECT 1 FROM report_subscriptions s WHERE s.user_id = u.id AND s.report_id = r.id)
              AND (u.role = 'super_admin'
                   OR (u.role = 'territory_admin' AND EXISTS (
                       SELECT 1 FROM user_partners up JOIN partners p ON p.id = up.partner_id
                       WHERE up.user_id = u.id AND p.is_archived = FALSE AND p.territory_id = r.territory_id))
                   OR EXISTS (
                       SELECT 1 FROM user_partners up JOIN partners p ON p.id = up.partner_id
                       JOIN assignments a ON a.partner_id = p.id
                       WHERE up.user_id = u.id AND p.is_archived = FALSE
                         AND a.report_id = r.id AND a.status IN (?, ?))))
             OR EXISTS (SELECT 1 FROM user_partners up JOIN partners p ON p.id = up.partner_id
                        JOIN assignments a ON a.partner_id = up.partner_id
                        WHERE up.user_id = u.id AND p.is_archived = FALSE
                          AND a.report_id = r.id AND a.status = ?))",
        report_id,
        AssignmentStatus::New,
        AssignmentStatus::Accepted,
        AssignmentStatus::Accepted
    )
    .fetch_all(conn)
    .await
}

/// In-app notifications of one kind on a case for several users, in one
/// statement.
pub async fn notify_many(
    conn: &mut MySqlConnection,
    user_ids: &[u64],
    report_id: u64,
    kind: NotificationKind,
) -> Result<(), sqlx::Error> {
    if user_ids.is_empty() {
        return Ok(());
    }
    let mut qb: sqlx::QueryBuilder<sqlx::MySql> =
        sqlx::QueryBuilder::new("INSERT INTO notifications (user_id, report_id, kind) ");
    qb.push_values(user_ids, |mut row, user_id| {
        row.push_bind(*user_id).push_bind(report_id).push_bind(kind);
    });
    qb.build().execute(conn).await?;
    Ok(())
}

/// The resident's e-mail addresses (occupant and declarant) and the
/// reference, for the e-mails about the case.
pub struct ResidentContacts {
    pub reference: String,
    pub occupant_email: Option<String>,
    pub declarant_email: Option<String>,
    pub follow_up_code: String,
}

pub async fn resident_contacts(
    conn: &mut MySqlConnection,
    report_id: u64,
) -> Result<ResidentContacts, sqlx::Error> {
    sqlx::query_as!(
        ResidentContacts,
        "SELECT reference, occupant_email, declarant_email,
                CONVERT(follow_up_code USING utf8mb4) AS `follow_up_code!: String`
         FROM reports WHERE id = ?",
        report_id
    )
    .fetch_one(conn)
    .await
}
