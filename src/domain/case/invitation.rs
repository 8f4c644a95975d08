//! The resident invites a third party (a social worker, a relative) to
//! follow the case with their own link (Histologe's `TiersInvitation`):
//! the checks of the invitation form, the follow-ups that tell the partners
//! who was invited or removed, and how a guest's message is labelled.
//! The link's token and its storage are the caller's (`auth::tokens`,
//! `db::invitations`).

use super::plan::{AuditEntry, Author, Guard, NewFollowUp, Plan};
use super::refusal::{FieldErrors, Refusal};
use super::resident::{ResidentCase, text_to_html};
use crate::domain::audit;
use crate::domain::contact::Email;

/// Longest guest name.
pub const MAX_NAME_CHARS: usize = 100;

/// Who the guest is to the resident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    SocialWorker,
    Relative,
    Other,
}

impl Relation {
    pub const ALL: [Self; 3] = [Self::SocialWorker, Self::Relative, Self::Other];

    /// As stored in `invitations.relation` and sent by the form.
    pub const fn code(self) -> &'static str {
        match self {
            Self::SocialWorker => "travailleur_social",
            Self::Relative => "proche",
            Self::Other => "autre",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            Self::SocialWorker => "Travailleur social",
            Self::Relative => "Proche",
            Self::Other => "Autre",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// A checked invitation, to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvitation {
    pub name: String,
    pub email: String,
    pub relation: Relation,
}

/// The resident invites someone: a name (100 characters at most), a valid
/// e-mail (stored lower case) and a relation; only while the case is open.
/// The plan adds a follow-up naming the guest, which the partners and the
/// resident read, and the audit entry.
pub fn invite(
    case: &ResidentCase,
    name: &str,
    email: &str,
    relation: &str,
) -> Result<(NewInvitation, Plan), Refusal> {
    if !case.status.is_open() {
        return Err(Refusal::WrongStatus(case.status));
    }
    let name = name.trim();
    let mut errors = FieldErrors::default();
    if name.is_empty() {
        errors.add("nom", "Indiquez le nom de la personne invitée.");
    } else if name.chars().count() > MAX_NAME_CHARS {
        errors.add("nom", format!("{MAX_NAME_CHARS} caractères au maximum."));
    }
    let email = match Email::parse(email) {
        Ok(email) => Some(email.into_inner()),
        Err(invalid) => {
            errors.add("courriel", invalid.message());
            None
        }
    };
    let relation = Relation::parse(relation.trim());
    if relation.is_none() {
        errors.add("lien", "Choisissez le lien de cette personne avec vous.");
    }
    errors.into_result()?;
    let (Some(email), Some(relation)) = (email, relation) else {
        return Err(Refusal::BadInput("invitation"));
    };
    let invitation = NewInvitation {
        name: name.to_owned(),
        email,
        relation,
    };
    let mut plan = Plan::new(case.case.clone(), None, Guard::None);
    plan.follow_up = Some(NewFollowUp {
        author: Author::Resident,
        partner_id: None,
        category: "invitation_tiers",
        body: text_to_html(&format!(
            "L’usager a invité {} ({}, {}) à suivre le signalement avec son propre lien.",
            invitation.name,
            relation.label(),
            invitation.email
        )),
        public: true,
    });
    plan.audit = Some(AuditEntry {
        action: "invitation",
        diff: Some(audit::created(&[
            ("name", invitation.name.clone()),
            ("email", invitation.email.clone()),
            ("relation", relation.code().to_owned()),
        ])),
    });
    Ok((invitation, plan))
}

/// The resident removes a guest's access: a follow-up says so.
pub fn revoke(case: &ResidentCase, name: &str) -> Plan {
    let mut plan = Plan::new(case.case.clone(), None, Guard::None);
    plan.follow_up = Some(NewFollowUp {
        author: Author::Resident,
        partner_id: None,
        category: "invitation_tiers_retiree",
        body: text_to_html(&format!(
            "L’usager a retiré l’accès de {name} au suivi du signalement."
        )),
        public: true,
    });
    plan.audit = Some(AuditEntry {
        action: "invitation_revoked",
        diff: None,
    });
    plan
}

/// A guest's message: the resident's message plan, its text introduced by
/// who wrote it.
pub fn from_guest(mut plan: Plan, name: &str, relation: Relation) -> Plan {
    if let Some(follow_up) = plan.follow_up.as_mut() {
        follow_up.body = format!(
            "{}<br>{}",
            text_to_html(&format!(
                "Message de {name} ({}), invité par l’usager :",
                relation.label()
            )),
            follow_up.body
        );
    }
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
    fn an_invitation_is_checked_and_told_to_the_partners() {
        let (invitation, plan) = invite(
            &case(ReportStatus::Active),
            " Alice Martin ",
            "Alice@CCAS.fr",
            "travailleur_social",
        )
        .expect("valid");
        assert_eq!(invitation.name, "Alice Martin");
        assert_eq!(invitation.email, "alice@ccas.fr");
        assert_eq!(invitation.relation, Relation::SocialWorker);
        let follow_up = plan.follow_up.expect("a follow-up");
        assert!(
            follow_up
                .body
                .contains("Alice Martin (Travailleur social, alice@ccas.fr)")
        );
        assert_eq!(plan.audit.map(|a| a.action), Some("invitation"));

        let Err(Refusal::Invalid(errors)) =
            invite(&case(ReportStatus::Active), "", "non", "cousin")
        else {
            panic!("refused");
        };
        assert!(errors.get("nom").is_some());
        assert!(errors.get("courriel").is_some_and(|m| m.contains("valide")));
        assert!(errors.get("lien").is_some());
        assert_eq!(
            invite(&case(ReportStatus::Closed), "A", "a@b.fr", "proche").map(|_| ()),
            Err(Refusal::WrongStatus(ReportStatus::Closed))
        );
    }

    #[test]
    fn a_guests_message_says_who_wrote_it() {
        let plan = super::super::resident::resident_message(&case(ReportStatus::Active), "Bonjour")
            .expect("a message");
        let plan = from_guest(plan, "Alice", Relation::Relative);
        assert_eq!(
            plan.follow_up.map(|f| f.body).as_deref(),
            Some("Message de Alice (Proche), invité par l’usager :<br>Bonjour")
        );
    }
}
