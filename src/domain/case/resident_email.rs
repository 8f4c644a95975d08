//! The resident changes their e-mail address from the follow-up space: the
//! new address is checked, a confirmation link goes to it, and the change
//! applies only when that link is opened (docs/resident-space.md §2). The
//! old address is then told. Tokens and their storage are the caller's.

use super::plan::{AuditEntry, Author, Guard, NewFollowUp, Plan};
use super::refusal::{FieldErrors, Refusal};
use super::resident::{ResidentCase, text_to_html};
use crate::domain::audit::diff;
use crate::domain::contact::Email;

/// How long the confirmation link works.
pub const CONFIRMATION_HOURS: i64 = 24;

/// Which address of the report changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Occupant,
    Declarant,
}

impl Target {
    pub const fn code(self) -> &'static str {
        match self {
            Self::Occupant => "occupant",
            Self::Declarant => "declarant",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "occupant" => Some(Self::Occupant),
            "declarant" => Some(Self::Declarant),
            _ => None,
        }
    }

    const fn label(self) -> &'static str {
        match self {
            Self::Occupant => "de l’occupant",
            Self::Declarant => "du déclarant",
        }
    }
}

/// The resident asks for a new address: valid, different from the current
/// one, while the case is open. Returns the normalised address.
pub fn request_change(
    case: &ResidentCase,
    current: Option<&str>,
    new_email: &str,
) -> Result<String, Refusal> {
    if !case.status.is_open() {
        return Err(Refusal::WrongStatus(case.status));
    }
    let mut errors = FieldErrors::default();
    let email = match Email::parse(new_email) {
        Ok(email) => Some(email.into_inner()),
        Err(invalid) => {
            errors.add("nouveau_courriel", invalid.message());
            None
        }
    };
    if email.is_some() && email.as_deref() == current {
        errors.add(
            "nouveau_courriel",
            "C’est déjà l’adresse électronique enregistrée.",
        );
    }
    errors.into_result()?;
    email.ok_or(Refusal::BadInput("nouveau_courriel"))
}

/// The link was opened: the follow-up (old → new) and the audit entry of
/// the change. `mirrored`: the declarant is the occupant (both addresses
/// change).
pub fn confirmed(case: &ResidentCase, target: Target, old: &str, new: &str) -> Plan {
    let mut plan = Plan::new(case.case.clone(), None, Guard::None);
    plan.follow_up = Some(NewFollowUp {
        author: Author::Resident,
        partner_id: None,
        category: "modification_courriel_usager",
        body: text_to_html(&format!(
            "L’adresse électronique {} a été changée (confirmée par un lien envoyé à la nouvelle adresse) : {} → {new}",
            target.label(),
            if old.is_empty() { "(vide)" } else { old },
        )),
        public: true,
    });
    plan.audit = Some(AuditEntry {
        action: "resident_email",
        diff: diff(&[(
            match target {
                Target::Occupant => "occupant_email",
                Target::Declarant => "declarant_email",
            },
            old.to_owned(),
            new.to_owned(),
        )]),
    });
    plan
}

#[cfg(test)]
mod tests {
    use super::super::ReportStatus;
    use super::super::plan::CaseRef;
    use super::*;

    fn case(status: ReportStatus) -> ResidentCase {
        ResidentCase {
            case: CaseRef {
                report_id: 7,
                uuid: "u".into(),
                territory_id: 13,
            },
            status,
            after_closure: None,
        }
    }

    #[test]
    fn a_new_address_is_valid_new_and_asked_on_an_open_case() {
        let open = case(ReportStatus::Active);
        assert_eq!(
            request_change(&open, Some("a@b.fr"), " Nouveau@Exemple.FR "),
            Ok("nouveau@exemple.fr".to_owned())
        );
        let refused = |current, new| match request_change(&open, current, new) {
            Err(Refusal::Invalid(errors)) => errors
                .get("nouveau_courriel")
                .unwrap_or_default()
                .to_owned(),
            other => panic!("refused, got {other:?}"),
        };
        assert!(refused(None, "non").contains("valide"));
        assert!(refused(Some("a@b.fr"), "A@b.fr").contains("déjà"));
        assert_eq!(
            request_change(&case(ReportStatus::Closed), None, "a@b.fr"),
            Err(Refusal::WrongStatus(ReportStatus::Closed))
        );
        let plan = confirmed(&open, Target::Declarant, "a@b.fr", "c@d.fr");
        assert!(plan.follow_up.unwrap().body.contains("a@b.fr → c@d.fr"));
        assert_eq!(plan.audit.map(|a| a.action), Some("resident_email"));
    }
}
