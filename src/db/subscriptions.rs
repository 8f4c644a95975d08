//! Who may follow a case, and the pruning of subscriptions that outlived
//! the access they came from.
//!
//! A user may follow (be subscribed to, be notified about) a case while
//! their account is active and they are a super admin, a territory admin
//! of the case's territory, or a member of a partner that is working on it
//! (assignment `nouveau` or `en_cours`), through a membership of a partner
//! that is not archived. A refused or closed assignment still lets its
//! partner read the case history (see `domain::permissions`), but no longer
//! brings notifications. The same rule is written in SQL twice below (in
//! the notification recipients and in the pruning) because `query!` takes
//! literals only: change both together.

use sqlx::MySqlConnection;

use crate::domain::case::AssignmentStatus;

/// Which subscriptions to re-check.
#[derive(Debug, Clone, Copy)]
pub enum Recheck {
    /// Those of one case (unassigned, refused or closed assignments).
    Case(u64),
    /// Those of one user (membership, role or status changed).
    User(u64),
    /// Those of a partner's users (the partner was archived).
    PartnerUsers(u64),
}

/// Deletes the subscriptions, among those of `scope`, of users who may no
/// longer follow their case. Returns how many were deleted.
pub async fn prune(conn: &mut MySqlConnection, scope: Recheck) -> Result<u64, sqlx::Error> {
    let (case, user, partner) = match scope {
        Recheck::Case(id) => (Some(id), None, None),
        Recheck::User(id) => (None, Some(id), None),
        Recheck::PartnerUsers(id) => (None, None, Some(id)),
    };
    let result = sqlx::query!(
        "DELETE s FROM report_subscriptions s
         JOIN users u ON u.id = s.user_id
         JOIN reports r ON r.id = s.report_id
         WHERE (? IS NULL OR s.report_id = ?)
           AND (? IS NULL OR s.user_id = ?)
           AND (? IS NULL OR s.user_id IN (SELECT up0.user_id FROM user_partners up0 WHERE up0.partner_id = ?))
           AND NOT (u.status = 'active' AND (
               u.role = 'super_admin'
               OR (u.role = 'territory_admin' AND EXISTS (
                   SELECT 1 FROM user_partners up JOIN partners p ON p.id = up.partner_id
                   WHERE up.user_id = u.id AND p.is_archived = FALSE AND p.territory_id = r.territory_id))
               OR EXISTS (
                   SELECT 1 FROM user_partners up JOIN partners p ON p.id = up.partner_id
                   JOIN assignments a ON a.partner_id = p.id
                   WHERE up.user_id = u.id AND p.is_archived = FALSE
                     AND a.report_id = r.id AND a.status IN (?, ?))))",
        case,
        case,
        user,
        user,
        partner,
        partner,
        AssignmentStatus::New,
        AssignmentStatus::Accepted
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}
