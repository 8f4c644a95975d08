//! Demo data for a first run: territories, partners of several types, one
//! user per role (passwords printed, demo only) and a few hundred reports in
//! every status.

use crate::db;

#[derive(Debug, Clone, clap::Args)]
pub struct SeedOptions {
    /// How many demo reports to create.
    #[arg(long, default_value_t = 300)]
    pub reports: u32,
}

pub async fn run(pool: &db::Pool, options: &SeedOptions) -> anyhow::Result<String> {
    db::seed::run(pool, options.reports).await
}
