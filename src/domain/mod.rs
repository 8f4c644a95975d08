//! Pure rules of the platform: no axum, no sqlx.
//!
//! - [`roles`]: the back-office roles, ordered by power.
//! - [`permissions`]: the one authorization policy every handler asks.
//! - [`password`]: the password policy.
//! - [`partner`]: partner types and competences.
//! - [`antivirus`]: a document's scan state and what it allows.
//! - [`contact`]: e-mail, phone, postal code and INSEE code, parsed once.
//! - [`address`]: the normalised key of an address (address history).
//! - [`arrete`]: orders (arrêtés): types, checks, who records them.

pub mod address;
pub mod antivirus;
pub mod api;
pub mod arrete;
pub mod arrete_import;
pub mod audit;
pub mod auto_assignment;
pub mod case;
pub mod case_filter;
pub mod contact;
pub mod delivery;
pub mod document;
pub mod export;
pub mod export_slots;
pub mod map;
pub mod open311;
pub mod partner;
pub mod password;
pub mod permissions;
pub mod report;
pub mod roles;
pub mod stats;
pub mod terms;
pub mod workflow;
