//! Assignments: the territory admin assigns and unassigns partners; a
//! partner accepts or refuses a new assignment, then closes its work.

use super::plan::{
    Answer, AssignmentChange, Audience, AuditEntry, Author, Guard, NewFollowUp, Notice, Plan,
    PlannedJob, Subscription,
};
use super::refusal::{FieldErrors, Refusal, check_allowed, check_version, reason_and_message};
use super::validation::{case_ref, chosen_partners, id_list};
use super::{AssignmentStatus, NotificationKind};
use crate::domain::audit::diff;
use crate::domain::permissions::Actor;
use crate::domain::workflow::{ASSIGNMENT_REFUSAL_REASONS, CLOSURE_REASONS, CaseAction, CaseFacts};

/// What the assignment form sends.
#[derive(Debug, Clone, Default)]
pub struct AssignInput {
    pub version: u32,
    /// The partners ticked (raw ids).
    pub partners: Vec<String>,
    /// The partners of the territory that may be assigned.
    pub eligible: Vec<u64>,
}

/// The territory admin assigns more partners to a case; each new one is
/// told and its connected systems get the case.
pub fn assign(actor: &Actor, case: &CaseFacts, input: AssignInput) -> Result<Plan, Refusal> {
    check_version(case, input.version)?;
    check_allowed(actor, case, CaseAction::Assign)?;
    let mut errors = FieldErrors::default();
    let partners = chosen_partners(&input.partners, &input.eligible, &mut errors);
    if partners.is_empty() {
        errors.add("partner_id", "Choisissez un partenaire.");
    }
    errors.into_result()?;
    let mut plan = Plan::new(
        case_ref(case),
        Some(actor.user_id),
        Guard::Version(input.version),
    );
    plan.assignments = partners
        .iter()
        .map(|p| AssignmentChange::Create { partner_id: *p })
        .collect();
    plan.audit = Some(AuditEntry {
        action: "assign",
        diff: diff(&[("partners", String::new(), id_list(&partners))]),
    });
    Ok(plan)
}

/// The territory admin removes a partner from a case; the partner's users
/// stop following it.
pub fn unassign(
    actor: &Actor,
    case: &CaseFacts,
    version: u32,
    partner: &str,
) -> Result<Plan, Refusal> {
    check_version(case, version)?;
    check_allowed(actor, case, CaseAction::Assign)?;
    let partner_id: u64 = partner
        .trim()
        .parse()
        .map_err(|_| Refusal::BadInput("Partenaire manquant."))?;
    let mut plan = Plan::new(case_ref(case), Some(actor.user_id), Guard::Version(version));
    plan.assignments
        .push(AssignmentChange::Remove { partner_id });
    plan.subscriptions.push(Subscription::Prune);
    plan.audit = Some(AuditEntry {
        action: "unassign",
        diff: diff(&[("partners", partner_id.to_string(), String::new())]),
    });
    Ok(plan)
}

/// The actor's partner on the case (the one with an assignment).
fn own_partner(actor: &Actor, case: &CaseFacts) -> Result<u64, Refusal> {
    case.own_assignment(actor)
        .map(|(partner, _)| partner)
        .ok_or(Refusal::NotAllowed)
}

/// A partner accepts its new assignment: it works on the case from now on,
/// the user follows it, and the partner's connected systems hear of it.
pub fn accept_assignment(actor: &Actor, case: &CaseFacts) -> Result<Plan, Refusal> {
    check_allowed(actor, case, CaseAction::AnswerAssignment)?;
    let partner_id = own_partner(actor, case)?;
    let answer = Answer::Accept;
    let (from, to) = answer.transition();
    let mut plan = Plan::new(
        case_ref(case),
        Some(actor.user_id),
        Guard::Answer { partner_id, answer },
    );
    plan.follow_up = Some(NewFollowUp {
        author: Author::System,
        partner_id: Some(partner_id),
        category: "affectation_acceptee",
        body: "Le partenaire a accepté de traiter le signalement.".into(),
        public: false,
    });
    plan.audit = Some(AuditEntry {
        action: "accept_assignment",
        diff: diff(&[("assignment", from.to_string(), to.to_string())]),
    });
    plan.subscriptions.push(Subscription::Subscribe {
        user_id: actor.user_id,
    });
    plan.jobs
        .push(PlannedJob::AssignmentStatusChanged { partner_id });
    Ok(plan)
}

/// What a partner sends to refuse or close its assignment.
#[derive(Debug, Clone, Default)]
pub struct EndInput {
    pub reason: String,
    pub message: String,
}

/// A partner refuses its new assignment, with a reason; the territory
/// admins are told.
pub fn refuse_assignment(
    actor: &Actor,
    case: &CaseFacts,
    input: EndInput,
) -> Result<Plan, Refusal> {
    check_allowed(actor, case, CaseAction::AnswerAssignment)?;
    let partner_id = own_partner(actor, case)?;
    let mut errors = FieldErrors::default();
    let (reason, message) = reason_and_message(
        &ASSIGNMENT_REFUSAL_REASONS,
        (&input.reason, &input.message),
        ("assignment_reason", "Choisissez le motif du refus."),
        (
            "assignment_message",
            "Expliquez le refus (10 à 5 000 caractères).",
        ),
        &mut errors,
    );
    errors.into_result()?;
    let answer = Answer::Refuse {
        reason,
        message: message.clone(),
    };
    Ok(end_plan(
        actor,
        case,
        partner_id,
        answer,
        message,
        ("affectation_refusee", "refuse_assignment"),
        NotificationKind::AssignmentRefused,
        "Un partenaire a refusé une affectation",
    ))
}

/// A partner closes its accepted assignment, with a reason; the territory
/// admins are told (as a partner's closure when no partner is left on the
/// case, as a new follow-up otherwise).
pub fn close_assignment(actor: &Actor, case: &CaseFacts, input: EndInput) -> Result<Plan, Refusal> {
    check_allowed(actor, case, CaseAction::CloseAssignment)?;
    let partner_id = own_partner(actor, case)?;
    let mut errors = FieldErrors::default();
    let (reason, message) = reason_and_message(
        &CLOSURE_REASONS,
        (&input.reason, &input.message),
        ("close_reason", "Choisissez le motif de clôture."),
        (
            "close_message",
            "Décrivez la clôture (10 à 5 000 caractères).",
        ),
        &mut errors,
    );
    errors.into_result()?;
    let last_one = !case
        .assignments
        .iter()
        .any(|(p, status)| *p != partner_id && status.is_open());
    let kind = if last_one {
        NotificationKind::PartnerClosed
    } else {
        NotificationKind::NewFollowUp
    };
    let answer = Answer::Close {
        reason,
        message: message.clone(),
    };
    Ok(end_plan(
        actor,
        case,
        partner_id,
        answer,
        message,
        ("affectation_cloturee", "close_assignment"),
        kind,
        "Un partenaire a clôturé son intervention",
    ))
}

/// Refusing and closing take the same steps with different words.
#[allow(clippy::too_many_arguments)]
fn end_plan(
    actor: &Actor,
    case: &CaseFacts,
    partner_id: u64,
    answer: Answer,
    message: String,
    (category, action): (&'static str, &'static str),
    kind: NotificationKind,
    title: &'static str,
) -> Plan {
    let (from, to): (AssignmentStatus, AssignmentStatus) = answer.transition();
    let mut plan = Plan::new(
        case_ref(case),
        Some(actor.user_id),
        Guard::Answer { partner_id, answer },
    );
    // A refused or closed assignment no longer brings notifications.
    plan.subscriptions.push(Subscription::Prune);
    plan.follow_up = Some(NewFollowUp {
        author: Author::Partner,
        partner_id: Some(partner_id),
        category,
        body: message,
        public: false,
    });
    plan.audit = Some(AuditEntry {
        action,
        diff: diff(&[("assignment", from.to_string(), to.to_string())]),
    });
    plan.notices.push(Notice::Staff {
        audience: Audience::TerritoryAdmins,
        kind,
        title,
    });
    plan
}

#[cfg(test)]
mod tests {
    use super::super::testing::{admin, agent, case};
    use super::*;
    use crate::domain::case::AssignmentStatus as A;
    use crate::domain::case::ReportStatus as R;

    fn end(reason: &str) -> EndInput {
        EndInput {
            reason: reason.into(),
            message: "Le logement a été remis en état.".into(),
        }
    }

    #[test]
    fn assigning_creates_only_valid_partners_under_the_version_lock() {
        let active = case(R::Active, &[(10, A::Accepted)]);
        let plan = assign(
            &admin(),
            &active,
            AssignInput {
                version: 3,
                partners: vec!["12".into(), "11".into()],
                eligible: vec![10, 11, 12],
            },
        )
        .unwrap();
        assert_eq!(plan.guard, Guard::Version(3));
        assert_eq!(plan.created_assignments(), vec![11, 12]);
        assert_eq!(plan.audit.unwrap().action, "assign");
        let Err(Refusal::Invalid(errors)) = assign(
            &admin(),
            &active,
            AssignInput {
                version: 3,
                ..AssignInput::default()
            },
        ) else {
            panic!("a partner is required");
        };
        assert_eq!(errors.get("partner_id"), Some("Choisissez un partenaire."));
        assert_eq!(
            assign(&agent(10), &active, AssignInput::default()),
            Err(Refusal::Stale),
            "the version is checked first"
        );
        assert!(matches!(
            assign(
                &agent(10),
                &active,
                AssignInput {
                    version: 3,
                    ..AssignInput::default()
                }
            ),
            Err(Refusal::NotAllowed)
        ));
        assert_eq!(
            assign(
                &admin(),
                &case(R::Closed, &[]),
                AssignInput {
                    version: 3,
                    ..AssignInput::default()
                }
            ),
            Err(Refusal::WrongStatus(R::Closed))
        );
    }

    #[test]
    fn unassigning_removes_and_prunes_subscriptions() {
        let active = case(R::Active, &[(10, A::New)]);
        let plan = unassign(&admin(), &active, 3, "10").unwrap();
        assert_eq!(
            plan.assignments,
            vec![AssignmentChange::Remove { partner_id: 10 }]
        );
        assert_eq!(plan.subscriptions, vec![Subscription::Prune]);
        assert_eq!(
            unassign(&admin(), &active, 3, "x"),
            Err(Refusal::BadInput("Partenaire manquant."))
        );
    }

    #[test]
    fn a_partner_accepts_only_its_own_new_assignment() {
        let waiting = case(R::Active, &[(10, A::New)]);
        let plan = accept_assignment(&agent(10), &waiting).unwrap();
        assert_eq!(
            plan.guard,
            Guard::Answer {
                partner_id: 10,
                answer: Answer::Accept
            }
        );
        assert_eq!(
            plan.subscriptions,
            vec![Subscription::Subscribe { user_id: 110 }]
        );
        assert_eq!(
            plan.jobs,
            vec![PlannedJob::AssignmentStatusChanged { partner_id: 10 }]
        );
        assert!(!plan.follow_up.unwrap().public);
        assert_eq!(
            accept_assignment(&agent(11), &waiting),
            Err(Refusal::NotAllowed)
        );
        assert_eq!(
            accept_assignment(&agent(10), &case(R::Active, &[(10, A::Accepted)])),
            Err(Refusal::NotAllowed),
            "already accepted"
        );
    }

    #[test]
    fn refusing_an_assignment_tells_the_territory_admins() {
        let waiting = case(R::Active, &[(10, A::New)]);
        let plan = refuse_assignment(&agent(10), &waiting, end("hors_competence")).unwrap();
        assert!(matches!(
            plan.guard,
            Guard::Answer {
                partner_id: 10,
                answer: Answer::Refuse { .. }
            }
        ));
        assert_eq!(
            plan.staff_notices(),
            vec![(
                Audience::TerritoryAdmins,
                NotificationKind::AssignmentRefused
            )]
        );
        assert!(plan.subscriptions.contains(&Subscription::Prune));
        let Err(Refusal::Invalid(errors)) =
            refuse_assignment(&agent(10), &waiting, end("insalubrite"))
        else {
            panic!("closure reasons are not refusal reasons");
        };
        assert!(errors.get("assignment_reason").is_some());
    }

    #[test]
    fn the_last_partner_closing_is_a_partner_closure_notice() {
        let alone = case(R::Active, &[(10, A::Accepted), (11, A::Refused)]);
        let plan = close_assignment(&agent(10), &alone, end("logement_decent")).unwrap();
        assert_eq!(
            plan.staff_notices(),
            vec![(Audience::TerritoryAdmins, NotificationKind::PartnerClosed)]
        );
        assert_eq!(plan.audit.unwrap().action, "close_assignment");
        let with_others = case(R::Active, &[(10, A::Accepted), (11, A::New)]);
        let plan = close_assignment(&agent(10), &with_others, end("logement_decent")).unwrap();
        assert_eq!(
            plan.staff_notices(),
            vec![(Audience::TerritoryAdmins, NotificationKind::NewFollowUp)]
        );
        assert_eq!(
            close_assignment(
                &agent(10),
                &case(R::Active, &[(10, A::New)]),
                end("logement_decent")
            ),
            Err(Refusal::NotAllowed),
            "not accepted yet"
        );
    }
}
