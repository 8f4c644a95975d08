//! The readiness query.

use super::Pool;

/// `SELECT 1`: proves a connection can be checked out and answers.
pub async fn ping(pool: &Pool) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!("SELECT 1 AS `one: i32`")
        .fetch_one(pool)
        .await?;
    Ok(())
}
