//! Actors and cases for the commands' tests.

use super::{AssignmentStatus, ReportStatus};
use crate::domain::permissions::{Actor, Membership};
use crate::domain::roles::Role;
use crate::domain::workflow::CaseFacts;

fn actor(user_id: u64, role: Role, partner_id: u64, territory_id: u32) -> Actor {
    Actor {
        user_id,
        role,
        memberships: vec![Membership {
            partner_id,
            territory_id,
        }],
    }
}

/// Territory admin of territory 69 (user 1, partner 1).
pub fn admin() -> Actor {
    actor(1, Role::TerritoryAdmin, 1, 69)
}

/// Territory admin of another territory.
pub fn other_admin() -> Actor {
    actor(2, Role::TerritoryAdmin, 2, 13)
}

/// An agent of `partner` in territory 69 (user 100 + partner).
pub fn agent(partner: u64) -> Actor {
    actor(100 + partner, Role::Agent, partner, 69)
}

/// Case 7 of territory 69, at version 3.
pub fn case(status: ReportStatus, assignments: &[(u64, AssignmentStatus)]) -> CaseFacts {
    CaseFacts {
        report_id: 7,
        uuid: "0c1b2a39-5d6e-4f70-8a9b-0c1d2e3f4a5b".into(),
        version: 3,
        territory_id: 69,
        status,
        assignments: assignments.to_vec(),
    }
}
