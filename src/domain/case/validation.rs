//! Validating or refusing a new report (the territory admin's first answer).

use super::ReportStatus;
use super::plan::{
    AssignmentChange, AuditEntry, Author, CaseRef, Guard, NewFollowUp, Notice, Plan, ReportField,
    Subscription,
};
use super::refusal::{FieldErrors, Refusal, check_allowed, check_version, reason_and_message};
use crate::domain::audit::diff;
use crate::domain::permissions::Actor;
use crate::domain::workflow::{CaseAction, CaseFacts, REFUSAL_REASONS};

/// The case a plan is about.
pub(super) fn case_ref(case: &CaseFacts) -> CaseRef {
    CaseRef {
        report_id: case.report_id,
        uuid: case.uuid.clone(),
        territory_id: case.territory_id,
    }
}

/// `1,2,3`, the audit's way of writing a list of ids.
pub(super) fn id_list(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

/// The partners ticked in a form (raw ids), each one checked against the
/// territory's `eligible` partners; sorted, without repeats.
pub(super) fn chosen_partners(
    raw: &[String],
    eligible: &[u64],
    errors: &mut FieldErrors,
) -> Vec<u64> {
    let mut ids = Vec::new();
    for value in raw {
        match value
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|id| eligible.contains(id))
        {
            Some(id) => ids.push(id),
            None => errors.add(
                "partner_id",
                "Ce partenaire n’existe pas sur ce territoire.",
            ),
        }
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// What the validation form sends, with what the command needs to check it.
#[derive(Debug, Clone, Default)]
pub struct ValidateInput {
    /// The version the form was built from.
    pub version: u32,
    /// The partners ticked (raw ids from the form).
    pub partners: Vec<String>,
    /// The partners of the territory that may be assigned.
    pub eligible: Vec<u64>,
    /// The partners the auto-assignment rules pick, used when none is
    /// ticked (the caller loads them only then).
    pub auto_picked: Vec<u64>,
}

/// The territory admin validates a new report: it becomes active, the
/// chosen (or auto-picked) partners are assigned and told, the resident is
/// told, the admin follows the case.
pub fn validate(actor: &Actor, case: &CaseFacts, input: ValidateInput) -> Result<Plan, Refusal> {
    check_version(case, input.version)?;
    check_allowed(actor, case, CaseAction::Validate)?;
    let mut errors = FieldErrors::default();
    let mut partners = chosen_partners(&input.partners, &input.eligible, &mut errors);
    errors.into_result()?;
    if input.partners.is_empty() {
        partners = input.auto_picked;
    }
    let mut plan = Plan::new(
        case_ref(case),
        Some(actor.user_id),
        Guard::Transition {
            version: input.version,
            from: vec![ReportStatus::NeedValidation],
            to: ReportStatus::Active,
        },
    );
    plan.assignments = partners
        .iter()
        .map(|p| AssignmentChange::Create { partner_id: *p })
        .collect();
    plan.follow_up = Some(NewFollowUp {
        author: Author::System,
        partner_id: None,
        category: "signalement_valide",
        body: "Votre signalement a été validé et transmis aux services compétents.".into(),
        public: true,
    });
    plan.audit = Some(AuditEntry {
        action: "validate",
        diff: diff(&[
            (
                "status",
                ReportStatus::NeedValidation.to_string(),
                ReportStatus::Active.to_string(),
            ),
            ("partners", String::new(), id_list(&partners)),
        ]),
    });
    plan.notices.push(Notice::Resident {
        title: "Votre signalement a été validé".into(),
        message: "Il a été transmis aux services qui peuvent agir. Vous serez informé de la suite de son traitement.".into(),
    });
    plan.subscriptions.push(Subscription::Subscribe {
        user_id: actor.user_id,
    });
    Ok(plan)
}

/// What the refusal form sends.
#[derive(Debug, Clone, Default)]
pub struct RefuseInput {
    pub version: u32,
    /// One of `REFUSAL_REASONS`.
    pub reason: String,
    /// The explanation sent to the resident.
    pub message: String,
}

/// The territory admin refuses a new report, with a reason and an
/// explanation written on the timeline and e-mailed to the resident.
pub fn refuse(actor: &Actor, case: &CaseFacts, input: RefuseInput) -> Result<Plan, Refusal> {
    check_version(case, input.version)?;
    check_allowed(actor, case, CaseAction::Refuse)?;
    let mut errors = FieldErrors::default();
    let (reason, message) = reason_and_message(
        &REFUSAL_REASONS,
        (&input.reason, &input.message),
        ("reason", "Choisissez le motif du refus."),
        (
            "message",
            "Expliquez le refus à l’usager (10 à 5 000 caractères).",
        ),
        &mut errors,
    );
    errors.into_result()?;
    let mut plan = Plan::new(
        case_ref(case),
        Some(actor.user_id),
        Guard::Transition {
            version: input.version,
            from: vec![ReportStatus::NeedValidation],
            to: ReportStatus::Refused,
        },
    );
    plan.report_fields.push(ReportField::Refusal {
        reason: reason.clone(),
        message: message.clone(),
    });
    plan.follow_up = Some(NewFollowUp {
        author: Author::Partner,
        partner_id: None,
        category: "signalement_refuse",
        body: message.clone(),
        public: true,
    });
    plan.audit = Some(AuditEntry {
        action: "refuse",
        diff: diff(&[
            (
                "status",
                ReportStatus::NeedValidation.to_string(),
                ReportStatus::Refused.to_string(),
            ),
            ("refusal_reason", String::new(), reason),
        ]),
    });
    plan.notices.push(Notice::Resident {
        title: "Votre signalement n’a pas pu être retenu".into(),
        message,
    });
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{admin, agent, case, other_admin};
    use super::*;
    use crate::domain::case::AssignmentStatus as A;
    use crate::domain::case::ReportStatus as R;

    fn input(partners: &[&str]) -> ValidateInput {
        ValidateInput {
            version: 3,
            partners: partners.iter().map(|p| (*p).to_owned()).collect(),
            eligible: vec![10, 11, 12],
            auto_picked: vec![12],
        }
    }

    #[test]
    fn validating_activates_assigns_tells_the_resident_and_subscribes_the_admin() {
        let plan = validate(
            &admin(),
            &case(R::NeedValidation, &[]),
            input(&["11", "10", "11"]),
        )
        .unwrap();
        assert_eq!(
            plan.guard,
            Guard::Transition {
                version: 3,
                from: vec![R::NeedValidation],
                to: R::Active
            }
        );
        assert_eq!(plan.created_assignments(), vec![10, 11]);
        let follow_up = plan.follow_up.as_ref().unwrap();
        assert_eq!(follow_up.author, Author::System);
        assert!(follow_up.public);
        assert_eq!(follow_up.category, "signalement_valide");
        let audit = plan.audit.as_ref().unwrap();
        assert_eq!(audit.action, "validate");
        assert_eq!(
            audit.diff,
            Some(
                serde_json::json!({"status": ["need_validation", "active"], "partners": ["", "10,11"]})
            )
        );
        assert_eq!(
            plan.resident_email().unwrap().0,
            "Votre signalement a été validé"
        );
        assert_eq!(
            plan.subscriptions,
            vec![Subscription::Subscribe { user_id: 1 }]
        );
        assert!(
            plan.staff_notices().is_empty(),
            "partners are told through their assignment"
        );
    }

    #[test]
    fn validating_without_a_choice_takes_the_auto_assignment_picks() {
        let plan = validate(&admin(), &case(R::NeedValidation, &[]), input(&[])).unwrap();
        assert_eq!(plan.created_assignments(), vec![12]);
    }

    #[test]
    fn validating_refuses_a_partner_of_another_territory_a_stale_form_and_other_people() {
        let new = case(R::NeedValidation, &[]);
        let Err(Refusal::Invalid(errors)) = validate(&admin(), &new, input(&["99"])) else {
            panic!("expected field errors");
        };
        assert_eq!(
            errors.get("partner_id"),
            Some("Ce partenaire n’existe pas sur ce territoire.")
        );
        let stale = ValidateInput {
            version: 2,
            ..input(&[])
        };
        assert_eq!(validate(&admin(), &new, stale), Err(Refusal::Stale));
        assert_eq!(
            validate(&other_admin(), &new, input(&[])),
            Err(Refusal::NotAllowed)
        );
        assert_eq!(
            validate(&agent(10), &new, input(&[])),
            Err(Refusal::NotAllowed)
        );
        assert_eq!(
            validate(&admin(), &case(R::Active, &[(10, A::New)]), input(&[])),
            Err(Refusal::WrongStatus(R::Active))
        );
    }

    #[test]
    fn refusing_needs_a_listed_reason_and_an_explanation() {
        let new = case(R::NeedValidation, &[]);
        let bad = RefuseInput {
            version: 3,
            reason: "fantaisie".into(),
            message: "court".into(),
        };
        let Err(Refusal::Invalid(errors)) = refuse(&admin(), &new, bad) else {
            panic!("expected field errors");
        };
        assert_eq!(errors.get("reason"), Some("Choisissez le motif du refus."));
        assert!(errors.get("message").unwrap().contains("10 à 5 000"));
    }

    #[test]
    fn refusing_records_the_reason_and_writes_to_the_resident() {
        let plan = refuse(
            &admin(),
            &case(R::NeedValidation, &[]),
            RefuseInput {
                version: 3,
                reason: "doublon".into(),
                message: "  Déjà signalé le mois dernier.  ".into(),
            },
        )
        .unwrap();
        assert!(matches!(
            plan.guard,
            Guard::Transition { to: R::Refused, .. }
        ));
        assert_eq!(
            plan.report_fields,
            vec![ReportField::Refusal {
                reason: "doublon".into(),
                message: "Déjà signalé le mois dernier.".into()
            }]
        );
        let follow_up = plan.follow_up.as_ref().unwrap();
        assert_eq!(
            (follow_up.author, follow_up.public),
            (Author::Partner, true)
        );
        assert_eq!(
            plan.resident_email(),
            Some((
                "Votre signalement n’a pas pu être retenu",
                "Déjà signalé le mois dernier."
            ))
        );
        assert_eq!(plan.audit.unwrap().action, "refuse");
        assert!(plan.assignments.is_empty());
    }
}
