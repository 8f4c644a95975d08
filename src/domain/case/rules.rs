//! Rule coverage across the commands, without HTTP nor database: the
//! policy matrix (who may take each action in each status, and which
//! refusal the others get), then the rules each command's own tests leave
//! out (refusal order, bounds, plan contents). Each command file keeps the
//! tests of its main path.

use super::assignment::{self, AssignInput, EndInput};
use super::closure::{self, CloseInput};
use super::follow_up::{self, FollowUpInput};
use super::plan::{Author, Guard, Subscription};
use super::refusal::{MAX_MESSAGE_CHARS, check_allowed};
use super::testing::{admin, agent, case, other_admin};
use super::validation::{self, RefuseInput};
use super::visit::{self, OutcomeInput};
use super::{AssignmentStatus as A, Refusal, ReportStatus as R};
use crate::domain::permissions::Actor;
use crate::domain::workflow::{CaseAction, CaseFacts, can};

/// Who tries: the territory admin, an agent whose partner holds an
/// assignment in the given status, an agent of a partner with no
/// assignment on the case, another territory's admin.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Admin,
    Partner(A),
    Outsider,
    OtherAdmin,
}

const ALL_WHO: [Who; 7] = [
    Who::Admin,
    Who::Partner(A::New),
    Who::Partner(A::Accepted),
    Who::Partner(A::Refused),
    Who::Partner(A::Closed),
    Who::Outsider,
    Who::OtherAdmin,
];

fn situation(who: Who, status: R) -> (Actor, CaseFacts) {
    match who {
        Who::Admin => (admin(), case(status, &[])),
        Who::Partner(own) => (agent(10), case(status, &[(10, own)])),
        Who::Outsider => (agent(10), case(status, &[(11, A::Accepted)])),
        Who::OtherAdmin => (other_admin(), case(status, &[])),
    }
}

/// The statuses in which `who` may take `action`: the policy, written out
/// as a table so that a change to `workflow::can` shows here.
fn allowed(action: CaseAction, who: Who) -> &'static [R] {
    use CaseAction as C;
    const OPEN: &[R] = &[R::NeedValidation, R::Active];
    const NOT_ARCHIVED: &[R] = &[R::NeedValidation, R::Active, R::Closed, R::Refused];
    const ALL: &[R] = R::ALL;
    match (action, who) {
        (C::Validate | C::Refuse, Who::Admin) => &[R::NeedValidation],
        (C::Assign, Who::Admin) => OPEN,
        (C::CloseForAll, Who::Admin) => &[R::Active],
        (C::Reopen, Who::Admin) => &[R::Closed, R::Refused],
        (C::EditSections, Who::Admin | Who::Partner(A::Accepted)) => NOT_ARCHIVED,
        (C::AnswerAssignment, Who::Partner(A::New)) => &[R::Active],
        (C::CloseAssignment, Who::Partner(A::Accepted)) => &[R::Active],
        (C::WriteFollowUp | C::PlanVisit, Who::Admin) => OPEN,
        (C::WriteFollowUp | C::PlanVisit, Who::Partner(A::Accepted)) => &[R::Active],
        (C::ManageTags, Who::Admin | Who::Partner(A::Accepted)) => ALL,
        (C::ManageDocuments, Who::Admin | Who::Partner(A::Accepted)) => NOT_ARCHIVED,
        _ => &[],
    }
}

const ACTIONS: [CaseAction; 12] = [
    CaseAction::Validate,
    CaseAction::Refuse,
    CaseAction::Assign,
    CaseAction::CloseForAll,
    CaseAction::Reopen,
    CaseAction::EditSections,
    CaseAction::AnswerAssignment,
    CaseAction::CloseAssignment,
    CaseAction::WriteFollowUp,
    CaseAction::PlanVisit,
    CaseAction::ManageTags,
    CaseAction::ManageDocuments,
];

#[test]
fn the_policy_matrix_and_the_refusal_each_actor_gets() {
    for action in ACTIONS {
        for who in ALL_WHO {
            let statuses = allowed(action, who);
            for &status in R::ALL.iter() {
                let (actor, facts) = situation(who, status);
                let expected = statuses.contains(&status);
                assert_eq!(
                    can(&actor, &facts, action),
                    expected,
                    "{action:?} by {who:?} on a {status:?} case"
                );
                // Refused: a wrong status when some status would allow
                // the actor, no right at all otherwise.
                let refusal = if expected {
                    Ok(())
                } else if statuses.is_empty() {
                    Err(Refusal::NotAllowed)
                } else {
                    Err(Refusal::WrongStatus(status))
                };
                assert_eq!(
                    check_allowed(&actor, &facts, action),
                    refusal,
                    "{action:?} by {who:?} on a {status:?} case"
                );
            }
        }
    }
}

fn end(reason: &str, message: &str) -> EndInput {
    EndInput {
        reason: reason.into(),
        message: message.into(),
    }
}

#[test]
fn refusing_a_report_checks_the_version_then_the_rights_then_the_fields() {
    let new = case(R::NeedValidation, &[]);
    let input = |version: u32, message: &str| RefuseInput {
        version,
        reason: "doublon".into(),
        message: message.into(),
    };
    let ok = "Déjà signalé le mois dernier.";
    assert_eq!(
        validation::refuse(&agent(10), &new, input(2, ok)),
        Err(Refusal::Stale)
    );
    assert_eq!(
        validation::refuse(&other_admin(), &new, input(3, ok)),
        Err(Refusal::NotAllowed)
    );
    assert_eq!(
        validation::refuse(&admin(), &case(R::Active, &[]), input(3, ok)),
        Err(Refusal::WrongStatus(R::Active))
    );
    let too_long = "x".repeat(MAX_MESSAGE_CHARS + 1);
    assert!(matches!(
        validation::refuse(&admin(), &new, input(3, &too_long)),
        Err(Refusal::Invalid(errors)) if errors.get("message").is_some()
    ));
    let longest = "x".repeat(MAX_MESSAGE_CHARS);
    assert!(validation::refuse(&admin(), &new, input(3, &longest)).is_ok());
    assert!(
        matches!(
            validation::refuse(&admin(), &new, input(3, "  court   ")),
            Err(Refusal::Invalid(_))
        ),
        "the explanation is counted trimmed (10 characters at least)"
    );
}

#[test]
fn assigning_a_new_report_and_who_may_unassign() {
    let new = case(R::NeedValidation, &[]);
    let plan = assignment::assign(
        &admin(),
        &new,
        AssignInput {
            version: 3,
            partners: vec!["10".into()],
            eligible: vec![10],
        },
    )
    .expect("an admin assigns before validating");
    assert_eq!(plan.created_assignments(), vec![10]);
    assert!(plan.notices.is_empty(), "the partner is told by apply");

    let active = case(R::Active, &[(10, A::Accepted)]);
    assert_eq!(
        assignment::unassign(&admin(), &active, 2, "10"),
        Err(Refusal::Stale)
    );
    assert_eq!(
        assignment::unassign(&agent(10), &active, 3, "10"),
        Err(Refusal::NotAllowed)
    );
    assert_eq!(
        assignment::unassign(&admin(), &case(R::Closed, &[(10, A::Closed)]), 3, "10"),
        Err(Refusal::WrongStatus(R::Closed))
    );
    let plan = assignment::unassign(&admin(), &active, 3, "10").expect("plan");
    assert_eq!(plan.guard, Guard::Version(3));
    assert_eq!(
        plan.audit.map(|a| (a.action, a.diff)),
        Some((
            "unassign",
            Some(serde_json::json!({"partners": ["10", ""]}))
        ))
    );
}

#[test]
fn answering_an_assignment_records_the_transition_on_the_timeline_privately() {
    let waiting = case(R::Active, &[(10, A::New)]);
    let plan = assignment::accept_assignment(&agent(10), &waiting).expect("plan");
    assert_eq!(
        plan.audit.map(|a| a.diff),
        Some(Some(
            serde_json::json!({"assignment": ["nouveau", "en_cours"]})
        ))
    );
    assert_eq!(
        assignment::accept_assignment(&agent(10), &case(R::Closed, &[(10, A::New)])),
        Err(Refusal::WrongStatus(R::Closed))
    );

    let plan = assignment::refuse_assignment(
        &agent(10),
        &waiting,
        end("hors_competence", "  Hors de notre champ.  "),
    )
    .expect("plan");
    let follow_up = plan.follow_up.as_ref().expect("follow-up");
    assert_eq!(
        (
            follow_up.author,
            follow_up.partner_id,
            follow_up.category,
            follow_up.public
        ),
        (Author::Partner, Some(10), "affectation_refusee", false)
    );
    assert_eq!(follow_up.body, "Hors de notre champ.");
    assert_eq!(
        plan.audit.clone().map(|a| (a.action, a.diff)),
        Some((
            "refuse_assignment",
            Some(serde_json::json!({"assignment": ["nouveau", "refuse"]}))
        ))
    );
    assert!(plan.resident_email().is_none(), "the resident is not told");
    assert!(matches!(
        assignment::refuse_assignment(&agent(10), &waiting, end("hors_competence", "non")),
        Err(Refusal::Invalid(errors)) if errors.get("assignment_message").is_some()
    ));
    assert_eq!(
        assignment::refuse_assignment(
            &agent(10),
            &case(R::Active, &[(10, A::Accepted)]),
            end("hors_competence", "Hors de notre champ.")
        ),
        Err(Refusal::NotAllowed),
        "an accepted assignment is closed, not refused"
    );
}

#[test]
fn closing_an_assignment_needs_a_closure_reason_and_prunes_followers() {
    let accepted = case(R::Active, &[(10, A::Accepted)]);
    let Err(Refusal::Invalid(errors)) =
        assignment::close_assignment(&agent(10), &accepted, end("fantaisie", "court"))
    else {
        panic!("expected field errors");
    };
    assert_eq!(
        errors.get("close_reason"),
        Some("Choisissez le motif de clôture.")
    );
    assert!(errors.get("close_message").is_some());
    let plan = assignment::close_assignment(
        &agent(10),
        &accepted,
        end("logement_decent", "Le logement a été remis en état."),
    )
    .expect("plan");
    assert_eq!(plan.subscriptions, vec![Subscription::Prune]);
    assert_eq!(
        plan.audit.and_then(|a| a.diff),
        Some(serde_json::json!({"assignment": ["en_cours", "ferme"]}))
    );
    assert_eq!(
        assignment::close_assignment(
            &agent(10),
            &case(R::Closed, &[(10, A::Accepted)]),
            end("logement_decent", "Le logement a été remis en état.")
        ),
        Err(Refusal::WrongStatus(R::Closed))
    );
}

#[test]
fn closing_for_all_checks_the_version_and_the_fields() {
    let active = case(R::Active, &[]);
    let input = |version: u32, reason: &str| CloseInput {
        version,
        reason: reason.into(),
        message: "Les travaux ont été faits.".into(),
        public: false,
    };
    assert_eq!(
        closure::close(&admin(), &active, input(2, "travaux_faits_ou_en_cours")),
        Err(Refusal::Stale)
    );
    assert!(matches!(
        closure::close(&admin(), &active, input(3, "fantaisie")),
        Err(Refusal::Invalid(errors)) if errors.get("reason") == Some("Choisissez le motif de clôture.")
    ));
    assert_eq!(
        closure::reopen(&agent(10), &case(R::Closed, &[(10, A::Closed)]), 3),
        Err(Refusal::NotAllowed)
    );
    let plan = closure::reopen(&admin(), &case(R::Closed, &[]), 3).expect("plan");
    let follow_up = plan.follow_up.expect("follow-up");
    assert_eq!(
        (follow_up.author, follow_up.public),
        (Author::System, false)
    );
    assert!(plan.notices.is_empty(), "reopening tells nobody");
}

#[test]
fn follow_ups_tags_and_subscriptions_by_status() {
    let text = |public| FollowUpInput {
        body: "Courrier envoyé au bailleur.".into(),
        public,
    };
    let plan = follow_up::write_follow_up(&admin(), &case(R::NeedValidation, &[]), text(false))
        .expect("an admin writes before validating");
    assert_eq!(plan.guard, Guard::None);
    assert_eq!(
        follow_up::write_follow_up(
            &agent(10),
            &case(R::Closed, &[(10, A::Accepted)]),
            text(true)
        ),
        Err(Refusal::WrongStatus(R::Closed))
    );
    let plan = follow_up::set_tags(
        &agent(10),
        &case(R::Closed, &[(10, A::Accepted)]),
        &["4".into(), "6".into()],
    )
    .expect("an accepted partner tags, whatever the status");
    assert_eq!(plan.tags, Some(vec![4, 6]));
    let plan = follow_up::toggle_subscription(&agent(10), &case(R::Active, &[]), false);
    assert_eq!(
        (plan.guard, plan.audit, plan.notices.len()),
        (Guard::None, None, 0),
        "following is private to the user"
    );
}

#[test]
fn visit_outcomes_other_than_done_need_no_conclusions() {
    let active = case(R::Active, &[(10, A::Accepted)]);
    let outcome = |code: &str, present: &str| OutcomeInput {
        visit_id: 5,
        outcome: code.into(),
        conclusions: String::new(),
        occupant_present: present.into(),
        ..OutcomeInput::default()
    };
    let plan =
        visit::conclude_visit(&agent(10), &active, outcome("cancelled", "non")).expect("plan");
    assert!(matches!(
        plan.guard,
        Guard::VisitOutcome {
            visit_id: 5,
            conclusions: None,
            occupant_present: Some(false),
            ..
        }
    ));
    assert_eq!(
        plan.resident_email().map(|(title, _)| title),
        Some("La visite de votre logement est annulée")
    );
    assert_eq!(
        plan.audit.and_then(|a| a.diff),
        Some(serde_json::json!({"visit": ["planned", "cancelled"]}))
    );
    let plan = visit::conclude_visit(&agent(10), &active, outcome("not_done", "")).expect("plan");
    assert!(matches!(
        plan.guard,
        Guard::VisitOutcome {
            occupant_present: None,
            ..
        }
    ));
    assert!(matches!(
        visit::conclude_visit(&agent(10), &active, outcome("bientot", "")),
        Err(Refusal::Invalid(errors)) if errors.get("visit_status").is_some()
    ));
    assert_eq!(
        visit::conclude_visit(&agent(11), &active, outcome("cancelled", "")),
        Err(Refusal::NotAllowed)
    );
}
