//! What a document attached to a case is: its type, chosen from one list.
//!
//! The list follows Histologe's `DocumentType` (situation, procedure, landlord, photos), with
//! the lowercase codes stored in `documents.document_type`. [`DocumentType::code`] and
//! [`DocumentType::parse`] are the only mapping between the enum and the database or a form;
//! the codes already stored by the public form (`bail`, `etat_des_lieux`, `dpe`,
//! `photo_desordre`, `autre`) keep their meaning.

pub mod commands;

/// The type of a document, as the agent or the form chose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocumentType {
    /// Lease (bail).
    Bail,
    /// Inventory of fixtures (état des lieux).
    EtatDesLieux,
    /// Energy performance diagnosis.
    Dpe,
    /// Lead or asbestos diagnosis.
    DiagnosticPlombAmiante,
    /// Rent receipt or proof of payment.
    Quittance,
    /// Home insurance certificate.
    Assurance,
    /// Photo of a defect (désordre), from the form or an agent.
    PhotoDesordre,
    /// Photo of the situation that is not tied to one defect.
    PhotoSituation,
    /// Photo taken during a visit.
    PhotoVisite,
    /// The inspector's visit report.
    RapportVisite,
    /// Formal notice (mise en demeure).
    MiseEnDemeure,
    /// Municipal order.
    ArreteMunicipal,
    /// Prefectoral order.
    ArretePrefectoral,
    /// Referral to an authority (saisine).
    Saisine,
    /// Any other procedure document.
    AutreProcedure,
    /// Letter sent to the landlord.
    CourrierBailleur,
    /// The landlord's answer.
    ReponseBailleur,
    /// Quote for works.
    DevisTravaux,
    /// Invoice.
    Facture,
    /// Anything else.
    Autre,
}

/// The groups the case page shows documents under, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocumentGroup {
    Situation,
    Photos,
    Procedure,
    Bailleur,
    Autre,
}

impl DocumentGroup {
    pub const ALL: [DocumentGroup; 5] = [
        DocumentGroup::Situation,
        DocumentGroup::Photos,
        DocumentGroup::Procedure,
        DocumentGroup::Bailleur,
        DocumentGroup::Autre,
    ];

    /// French heading of the group.
    pub fn label(self) -> &'static str {
        match self {
            DocumentGroup::Situation => "Situation du foyer",
            DocumentGroup::Photos => "Photos",
            DocumentGroup::Procedure => "Procédure",
            DocumentGroup::Bailleur => "Bailleur",
            DocumentGroup::Autre => "Autres documents",
        }
    }
}

impl DocumentType {
    /// Every type, in the order the select lists them.
    pub const ALL: [DocumentType; 20] = [
        DocumentType::Bail,
        DocumentType::EtatDesLieux,
        DocumentType::Dpe,
        DocumentType::DiagnosticPlombAmiante,
        DocumentType::Quittance,
        DocumentType::Assurance,
        DocumentType::PhotoDesordre,
        DocumentType::PhotoSituation,
        DocumentType::PhotoVisite,
        DocumentType::RapportVisite,
        DocumentType::MiseEnDemeure,
        DocumentType::ArreteMunicipal,
        DocumentType::ArretePrefectoral,
        DocumentType::Saisine,
        DocumentType::AutreProcedure,
        DocumentType::CourrierBailleur,
        DocumentType::ReponseBailleur,
        DocumentType::DevisTravaux,
        DocumentType::Facture,
        DocumentType::Autre,
    ];

    /// The code stored in `documents.document_type` and sent by forms.
    pub fn code(self) -> &'static str {
        match self {
            DocumentType::Bail => "bail",
            DocumentType::EtatDesLieux => "etat_des_lieux",
            DocumentType::Dpe => "dpe",
            DocumentType::DiagnosticPlombAmiante => "diagnostic_plomb_amiante",
            DocumentType::Quittance => "quittance",
            DocumentType::Assurance => "assurance",
            DocumentType::PhotoDesordre => "photo_desordre",
            DocumentType::PhotoSituation => "photo_situation",
            DocumentType::PhotoVisite => "photo_visite",
            DocumentType::RapportVisite => "rapport_visite",
            DocumentType::MiseEnDemeure => "mise_en_demeure",
            DocumentType::ArreteMunicipal => "arrete_municipal",
            DocumentType::ArretePrefectoral => "arrete_prefectoral",
            DocumentType::Saisine => "saisine",
            DocumentType::AutreProcedure => "autre_procedure",
            DocumentType::CourrierBailleur => "courrier_bailleur",
            DocumentType::ReponseBailleur => "reponse_bailleur",
            DocumentType::DevisTravaux => "devis_travaux",
            DocumentType::Facture => "facture",
            DocumentType::Autre => "autre",
        }
    }

    /// The French label shown to agents and residents.
    pub fn label(self) -> &'static str {
        match self {
            DocumentType::Bail => "Bail",
            DocumentType::EtatDesLieux => "État des lieux",
            DocumentType::Dpe => "DPE",
            DocumentType::DiagnosticPlombAmiante => "Diagnostic plomb / amiante",
            DocumentType::Quittance => "Quittance ou justificatif",
            DocumentType::Assurance => "Attestation d’assurance",
            DocumentType::PhotoDesordre => "Photo de désordre",
            DocumentType::PhotoSituation => "Photo de la situation",
            DocumentType::PhotoVisite => "Photo de visite",
            DocumentType::RapportVisite => "Rapport de visite",
            DocumentType::MiseEnDemeure => "Mise en demeure",
            DocumentType::ArreteMunicipal => "Arrêté municipal",
            DocumentType::ArretePrefectoral => "Arrêté préfectoral",
            DocumentType::Saisine => "Saisine",
            DocumentType::AutreProcedure => "Autre procédure",
            DocumentType::CourrierBailleur => "Courrier au bailleur",
            DocumentType::ReponseBailleur => "Réponse du bailleur",
            DocumentType::DevisTravaux => "Devis pour travaux",
            DocumentType::Facture => "Facture",
            DocumentType::Autre => "Autre",
        }
    }

    /// Reads a stored or submitted code; `None` for anything not in the list.
    pub fn parse(code: &str) -> Option<DocumentType> {
        DocumentType::ALL.into_iter().find(|t| t.code() == code)
    }

    /// Reads a stored value, `NULL` or unknown legacy codes counting as [`DocumentType::Autre`]
    /// so that an old row is still listed rather than hidden.
    pub fn from_stored(code: Option<&str>) -> DocumentType {
        code.and_then(DocumentType::parse)
            .unwrap_or(DocumentType::Autre)
    }

    /// Whether this type expects an image (its files are shown as thumbnails and can be rotated).
    pub fn is_photo(self) -> bool {
        matches!(
            self,
            DocumentType::PhotoDesordre | DocumentType::PhotoSituation | DocumentType::PhotoVisite
        )
    }

    /// The heading the case page lists this type under.
    pub fn group(self) -> DocumentGroup {
        match self {
            DocumentType::Bail
            | DocumentType::EtatDesLieux
            | DocumentType::Dpe
            | DocumentType::DiagnosticPlombAmiante
            | DocumentType::Quittance
            | DocumentType::Assurance => DocumentGroup::Situation,
            DocumentType::PhotoDesordre
            | DocumentType::PhotoSituation
            | DocumentType::PhotoVisite => DocumentGroup::Photos,
            DocumentType::RapportVisite
            | DocumentType::MiseEnDemeure
            | DocumentType::ArreteMunicipal
            | DocumentType::ArretePrefectoral
            | DocumentType::Saisine
            | DocumentType::AutreProcedure => DocumentGroup::Procedure,
            DocumentType::CourrierBailleur
            | DocumentType::ReponseBailleur
            | DocumentType::DevisTravaux
            | DocumentType::Facture => DocumentGroup::Bailleur,
            DocumentType::Autre => DocumentGroup::Autre,
        }
    }
}

/// The case-list filter on a case's documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentPresence {
    /// At least one visit report (type `rapport_visite`) not deleted.
    WithVisitReport,
    /// No photo (received as an image) not deleted.
    WithoutPhoto,
}

impl DocumentPresence {
    pub const ALL: [DocumentPresence; 2] = [
        DocumentPresence::WithVisitReport,
        DocumentPresence::WithoutPhoto,
    ];

    /// The value in the list's query string (`documents=`).
    pub fn code(self) -> &'static str {
        match self {
            DocumentPresence::WithVisitReport => "avec_rapport_visite",
            DocumentPresence::WithoutPhoto => "sans_photo",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DocumentPresence::WithVisitReport => "Avec rapport de visite",
            DocumentPresence::WithoutPhoto => "Sans photo",
        }
    }

    pub fn parse(code: &str) -> Option<DocumentPresence> {
        DocumentPresence::ALL.into_iter().find(|p| p.code() == code)
    }
}

impl std::fmt::Display for DocumentType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_types_round_trip_through_their_codes() {
        for t in DocumentType::ALL {
            assert_eq!(DocumentType::parse(t.code()), Some(t));
            assert!(
                t.code().len() <= 40,
                "documents.document_type is VARCHAR(40)"
            );
        }
        let codes: std::collections::HashSet<_> =
            DocumentType::ALL.iter().map(|t| t.code()).collect();
        assert_eq!(codes.len(), DocumentType::ALL.len());
        assert_eq!(DocumentType::parse("PHOTO_VISITE"), None);
        assert_eq!(DocumentType::from_stored(None), DocumentType::Autre);
        assert_eq!(
            DocumentType::from_stored(Some("courrier")),
            DocumentType::Autre
        );
    }

    #[test]
    fn codes_written_by_the_public_form_keep_their_meaning() {
        assert_eq!(DocumentType::parse("bail"), Some(DocumentType::Bail));
        assert_eq!(
            DocumentType::parse("etat_des_lieux"),
            Some(DocumentType::EtatDesLieux)
        );
        assert_eq!(DocumentType::parse("dpe"), Some(DocumentType::Dpe));
        assert_eq!(
            DocumentType::parse("photo_desordre"),
            Some(DocumentType::PhotoDesordre)
        );
        assert!(DocumentType::PhotoDesordre.is_photo());
        assert_eq!(
            DocumentType::RapportVisite.group(),
            DocumentGroup::Procedure
        );
        assert_eq!(DocumentType::RapportVisite.label(), "Rapport de visite");
    }
}
