//! Visits of the dwelling: planning one, then recording its outcome.

use time::PrimitiveDateTime;

use super::plan::{AuditEntry, Author, Guard, NewFollowUp, NewVisit, Notice, Plan};
use super::refusal::{FieldErrors, Refusal, check_allowed};
use super::validation::case_ref;
use super::{AssignmentStatus, VisitOutcome};
use crate::domain::audit::diff;
use crate::domain::permissions::Actor;
use crate::domain::workflow::{CaseAction, CaseFacts, MIN_MESSAGE_CHARS};

/// `dd/mm/yyyy hh:mm`, as the resident reads it.
pub fn french_datetime(at: &PrimitiveDateTime) -> String {
    format!(
        "{:02}/{:02}/{} {:02}:{:02}",
        at.day(),
        u8::from(at.month()),
        at.year(),
        at.hour(),
        at.minute()
    )
}

/// What the visit form sends.
#[derive(Debug, Clone, Default)]
pub struct PlanVisitInput {
    /// `YYYY-MM-DDTHH:MM` (the datetime-local field).
    pub scheduled_at: String,
    /// The partner who visits (raw id), optional.
    pub partner: String,
    pub comment: String,
}

/// A visit is planned: on the timeline and e-mailed to the resident. A date
/// more than a day in the past (relative to `now`) is refused; the visiting
/// partner must have accepted the case.
pub fn plan_visit(
    actor: &Actor,
    case: &CaseFacts,
    input: PlanVisitInput,
    now: PrimitiveDateTime,
) -> Result<Plan, Refusal> {
    check_allowed(actor, case, CaseAction::PlanVisit)?;
    let mut errors = FieldErrors::default();
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let scheduled = PrimitiveDateTime::parse(input.scheduled_at.trim(), &format).ok();
    match scheduled {
        None => errors.add("scheduled_at", "Indiquez la date et l’heure de la visite."),
        Some(at) if at < now - time::Duration::days(1) => {
            errors.add("scheduled_at", "La date de la visite est passée.")
        }
        Some(_) => {}
    }
    let partner_id = input.partner.trim().parse::<u64>().ok();
    if let Some(p) = partner_id
        && !case
            .assignments
            .iter()
            .any(|(partner, status)| *partner == p && *status == AssignmentStatus::Accepted)
    {
        errors.add(
            "visit_partner",
            "Choisissez un partenaire qui a accepté le signalement.",
        );
    }
    errors.clone().into_result()?;
    let Some(at) = scheduled else {
        return Err(Refusal::Invalid(errors));
    };
    let when = french_datetime(&at);
    let comment = input.comment.trim();
    let mut plan = Plan::new(case_ref(case), Some(actor.user_id), Guard::None);
    plan.visit = Some(NewVisit {
        partner_id,
        scheduled_at: at,
        comment: (!comment.is_empty()).then(|| comment.to_owned()),
    });
    plan.follow_up = Some(NewFollowUp {
        author: Author::System,
        partner_id,
        category: "visite_planifiee",
        body: format!("Une visite du logement est prévue le {when}."),
        public: true,
    });
    plan.notices.push(Notice::Resident {
        title: "Une visite de votre logement est prévue".into(),
        message: format!("Un agent viendra visiter le logement le {when}. Merci de prévoir d’être présent ou de vous faire représenter."),
    });
    plan.audit = Some(AuditEntry {
        action: "plan_visit",
        diff: None,
    });
    Ok(plan)
}

/// What the visit outcome form sends.
#[derive(Debug, Clone, Default)]
pub struct OutcomeInput {
    pub visit_id: u64,
    /// `done`, `cancelled` or `not_done`.
    pub outcome: String,
    pub conclusions: String,
    /// `oui`, `non` or empty.
    pub occupant_present: String,
}

/// The outcome of a planned visit: on the timeline and e-mailed to the
/// resident (conclusions when it took place). Only a visit still planned
/// receives it (checked when applied).
pub fn conclude_visit(
    actor: &Actor,
    case: &CaseFacts,
    input: OutcomeInput,
) -> Result<Plan, Refusal> {
    check_allowed(actor, case, CaseAction::PlanVisit)?;
    let outcome = VisitOutcome::parse(input.outcome.trim()).filter(|o| !o.is_planned());
    let conclusions = input.conclusions.trim().to_owned();
    let mut errors = FieldErrors::default();
    if outcome.is_none() {
        errors.add(
            "visit_status",
            "Indiquez si la visite a eu lieu, a été annulée ou n’a pas pu se faire.",
        );
    }
    if outcome == Some(VisitOutcome::Done) && conclusions.chars().count() < MIN_MESSAGE_CHARS {
        errors.add(
            "conclusions",
            "Résumez les constats de la visite (10 caractères au moins).",
        );
    }
    errors.clone().into_result()?;
    let Some(outcome) = outcome else {
        return Err(Refusal::Invalid(errors));
    };
    let occupant_present = match input.occupant_present.trim() {
        "oui" => Some(true),
        "non" => Some(false),
        _ => None,
    };
    let (title, message) = match outcome {
        VisitOutcome::Done => ("La visite de votre logement a eu lieu", conclusions.clone()),
        VisitOutcome::Cancelled => (
            "La visite de votre logement est annulée",
            "La visite prévue est annulée ; une nouvelle date vous sera proposée si besoin."
                .to_owned(),
        ),
        VisitOutcome::NotDone | VisitOutcome::Planned => (
            "La visite de votre logement n’a pas pu avoir lieu",
            "La visite prévue n’a pas pu se faire. Le service vous recontactera.".to_owned(),
        ),
    };
    let mut plan = Plan::new(
        case_ref(case),
        Some(actor.user_id),
        Guard::VisitOutcome {
            visit_id: input.visit_id,
            outcome,
            conclusions: (!conclusions.is_empty()).then_some(conclusions),
            occupant_present,
        },
    );
    plan.follow_up = Some(NewFollowUp {
        author: Author::Partner,
        partner_id: None,
        category: "visite_resultat",
        body: message.clone(),
        public: true,
    });
    plan.notices.push(Notice::Resident {
        title: title.into(),
        message,
    });
    plan.audit = Some(AuditEntry {
        action: "record_visit",
        diff: diff(&[(
            "visit",
            VisitOutcome::Planned.to_string(),
            outcome.to_string(),
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
    use time::macros::datetime;

    const NOW: PrimitiveDateTime = datetime!(2026-12-05 10:00);

    fn visit(at: &str, partner: &str) -> PlanVisitInput {
        PlanVisitInput {
            scheduled_at: at.into(),
            partner: partner.into(),
            comment: String::new(),
        }
    }

    #[test]
    fn planning_a_visit_tells_the_resident_the_date() {
        let active = case(R::Active, &[(10, A::Accepted)]);
        let plan = plan_visit(&agent(10), &active, visit("2026-12-10T14:30", "10"), NOW).unwrap();
        let planned = plan.visit.as_ref().unwrap();
        assert_eq!(planned.partner_id, Some(10));
        assert_eq!(planned.scheduled_at, datetime!(2026-12-10 14:30));
        assert_eq!(
            plan.follow_up.as_ref().unwrap().body,
            "Une visite du logement est prévue le 10/12/2026 14:30."
        );
        assert!(
            plan.resident_email()
                .unwrap()
                .1
                .contains("10/12/2026 14:30")
        );
        assert_eq!(plan.audit.unwrap().action, "plan_visit");
    }

    #[test]
    fn a_visit_needs_a_date_not_past_and_an_accepting_partner() {
        let active = case(R::Active, &[(10, A::Accepted), (11, A::New)]);
        let errors_of = |input| match plan_visit(&admin(), &active, input, NOW) {
            Err(Refusal::Invalid(errors)) => errors,
            other => panic!("expected field errors, got {other:?}"),
        };
        assert_eq!(
            errors_of(visit("demain", "")).get("scheduled_at"),
            Some("Indiquez la date et l’heure de la visite.")
        );
        assert_eq!(
            errors_of(visit("2026-12-01T10:00", "")).get("scheduled_at"),
            Some("La date de la visite est passée.")
        );
        assert!(
            errors_of(visit("2026-12-10T10:00", "11"))
                .get("visit_partner")
                .is_some()
        );
        assert!(
            plan_visit(&admin(), &active, visit("2026-12-04T12:00", ""), NOW).is_ok(),
            "a day of grace"
        );
        assert_eq!(
            plan_visit(&agent(11), &active, visit("2026-12-10T10:00", ""), NOW),
            Err(Refusal::NotAllowed)
        );
    }

    #[test]
    fn a_done_visit_needs_conclusions_which_the_resident_receives() {
        let active = case(R::Active, &[(10, A::Accepted)]);
        let outcome = |o: &str, c: &str| OutcomeInput {
            visit_id: 4,
            outcome: o.into(),
            conclusions: c.into(),
            occupant_present: "oui".into(),
        };
        let Err(Refusal::Invalid(errors)) =
            conclude_visit(&agent(10), &active, outcome("done", "ok"))
        else {
            panic!("conclusions required");
        };
        assert!(errors.get("conclusions").is_some());
        assert!(conclude_visit(&agent(10), &active, outcome("planned", "")).is_err());
        let plan = conclude_visit(
            &agent(10),
            &active,
            outcome("done", "Humidité dans la chambre."),
        )
        .unwrap();
        assert_eq!(
            plan.guard,
            Guard::VisitOutcome {
                visit_id: 4,
                outcome: VisitOutcome::Done,
                conclusions: Some("Humidité dans la chambre.".into()),
                occupant_present: Some(true)
            }
        );
        assert_eq!(
            plan.resident_email(),
            Some((
                "La visite de votre logement a eu lieu",
                "Humidité dans la chambre."
            ))
        );
        let cancelled = conclude_visit(&agent(10), &active, outcome("cancelled", "")).unwrap();
        assert_eq!(
            cancelled.audit.unwrap().diff,
            Some(serde_json::json!({"visit": ["planned", "cancelled"]}))
        );
    }
}
