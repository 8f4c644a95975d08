//! Histologe: signalement et traitement du logement indigne.
//!
//! Module map (dependencies point inward: `web` → `domain` + `db` + effects):
//! - [`config`]: typed configuration, read once from the environment.
//! - [`app`]: application state, router assembly and middleware stack.
//! - [`error`]: the one error type at the HTTP boundary.
//! - [`domain`]: pure rules (no axum, no sqlx).
//! - [`db`]: every SQL query of the platform, compile-checked.
//! - [`web`]: HTTP handlers and page structs (public pages, back office).
//! - [`storage`], [`kv`]: object storage and Redis handles.
//! - [`case_plan`]: applies a case command's plan (writes, audit, notices,
//!   jobs) in one transaction.
//! - [`seed`]: demo data for a first run; [`bulk_seed`]: benchmark data; both
//!   drawn by [`generator`].
//! - [`secrets`]: integration secrets encrypted at rest.
//! - [`filing`]: a form submission written with all its jobs, in one transaction.
//! - [`telemetry`]: logs and Sentry.

pub mod app;
pub mod auth;
pub mod bulk_seed;
pub mod case_plan;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod filing;
pub mod generator;
pub mod integrations;
pub mod kv;
pub mod mail;
pub mod metrics;
pub mod queue;
pub mod secrets;
pub mod seed;
pub mod storage;
pub mod telemetry;
pub mod uploads;
pub mod web;
pub mod worker;
