//! What the resident does from the follow-up space: write a message (with
//! files, stored by the caller under the follow-up the plan creates), ask
//! to close the case or to go on with the procedure. The resident proved
//! who they are with the link and the light check; the commands decide the
//! rest.

use super::ReportStatus;
use super::plan::{Author, CaseRef, Guard, NewFollowUp, Notice, Plan};
use super::refusal::{FieldErrors, Refusal};
use crate::domain::report::submission::initial;

/// Longest resident message (and precision of a request).
pub const MAX_RESIDENT_CHARS: usize = 5000;

/// Days after closure during which the resident may still write once.
pub const AFTER_CLOSURE_DAYS: i64 = 30;

/// Follow-up category of the one message written after closure.
pub const AFTER_CLOSURE_CATEGORY: &str = "message_usager_apres_cloture";

/// The report as the resident's commands know it.
#[derive(Debug, Clone)]
pub struct ResidentCase {
    pub case: CaseRef,
    pub status: ReportStatus,
    /// For a closed case: when, and whether the one message allowed after
    /// closure was written.
    pub after_closure: Option<AfterClosure>,
}

/// A closed case, as the message-after-closure rule reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterClosure {
    pub closed_at: time::PrimitiveDateTime,
    /// A message was already written since the closure.
    pub written: bool,
    pub now: time::PrimitiveDateTime,
}

/// Whether the space's message form is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writing {
    /// The case is open: write as often as needed.
    Open,
    /// Closed less than [`AFTER_CLOSURE_DAYS`] ago, nothing written since:
    /// one message, which reopens nothing.
    OnceAfterClosure,
    /// No more messages, and why (shown where the form was).
    Closed(&'static str),
}

const CLOSED_ALREADY_WRITTEN: &str = "Ce signalement est clôturé. Vous avez déjà envoyé le message possible après la clôture : il n’est plus possible d’y écrire.";
const CLOSED_TOO_LONG_AGO: &str =
    "Ce signalement est clôturé depuis plus de 30 jours : il n’est plus possible d’y écrire.";
const CLOSED: &str = "Ce signalement est clôturé : il n’est plus possible d’y écrire.";

impl ResidentCase {
    /// Histologe's rule: an open case takes messages; a closed one takes a
    /// single message within 30 days of its closure; a refused or archived
    /// one none.
    pub fn writing(&self) -> Writing {
        if self.status.is_open() {
            return Writing::Open;
        }
        match (self.status, self.after_closure) {
            (ReportStatus::Closed, Some(after)) if after.written => {
                Writing::Closed(CLOSED_ALREADY_WRITTEN)
            }
            (ReportStatus::Closed, Some(after))
                if after.now - after.closed_at <= time::Duration::days(AFTER_CLOSURE_DAYS) =>
            {
                Writing::OnceAfterClosure
            }
            (ReportStatus::Closed, Some(_)) => Writing::Closed(CLOSED_TOO_LONG_AGO),
            _ => Writing::Closed(CLOSED),
        }
    }
}

/// A resident's text as sanitized HTML for the timeline: escaped, line
/// breaks kept.
pub fn text_to_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// The resident writes to the services: a public follow-up; the territory
/// admins are e-mailed, followers and admins notified. Once the case is no
/// longer open, only the one message after closure ([`ResidentCase::writing`])
/// is taken: its own category, and it reopens nothing.
pub fn resident_message(case: &ResidentCase, message: &str) -> Result<Plan, Refusal> {
    let message = message.trim();
    let mut errors = FieldErrors::default();
    let writing = case.writing();
    if let Writing::Closed(why) = writing {
        errors.add("message", why);
    } else if message.is_empty() {
        errors.add("message", "Écrivez votre message.");
    } else if message.chars().count() > MAX_RESIDENT_CHARS {
        errors.add(
            "message",
            format!("Le message dépasse {MAX_RESIDENT_CHARS} caractères."),
        );
    }
    errors.into_result()?;
    let mut plan = Plan::new(case.case.clone(), None, Guard::None);
    plan.follow_up = Some(NewFollowUp {
        author: Author::Resident,
        partner_id: None,
        category: if writing == Writing::OnceAfterClosure {
            AFTER_CLOSURE_CATEGORY
        } else {
            "message_usager"
        },
        body: text_to_html(message),
        public: true,
    });
    plan.notices.push(Notice::ResidentWrote { key: "message" });
    Ok(plan)
}

/// What the resident asks about the procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcedureRequest {
    /// Close the case (the resident gives up).
    Close,
    /// Go on with the procedure.
    GoOn,
}

impl ProcedureRequest {
    /// From the form's `demande` field.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "fermer" => Some(Self::Close),
            "poursuivre" => Some(Self::GoOn),
            _ => None,
        }
    }

    /// Follow-up category (also the e-mails' idempotency key part).
    pub const fn category(self) -> &'static str {
        match self {
            Self::Close => "demande_abandon_procedure",
            Self::GoOn => "demande_poursuite_procedure",
        }
    }

    /// The word of the confirmation shown after the request.
    pub const fn notice(self) -> &'static str {
        match self {
            Self::Close => "fermeture",
            Self::GoOn => "poursuite",
        }
    }

    const fn sentence(self) -> &'static str {
        match self {
            Self::Close => "L’usager demande la clôture de son signalement.",
            Self::GoOn => "L’usager souhaite poursuivre la procédure.",
        }
    }
}

/// The resident asks to close the case or to go on, with an optional
/// precision (cut at 5,000 characters); the services hear of it like a
/// message.
pub fn resident_request(case: &ResidentCase, request: ProcedureRequest, precision: &str) -> Plan {
    let precision: String = precision.trim().chars().take(MAX_RESIDENT_CHARS).collect();
    let body = if precision.is_empty() {
        request.sentence().to_owned()
    } else {
        format!("{}<br>{}", request.sentence(), text_to_html(&precision))
    };
    let mut plan = Plan::new(case.case.clone(), None, Guard::None);
    plan.follow_up = Some(NewFollowUp {
        author: Author::Resident,
        partner_id: None,
        category: request.category(),
        body,
        public: true,
    });
    plan.notices.push(Notice::ResidentWrote {
        key: request.category(),
    });
    plan
}

/// What the resident types to prove a follow-up link is theirs.
#[derive(Debug, Clone, Copy)]
pub struct IdentityAnswer<'a> {
    pub first_name_initial: &'a str,
    pub last_name_initial: &'a str,
    pub postal_code: &'a str,
}

/// Who a report names, as the light check compares them.
#[derive(Debug, Clone, Copy)]
pub struct NamedPeople<'a> {
    /// The dwelling's postal code.
    pub postal_code: &'a str,
    /// (first name, last name) of the occupant and of the declarant.
    pub people: [(Option<&'a str>, Option<&'a str>); 2],
}

/// The light check of the follow-up space, against a forwarded link: the
/// dwelling's postal code, and the initials of the first and last names of
/// the occupant or of the declarant (case and accents ignored). A person
/// without both names cannot be matched.
pub fn identity_matches(report: &NamedPeople<'_>, answer: &IdentityAnswer<'_>) -> bool {
    answer.postal_code.trim() == report.postal_code
        && report.people.iter().any(|(first, last)| {
            let (Some(first), Some(last)) = (first, last) else {
                return false;
            };
            initial(first).is_some()
                && initial(first) == initial(answer.first_name_initial)
                && initial(last).is_some()
                && initial(last) == initial(answer.last_name_initial)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_check_wants_the_postal_code_and_the_initials_of_one_person() {
        let report = NamedPeople {
            postal_code: "69001",
            people: [(Some("Élodie"), Some("Durand")), (None, Some("Martin"))],
        };
        let answer = |first, last, postal_code| IdentityAnswer {
            first_name_initial: first,
            last_name_initial: last,
            postal_code,
        };
        assert!(identity_matches(&report, &answer("e", "D", " 69001 ")));
        assert!(identity_matches(&report, &answer("Élo", "durand", "69001")));
        assert!(!identity_matches(&report, &answer("e", "d", "69002")));
        assert!(!identity_matches(&report, &answer("d", "e", "69001")));
        // The declarant has no first name: nobody can claim to be them.
        assert!(!identity_matches(&report, &answer("", "M", "69001")));
        assert!(!identity_matches(&report, &answer("x", "m", "69001")));
        let declarant = NamedPeople {
            people: [(None, None), (Some("Jean"), Some("Martin"))],
            ..report
        };
        assert!(identity_matches(&declarant, &answer("j", "m", "69001")));
    }

    fn case(status: ReportStatus) -> ResidentCase {
        ResidentCase {
            case: CaseRef {
                report_id: 7,
                uuid: "u".into(),
                territory_id: 69,
            },
            status,
            after_closure: None,
        }
    }

    fn closed(days_ago: i64, written: bool) -> ResidentCase {
        let now = time::macros::datetime!(2026-12-06 10:00);
        ResidentCase {
            after_closure: Some(AfterClosure {
                closed_at: now - time::Duration::days(days_ago),
                written,
                now,
            }),
            ..case(ReportStatus::Closed)
        }
    }

    #[test]
    fn one_message_is_taken_within_30_days_after_closure() {
        assert_eq!(case(ReportStatus::Active).writing(), Writing::Open);
        assert_eq!(closed(29, false).writing(), Writing::OnceAfterClosure);
        assert_eq!(closed(30, false).writing(), Writing::OnceAfterClosure);
        assert!(
            matches!(closed(31, false).writing(), Writing::Closed(why) if why.contains("30 jours"))
        );
        assert!(
            matches!(closed(2, true).writing(), Writing::Closed(why) if why.contains("déjà envoyé"))
        );
        assert!(matches!(
            case(ReportStatus::Refused).writing(),
            Writing::Closed(_)
        ));
        let plan = resident_message(&closed(3, false), "Les travaux n’ont pas été faits").unwrap();
        let follow_up = plan.follow_up.unwrap();
        assert_eq!(follow_up.category, AFTER_CLOSURE_CATEGORY);
        assert!(follow_up.public);
        assert_eq!(plan.guard, Guard::None, "reopens nothing");
        assert!(plan.assignments.is_empty());
        assert_eq!(plan.notices, vec![Notice::ResidentWrote { key: "message" }]);
        assert!(resident_message(&closed(3, true), "Encore").is_err());
    }

    #[test]
    fn a_message_is_escaped_public_and_tells_the_services() {
        let plan =
            resident_message(&case(ReportStatus::Active), " <b>Bonjour</b>\nMerci ").unwrap();
        let follow_up = plan.follow_up.as_ref().unwrap();
        assert_eq!(follow_up.author, Author::Resident);
        assert!(follow_up.public);
        assert_eq!(follow_up.body, "&lt;b&gt;Bonjour&lt;/b&gt;<br>Merci");
        assert_eq!(plan.notices, vec![Notice::ResidentWrote { key: "message" }]);
        assert_eq!(plan.by, None);
        assert!(plan.audit.is_none());
    }

    #[test]
    fn a_message_needs_an_open_case_and_some_text() {
        let refused = |status, text: &str| match resident_message(&case(status), text) {
            Err(Refusal::Invalid(errors)) => errors.get("message").unwrap_or_default().to_owned(),
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert!(refused(ReportStatus::Closed, "Bonjour").contains("clôturé"));
        assert_eq!(
            refused(ReportStatus::NeedValidation, "  "),
            "Écrivez votre message."
        );
        assert!(refused(ReportStatus::Active, &"x".repeat(5001)).contains("5000"));
    }

    #[test]
    fn a_closure_request_keeps_its_precision_escaped() {
        let plan = resident_request(
            &case(ReportStatus::Active),
            ProcedureRequest::Close,
            "J'ai déménagé",
        );
        let follow_up = plan.follow_up.unwrap();
        assert_eq!(follow_up.category, "demande_abandon_procedure");
        assert_eq!(
            follow_up.body,
            "L’usager demande la clôture de son signalement.<br>J&#39;ai déménagé"
        );
        assert_eq!(
            plan.notices,
            vec![Notice::ResidentWrote {
                key: "demande_abandon_procedure"
            }]
        );
        assert_eq!(
            ProcedureRequest::parse("poursuivre"),
            Some(ProcedureRequest::GoOn)
        );
        assert_eq!(ProcedureRequest::parse("autre"), None);
    }
}
