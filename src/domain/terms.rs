//! The terms of use ("conditions générales d'utilisation"): one text for
//! the public form, one for agents, each with its versions (docs/terms.md).
//!
//! The versions are a typed constant list rather than a table: the text of
//! each version is a template of the repository, so a new version is a
//! deploy either way, and the version, its date and its text then change
//! in one commit, reviewed together. Acceptances are stored: the version
//! on the report (`reports.consents.cgu_version`) and on the agent
//! (`users.terms_version`, `users.terms_accepted_at`).

use time::{Date, macros::date};

/// Who the terms are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Residents and third parties filing a report.
    Public,
    /// Users of the back office.
    Agents,
}

/// One published version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// Stored on the acceptance (≤ 20 characters: `users.terms_version`).
    pub code: &'static str,
    pub published: Date,
    /// What changed, shown above the text.
    pub summary: &'static str,
}

impl Version {
    /// `dd/mm/yyyy`.
    pub fn published_label(&self) -> String {
        let d = self.published;
        format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
    }
}

/// The public form's versions, oldest first.
pub const PUBLIC: &[Version] = &[Version {
    code: "2026-12-08",
    published: date!(2026 - 12 - 08),
    summary: "Première version publiée.",
}];

/// The back office's versions, oldest first.
pub const AGENTS: &[Version] = &[Version {
    code: "2026-12-08",
    published: date!(2026 - 12 - 08),
    summary: "Première version publiée.",
}];

impl Audience {
    pub fn versions(self) -> &'static [Version] {
        match self {
            Audience::Public => PUBLIC,
            Audience::Agents => AGENTS,
        }
    }

    /// The version in force (the last published).
    pub fn current(self) -> Version {
        // The lists are constants with at least one version (unit test).
        self.versions()[self.versions().len() - 1]
    }
}

/// Whether an agent who accepted `accepted` (none yet: `None`) must accept
/// the current version before using the back office.
pub fn must_accept(accepted: Option<&str>) -> bool {
    accepted != Some(Audience::Agents.current().code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_dated_in_order_with_short_unique_codes() {
        for audience in [Audience::Public, Audience::Agents] {
            let versions = audience.versions();
            assert!(!versions.is_empty());
            for pair in versions.windows(2) {
                assert!(pair[0].published < pair[1].published);
                assert_ne!(pair[0].code, pair[1].code);
            }
            assert!(versions.iter().all(|v| v.code.len() <= 20));
        }
    }

    #[test]
    fn only_the_current_version_spares_the_interstitial() {
        assert!(must_accept(None));
        assert!(must_accept(Some("2024-01")));
        assert!(!must_accept(Some(Audience::Agents.current().code)));
    }
}
