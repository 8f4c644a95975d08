//! The back office (agents, partner admins, territory admins, super admins).
//! Every route is declared in [`crate::web::routes`] with the access it
//! requires; record-level checks ask [`crate::domain::permissions`].

pub mod addresses;
pub mod api_accounts;
pub mod arretes;
pub mod audit;
pub mod auto_assignment;
pub mod case_actions;
pub mod case_edit;
pub mod cases;
pub mod dashboard;
pub mod delivery;
pub mod documents;
pub mod exports;
pub mod filter_options;
pub mod interconnections;
pub mod map;
pub mod partners;
pub mod profile;
pub mod stats;
pub mod tags;
pub mod terms;
pub mod territories;
pub mod users;
pub mod visits;
