//! The states of a case and of what hangs on it: the report's status, each
//! partner's assignment status and a visit's outcome. Stored as the codes
//! below (see `docs/case-commands.md`); `db::states` reads and binds them.

use super::codes::stored_codes;

stored_codes! {
    /// Where a report stands in its life.
    pub enum ReportStatus {
        /// Filed by a resident, waiting for the territory to validate it.
        NeedValidation = ("need_validation", "Nouveau, à valider"),
        /// Validated: partners work on it.
        Active = ("active", "En cours"),
        /// Closed for every partner.
        Closed = ("closed", "Fermé"),
        /// Refused at validation.
        Refused = ("refused", "Refusé"),
        /// Out of the lists (old or erroneous).
        Archived = ("archived", "Archivé"),
    }
}

impl ReportStatus {
    /// The report is still being handled: residents and partners may
    /// write on it.
    pub const fn is_open(self) -> bool {
        matches!(self, Self::NeedValidation | Self::Active)
    }

    /// How the resident's follow-up space names the status.
    pub const fn resident_label(self) -> &'static str {
        match self {
            Self::NeedValidation => "Reçu, en attente de validation",
            Self::Active => "En cours de traitement",
            Self::Closed => "Clôturé",
            Self::Refused => "Refusé",
            Self::Archived => "Enregistré",
        }
    }
}

stored_codes! {
    /// Where a partner stands on a case assigned to it.
    pub enum AssignmentStatus {
        /// Assigned, the partner has not answered yet.
        New = ("nouveau", "En attente de réponse"),
        /// The partner accepted and works on the case.
        Accepted = ("en_cours", "Acceptée"),
        /// The partner refused the case.
        Refused = ("refuse", "Refusée"),
        /// The partner ended its work on the case.
        Closed = ("ferme", "Clôturée"),
    }
}

impl AssignmentStatus {
    /// The partner still has a part in the case (waiting or working).
    pub const fn is_open(self) -> bool {
        matches!(self, Self::New | Self::Accepted)
    }

    pub const fn is_new(self) -> bool {
        matches!(self, Self::New)
    }

    pub const fn is_accepted(self) -> bool {
        matches!(self, Self::Accepted)
    }

    pub const fn is_refused(self) -> bool {
        matches!(self, Self::Refused)
    }
}

stored_codes! {
    /// The state of a visit of the dwelling: planned, then one outcome.
    pub enum VisitOutcome {
        Planned = ("planned", "Planifiée"),
        Done = ("done", "Effectuée"),
        Cancelled = ("cancelled", "Annulée"),
        NotDone = ("not_done", "Non effectuée"),
    }
}

impl VisitOutcome {
    pub const fn is_planned(self) -> bool {
        matches!(self, Self::Planned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_as_its_variant() {
        for s in ReportStatus::ALL {
            assert_eq!(s.as_str().parse::<ReportStatus>(), Ok(*s));
        }
        for s in AssignmentStatus::ALL {
            assert_eq!(AssignmentStatus::parse(s.as_str()), Some(*s));
        }
        for s in VisitOutcome::ALL {
            assert_eq!(VisitOutcome::parse(s.as_str()), Some(*s));
        }
        assert!("ouvert".parse::<ReportStatus>().is_err());
        assert_eq!(ReportStatus::label_of("injonction"), "injonction");
    }

    #[test]
    fn stored_codes_are_the_historical_strings() {
        assert_eq!(ReportStatus::NeedValidation.as_str(), "need_validation");
        assert_eq!(AssignmentStatus::Accepted.as_str(), "en_cours");
        assert_eq!(AssignmentStatus::Closed.label(), "Clôturée");
        assert_eq!(VisitOutcome::NotDone.as_str(), "not_done");
        assert_eq!(
            serde_json::to_string(&AssignmentStatus::Refused).unwrap(),
            "\"refuse\""
        );
    }
}
