//! HTTP handlers and page structs.
//!
//! - [`public`]: pages anyone can open (home, legal pages, the reporting form,
//!   the resident's follow-up space).
//! - [`office`]: the back office.
//! - [`open311`]: the Open311 GeoReport v2 endpoint.
//! - [`health`]: liveness and readiness probes.
//! - [`downloads`]: serving a document (only once scanned clean).
//! - [`api`]: the partner API `/api/v1` (bearer tokens, JSON, OpenAPI).
//! - [`webhooks`]: events pushed by external services (Brevo's deliverability).
//! - [`layout`], [`csrf`], [`headers`]: what every page shares.

pub mod account;
pub mod api;
pub mod csrf;
pub mod dev_mail;
pub mod downloads;
pub mod error_page;
pub mod forms;
pub mod gate;
pub mod headers;
pub mod health;
pub mod layout;
pub mod metrics;
pub mod office;
pub mod open311;
pub mod public;
pub mod routes;
pub mod webhooks;
