//! The one generator of plausible data, behind both `histologe seed` (the
//! demo: src/seed.rs) and `histologe bench-data` (the national benchmark:
//! src/bulk_seed.rs): names and streets ([`names`]), reports with their
//! defects and score through the one scoring path ([`reports`]), and their
//! life — status, dates, assignments, follow-ups, visits — spread over
//! territories as `db::bulk` rows ([`dataset`]). Deterministic for a given
//! random generator and date; the callers decide the territories and staff,
//! the volume and how batches reach the database (docs/generator.md).
//!
//! Kept apart from the request path: only `seed` and `bulk_seed` import it
//! (tests/it/layers.rs).

pub mod dataset;
pub mod names;
pub mod reports;
