//! Back-office roles. The order of the variants matters: a role can do what
//! the roles before it can do (within its scope).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Agent of a partner: sees only the reports assigned to their partner.
    Agent,
    /// Administrator of a partner: an agent who also manages the partner's users.
    PartnerAdmin,
    /// Responsable de territoire: everything within their territories.
    TerritoryAdmin,
    /// Everything, every territory.
    SuperAdmin,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Agent,
        Role::PartnerAdmin,
        Role::TerritoryAdmin,
        Role::SuperAdmin,
    ];

    /// The code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::PartnerAdmin => "partner_admin",
            Role::TerritoryAdmin => "territory_admin",
            Role::SuperAdmin => "super_admin",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The label shown in the interface.
    pub fn label(self) -> &'static str {
        match self {
            Role::Agent => "Agent",
            Role::PartnerAdmin => "Administrateur partenaire",
            Role::TerritoryAdmin => "Responsable de territoire",
            Role::SuperAdmin => "Super administrateur",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power_and_round_trip_through_their_code() {
        assert!(Role::Agent < Role::PartnerAdmin);
        assert!(Role::PartnerAdmin < Role::TerritoryAdmin);
        assert!(Role::TerritoryAdmin < Role::SuperAdmin);
        for role in Role::ALL {
            assert_eq!(Role::parse(role.code()), Some(role));
        }
        assert_eq!(Role::parse("admin"), None);
    }
}
