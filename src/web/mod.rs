//! HTTP handlers and page structs.
//!
//! - [`public`]: pages anyone can open (home, legal pages, the reporting form,
//!   the resident's follow-up space).
//! - [`office`]: the back office.
//! - [`health`]: liveness and readiness probes.
//! - [`layout`], [`csrf`], [`headers`]: what every page shares.

pub mod account;
pub mod csrf;
pub mod dev_mail;
pub mod forms;
pub mod headers;
pub mod health;
pub mod layout;
pub mod office;
pub mod public;
pub mod routes;
