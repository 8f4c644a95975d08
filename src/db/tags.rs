//! Queries on territory tags (étiquettes).

use sqlx::MySqlConnection;

use super::Pool;

pub struct TagRow {
    pub id: u64,
    pub territory_id: u32,
    pub territory_code: String,
    pub label: String,
    pub reports: i64,
}

pub async fn list(pool: &Pool, territory_ids: Option<&[u32]>) -> Result<Vec<TagRow>, sqlx::Error> {
    let all = territory_ids.is_none();
    let ids = territory_ids.map(super::id_list).unwrap_or_default();
    sqlx::query_as!(
        TagRow,
        "SELECT g.id, g.territory_id, t.code AS territory_code, g.label,
                (SELECT COUNT(*) FROM report_tags rt WHERE rt.tag_id = g.id) AS `reports!: i64`
         FROM tags g JOIN territories t ON t.id = g.territory_id
         WHERE g.is_archived = FALSE AND (? OR FIND_IN_SET(g.territory_id, ?))
         ORDER BY t.code, g.label",
        all,
        ids
    )
    .fetch_all(pool)
    .await
}

/// A tag offered by the selection forms.
#[derive(Debug, Clone)]
pub struct TagOption {
    pub id: u64,
    pub territory_code: String,
    pub label: String,
}

/// The live tags of these territories (all when `None`), without the
/// per-tag counts of [`list`]: the selection forms need names only.
pub async fn options(
    pool: &Pool,
    territory_ids: Option<&[u32]>,
) -> Result<Vec<TagOption>, sqlx::Error> {
    let all = territory_ids.is_none();
    let ids = territory_ids.map(super::id_list).unwrap_or_default();
    sqlx::query_as!(
        TagOption,
        "SELECT g.id, t.code AS territory_code, g.label
         FROM tags g JOIN territories t ON t.id = g.territory_id
         WHERE g.is_archived = FALSE AND (? OR FIND_IN_SET(g.territory_id, ?))
         ORDER BY t.code, g.label",
        all,
        ids
    )
    .fetch_all(pool)
    .await
}

pub async fn find_territory(pool: &Pool, id: u64) -> Result<Option<u32>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT territory_id FROM tags WHERE id = ? AND is_archived = FALSE",
        id
    )
    .fetch_optional(pool)
    .await
}

pub async fn exists(
    conn: &mut MySqlConnection,
    territory_id: u32,
    label: &str,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query_scalar!(
        "SELECT COUNT(*) AS `n!: i64` FROM tags WHERE territory_id = ? AND label = ?",
        territory_id,
        label
    )
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

pub async fn insert(
    conn: &mut MySqlConnection,
    territory_id: u32,
    label: &str,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query!(
        "INSERT INTO tags (territory_id, label) VALUES (?, ?)",
        territory_id,
        label
    )
    .execute(conn)
    .await?;
    Ok(r.last_insert_id())
}

/// Tags are archived, not deleted: reports keep their history.
pub async fn archive(conn: &mut MySqlConnection, id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE tags SET is_archived = TRUE, label = CONCAT(LEFT(label, 80), ' #', id) WHERE id = ?",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}
