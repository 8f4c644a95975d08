//! The one authorization policy. Every back-office handler asks it; the
//! queries that list reports apply [`ReportScope`], its SQL translation.
//!
//! - Super admin: everything, every territory.
//! - Territory admin: everything within the territories of their partner
//!   memberships.
//! - Partner admin: agent rights, plus the users of their own partner(s).
//! - Agent: the reports assigned to their partner(s).

use super::roles::Role;

/// A user's membership of a partner (at most one per territory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    pub partner_id: u64,
    pub territory_id: u32,
}

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: u64,
    pub role: Role,
    pub memberships: Vec<Membership>,
}

impl Actor {
    pub fn territory_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.memberships.iter().map(|m| m.territory_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    pub fn partner_ids(&self) -> Vec<u64> {
        self.memberships.iter().map(|m| m.partner_id).collect()
    }

    pub fn is_super_admin(&self) -> bool {
        self.role == Role::SuperAdmin
    }

    /// Administers this territory (territory admin of it, or super admin).
    pub fn administers_territory(&self, territory_id: u32) -> bool {
        match self.role {
            Role::SuperAdmin => true,
            Role::TerritoryAdmin => self
                .memberships
                .iter()
                .any(|m| m.territory_id == territory_id),
            _ => false,
        }
    }

    pub fn is_member_of(&self, partner_id: u64) -> bool {
        self.memberships.iter().any(|m| m.partner_id == partner_id)
    }
}

/// What a route requires before its handler even runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in back-office user.
    SignedIn,
    /// Partner admins and above.
    PartnerAdmin,
    /// Territory admins and super admins.
    TerritoryAdmin,
    /// Super admins only.
    SuperAdmin,
}

impl Access {
    /// Whether a signed-in user with this role passes the route's gate.
    pub fn allows(self, role: Role) -> bool {
        match self {
            Access::Public | Access::SignedIn => true,
            Access::PartnerAdmin => role >= Role::PartnerAdmin,
            Access::TerritoryAdmin => role >= Role::TerritoryAdmin,
            Access::SuperAdmin => role == Role::SuperAdmin,
        }
    }
}

/// Which reports a user may see, in a form the SQL layer applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportScope {
    All,
    Territories(Vec<u32>),
    /// Reports with an assignment to one of these partners.
    Partners(Vec<u64>),
}

pub fn report_scope(actor: &Actor) -> ReportScope {
    match actor.role {
        Role::SuperAdmin => ReportScope::All,
        Role::TerritoryAdmin => ReportScope::Territories(actor.territory_ids()),
        Role::PartnerAdmin | Role::Agent => ReportScope::Partners(actor.partner_ids()),
    }
}

/// The facts about one report the policy needs.
#[derive(Debug, Clone)]
pub struct ReportFacts {
    pub territory_id: u32,
    /// Partners the report is assigned to (any assignment status).
    pub assigned_partner_ids: Vec<u64>,
}

pub fn can_view_report(actor: &Actor, report: &ReportFacts) -> bool {
    match report_scope(actor) {
        ReportScope::All => true,
        ReportScope::Territories(ids) => ids.contains(&report.territory_id),
        ReportScope::Partners(ids) => report.assigned_partner_ids.iter().any(|p| ids.contains(p)),
    }
}

/// Creating, editing or archiving a partner of this territory.
pub fn can_manage_partner(actor: &Actor, partner_territory_id: u32) -> bool {
    actor.administers_territory(partner_territory_id)
}

/// The roles this actor may give to a user.
pub fn grantable_roles(actor: &Actor) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|role| can_grant_role(actor, *role))
        .collect()
}

/// Nobody grants a role above their own; partner admins grant agent and
/// partner admin only.
pub fn can_grant_role(actor: &Actor, role: Role) -> bool {
    match actor.role {
        Role::SuperAdmin => true,
        Role::TerritoryAdmin => role <= Role::TerritoryAdmin,
        Role::PartnerAdmin => role <= Role::PartnerAdmin,
        Role::Agent => false,
    }
}

/// The facts about a user account being managed.
#[derive(Debug, Clone)]
pub struct UserFacts {
    pub user_id: u64,
    pub role: Role,
    pub memberships: Vec<Membership>,
}

/// Creating, editing, deactivating a user, or resending their activation.
pub fn can_manage_user(actor: &Actor, target: &UserFacts) -> bool {
    if target.user_id == actor.user_id {
        // One's own account goes through the profile page.
        return false;
    }
    if !can_grant_role(actor, target.role) {
        return false;
    }
    match actor.role {
        Role::SuperAdmin => true,
        Role::TerritoryAdmin => {
            !target.memberships.is_empty()
                && target
                    .memberships
                    .iter()
                    .all(|m| actor.administers_territory(m.territory_id))
        }
        Role::PartnerAdmin => {
            !target.memberships.is_empty()
                && target
                    .memberships
                    .iter()
                    .all(|m| actor.is_member_of(m.partner_id))
        }
        Role::Agent => false,
    }
}

/// Putting a user in this partner.
pub fn can_add_member_to_partner(
    actor: &Actor,
    partner_id: u64,
    partner_territory_id: u32,
) -> bool {
    match actor.role {
        Role::SuperAdmin => true,
        Role::TerritoryAdmin => actor.administers_territory(partner_territory_id),
        Role::PartnerAdmin => actor.is_member_of(partner_id),
        Role::Agent => false,
    }
}

pub fn can_manage_territories(actor: &Actor) -> bool {
    actor.is_super_admin()
}

pub fn can_view_audit_log(actor: &Actor) -> bool {
    actor.is_super_admin()
}

pub fn can_manage_tags(actor: &Actor, territory_id: u32) -> bool {
    actor.administers_territory(territory_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, memberships: &[(u64, u32)]) -> Actor {
        Actor {
            user_id: 1,
            role,
            memberships: memberships
                .iter()
                .map(|&(partner_id, territory_id)| Membership {
                    partner_id,
                    territory_id,
                })
                .collect(),
        }
    }

    fn user(id: u64, role: Role, memberships: &[(u64, u32)]) -> UserFacts {
        UserFacts {
            user_id: id,
            role,
            memberships: actor(role, memberships).memberships,
        }
    }

    #[test]
    fn agents_see_only_reports_assigned_to_their_partner() {
        let agent = actor(Role::Agent, &[(10, 69)]);
        let assigned = ReportFacts {
            territory_id: 69,
            assigned_partner_ids: vec![10, 11],
        };
        let other = ReportFacts {
            territory_id: 69,
            assigned_partner_ids: vec![11],
        };
        assert!(can_view_report(&agent, &assigned));
        assert!(!can_view_report(&agent, &other));
    }

    #[test]
    fn territory_admins_see_their_territories_only() {
        let admin = actor(Role::TerritoryAdmin, &[(1, 69)]);
        assert!(can_view_report(
            &admin,
            &ReportFacts {
                territory_id: 69,
                assigned_partner_ids: vec![]
            }
        ));
        assert!(!can_view_report(
            &admin,
            &ReportFacts {
                territory_id: 13,
                assigned_partner_ids: vec![]
            }
        ));
        assert!(can_manage_partner(&admin, 69));
        assert!(!can_manage_partner(&admin, 13));
    }

    #[test]
    fn nobody_grants_a_role_above_their_own() {
        let partner_admin = actor(Role::PartnerAdmin, &[(10, 69)]);
        assert!(can_grant_role(&partner_admin, Role::Agent));
        assert!(!can_grant_role(&partner_admin, Role::TerritoryAdmin));
        let territory_admin = actor(Role::TerritoryAdmin, &[(1, 69)]);
        assert!(!can_grant_role(&territory_admin, Role::SuperAdmin));
        assert_eq!(grantable_roles(&actor(Role::Agent, &[(10, 69)])), vec![]);
    }

    #[test]
    fn partner_admins_manage_the_users_of_their_own_partner_only() {
        let partner_admin = actor(Role::PartnerAdmin, &[(10, 69)]);
        assert!(can_manage_user(
            &partner_admin,
            &user(2, Role::Agent, &[(10, 69)])
        ));
        assert!(!can_manage_user(
            &partner_admin,
            &user(3, Role::Agent, &[(11, 69)])
        ));
        assert!(!can_manage_user(
            &partner_admin,
            &user(4, Role::TerritoryAdmin, &[(10, 69)])
        ));
        assert!(
            !can_manage_user(&partner_admin, &user(1, Role::PartnerAdmin, &[(10, 69)])),
            "not oneself"
        );
    }

    #[test]
    fn route_gates_follow_the_role_order() {
        assert!(Access::SignedIn.allows(Role::Agent));
        assert!(!Access::PartnerAdmin.allows(Role::Agent));
        assert!(Access::PartnerAdmin.allows(Role::TerritoryAdmin));
        assert!(!Access::SuperAdmin.allows(Role::TerritoryAdmin));
    }
}
