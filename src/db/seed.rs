//! Inserts for the demo data.

use super::Pool;

pub async fn run(_pool: &Pool, _reports: u32) -> anyhow::Result<String> {
    Ok(String::new())
}
