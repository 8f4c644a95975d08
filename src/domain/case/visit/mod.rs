//! Visits of the dwelling, as case commands: plan one (for a partner with
//! the visit competence or an external operator; a past date records a
//! visit already done), reschedule it, cancel it, conclude it (procedures
//! found, who was present, whether the resident reads the conclusion) and
//! edit that conclusion afterwards. Each returns a [`Plan`] applied by
//! `case_plan::apply`; the visit's own state is guarded there (a visit
//! concluded by someone else meanwhile → conflict). See docs/visits.md.

pub mod alert;
pub mod kinds;

use time::PrimitiveDateTime;

use super::NotificationKind;
use super::VisitOutcome;
use super::plan::{
    Audience, AuditEntry, Author, Guard, NewFollowUp, NewVisit, Notice, Plan, VisitChange,
};
use super::refusal::{FieldErrors, Refusal, check_allowed};
use super::validation::case_ref;
use crate::domain::audit::diff;
use crate::domain::document::DocumentType;
use crate::domain::permissions::Actor;
use crate::domain::workflow::{CaseAction, CaseFacts, MIN_MESSAGE_CHARS};
pub use kinds::{
    Conclusion, Procedure, VisitEvent, VisitFacts, VisitKind, Visitor, parse_procedures, yes_no,
};
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

/// The datetime-local field's format.
const FORM_DATETIME: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");

/// What the conclusion part of a form sends.
#[derive(Debug, Clone, Default)]
pub struct ConclusionInput {
    /// Procedure codes, several allowed.
    pub procedures: Vec<String>,
    pub conclusions: String,
    /// `oui`, `non` or empty.
    pub occupant_present: String,
    /// `oui`, `non` or empty.
    pub owner_present: String,
    /// The resident reads the conclusion.
    pub public: bool,
}

impl ConclusionInput {
    /// The conclusion of a visit that took place: text of 10 characters at
    /// least, known procedures.
    fn check(&self, errors: &mut FieldErrors) -> Conclusion {
        let text = self.conclusions.trim().to_owned();
        if text.chars().count() < MIN_MESSAGE_CHARS {
            errors.add(
                "conclusions",
                "Résumez les constats de la visite (10 caractères au moins).",
            );
        }
        let procedures = parse_procedures(&self.procedures).unwrap_or_else(|_| {
            errors.add("procedures", "Choisissez les procédures dans la liste.");
            Vec::new()
        });
        Conclusion {
            procedures,
            text,
            occupant_present: yes_no(&self.occupant_present),
            owner_present: yes_no(&self.owner_present),
            public: self.public,
        }
    }
}

/// What the visit form sends.
#[derive(Debug, Clone, Default)]
pub struct PlanVisitInput {
    /// `YYYY-MM-DDTHH:MM` (the datetime-local field).
    pub scheduled_at: String,
    /// The partner who visits (raw id); empty for an agent: their own.
    pub partner: String,
    /// An operator outside the platform, instead of a partner.
    pub external_operator: String,
    /// A [`VisitKind`] code; empty: a visit.
    pub kind: String,
    pub comment: String,
    /// For a date already past: what the visit found.
    pub outcome: ConclusionInput,
}

/// What the platform knows that the form does not: the time, and the
/// partners of the territory with the visit competence.
#[derive(Debug, Clone, Copy)]
pub struct PlanContext<'a> {
    pub now: PrimitiveDateTime,
    pub visit_partners: &'a [u64],
}

/// Whether the actor may act on this visit: a territory admin on any, an
/// agent on the visits of their partner (or of an external operator, on
/// a case their partner accepted: `check_allowed` already said so).
pub fn may_handle(actor: &Actor, case: &CaseFacts, visit: &VisitFacts) -> bool {
    actor.administers_territory(case.territory_id)
        || visit.partner_id.is_none_or(|p| actor.is_member_of(p))
}

fn parse_datetime(raw: &str) -> Option<PrimitiveDateTime> {
    PrimitiveDateTime::parse(raw.trim(), FORM_DATETIME).ok()
}

/// The staff notice of a visit event (followers of the case).
fn tell_followers(plan: &mut Plan, title: &'static str) {
    plan.notices.push(Notice::Staff {
        audience: Audience::Followers,
        kind: NotificationKind::Visit,
        title,
    });
}

/// A visit is planned: on the timeline and e-mailed to the resident and
/// the followers. The visitor is a partner of the territory with the visit
/// competence (an agent: their own partner only) or an external operator.
/// A date more than a day past records a visit already done: its
/// conclusion is then required.
pub fn plan_visit(
    actor: &Actor,
    case: &CaseFacts,
    input: PlanVisitInput,
    ctx: PlanContext<'_>,
) -> Result<Plan, Refusal> {
    check_allowed(actor, case, CaseAction::PlanVisit)?;
    let admin = actor.administers_territory(case.territory_id);
    let mut errors = FieldErrors::default();
    let kind = match input.kind.trim() {
        "" => Some(VisitKind::Visit),
        code => VisitKind::parse(code),
    };
    if kind.is_none() {
        errors.add("kind", "Choisissez le type de visite dans la liste.");
    }
    let scheduled = parse_datetime(&input.scheduled_at);
    if scheduled.is_none() {
        errors.add("scheduled_at", "Indiquez la date et l’heure de la visite.");
    }
    let past = scheduled.is_some_and(|at| at < ctx.now - time::Duration::days(1));
    let operator = input.external_operator.trim();
    let partner = match input.partner.trim() {
        "" if !admin && operator.is_empty() => case.own_assignment(actor).map(|(p, _)| p),
        "" => None,
        raw => raw.parse::<u64>().ok().or(Some(0)),
    };
    let visitor = match (partner, operator) {
        (Some(_), o) if !o.is_empty() => {
            errors.add(
                "visit_partner",
                "Choisissez un partenaire ou nommez un opérateur externe, pas les deux.",
            );
            None
        }
        (Some(p), _) if !ctx.visit_partners.contains(&p) => {
            errors.add(
                "visit_partner",
                "Choisissez un partenaire du territoire compétent pour les visites.",
            );
            None
        }
        (Some(p), _) if !admin && !actor.is_member_of(p) => {
            errors.add(
                "visit_partner",
                "Vous ne pouvez planifier une visite que pour votre partenaire.",
            );
            None
        }
        (Some(p), _) => Some(Visitor::Partner(p)),
        (None, "") => {
            errors.add(
                "visit_partner",
                "Choisissez le partenaire qui visite ou nommez l’opérateur externe.",
            );
            None
        }
        (None, o) if o.chars().count() > 255 => {
            errors.add("external_operator", "255 caractères au plus.");
            None
        }
        (None, o) => Some(Visitor::External(o.to_owned())),
    };
    let concluded = past.then(|| input.outcome.check(&mut errors));
    errors.clone().into_result()?;
    let (Some(at), Some(kind), Some(visitor)) = (scheduled, kind, visitor) else {
        return Err(Refusal::Invalid(errors));
    };
    let when = french_datetime(&at);
    let comment = input.comment.trim();
    let mut plan = Plan::new(case_ref(case), Some(actor.user_id), Guard::None);
    plan.follow_up = Some(NewFollowUp {
        author: Author::System,
        partner_id: visitor.partner_id(),
        category: "visite_planifiee",
        body: match &concluded {
            None => format!("{} du logement prévue le {when}.", kind.label()),
            Some(_) => format!("{} du logement effectuée le {when}.", kind.label()),
        },
        public: true,
    });
    match &concluded {
        None => {
            plan.notices.push(Notice::Visit {
                event: VisitEvent::Planned,
                message: format!("Un agent viendra visiter le logement le {when}. Merci de prévoir d’être présent ou de vous faire représenter."),
            });
            tell_followers(&mut plan, "Visite planifiée");
        }
        Some(conclusion) => {
            plan.notices.push(done_notice(conclusion));
            tell_followers(&mut plan, "Visite effectuée");
        }
    }
    plan.audit = Some(AuditEntry {
        action: "plan_visit",
        diff: Some(crate::domain::audit::created(&[
            ("kind", kind.as_str().to_owned()),
            ("scheduled_at", when),
            (
                "visitor",
                match &visitor {
                    Visitor::Partner(p) => format!("partner:{p}"),
                    Visitor::External(name) => name.clone(),
                },
            ),
        ])),
    });
    plan.visit = Some(NewVisit {
        visitor,
        kind,
        scheduled_at: at,
        comment: (!comment.is_empty()).then(|| comment.to_owned()),
        concluded,
    });
    Ok(plan)
}

/// The resident's e-mail when a visit took place: its conclusion only if
/// the resident may read it.
fn done_notice(conclusion: &Conclusion) -> Notice {
    Notice::Visit {
        event: VisitEvent::Done,
        message: if conclusion.public {
            conclusion.text.clone()
        } else {
            "La visite a eu lieu. Le service vous tiendra informé de ses suites.".into()
        },
    }
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
    /// `oui`, `non` or empty.
    pub owner_present: String,
    /// Procedure codes found, several allowed.
    pub procedures: Vec<String>,
    /// The resident reads the conclusion.
    pub public: bool,
}

/// The outcome of a planned visit (confirming it took place, with its
/// conclusion): on the timeline and e-mailed to the resident (the
/// conclusion only when public) and the followers. Only a visit still
/// planned receives it (checked when applied).
pub fn conclude_visit(
    actor: &Actor,
    case: &CaseFacts,
    input: OutcomeInput,
) -> Result<Plan, Refusal> {
    check_allowed(actor, case, CaseAction::PlanVisit)?;
    let outcome = VisitOutcome::parse(input.outcome.trim()).filter(|o| !o.is_planned());
    let mut errors = FieldErrors::default();
    if outcome.is_none() {
        errors.add(
            "visit_status",
            "Indiquez si la visite a eu lieu, a été annulée ou n’a pas pu se faire.",
        );
    }
    let form = ConclusionInput {
        procedures: input.procedures.clone(),
        conclusions: input.conclusions.clone(),
        occupant_present: input.occupant_present.clone(),
        owner_present: input.owner_present.clone(),
        public: input.public,
    };
    let conclusion = match outcome {
        Some(VisitOutcome::Done) => form.check(&mut errors),
        _ => Conclusion {
            text: input.conclusions.trim().to_owned(),
            occupant_present: yes_no(&input.occupant_present),
            ..Conclusion::default()
        },
    };
    errors.clone().into_result()?;
    let Some(outcome) = outcome else {
        return Err(Refusal::Invalid(errors));
    };
    let (notice, staff_title) = match outcome {
        VisitOutcome::Done => (done_notice(&conclusion), "Visite effectuée"),
        VisitOutcome::Cancelled => (
            Notice::Visit {
                event: VisitEvent::Cancelled,
                message:
                    "La visite prévue est annulée ; une nouvelle date vous sera proposée si besoin."
                        .into(),
            },
            "Visite annulée",
        ),
        VisitOutcome::NotDone | VisitOutcome::Planned => (
            Notice::Visit {
                event: VisitEvent::NotDone,
                message: "La visite prévue n’a pas pu se faire. Le service vous recontactera."
                    .into(),
            },
            "Visite non effectuée",
        ),
    };
    let Notice::Visit { message, .. } = &notice else {
        unreachable!("a resident notice")
    };
    let timeline = message.clone();
    let mut plan = Plan::new(
        case_ref(case),
        Some(actor.user_id),
        Guard::VisitOutcome {
            visit_id: input.visit_id,
            outcome,
            conclusions: (!conclusion.text.is_empty()).then(|| conclusion.text.clone()),
            occupant_present: conclusion.occupant_present,
            owner_present: conclusion.owner_present,
            procedures: conclusion.procedures.clone(),
            public: conclusion.public,
        },
    );
    plan.follow_up = Some(NewFollowUp {
        author: Author::Partner,
        partner_id: None,
        category: "visite_resultat",
        body: timeline,
        public: true,
    });
    plan.notices.push(notice);
    tell_followers(&mut plan, staff_title);
    plan.audit = Some(AuditEntry {
        action: "record_visit",
        diff: diff(&[
            (
                "visit",
                VisitOutcome::Planned.to_string(),
                outcome.to_string(),
            ),
            (
                "procedures",
                String::new(),
                conclusion.procedure_codes().join(","),
            ),
        ]),
    });
    Ok(plan)
}

/// A planned visit must still be planned, and be the actor's to handle.
fn check_planned(actor: &Actor, case: &CaseFacts, visit: &VisitFacts) -> Result<(), Refusal> {
    check_allowed(actor, case, CaseAction::PlanVisit)?;
    if !may_handle(actor, case, visit) {
        return Err(Refusal::NotAllowed);
    }
    if !visit.status.is_planned() {
        let mut errors = FieldErrors::default();
        errors.add("visit", "Cette visite n’est plus planifiée.");
        return Err(Refusal::Invalid(errors));
    }
    Ok(())
}

/// What the reschedule form sends.
#[derive(Debug, Clone, Default)]
pub struct RescheduleInput {
    pub scheduled_at: String,
    pub reason: String,
}

/// A planned visit moves to a new date, not past and not the same; the
/// reason stays with the staff (history and audit), the resident and the
/// followers are told the new date.
pub fn reschedule_visit(
    actor: &Actor,
    case: &CaseFacts,
    visit: &VisitFacts,
    input: RescheduleInput,
    now: PrimitiveDateTime,
) -> Result<Plan, Refusal> {
    check_planned(actor, case, visit)?;
    let mut errors = FieldErrors::default();
    let at = parse_datetime(&input.scheduled_at);
    match at {
        None => errors.add(
            "scheduled_at",
            "Indiquez la nouvelle date et l’heure de la visite.",
        ),
        Some(at) if at < now => errors.add("scheduled_at", "La nouvelle date est passée."),
        Some(at) if at == visit.scheduled_at => {
            errors.add("scheduled_at", "La visite est déjà prévue à cette date.")
        }
        Some(_) => {}
    }
    let reason = input.reason.trim();
    if reason.chars().count() < 3 || reason.chars().count() > 500 {
        errors.add(
            "reason",
            "Indiquez le motif du report (3 à 500 caractères).",
        );
    }
    errors.clone().into_result()?;
    let Some(at) = at else {
        return Err(Refusal::Invalid(errors));
    };
    let (before, after) = (french_datetime(&visit.scheduled_at), french_datetime(&at));
    let mut plan = Plan::new(
        case_ref(case),
        Some(actor.user_id),
        Guard::Visit {
            visit_id: visit.id,
            change: VisitChange::Reschedule {
                from: visit.scheduled_at,
                to: at,
                reason: reason.to_owned(),
            },
        },
    );
    plan.follow_up = Some(NewFollowUp {
        author: Author::System,
        partner_id: visit.partner_id,
        category: "visite_reportee",
        body: format!("La visite du logement prévue le {before} est reportée au {after}."),
        public: true,
    });
    plan.notices.push(Notice::Visit {
                event: VisitEvent::Rescheduled,
        message: format!("La visite prévue le {before} est reportée au {after}. Merci de prévoir d’être présent ou de vous faire représenter."),
    });
    tell_followers(&mut plan, "Visite reportée");
    plan.audit = Some(AuditEntry {
        action: "reschedule_visit",
        diff: diff(&[
            ("scheduled_at", before, after),
            ("reason", String::new(), reason.to_owned()),
        ]),
    });
    Ok(plan)
}

/// A planned visit is cancelled with a reason (kept for the staff); the
/// resident and the followers are told.
pub fn cancel_visit(
    actor: &Actor,
    case: &CaseFacts,
    visit: &VisitFacts,
    reason: &str,
) -> Result<Plan, Refusal> {
    check_planned(actor, case, visit)?;
    let reason = reason.trim();
    let mut errors = FieldErrors::default();
    if reason.chars().count() < 3 || reason.chars().count() > 500 {
        errors.add(
            "reason",
            "Indiquez le motif de l’annulation (3 à 500 caractères).",
        );
    }
    errors.into_result()?;
    let when = french_datetime(&visit.scheduled_at);
    let mut plan = Plan::new(
        case_ref(case),
        Some(actor.user_id),
        Guard::Visit {
            visit_id: visit.id,
            change: VisitChange::Cancel {
                reason: reason.to_owned(),
            },
        },
    );
    plan.follow_up = Some(NewFollowUp {
        author: Author::System,
        partner_id: visit.partner_id,
        category: "visite_annulee",
        body: format!("La visite du logement prévue le {when} est annulée."),
        public: true,
    });
    plan.notices.push(Notice::Visit {
                event: VisitEvent::Cancelled,
        message: format!("La visite prévue le {when} est annulée ; une nouvelle date vous sera proposée si besoin."),
    });
    tell_followers(&mut plan, "Visite annulée");
    plan.audit = Some(AuditEntry {
        action: "cancel_visit",
        diff: diff(&[
            (
                "visit",
                VisitOutcome::Planned.to_string(),
                VisitOutcome::Cancelled.to_string(),
            ),
            ("reason", String::new(), reason.to_owned()),
        ]),
    });
    Ok(plan)
}

fn present(value: Option<bool>) -> String {
    match value {
        Some(true) => "oui".into(),
        Some(false) => "non".into(),
        None => String::new(),
    }
}

/// The conclusion of a visit done is rewritten; the audit keeps the diff.
/// The resident hears of it only when the conclusion becomes public.
pub fn edit_conclusion(
    actor: &Actor,
    case: &CaseFacts,
    visit: &VisitFacts,
    input: ConclusionInput,
) -> Result<Plan, Refusal> {
    check_allowed(actor, case, CaseAction::PlanVisit)?;
    if !may_handle(actor, case, visit) {
        return Err(Refusal::NotAllowed);
    }
    let mut errors = FieldErrors::default();
    if visit.status != VisitOutcome::Done {
        errors.add("visit", "Seule une visite effectuée a une conclusion.");
    }
    let after = input.check(&mut errors);
    let before = &visit.conclusion;
    let changes = diff(&[
        (
            "procedures",
            before.procedure_codes().join(","),
            after.procedure_codes().join(","),
        ),
        ("conclusions", before.text.clone(), after.text.clone()),
        (
            "occupant_present",
            present(before.occupant_present),
            present(after.occupant_present),
        ),
        (
            "owner_present",
            present(before.owner_present),
            present(after.owner_present),
        ),
        (
            "public",
            before.public.to_string(),
            after.public.to_string(),
        ),
    ]);
    if changes.is_none() && errors.is_empty() {
        errors.add("conclusions", "La conclusion n’a pas changé.");
    }
    errors.into_result()?;
    let mut plan = Plan::new(
        case_ref(case),
        Some(actor.user_id),
        Guard::Visit {
            visit_id: visit.id,
            change: VisitChange::EditConclusion(after.clone()),
        },
    );
    if after.public && (!before.public || before.text != after.text) {
        plan.notices.push(Notice::Visit {
            event: VisitEvent::Conclusion,
            message: after.text.clone(),
        });
    }
    plan.audit = Some(AuditEntry {
        action: "edit_visit_conclusion",
        diff: changes,
    });
    Ok(plan)
}

/// What the visit's upload form adds: its report or its photos.
pub fn files_type(nature: &str) -> Option<DocumentType> {
    match nature.trim() {
        "rapport" => Some(DocumentType::RapportVisite),
        "photos" => Some(DocumentType::PhotoVisite),
        _ => None,
    }
}

/// Files may be added to a visit that took place, by whoever handles it.
pub fn check_files(
    actor: &Actor,
    case: &CaseFacts,
    visit: &VisitFacts,
    nature: &str,
) -> Result<DocumentType, Refusal> {
    check_allowed(actor, case, CaseAction::PlanVisit)?;
    if !may_handle(actor, case, visit) {
        return Err(Refusal::NotAllowed);
    }
    let mut errors = FieldErrors::default();
    if visit.status != VisitOutcome::Done {
        errors.add(
            "visit",
            "Ajoutez le rapport et les photos une fois la visite effectuée.",
        );
    }
    let kind = files_type(nature);
    if kind.is_none() {
        errors.add("nature", "Indiquez s’il s’agit du rapport ou de photos.");
    }
    errors.clone().into_result()?;
    kind.ok_or(Refusal::Invalid(errors))
}

/// The upload's plan (`document::commands::upload`) made the visit's: the
/// files belong to the visit, the followers hear of a report, and the
/// resident of a report they may read ("report available").
pub fn files_added(mut plan: Plan, visit: &VisitFacts, kind: DocumentType, public: bool) -> Plan {
    plan.documents_visit = Some(visit.id);
    if kind == DocumentType::RapportVisite {
        plan.notices
            .retain(|n| !matches!(n, Notice::Resident { .. } | Notice::Visit { .. }));
        if public {
            plan.notices.push(Notice::Visit {
                event: VisitEvent::Report,
                message: format!(
                    "Le rapport de la visite du {} est disponible dans votre espace de suivi.",
                    french_datetime(&visit.scheduled_at)
                ),
            });
        }
        tell_followers(&mut plan, "Rapport de visite disponible");
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::super::testing::{admin, agent, case, other_admin};
    use super::*;
    use crate::domain::case::AssignmentStatus as A;
    use crate::domain::case::ReportStatus as R;
    use crate::domain::case::plan::Notice;
    use time::macros::datetime;

    const NOW: PrimitiveDateTime = datetime!(2026-12-05 10:00);
    /// Partners 10 and 11 have the visit competence, 12 has not.
    const VISITORS: &[u64] = &[10, 11];

    fn ctx() -> PlanContext<'static> {
        PlanContext {
            now: NOW,
            visit_partners: VISITORS,
        }
    }

    fn visit(at: &str, partner: &str) -> PlanVisitInput {
        PlanVisitInput {
            scheduled_at: at.into(),
            partner: partner.into(),
            ..PlanVisitInput::default()
        }
    }

    fn errors_of(result: Result<Plan, Refusal>) -> FieldErrors {
        match result {
            Err(Refusal::Invalid(errors)) => errors,
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    fn planned(partner: Option<u64>) -> VisitFacts {
        VisitFacts {
            id: 4,
            kind: VisitKind::Visit,
            status: VisitOutcome::Planned,
            partner_id: partner,
            scheduled_at: datetime!(2026-12-10 14:30),
            conclusion: Conclusion::default(),
        }
    }

    fn conclusion(procedures: &[&str], text: &str, public: bool) -> ConclusionInput {
        ConclusionInput {
            procedures: procedures.iter().map(|p| (*p).to_owned()).collect(),
            conclusions: text.into(),
            occupant_present: "oui".into(),
            owner_present: "non".into(),
            public,
        }
    }

    #[test]
    fn planning_a_visit_tells_the_resident_and_the_followers_the_date() {
        let active = case(R::Active, &[(10, A::Accepted)]);
        let plan = plan_visit(&agent(10), &active, visit("2026-12-10T14:30", "10"), ctx()).unwrap();
        let new = plan.visit.as_ref().unwrap();
        assert_eq!(new.visitor, Visitor::Partner(10));
        assert_eq!(new.kind, VisitKind::Visit);
        assert_eq!(new.scheduled_at, datetime!(2026-12-10 14:30));
        assert_eq!(new.concluded, None);
        assert_eq!(
            plan.follow_up.as_ref().unwrap().body,
            "Visite du logement prévue le 10/12/2026 14:30."
        );
        assert!(
            plan.resident_email()
                .unwrap()
                .1
                .contains("10/12/2026 14:30")
        );
        assert_eq!(
            plan.staff_notices(),
            vec![(Audience::Followers, NotificationKind::Visit)]
        );
        assert_eq!(plan.audit.unwrap().action, "plan_visit");
    }

    #[test]
    fn an_agent_plans_for_their_own_partner_an_admin_for_any_competent_one() {
        let active = case(
            R::Active,
            &[(10, A::Accepted), (11, A::Accepted), (12, A::Accepted)],
        );
        let at = "2026-12-10T10:00";
        // An agent without a partner named visits for their own partner.
        let plan = plan_visit(&agent(10), &active, visit(at, ""), ctx()).unwrap();
        assert_eq!(plan.visit.unwrap().visitor, Visitor::Partner(10));
        assert_eq!(
            errors_of(plan_visit(&agent(10), &active, visit(at, "11"), ctx())).get("visit_partner"),
            Some("Vous ne pouvez planifier une visite que pour votre partenaire.")
        );
        let admin_plan = plan_visit(&admin(), &active, visit(at, "11"), ctx()).unwrap();
        assert_eq!(admin_plan.visit.unwrap().visitor, Visitor::Partner(11));
        assert_eq!(
            errors_of(plan_visit(&admin(), &active, visit(at, "12"), ctx())).get("visit_partner"),
            Some("Choisissez un partenaire du territoire compétent pour les visites.")
        );
        assert!(
            errors_of(plan_visit(&admin(), &active, visit(at, ""), ctx()))
                .get("visit_partner")
                .is_some(),
            "an admin names the visitor"
        );
        assert_eq!(
            plan_visit(&other_admin(), &active, visit(at, "10"), ctx()),
            Err(Refusal::NotAllowed)
        );
        assert_eq!(
            plan_visit(&agent(13), &active, visit(at, ""), ctx()),
            Err(Refusal::NotAllowed),
            "a partner without the case"
        );
    }

    #[test]
    fn an_external_operator_is_named_in_free_text_and_kinds_are_typed() {
        let active = case(R::Active, &[]);
        let input = PlanVisitInput {
            scheduled_at: "2026-12-10T10:00".into(),
            external_operator: "Cabinet Diagnostics Rhône".into(),
            kind: "visite_controle".into(),
            ..PlanVisitInput::default()
        };
        let plan = plan_visit(&admin(), &active, input.clone(), ctx()).unwrap();
        let new = plan.visit.unwrap();
        assert_eq!(
            new.visitor,
            Visitor::External("Cabinet Diagnostics Rhône".into())
        );
        assert_eq!(new.kind, VisitKind::Control);
        let both = PlanVisitInput {
            partner: "10".into(),
            ..input.clone()
        };
        assert!(
            errors_of(plan_visit(&admin(), &active, both, ctx()))
                .get("visit_partner")
                .is_some()
        );
        let unknown = PlanVisitInput {
            kind: "inspection".into(),
            ..input
        };
        assert!(
            errors_of(plan_visit(&admin(), &active, unknown, ctx()))
                .get("kind")
                .is_some()
        );
    }

    #[test]
    fn a_past_date_records_a_visit_already_done_with_its_conclusion() {
        let active = case(R::Active, &[(10, A::Accepted)]);
        let errors = errors_of(plan_visit(
            &agent(10),
            &active,
            visit("2026-12-01T10:00", ""),
            ctx(),
        ));
        assert!(errors.get("conclusions").is_some(), "{errors:?}");
        assert!(
            errors_of(plan_visit(&admin(), &active, visit("demain", "10"), ctx()))
                .get("scheduled_at")
                .is_some()
        );
        assert!(
            plan_visit(&admin(), &active, visit("2026-12-04T12:00", "10"), ctx())
                .unwrap()
                .visit
                .unwrap()
                .concluded
                .is_none(),
            "a day of grace: still planned"
        );
        let input = PlanVisitInput {
            outcome: conclusion(
                &["insalubrite", "rsd"],
                "Moisissures dans deux pièces.",
                false,
            ),
            ..visit("2026-12-01T10:00", "")
        };
        let plan = plan_visit(&agent(10), &active, input, ctx()).unwrap();
        let done = plan.visit.as_ref().unwrap().concluded.clone().unwrap();
        assert_eq!(
            done.procedures,
            vec![Procedure::Insalubrite, Procedure::Rsd]
        );
        assert_eq!(
            (done.occupant_present, done.owner_present),
            (Some(true), Some(false))
        );
        let (title, message) = plan.resident_email().unwrap();
        assert_eq!(title, "La visite de votre logement a eu lieu");
        assert!(
            !message.contains("Moisissures"),
            "a private conclusion stays with the staff"
        );
    }

    #[test]
    fn a_done_visit_needs_conclusions_which_the_resident_reads_only_when_public() {
        let active = case(R::Active, &[(10, A::Accepted)]);
        let outcome = |o: &str, c: &str, public: bool| OutcomeInput {
            visit_id: 4,
            outcome: o.into(),
            conclusions: c.into(),
            occupant_present: "oui".into(),
            procedures: vec!["insalubrite".into(), "suroccupation".into()],
            public,
            ..OutcomeInput::default()
        };
        assert!(
            errors_of(conclude_visit(
                &agent(10),
                &active,
                outcome("done", "ok", true)
            ))
            .get("conclusions")
            .is_some()
        );
        assert!(conclude_visit(&agent(10), &active, outcome("planned", "", true)).is_err());
        let plan = conclude_visit(
            &agent(10),
            &active,
            outcome("done", "Humidité dans la chambre.", true),
        )
        .unwrap();
        assert_eq!(
            plan.guard,
            Guard::VisitOutcome {
                visit_id: 4,
                outcome: VisitOutcome::Done,
                conclusions: Some("Humidité dans la chambre.".into()),
                occupant_present: Some(true),
                owner_present: None,
                procedures: vec![Procedure::Insalubrite, Procedure::Suroccupation],
                public: true,
            }
        );
        assert_eq!(
            plan.resident_email(),
            Some((
                "La visite de votre logement a eu lieu",
                "Humidité dans la chambre."
            ))
        );
        let private = conclude_visit(
            &agent(10),
            &active,
            outcome("done", "Humidité dans la chambre.", false),
        )
        .unwrap();
        assert!(!private.resident_email().unwrap().1.contains("Humidité"));
        let mut bad = outcome("done", "Humidité dans la chambre.", true);
        bad.procedures = vec!["peril".into()];
        assert!(
            errors_of(conclude_visit(&agent(10), &active, bad))
                .get("procedures")
                .is_some()
        );
        let cancelled =
            conclude_visit(&agent(10), &active, outcome("cancelled", "", false)).unwrap();
        assert_eq!(
            cancelled.audit.unwrap().diff,
            Some(serde_json::json!({"visit": ["planned", "cancelled"]}))
        );
    }

    #[test]
    fn rescheduling_moves_a_planned_visit_with_a_reason_kept_for_the_staff() {
        let active = case(R::Active, &[(10, A::Accepted), (11, A::Accepted)]);
        let input = |at: &str, reason: &str| RescheduleInput {
            scheduled_at: at.into(),
            reason: reason.into(),
        };
        let plan = reschedule_visit(
            &agent(10),
            &active,
            &planned(Some(10)),
            input("2026-12-17T09:00", "Occupant absent ce jour-là"),
            NOW,
        )
        .unwrap();
        assert_eq!(
            plan.guard,
            Guard::Visit {
                visit_id: 4,
                change: VisitChange::Reschedule {
                    from: datetime!(2026-12-10 14:30),
                    to: datetime!(2026-12-17 09:00),
                    reason: "Occupant absent ce jour-là".into()
                }
            }
        );
        let (title, message) = plan.resident_email().unwrap();
        assert_eq!(title, "La visite de votre logement est reportée");
        assert!(message.contains("17/12/2026 09:00") && !message.contains("absent"));
        assert_eq!(
            plan.audit.unwrap().diff,
            Some(serde_json::json!({
                "scheduled_at": ["10/12/2026 14:30", "17/12/2026 09:00"],
                "reason": ["", "Occupant absent ce jour-là"]
            }))
        );
        let visit = planned(Some(10));
        let errors = |i| errors_of(reschedule_visit(&admin(), &active, &visit, i, NOW));
        assert!(
            errors(input("2026-12-01T09:00", "motif"))
                .get("scheduled_at")
                .is_some()
        );
        assert!(
            errors(input("2026-12-10T14:30", "motif"))
                .get("scheduled_at")
                .is_some()
        );
        assert!(
            errors(input("2026-12-17T09:00", ""))
                .get("reason")
                .is_some()
        );
        assert_eq!(
            reschedule_visit(
                &agent(11),
                &active,
                &visit,
                input("2026-12-17T09:00", "motif"),
                NOW
            ),
            Err(Refusal::NotAllowed),
            "another partner's visit"
        );
        let done = VisitFacts {
            status: VisitOutcome::Done,
            ..planned(Some(10))
        };
        assert!(
            errors_of(reschedule_visit(
                &agent(10),
                &active,
                &done,
                input("2026-12-17T09:00", "motif"),
                NOW
            ))
            .get("visit")
            .is_some()
        );
    }

    #[test]
    fn cancelling_needs_a_reason_and_a_planned_visit() {
        let active = case(R::Active, &[(10, A::Accepted)]);
        let plan = cancel_visit(&admin(), &active, &planned(Some(10)), "Logement vendu").unwrap();
        assert_eq!(
            plan.guard,
            Guard::Visit {
                visit_id: 4,
                change: VisitChange::Cancel {
                    reason: "Logement vendu".into()
                }
            }
        );
        assert_eq!(
            plan.resident_email().map(|(t, _)| t),
            Some("La visite de votre logement est annulée")
        );
        assert!(
            errors_of(cancel_visit(&admin(), &active, &planned(Some(10)), " "))
                .get("reason")
                .is_some()
        );
        let closed = case(R::Closed, &[(10, A::Accepted)]);
        assert!(matches!(
            cancel_visit(&agent(10), &closed, &planned(Some(10)), "motif"),
            Err(Refusal::NotAllowed | Refusal::WrongStatus(_))
        ));
        // An external operator's visit: any agent working on the case.
        assert!(cancel_visit(&agent(10), &active, &planned(None), "motif").is_ok());
    }

    #[test]
    fn editing_a_conclusion_is_audited_with_its_diff() {
        let active = case(R::Active, &[(10, A::Accepted)]);
        let done = VisitFacts {
            status: VisitOutcome::Done,
            conclusion: Conclusion {
                procedures: vec![Procedure::Insalubrite],
                text: "Moisissures dans la chambre.".into(),
                occupant_present: Some(true),
                owner_present: Some(false),
                public: false,
            },
            ..planned(Some(10))
        };
        let after = conclusion(
            &["insalubrite", "non_decence"],
            "Moisissures dans la chambre.",
            true,
        );
        let plan = edit_conclusion(&agent(10), &active, &done, after.clone()).unwrap();
        assert_eq!(
            plan.audit.unwrap().diff,
            Some(serde_json::json!({
                "procedures": ["insalubrite", "insalubrite,non_decence"],
                "public": ["false", "true"]
            }))
        );
        assert!(matches!(
            plan.guard,
            Guard::Visit { visit_id: 4, change: VisitChange::EditConclusion(ref c) } if c.public
        ));
        assert!(
            matches!(plan.notices.as_slice(), [Notice::Visit { .. }]),
            "made public: the resident reads it"
        );
        let same = conclusion(&["insalubrite"], "Moisissures dans la chambre.", false);
        assert!(
            errors_of(edit_conclusion(&agent(10), &active, &done, same))
                .get("conclusions")
                .is_some()
        );
        assert!(
            errors_of(edit_conclusion(
                &agent(10),
                &active,
                &planned(Some(10)),
                after.clone()
            ))
            .get("visit")
            .is_some()
        );
        assert_eq!(
            edit_conclusion(
                &agent(11),
                &case(R::Active, &[(10, A::Accepted), (11, A::Accepted)]),
                &done,
                after
            ),
            Err(Refusal::NotAllowed)
        );
    }

    #[test]
    fn files_go_to_a_done_visit_and_a_public_report_is_announced() {
        let active = case(R::Active, &[(10, A::Accepted), (11, A::Accepted)]);
        let done = VisitFacts {
            status: VisitOutcome::Done,
            ..planned(Some(10))
        };
        assert_eq!(
            check_files(&agent(10), &active, &done, "rapport"),
            Ok(DocumentType::RapportVisite)
        );
        assert_eq!(
            check_files(&agent(10), &active, &done, "photos"),
            Ok(DocumentType::PhotoVisite)
        );
        assert!(
            errors_of(
                check_files(&agent(10), &active, &planned(Some(10)), "photos").map(|_| Plan::new(
                    case_ref(&active),
                    None,
                    Guard::None
                ))
            )
            .get("visit")
            .is_some()
        );
        assert!(
            errors_of(
                check_files(&agent(10), &active, &done, "video").map(|_| Plan::new(
                    case_ref(&active),
                    None,
                    Guard::None
                ))
            )
            .get("nature")
            .is_some()
        );
        assert_eq!(
            check_files(&agent(11), &active, &done, "rapport"),
            Err(Refusal::NotAllowed)
        );
        let plan = files_added(
            Plan::new(case_ref(&active), Some(110), Guard::None),
            &done,
            DocumentType::RapportVisite,
            true,
        );
        assert_eq!(plan.documents_visit, Some(4));
        assert_eq!(
            plan.resident_email().map(|(t, _)| t),
            Some("Le rapport de la visite de votre logement est disponible")
        );
        let private = files_added(
            Plan::new(case_ref(&active), Some(110), Guard::None),
            &done,
            DocumentType::RapportVisite,
            false,
        );
        assert_eq!(
            private.resident_email(),
            None,
            "a private report is not announced"
        );
        assert_eq!(private.staff_notices().len(), 1);
    }
}
