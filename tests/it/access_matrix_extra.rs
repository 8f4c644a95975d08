//! Entries of the role × route matrix for the routes of other feature areas
//! (public form, follow-up space, interconnections, ...): each area appends
//! its routes here, with the expected answer for anonymous, agent, partner
//! admin, territory admin and super admin.

use crate::common::TestApp;

type Expect = crate::access::MatrixExpect;

pub static EXTRA: &[(&str, &str, [Expect; 5])] = &[];

/// Replaces the path parameters of those routes with real values.
pub async fn fill(path: &str, _app: &TestApp) -> String {
    path.to_owned()
}
