//! The life of a case: report statuses, assignment statuses, the reasons
//! offered, and who may do what to a case (on top of `permissions`, which
//! decides who may see it).

use super::permissions::Actor;

/// Report statuses, as stored.
pub const NEED_VALIDATION: &str = "need_validation";
pub const ACTIVE: &str = "active";
pub const CLOSED: &str = "closed";
pub const REFUSED: &str = "refused";
pub const ARCHIVED: &str = "archived";

/// (code, label) of the report statuses.
pub const REPORT_STATUSES: [(&str, &str); 5] = [
    (NEED_VALIDATION, "Nouveau, à valider"),
    (ACTIVE, "En cours"),
    (CLOSED, "Fermé"),
    (REFUSED, "Refusé"),
    (ARCHIVED, "Archivé"),
];

pub fn report_status_label(code: &str) -> &str {
    REPORT_STATUSES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, l)| l)
}

/// Assignment statuses, as stored.
pub const ASSIGNMENT_NEW: &str = "nouveau";
pub const ASSIGNMENT_ACCEPTED: &str = "en_cours";
pub const ASSIGNMENT_REFUSED: &str = "refuse";
pub const ASSIGNMENT_CLOSED: &str = "ferme";

pub const ASSIGNMENT_STATUSES: [(&str, &str); 4] = [
    (ASSIGNMENT_NEW, "En attente de réponse"),
    (ASSIGNMENT_ACCEPTED, "Acceptée"),
    (ASSIGNMENT_REFUSED, "Refusée"),
    (ASSIGNMENT_CLOSED, "Clôturée"),
];

pub fn assignment_status_label(code: &str) -> &str {
    ASSIGNMENT_STATUSES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, l)| l)
}

/// Why a territory refuses a new report (Histologe's `MotifRefus`).
pub const REFUSAL_REASONS: [(&str, &str); 5] = [
    (
        "hors_pdlhi",
        "Ne relève pas de la lutte contre l’habitat indigne",
    ),
    ("hors_zone_geographique", "Hors de la zone géographique"),
    ("hors_competence", "Hors des compétences des partenaires"),
    ("doublon", "Doublon d’un signalement existant"),
    ("autre", "Autre motif"),
];

/// Why a case or an assignment is closed (Histologe's `MotifCloture`).
pub const CLOSURE_REASONS: [(&str, &str); 20] = [
    (
        "abandon_de_procedure_absence_de_reponse",
        "Abandon de procédure ou absence de réponse",
    ),
    ("depart_occupant", "Départ de l’occupant"),
    ("insalubrite", "Insalubrité"),
    ("logement_decent", "Logement décent"),
    ("logement_vendu", "Logement vendu"),
    ("non_decence", "Non-décence"),
    ("peril", "Péril"),
    ("refus_de_visite", "Refus de visite"),
    ("refus_de_travaux", "Refus de travaux"),
    ("relogement_occupant", "Relogement de l’occupant"),
    (
        "responsabilite_de_l_occupant",
        "Responsabilité de l’occupant",
    ),
    ("rsd", "Infraction au règlement sanitaire départemental"),
    ("travaux_faits_ou_en_cours", "Travaux faits ou en cours"),
    ("doublon", "Doublon"),
    ("autre", "Autre"),
    (
        "demande_fermeture_abandon_occupant",
        "Abandon à la demande de l’occupant",
    ),
    ("logement_mis_en_conformite", "Logement mis en conformité"),
    (
        "absence_de_reponse_occupant",
        "Pas de réponse de l’occupant",
    ),
    (
        "gestion_du_dossier_externe",
        "Dossier suivi hors de la plateforme",
    ),
    (
        "hors_perimetre_lhi",
        "Hors du périmètre de la lutte contre l’habitat indigne",
    ),
];

/// Why a partner refuses an assignment.
pub const ASSIGNMENT_REFUSAL_REASONS: [(&str, &str); 4] = [
    ("hors_competence", "Hors de nos compétences"),
    ("hors_perimetre", "Hors de notre périmètre"),
    ("doublon", "Doublon"),
    ("autre", "Autre motif"),
];

pub fn is_code(list: &[(&str, &str)], code: &str) -> bool {
    list.iter().any(|(c, _)| *c == code)
}

pub fn label_of<'a>(list: &'a [(&'a str, &'a str)], code: &'a str) -> &'a str {
    list.iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, l)| l)
}

/// Visit statuses and their labels.
pub const VISIT_STATUSES: [(&str, &str); 4] = [
    ("planned", "Planifiée"),
    ("done", "Effectuée"),
    ("cancelled", "Annulée"),
    ("not_done", "Non effectuée"),
];

/// Minimum length of the messages that go with a refusal or a closure.
pub const MIN_MESSAGE_CHARS: usize = 10;

/// What the policy needs to know about a case and the actor's part in it.
#[derive(Debug, Clone)]
pub struct CaseFacts {
    pub territory_id: u32,
    pub status: String,
    /// (partner id, assignment status) of every assignment.
    pub assignments: Vec<(u64, String)>,
}

impl CaseFacts {
    /// The actor's partner's assignment status on this case, if any.
    pub fn own_assignment<'a>(&'a self, actor: &Actor) -> Option<(u64, &'a str)> {
        self.assignments
            .iter()
            .find(|(partner, _)| actor.is_member_of(*partner))
            .map(|(partner, status)| (*partner, status.as_str()))
    }
}

/// The actions on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseAction {
    Validate,
    Refuse,
    Assign,
    CloseForAll,
    Reopen,
    EditSections,
    AnswerAssignment,
    CloseAssignment,
    WriteFollowUp,
    PlanVisit,
    ManageTags,
}

/// Whether the actor may perform this action on the case now (status
/// included). Viewing is decided by `permissions::can_view_report`.
pub fn can(actor: &Actor, case: &CaseFacts, action: CaseAction) -> bool {
    let admin = actor.administers_territory(case.territory_id);
    let own = case.own_assignment(actor).map(|(_, status)| status);
    let status = case.status.as_str();
    match action {
        CaseAction::Validate | CaseAction::Refuse => admin && status == NEED_VALIDATION,
        CaseAction::Assign => admin && matches!(status, NEED_VALIDATION | ACTIVE),
        CaseAction::CloseForAll => admin && status == ACTIVE,
        CaseAction::Reopen => admin && matches!(status, CLOSED | REFUSED),
        CaseAction::EditSections => {
            status != ARCHIVED && (admin || own == Some(ASSIGNMENT_ACCEPTED))
        }
        CaseAction::AnswerAssignment => status == ACTIVE && own == Some(ASSIGNMENT_NEW),
        CaseAction::CloseAssignment => status == ACTIVE && own == Some(ASSIGNMENT_ACCEPTED),
        CaseAction::WriteFollowUp | CaseAction::PlanVisit => {
            (admin && matches!(status, NEED_VALIDATION | ACTIVE))
                || (status == ACTIVE && own == Some(ASSIGNMENT_ACCEPTED))
        }
        CaseAction::ManageTags => admin || own == Some(ASSIGNMENT_ACCEPTED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{permissions::Membership, roles::Role};

    fn actor(role: Role, partner: u64, territory: u32) -> Actor {
        Actor {
            user_id: 1,
            role,
            memberships: vec![Membership {
                partner_id: partner,
                territory_id: territory,
            }],
        }
    }

    fn case(status: &str, assignments: &[(u64, &str)]) -> CaseFacts {
        CaseFacts {
            territory_id: 69,
            status: status.into(),
            assignments: assignments
                .iter()
                .map(|(p, s)| (*p, (*s).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn only_the_territory_admin_validates_a_new_report() {
        let rt = actor(Role::TerritoryAdmin, 1, 69);
        let other_rt = actor(Role::TerritoryAdmin, 2, 13);
        let agent = actor(Role::Agent, 10, 69);
        let new = case(NEED_VALIDATION, &[]);
        assert!(can(&rt, &new, CaseAction::Validate));
        assert!(!can(&other_rt, &new, CaseAction::Validate));
        assert!(!can(&agent, &new, CaseAction::Validate));
        assert!(
            !can(&rt, &case(ACTIVE, &[]), CaseAction::Validate),
            "already validated"
        );
    }

    #[test]
    fn an_agent_answers_a_new_assignment_then_writes_once_accepted() {
        let agent = actor(Role::Agent, 10, 69);
        let waiting = case(ACTIVE, &[(10, ASSIGNMENT_NEW)]);
        assert!(can(&agent, &waiting, CaseAction::AnswerAssignment));
        assert!(!can(&agent, &waiting, CaseAction::WriteFollowUp));
        let accepted = case(ACTIVE, &[(10, ASSIGNMENT_ACCEPTED)]);
        assert!(!can(&agent, &accepted, CaseAction::AnswerAssignment));
        assert!(can(&agent, &accepted, CaseAction::WriteFollowUp));
        assert!(can(&agent, &accepted, CaseAction::CloseAssignment));
        let other_partner = actor(Role::Agent, 11, 69);
        assert!(!can(&other_partner, &accepted, CaseAction::WriteFollowUp));
        assert!(!can(
            &agent,
            &case(CLOSED, &[(10, ASSIGNMENT_ACCEPTED)]),
            CaseAction::WriteFollowUp
        ));
    }

    #[test]
    fn closed_and_refused_cases_can_be_reopened_by_the_territory_admin() {
        let rt = actor(Role::TerritoryAdmin, 1, 69);
        assert!(can(&rt, &case(CLOSED, &[]), CaseAction::Reopen));
        assert!(can(&rt, &case(REFUSED, &[]), CaseAction::Reopen));
        assert!(!can(&rt, &case(ACTIVE, &[]), CaseAction::Reopen));
        assert!(can(&rt, &case(ACTIVE, &[]), CaseAction::CloseForAll));
    }
}
