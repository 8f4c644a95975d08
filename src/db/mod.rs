//! Every SQL query of the platform lives in this module tree, compile-checked
//! by sqlx's macros against the committed `.sqlx` data.
//!
//! Functions take `&mut MySqlConnection` (or the pool for reads) so that the
//! caller owns the transaction and can enqueue its jobs inside it.

use std::time::Duration;

use sqlx::{
    MySqlPool,
    mysql::{MySqlConnectOptions, MySqlPoolOptions},
};

use crate::config::Config;

pub mod addresses;
pub mod api;
pub mod arretes;
pub mod audit;
pub mod auto_assignment;
pub mod bulk;
pub mod case_edit;
pub mod case_view;
pub mod cases;
pub mod contact;
pub mod dashboard;
pub mod defects;
pub mod delivery;
pub mod documents;
pub mod drafts;
pub mod exports;
pub mod follow_ups;
pub mod health;
pub mod interconnections;
pub mod invitations;
pub mod jobs_data;
pub mod map;
pub mod notifications;
pub mod open311;
pub mod outbox;
pub mod partners;
pub mod reports;
pub mod resident_details;
pub mod saved_filters;
pub mod scoring;
pub mod seed;
pub mod sent_emails;
pub mod states;
pub mod stats;
pub mod submission;
pub mod subscriptions;
pub mod tags;
pub mod terms;
pub mod territories;
pub mod users;
pub mod visits;
pub mod workflow;

pub type Pool = MySqlPool;

/// The migrations embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Builds the pool lazily: the process starts even when MySQL is down and
/// recovers by itself when it comes back (each checkout tests the
/// connection; a dead one is replaced).
pub fn connect(config: &Config) -> anyhow::Result<Pool> {
    let options: MySqlConnectOptions = config.database_url.expose().parse()?;
    Ok(pool_options(config.database_max_connections).connect_lazy_with(options))
}

/// Pool settings shared by the app and the tests.
pub fn pool_options(max_connections: u32) -> MySqlPoolOptions {
    MySqlPoolOptions::new()
        .max_connections(max_connections)
        // Fail fast while the database is down: the request gets a 503 in
        // seconds instead of waiting for the default 30 s.
        .acquire_timeout(Duration::from_secs(3))
        .test_before_acquire(true)
        .idle_timeout(Duration::from_secs(300))
}

/// Runs the pending migrations.
pub async fn migrate(pool: &Pool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Comma-separated ids for `FIND_IN_SET` (ids are numbers: nothing to escape).
pub fn id_list<T: ToString>(ids: &[T]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Escapes `%`, `_` and `\` for a LIKE pattern.
pub fn escape_like(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
