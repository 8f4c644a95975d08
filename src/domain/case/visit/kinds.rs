//! The typed vocabulary of a visit: its kind, who visits, the procedures
//! an inspector may find, and what a concluded visit records. Stored as
//! the codes of `visits.kind` and of the `visits.procedures` JSON array.

use time::PrimitiveDateTime;

use crate::domain::case::codes::stored_codes;

stored_codes! {
    /// Why the dwelling is visited (`visits.kind`).
    pub enum VisitKind {
        Visit = ("visite", "Visite"),
        Control = ("visite_controle", "Visite de contrôle"),
        PrefectoralOrder = ("arrete_prefectoral", "Visite pour un arrêté préfectoral"),
    }
}

stored_codes! {
    /// A procedure the situation found at the visit calls for (several
    /// may be found at once).
    pub enum Procedure {
        Insalubrite = ("insalubrite", "Insalubrité"),
        MiseEnSecurite = ("mise_en_securite_peril", "Mise en sécurité / péril"),
        NonDecence = ("non_decence", "Non-décence"),
        Rsd = ("rsd", "Règlement sanitaire départemental (RSD)"),
        NonDecenceEnergetique = ("non_decence_energetique", "Non-décence énergétique"),
        Suroccupation = ("suroccupation", "Suroccupation"),
        SuspicionInsalubre = ("suspicion_insalubre", "Suspicion d’insalubrité"),
        Assurantiel = ("responsabilite_occupant_assurantiel", "Assurantiel / responsabilité de l’occupant"),
        Salete = ("salete", "Incurie / saleté"),
        LogementDecent = ("logement_decent", "Logement décent (aucune procédure)"),
        Autre = ("autre", "Autre"),
    }
}

stored_codes! {
    /// What a visit e-mail to the resident is about (the mail kinds of
    /// docs/visits.md §3); the label is the e-mail's heading.
    pub enum VisitEvent {
        Planned = ("planifiee", "Une visite de votre logement est prévue"),
        Rescheduled = ("reportee", "La visite de votre logement est reportée"),
        Cancelled = ("annulee", "La visite de votre logement est annulée"),
        Done = ("effectuee", "La visite de votre logement a eu lieu"),
        NotDone = ("non_effectuee", "La visite de votre logement n’a pas pu avoir lieu"),
        Conclusion = ("conclusion", "La conclusion de la visite de votre logement"),
        Report = ("rapport", "Le rapport de la visite de votre logement est disponible"),
    }
}

impl VisitEvent {
    /// The resident is asked to be there (or represented).
    pub const fn asks_presence(self) -> bool {
        matches!(self, Self::Planned | Self::Rescheduled)
    }
}

/// Who visits: one of the territory's partners with the visit competence,
/// or an operator outside the platform named in free text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visitor {
    Partner(u64),
    External(String),
}

impl Visitor {
    pub fn partner_id(&self) -> Option<u64> {
        match self {
            Self::Partner(id) => Some(*id),
            Self::External(_) => None,
        }
    }

    pub fn external_operator(&self) -> Option<&str> {
        match self {
            Self::Partner(_) => None,
            Self::External(name) => Some(name),
        }
    }
}

/// What a visit that took place recorded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conclusion {
    pub procedures: Vec<Procedure>,
    pub text: String,
    pub occupant_present: Option<bool>,
    pub owner_present: Option<bool>,
    /// The resident reads the conclusion in the follow-up space.
    pub public: bool,
}

impl Conclusion {
    /// The procedures as stored (`visits.procedures`).
    pub fn procedure_codes(&self) -> Vec<&'static str> {
        self.procedures.iter().map(|p| p.as_str()).collect()
    }
}

/// A visit as read from the database, for the commands on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitFacts {
    pub id: u64,
    pub kind: VisitKind,
    pub status: super::super::VisitOutcome,
    pub partner_id: Option<u64>,
    pub scheduled_at: PrimitiveDateTime,
    pub conclusion: Conclusion,
}

/// `oui` / `non` / anything else (unknown).
pub fn yes_no(value: &str) -> Option<bool> {
    match value.trim() {
        "oui" => Some(true),
        "non" => Some(false),
        _ => None,
    }
}

/// The procedures ticked on a form; unknown codes are reported.
pub fn parse_procedures(codes: &[String]) -> Result<Vec<Procedure>, String> {
    let mut found = Vec::new();
    for code in codes {
        let code = code.trim();
        if code.is_empty() {
            continue;
        }
        let procedure = Procedure::parse(code).ok_or_else(|| code.to_owned())?;
        if !found.contains(&procedure) {
            found.push(procedure);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procedures_read_back_once_each_and_unknown_ones_are_named() {
        let codes = ["insalubrite", "rsd", "insalubrite", ""].map(String::from);
        assert_eq!(
            parse_procedures(&codes),
            Ok(vec![Procedure::Insalubrite, Procedure::Rsd])
        );
        assert_eq!(parse_procedures(&["peril".into()]), Err("peril".to_owned()));
        for kind in VisitKind::ALL {
            assert_eq!(VisitKind::parse(kind.as_str()), Some(*kind));
        }
    }
}
