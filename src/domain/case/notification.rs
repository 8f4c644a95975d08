//! The kinds of in-app notification (the `notifications.kind` column):
//! what happened on a case that a user should look at.

use super::codes::stored_codes;

stored_codes! {
    /// What a notification is about; the label is the back office's.
    pub enum NotificationKind {
        NewReport = ("nouveau_signalement", "Nouveau signalement à valider"),
        NewAssignment = ("nouvelle_affectation", "Nouvelle affectation pour votre partenaire"),
        NewFollowUp = ("nouveau_suivi", "Nouveau suivi"),
        ResidentFollowUp = ("suivi_usager", "Nouveau message de l’usager"),
        CaseClosed = ("cloture_signalement", "Signalement clôturé"),
        PartnerClosed = ("cloture_partenaire", "Un partenaire a clôturé son intervention"),
        AssignmentRefused = ("affectation_refusee", "Affectation refusée par un partenaire"),
        NewSubscription = ("nouvel_abonnement", "Vous suivez ce signalement"),
        ClosureRequested = ("demande_abandon_procedure", "Demande d’abandon de procédure"),
        DocumentBlocked = ("document_bloque", "Fichier bloqué par l’antivirus (mis en quarantaine)"),
        Visit = ("visite", "Visite du logement"),
    }
}

impl NotificationKind {
    /// The short lower-case words of the daily digest e-mail.
    pub const fn digest_label(self) -> &'static str {
        match self {
            Self::NewReport => "nouveau signalement",
            Self::NewAssignment => "nouvelle affectation",
            Self::NewFollowUp => "nouveau suivi",
            Self::ResidentFollowUp => "message de l’usager",
            Self::CaseClosed => "signalement clôturé",
            Self::PartnerClosed => "clôture d’un partenaire",
            Self::AssignmentRefused => "affectation refusée",
            Self::NewSubscription => "vous suivez ce signalement",
            Self::ClosureRequested => "demande d’abandon de procédure",
            Self::DocumentBlocked => "fichier bloqué par l’antivirus",
            Self::Visit => "visite du logement",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_both_labels_and_reads_back() {
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(*kind));
            assert!(!kind.label().is_empty() && !kind.digest_label().is_empty());
        }
        assert_eq!(NotificationKind::ALL.len(), 11);
    }
}
