//! The integration tests: the real router against real MariaDB and Redis
//! servers (started by `scripts/services.sh`), each test in its own fresh
//! database. One binary, so the build links once.

// Helpers outside `#[test]` functions too: a panic in test code is a failed
// test with its message (Cargo.toml denies both in the application).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a failed test"
)]

mod common;
mod fakes;

mod access;
mod access_matrix_extra;
mod access_targets;
mod address_history;
mod antivirus;
mod api;
mod arretes;
mod arretes_import;
mod auth_hardening;
mod bo_documents;
mod browser;
mod contact;
mod crawl;
mod deliverability;
mod docs;
mod explain;
mod follow_up;
mod generated_data;
mod harness;
mod layers;
mod map_stats_exports;
mod open311;
mod ops_hardening;
mod outbound;
mod report_form;
mod resident_space;
mod resilience;
mod scoring;
mod shell;
mod snapshots;
mod terms;
mod uploads_hardening;
mod visits;
mod worker;
mod workflow;
mod zapier_settings;
