//! What a form draft holds (`drafts.payload`): the answers, flat by slug
//! (docs/form.md §4), and the files already uploaded, kept in storage until the
//! report is filed; and where the draft stands ([`DraftState`], §5.4).

use serde::{Deserialize, Serialize};

use super::form::Answers;

/// Where a draft stands (`drafts.status`). [`Self::code`] is the one place
/// that spells the stored codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftState {
    /// Being filled in (`en_cours`): the only state a screen may change.
    InProgress,
    /// Became a report (`en_signalement`): its URLs lead to the confirmation.
    Submitted,
    /// Abandoned for an existing report (`archive`): its URLs are gone.
    Archived,
}

impl DraftState {
    pub const ALL: [Self; 3] = [Self::InProgress, Self::Submitted, Self::Archived];

    pub fn code(self) -> &'static str {
        match self {
            Self::InProgress => "en_cours",
            Self::Submitted => "en_signalement",
            Self::Archived => "archive",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Whether the form's URLs still open the draft.
    pub fn is_reachable(self) -> bool {
        match self {
            Self::InProgress | Self::Submitted => true,
            Self::Archived => false,
        }
    }
}

/// The saved state of a form in progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DraftPayload {
    #[serde(default)]
    pub answers: Answers,
    #[serde(default)]
    pub files: Vec<DraftFile>,
}

/// A checked, stored upload waiting for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftFile {
    /// The form field it was sent with (`<category>_photos_upload`, `bail_dpe_bail_upload`...).
    pub field: String,
    /// Object key in storage (`documents/<uuid>`): reveals nothing personal.
    pub key: String,
    pub thumbnail_key: Option<String>,
    /// The name the user's file had, for display and download only.
    pub filename: String,
    pub mime: String,
    pub size: u64,
    pub sha256: String,
    /// `photo` or `document`.
    pub kind: String,
}

impl DraftFile {
    /// The category or criterion slug a photo belongs to (docs/form.md §3.2).
    pub fn defect_code(&self) -> Option<&str> {
        self.field
            .strip_suffix("_photos_upload")
            .map(|s| s.strip_suffix("_details").unwrap_or(s))
    }

    /// The finer document type stored with the file.
    pub fn document_type(&self) -> &'static str {
        use crate::domain::document::DocumentType;
        match self.field.as_str() {
            "bail_dpe_bail_upload" => DocumentType::Bail,
            "bail_dpe_etat_des_lieux_upload" => DocumentType::EtatDesLieux,
            "bail_dpe_dpe_upload" => DocumentType::Dpe,
            f if f.starts_with("desordres_") => DocumentType::PhotoDesordre,
            _ => DocumentType::Autre,
        }
        .code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draft_states_round_trip_through_their_codes() {
        for state in DraftState::ALL {
            assert_eq!(DraftState::parse(state.code()), Some(state));
        }
        assert_eq!(DraftState::parse("EN_COURS"), None);
        assert!(!DraftState::Archived.is_reachable());
    }
}
