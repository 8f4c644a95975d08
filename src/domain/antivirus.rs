//! The antivirus state of a document and what it allows.
//!
//! Every uploaded file starts `Pending`; the worker's scan (clamd) makes it
//! `Clean` or `Infected`. Only a clean file is ever served or sent to a
//! partner: a pending one is "analyse en cours" (try again later), an
//! infected one is quarantined and gone for good.

/// `documents.scan_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanStatus {
    Pending,
    Clean,
    Infected,
}

impl ScanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Clean => "clean",
            Self::Infected => "infected",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(Self::Pending),
            "clean" => Some(Self::Clean),
            "infected" => Some(Self::Infected),
            _ => None,
        }
    }

    /// What a download of the file gets.
    pub fn serving(self) -> Serving {
        match self {
            Self::Pending => Serving::NotYet,
            Self::Clean => Serving::Serve,
            Self::Infected => Serving::Blocked,
        }
    }

    /// Infected: listed without a link.
    pub fn is_blocked(self) -> bool {
        self == Self::Infected
    }

    /// The badge lists show next to the file name (none when clean).
    pub fn badge(self) -> Option<&'static str> {
        match self {
            Self::Pending => Some("Analyse en cours"),
            Self::Clean => None,
            Self::Infected => Some("Bloqué"),
        }
    }
}

/// The answer to a download request, decided by the scan alone (the
/// access check comes first, elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serving {
    Serve,
    /// Not scanned yet: 409 with Retry-After.
    NotYet,
    /// Infected: 410, never served again.
    Blocked,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_clean_file_is_served() {
        for status in [ScanStatus::Pending, ScanStatus::Clean, ScanStatus::Infected] {
            assert_eq!(ScanStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(ScanStatus::parse("suspicious"), None);
        assert_eq!(ScanStatus::Clean.serving(), Serving::Serve);
        assert_eq!(ScanStatus::Pending.serving(), Serving::NotYet);
        assert_eq!(ScanStatus::Infected.serving(), Serving::Blocked);
        assert_eq!(ScanStatus::Clean.badge(), None);
        assert_eq!(ScanStatus::Infected.badge(), Some("Bloqué"));
    }
}
