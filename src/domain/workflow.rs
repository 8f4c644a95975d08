//! The life of a case: report statuses, assignment statuses, the reasons
//! offered, and who may do what to a case (on top of `permissions`, which
//! decides who may see it).

use super::case::{AssignmentStatus, ReportStatus};
use super::permissions::Actor;

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

/// Minimum length of the messages that go with a refusal or a closure.
pub const MIN_MESSAGE_CHARS: usize = 10;

/// What the policy needs to know about a case and the actor's part in it.
#[derive(Debug, Clone)]
pub struct CaseFacts {
    pub report_id: u64,
    /// For links to the case.
    pub uuid: String,
    /// Moves on with every change: a form carries the version it was
    /// built from (optimistic lock).
    pub version: u32,
    pub territory_id: u32,
    pub status: ReportStatus,
    /// (partner id, assignment status) of every assignment.
    pub assignments: Vec<(u64, AssignmentStatus)>,
}

impl CaseFacts {
    /// The actor's partner's assignment status on this case, if any.
    pub fn own_assignment(&self, actor: &Actor) -> Option<(u64, AssignmentStatus)> {
        self.assignments
            .iter()
            .find(|(partner, _)| actor.is_member_of(*partner))
            .copied()
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
    /// Add, edit, turn or delete the case's documents (deleting has its own
    /// rule on top: `domain::document::commands::may_delete`).
    ManageDocuments,
}

/// Whether the actor may perform this action on the case now (status
/// included). Viewing is decided by `permissions::can_view_report`.
pub fn can(actor: &Actor, case: &CaseFacts, action: CaseAction) -> bool {
    use AssignmentStatus as A;
    use ReportStatus as R;
    let admin = actor.administers_territory(case.territory_id);
    let own = case.own_assignment(actor).map(|(_, status)| status);
    let status = case.status;
    match action {
        CaseAction::Validate | CaseAction::Refuse => admin && status == R::NeedValidation,
        CaseAction::Assign => admin && matches!(status, R::NeedValidation | R::Active),
        CaseAction::CloseForAll => admin && status == R::Active,
        CaseAction::Reopen => admin && matches!(status, R::Closed | R::Refused),
        CaseAction::EditSections => status != R::Archived && (admin || own == Some(A::Accepted)),
        CaseAction::AnswerAssignment => status == R::Active && own == Some(A::New),
        CaseAction::CloseAssignment => status == R::Active && own == Some(A::Accepted),
        CaseAction::WriteFollowUp | CaseAction::PlanVisit => {
            (admin && matches!(status, R::NeedValidation | R::Active))
                || (status == R::Active && own == Some(A::Accepted))
        }
        CaseAction::ManageTags => admin || own == Some(A::Accepted),
        CaseAction::ManageDocuments => status != R::Archived && (admin || own == Some(A::Accepted)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{permissions::Membership, roles::Role};
    use AssignmentStatus as A;
    use ReportStatus as R;

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

    fn case(status: ReportStatus, assignments: &[(u64, AssignmentStatus)]) -> CaseFacts {
        CaseFacts {
            report_id: 1,
            uuid: "u".into(),
            version: 1,
            territory_id: 69,
            status,
            assignments: assignments.to_vec(),
        }
    }

    #[test]
    fn only_the_territory_admin_validates_a_new_report() {
        let rt = actor(Role::TerritoryAdmin, 1, 69);
        let other_rt = actor(Role::TerritoryAdmin, 2, 13);
        let agent = actor(Role::Agent, 10, 69);
        let new = case(R::NeedValidation, &[]);
        assert!(can(&rt, &new, CaseAction::Validate));
        assert!(!can(&other_rt, &new, CaseAction::Validate));
        assert!(!can(&agent, &new, CaseAction::Validate));
        assert!(
            !can(&rt, &case(R::Active, &[]), CaseAction::Validate),
            "already validated"
        );
    }

    #[test]
    fn an_agent_answers_a_new_assignment_then_writes_once_accepted() {
        let agent = actor(Role::Agent, 10, 69);
        let waiting = case(R::Active, &[(10, A::New)]);
        assert!(can(&agent, &waiting, CaseAction::AnswerAssignment));
        assert!(!can(&agent, &waiting, CaseAction::WriteFollowUp));
        let accepted = case(R::Active, &[(10, A::Accepted)]);
        assert!(!can(&agent, &accepted, CaseAction::AnswerAssignment));
        assert!(can(&agent, &accepted, CaseAction::WriteFollowUp));
        assert!(can(&agent, &accepted, CaseAction::CloseAssignment));
        let other_partner = actor(Role::Agent, 11, 69);
        assert!(!can(&other_partner, &accepted, CaseAction::WriteFollowUp));
        assert!(!can(
            &agent,
            &case(R::Closed, &[(10, A::Accepted)]),
            CaseAction::WriteFollowUp
        ));
    }

    #[test]
    fn closed_and_refused_cases_can_be_reopened_by_the_territory_admin() {
        let rt = actor(Role::TerritoryAdmin, 1, 69);
        assert!(can(&rt, &case(R::Closed, &[]), CaseAction::Reopen));
        assert!(can(&rt, &case(R::Refused, &[]), CaseAction::Reopen));
        assert!(!can(&rt, &case(R::Active, &[]), CaseAction::Reopen));
        assert!(can(&rt, &case(R::Active, &[]), CaseAction::CloseForAll));
    }
}
