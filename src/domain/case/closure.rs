//! Closing a case for every partner, and reopening a closed or refused one.

use super::plan::{
    AssignmentChange, Audience, AuditEntry, Author, Guard, NewFollowUp, Notice, Plan, ReportField,
    Subscription,
};
use super::refusal::{FieldErrors, Refusal, check_allowed, check_version, reason_and_message};
use super::validation::case_ref;
use super::{NotificationKind, ReportStatus};
use crate::domain::audit::diff;
use crate::domain::permissions::Actor;
use crate::domain::workflow::{CLOSURE_REASONS, CaseAction, CaseFacts};

/// What the closure form sends.
#[derive(Debug, Clone, Default)]
pub struct CloseInput {
    pub version: u32,
    /// One of `CLOSURE_REASONS`.
    pub reason: String,
    pub message: String,
    /// The message is shown and e-mailed to the resident.
    pub public: bool,
}

/// The territory admin closes the case for all: every open assignment is
/// closed, the followers (read before their assignments close) are told,
/// then stop following it; the resident is told when the message is public.
pub fn close(actor: &Actor, case: &CaseFacts, input: CloseInput) -> Result<Plan, Refusal> {
    check_version(case, input.version)?;
    check_allowed(actor, case, CaseAction::CloseForAll)?;
    let mut errors = FieldErrors::default();
    let (reason, message) = reason_and_message(
        &CLOSURE_REASONS,
        (&input.reason, &input.message),
        ("reason", "Choisissez le motif de clôture."),
        ("message", "Décrivez la clôture (10 à 5 000 caractères)."),
        &mut errors,
    );
    errors.into_result()?;
    let mut plan = Plan::new(
        case_ref(case),
        Some(actor.user_id),
        Guard::Transition {
            version: input.version,
            from: vec![ReportStatus::Active],
            to: ReportStatus::Closed,
        },
    );
    plan.report_fields
        .push(ReportField::ClosureReason(Some(reason.clone())));
    plan.assignments.push(AssignmentChange::CloseAll {
        reason: reason.clone(),
    });
    plan.subscriptions.push(Subscription::Prune);
    plan.follow_up = Some(NewFollowUp {
        author: Author::Partner,
        partner_id: None,
        category: "signalement_cloture",
        body: message.clone(),
        public: input.public,
    });
    plan.audit = Some(AuditEntry {
        action: "close",
        diff: diff(&[
            (
                "status",
                ReportStatus::Active.to_string(),
                ReportStatus::Closed.to_string(),
            ),
            ("closure_reason", String::new(), reason),
        ]),
    });
    plan.notices.push(Notice::Staff {
        audience: Audience::Followers,
        kind: NotificationKind::CaseClosed,
        title: "Un signalement que vous suivez a été clôturé",
    });
    if input.public {
        plan.notices.push(Notice::Resident {
            title: "Votre signalement a été clôturé".into(),
            message,
        });
    }
    Ok(plan)
}

/// The territory admin reopens a closed or refused case: it is active
/// again and its closed partners must accept it again.
pub fn reopen(actor: &Actor, case: &CaseFacts, version: u32) -> Result<Plan, Refusal> {
    check_version(case, version)?;
    check_allowed(actor, case, CaseAction::Reopen)?;
    let mut plan = Plan::new(
        case_ref(case),
        Some(actor.user_id),
        Guard::Transition {
            version,
            from: vec![ReportStatus::Closed, ReportStatus::Refused],
            to: ReportStatus::Active,
        },
    );
    plan.report_fields.push(ReportField::ClosureReason(None));
    plan.assignments.push(AssignmentChange::ReopenClosed);
    plan.follow_up = Some(NewFollowUp {
        author: Author::System,
        partner_id: None,
        category: "signalement_rouvert",
        body: "Le signalement a été rouvert.".into(),
        public: false,
    });
    plan.audit = Some(AuditEntry {
        action: "reopen",
        diff: diff(&[(
            "status",
            case.status.to_string(),
            ReportStatus::Active.to_string(),
        )]),
    });
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{admin, agent, case};
    use super::*;
    use crate::domain::case::AssignmentStatus as A;
    use crate::domain::case::ReportStatus as R;

    fn input(public: bool) -> CloseInput {
        CloseInput {
            version: 3,
            reason: "travaux_faits_ou_en_cours".into(),
            message: "Les travaux ont été faits.".into(),
            public,
        }
    }

    #[test]
    fn closing_for_all_closes_assignments_and_tells_followers() {
        let active = case(R::Active, &[(10, A::Accepted)]);
        let plan = close(&admin(), &active, input(false)).unwrap();
        assert!(matches!(
            plan.guard,
            Guard::Transition { to: R::Closed, .. }
        ));
        assert_eq!(
            plan.assignments,
            vec![AssignmentChange::CloseAll {
                reason: "travaux_faits_ou_en_cours".into()
            }]
        );
        assert_eq!(
            plan.staff_notices(),
            vec![(Audience::Followers, NotificationKind::CaseClosed)]
        );
        assert_eq!(plan.subscriptions, vec![Subscription::Prune]);
        assert!(plan.resident_email().is_none(), "private closure");
        let public = close(&admin(), &active, input(true)).unwrap();
        assert_eq!(
            public.resident_email(),
            Some((
                "Votre signalement a été clôturé",
                "Les travaux ont été faits."
            ))
        );
        assert!(public.follow_up.unwrap().public);
    }

    #[test]
    fn only_the_admin_closes_an_active_case() {
        assert_eq!(
            close(
                &agent(10),
                &case(R::Active, &[(10, A::Accepted)]),
                input(false)
            ),
            Err(Refusal::NotAllowed)
        );
        assert_eq!(
            close(&admin(), &case(R::NeedValidation, &[]), input(false)),
            Err(Refusal::WrongStatus(R::NeedValidation))
        );
    }

    #[test]
    fn reopening_clears_the_closure_and_reopens_assignments() {
        let plan = reopen(&admin(), &case(R::Refused, &[]), 3).unwrap();
        assert_eq!(
            plan.guard,
            Guard::Transition {
                version: 3,
                from: vec![R::Closed, R::Refused],
                to: R::Active
            }
        );
        assert_eq!(plan.report_fields, vec![ReportField::ClosureReason(None)]);
        assert_eq!(plan.assignments, vec![AssignmentChange::ReopenClosed]);
        assert_eq!(
            plan.audit.unwrap().diff,
            Some(serde_json::json!({"status": ["refused", "active"]}))
        );
        assert_eq!(
            reopen(&admin(), &case(R::Active, &[]), 3),
            Err(Refusal::WrongStatus(R::Active))
        );
        assert_eq!(
            reopen(&admin(), &case(R::Closed, &[]), 2),
            Err(Refusal::Stale)
        );
    }
}
