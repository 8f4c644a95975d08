//! API accounts: what a partner system may see and do through `/api/v1`
//! (docs/api.md).
//!
//! An account belongs to one territory. Bound to the territory, it sees
//! every case of it (as a territory admin would); bound to partners, it
//! sees the cases assigned to them (as their agents would). Either way its
//! scope is a [`ReportScope`], the same SQL translation of the policy the
//! back office uses: no second copy of the visibility rule.

use super::{
    case::status::ReportStatus,
    permissions::{Actor, ReportScope},
};

/// How long a bearer token lives (Histologe's figure).
pub const TOKEN_MINUTES: i64 = 60;

/// The largest page of `GET /api/v1/signalements`.
pub const MAX_PAGE_SIZE: u32 = 100;

/// The page size when the client does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 30;

/// What an account is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountScope {
    /// Every case of the territory.
    Territory(u32),
    /// The cases assigned to these partners (of the account's territory).
    Partners(Vec<u64>),
}

impl AccountScope {
    /// The stored code (`api_accounts.scope`).
    pub fn code(&self) -> &'static str {
        match self {
            AccountScope::Territory(_) => "territory",
            AccountScope::Partners(_) => "partners",
        }
    }

    /// The cases the account may read.
    pub fn report_scope(&self) -> ReportScope {
        match self {
            AccountScope::Territory(id) => ReportScope::Territories(vec![*id]),
            AccountScope::Partners(ids) => ReportScope::Partners(ids.clone()),
        }
    }
}

/// One thing an account may do. The stored flags are the columns
/// `api_accounts.can_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Permission {
    ReadCases,
    AnswerAssignments,
    WriteFollowUps,
    WriteVisits,
    WriteDocuments,
}

impl Permission {
    pub const ALL: [Permission; 5] = [
        Permission::ReadCases,
        Permission::AnswerAssignments,
        Permission::WriteFollowUps,
        Permission::WriteVisits,
        Permission::WriteDocuments,
    ];

    /// The code of the back-office form and of `GET /api/v1/moi`.
    pub fn code(self) -> &'static str {
        match self {
            Permission::ReadCases => "lire_signalements",
            Permission::AnswerAssignments => "repondre_affectations",
            Permission::WriteFollowUps => "ecrire_suivis",
            Permission::WriteVisits => "ecrire_visites",
            Permission::WriteDocuments => "ecrire_documents",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == code)
    }

    /// The label of the back-office form.
    pub fn label(self) -> &'static str {
        match self {
            Permission::ReadCases => "Lire les signalements",
            Permission::AnswerAssignments => "Répondre aux affectations",
            Permission::WriteFollowUps => "Ajouter des suivis",
            Permission::WriteVisits => "Planifier et conclure des visites",
            Permission::WriteDocuments => "Déposer des documents",
        }
    }
}

/// The permissions of an account, as a set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions(Vec<Permission>);

impl Permissions {
    pub fn new(mut list: Vec<Permission>) -> Self {
        list.sort_unstable();
        list.dedup();
        Self(list)
    }

    pub fn has(&self, permission: Permission) -> bool {
        self.0.contains(&permission)
    }

    pub fn iter(&self) -> impl Iterator<Item = Permission> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// An API account that authenticated (not revoked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiAccount {
    pub id: u64,
    pub uuid: String,
    pub name: String,
    pub territory_id: u32,
    pub scope: AccountScope,
    pub permissions: Permissions,
    /// The technical user the account writes as (docs/api.md §8); `None`
    /// for an account that only reads.
    pub user_id: Option<u64>,
}

/// Whether this back-office user may create, see and revoke the API
/// accounts of this territory: its territory admins and super admins.
pub fn can_manage_accounts(actor: &Actor, territory_id: u32) -> bool {
    actor.administers_territory(territory_id)
}

/// Why a new account cannot be created as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountError {
    NameMissing,
    NoPermission,
    /// Bound to partners, but none chosen (or one of another territory).
    PartnersInvalid,
}

/// Checks a new account: a name (1 to 100 characters), at least one
/// permission, and for a partner scope, partners of its own territory
/// (`partner_territories` gives each chosen partner's territory).
pub fn check_new_account(
    name: &str,
    territory_id: u32,
    scope: &AccountScope,
    partner_territories: &[(u64, u32)],
    permissions: &Permissions,
) -> Vec<AccountError> {
    let mut errors = Vec::new();
    let length = name.trim().chars().count();
    if length == 0 || length > 100 {
        errors.push(AccountError::NameMissing);
    }
    if permissions.is_empty() {
        errors.push(AccountError::NoPermission);
    }
    if let AccountScope::Partners(ids) = scope {
        let all_known = ids.iter().all(|id| {
            partner_territories
                .iter()
                .any(|(p, t)| p == id && *t == territory_id)
        });
        if ids.is_empty() || !all_known {
            errors.push(AccountError::PartnersInvalid);
        }
    }
    errors
}

/// The API's code of a case status (French, as Histologe's API).
pub fn case_status_code(status: ReportStatus) -> &'static str {
    match status {
        ReportStatus::NeedValidation => "nouveau",
        ReportStatus::Active => "en_cours",
        ReportStatus::Closed => "ferme",
        ReportStatus::Refused => "refuse",
        ReportStatus::Archived => "archive",
    }
}

/// The status of an API status code (the `statut` filter).
pub fn parse_case_status(code: &str) -> Option<ReportStatus> {
    ReportStatus::ALL
        .iter()
        .copied()
        .find(|s| case_status_code(*s) == code)
}

/// The API's code of a document's antivirus state.
pub fn scan_code(status: super::antivirus::ScanStatus) -> &'static str {
    use super::antivirus::ScanStatus;
    match status {
        ScanStatus::Pending => "en_attente",
        ScanStatus::Clean => "sain",
        ScanStatus::Infected => "infecte",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partner_account_reads_the_cases_of_its_partners_and_a_territory_account_its_territory() {
        assert_eq!(
            AccountScope::Partners(vec![4, 7]).report_scope(),
            ReportScope::Partners(vec![4, 7])
        );
        assert_eq!(
            AccountScope::Territory(69).report_scope(),
            ReportScope::Territories(vec![69])
        );
    }

    #[test]
    fn a_new_account_needs_a_name_a_permission_and_partners_of_its_territory() {
        let read = Permissions::new(vec![Permission::ReadCases]);
        let partners = [(4, 69), (5, 13)];
        assert!(check_new_account("SCHS", 69, &AccountScope::Territory(69), &[], &read).is_empty());
        assert!(
            check_new_account(
                "SCHS",
                69,
                &AccountScope::Partners(vec![4]),
                &partners,
                &read
            )
            .is_empty()
        );
        assert_eq!(
            check_new_account(
                " ",
                69,
                &AccountScope::Partners(vec![5]),
                &partners,
                &Permissions::default()
            ),
            vec![
                AccountError::NameMissing,
                AccountError::NoPermission,
                AccountError::PartnersInvalid
            ]
        );
        assert_eq!(
            check_new_account("X", 69, &AccountScope::Partners(vec![]), &partners, &read),
            vec![AccountError::PartnersInvalid]
        );
    }

    #[test]
    fn every_stored_case_status_has_an_api_code_that_reads_back() {
        for &status in ReportStatus::ALL {
            assert_eq!(parse_case_status(case_status_code(status)), Some(status));
        }
        assert_eq!(parse_case_status("actif"), None);
    }

    #[test]
    fn permission_codes_read_back() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.code()), Some(p));
        }
        assert_eq!(Permission::parse("tout"), None);
    }
}
