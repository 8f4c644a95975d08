//! Queries on territories (départements) and communes.

use sqlx::{MySqlConnection, types::Json};

use super::Pool;

pub struct TerritoryRow {
    pub id: u32,
    pub code: String,
    pub name: String,
    pub is_active: bool,
    pub timezone: String,
    pub authorized_insee_codes: Option<Json<Vec<String>>>,
}

pub async fn list(pool: &Pool) -> Result<Vec<TerritoryRow>, sqlx::Error> {
    sqlx::query_as!(
        TerritoryRow,
        "SELECT id, code, name, is_active AS `is_active: bool`, timezone,
                authorized_insee_codes AS `authorized_insee_codes: Json<Vec<String>>`
         FROM territories ORDER BY code"
    )
    .fetch_all(pool)
    .await
}

pub async fn find(pool: &Pool, id: u32) -> Result<Option<TerritoryRow>, sqlx::Error> {
    sqlx::query_as!(
        TerritoryRow,
        "SELECT id, code, name, is_active AS `is_active: bool`, timezone,
                authorized_insee_codes AS `authorized_insee_codes: Json<Vec<String>>`
         FROM territories WHERE id = ?",
        id
    )
    .fetch_optional(pool)
    .await
}

pub async fn update(
    conn: &mut MySqlConnection,
    id: u32,
    is_active: bool,
    timezone: &str,
    authorized_insee_codes: &[String],
) -> Result<(), sqlx::Error> {
    let codes = (!authorized_insee_codes.is_empty()).then_some(Json(authorized_insee_codes));
    sqlx::query!(
        "UPDATE territories SET is_active = ?, timezone = ?, authorized_insee_codes = ? WHERE id = ?",
        is_active,
        timezone,
        codes,
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Which of these INSEE codes are not communes of the territory.
pub async fn unknown_insee_codes(
    pool: &Pool,
    territory_id: u32,
    codes: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let list = codes.join(",");
    let known = sqlx::query_scalar!(
        "SELECT DISTINCT insee_code FROM communes WHERE territory_id = ? AND FIND_IN_SET(insee_code, ?)",
        territory_id,
        list
    )
    .fetch_all(pool)
    .await?;
    Ok(codes
        .iter()
        .filter(|c| !known.contains(c))
        .cloned()
        .collect())
}

/// Territories by id, for select boxes limited to a user's scope.
pub async fn list_by_ids(pool: &Pool, ids: &[u32]) -> Result<Vec<TerritoryRow>, sqlx::Error> {
    let list = super::id_list(ids);
    sqlx::query_as!(
        TerritoryRow,
        "SELECT id, code, name, is_active AS `is_active: bool`, timezone,
                authorized_insee_codes AS `authorized_insee_codes: Json<Vec<String>>`
         FROM territories WHERE FIND_IN_SET(id, ?) ORDER BY code",
        list
    )
    .fetch_all(pool)
    .await
}

/// A territory's name and contact address (the public contact form).
pub struct TerritoryContact {
    pub name: String,
    pub contact_email: Option<String>,
}

pub async fn contact_of(pool: &Pool, id: u32) -> Result<Option<TerritoryContact>, sqlx::Error> {
    sqlx::query_as!(
        TerritoryContact,
        "SELECT name, contact_email FROM territories WHERE id = ?",
        id
    )
    .fetch_optional(pool)
    .await
}

/// Sets (or clears) the territory's contact address, in the caller's
/// transaction.
pub async fn set_contact_email(
    conn: &mut MySqlConnection,
    id: u32,
    email: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE territories SET contact_email = ? WHERE id = ?",
        email,
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}
