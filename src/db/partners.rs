//! Queries on partners and their perimeters.

use sqlx::{MySqlConnection, types::Json};

use super::Pool;

pub struct PartnerRow {
    pub id: u64,
    pub territory_id: u32,
    pub territory_code: String,
    pub territory_name: String,
    pub name: String,
    pub partner_type: String,
    pub competences: Json<Vec<String>>,
    pub email: Option<String>,
    pub email_notifiable: bool,
    pub is_archived: bool,
    pub esabora_kind: Option<String>,
    pub esabora_url: Option<String>,
    pub esabora_token: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    /// Encrypted, as the Esabora token (`crate::secrets`).
    pub zapier_url: Option<String>,
    pub zapier_token: Option<String>,
}

pub async fn find(pool: &Pool, id: u64) -> Result<Option<PartnerRow>, sqlx::Error> {
    sqlx::query_as!(
        PartnerRow,
        "SELECT p.id, p.territory_id, t.code AS territory_code, t.name AS territory_name, p.name,
                p.type AS partner_type, p.competences AS `competences: Json<Vec<String>>`, p.email,
                p.email_notifiable AS `email_notifiable: bool`, p.is_archived AS `is_archived: bool`,
                p.esabora_kind, p.esabora_url, p.esabora_token, p.webhook_url, p.webhook_secret,
                p.zapier_url, p.zapier_token
         FROM partners p JOIN territories t ON t.id = p.territory_id
         WHERE p.id = ?",
        id
    )
    .fetch_optional(pool)
    .await
}

pub async fn insee_codes(pool: &Pool, partner_id: u64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT insee_code FROM partner_insee_codes WHERE partner_id = ? ORDER BY insee_code",
        partner_id
    )
    .fetch_all(pool)
    .await
}

pub struct PartnerListRow {
    pub id: u64,
    pub territory_code: String,
    pub name: String,
    pub partner_type: String,
    pub email: Option<String>,
    pub is_archived: bool,
    pub users: i64,
}

/// Partners of some territories (all when `territory_ids` is `None`),
/// filtered by a search on the name and a type, one page.
pub async fn list(
    pool: &Pool,
    territory_ids: Option<&[u32]>,
    search: &str,
    partner_type: &str,
    limit: u32,
    offset: u32,
) -> Result<(Vec<PartnerListRow>, i64), sqlx::Error> {
    let all = territory_ids.is_none();
    let ids = territory_ids.map(super::id_list).unwrap_or_default();
    let pattern = format!("%{}%", super::escape_like(search.trim()));
    let rows = sqlx::query_as!(
        PartnerListRow,
        "SELECT p.id, t.code AS territory_code, p.name, p.type AS partner_type, p.email,
                p.is_archived AS `is_archived: bool`,
                (SELECT COUNT(*) FROM user_partners up WHERE up.partner_id = p.id) AS `users!: i64`
         FROM partners p JOIN territories t ON t.id = p.territory_id
         WHERE (? OR FIND_IN_SET(p.territory_id, ?))
           AND (? = '%%' OR p.name LIKE ?)
           AND (? = '' OR p.type = ?)
         ORDER BY t.code, p.name
         LIMIT ? OFFSET ?",
        all,
        ids,
        pattern,
        pattern,
        partner_type,
        partner_type,
        limit,
        offset
    )
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar!(
        "SELECT COUNT(*) AS `n!: i64` FROM partners p
         WHERE (? OR FIND_IN_SET(p.territory_id, ?))
           AND (? = '%%' OR p.name LIKE ?)
           AND (? = '' OR p.type = ?)",
        all,
        ids,
        pattern,
        pattern,
        partner_type,
        partner_type
    )
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

/// (id, label) of the partners a select box may offer.
pub async fn options(
    pool: &Pool,
    territory_ids: Option<&[u32]>,
) -> Result<Vec<(u64, String, u32)>, sqlx::Error> {
    let all = territory_ids.is_none();
    let ids = territory_ids.map(super::id_list).unwrap_or_default();
    let rows = sqlx::query!(
        "SELECT p.id, CONCAT(t.code, ' – ', p.name) AS `label!: String`, p.territory_id
         FROM partners p JOIN territories t ON t.id = p.territory_id
         WHERE p.is_archived = FALSE AND (? OR FIND_IN_SET(p.territory_id, ?))
         ORDER BY t.code, p.name",
        all,
        ids
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.label, r.territory_id))
        .collect())
}

/// The editable fields of a partner.
pub struct PartnerFields<'a> {
    pub territory_id: u32,
    pub name: &'a str,
    pub partner_type: &'a str,
    pub competences: &'a [String],
    pub email: Option<&'a str>,
    pub email_notifiable: bool,
    pub is_archived: bool,
    pub esabora_kind: Option<&'a str>,
    pub esabora_url: Option<&'a str>,
    pub esabora_token: Option<&'a str>,
    pub webhook_url: Option<&'a str>,
    pub webhook_secret: Option<&'a str>,
}

pub async fn insert(conn: &mut MySqlConnection, p: &PartnerFields<'_>) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!(
        "INSERT INTO partners (territory_id, name, type, competences, email, email_notifiable, is_archived,
                               esabora_kind, esabora_url, esabora_token, webhook_url, webhook_secret)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        p.territory_id,
        p.name,
        p.partner_type,
        Json(p.competences),
        p.email,
        p.email_notifiable,
        p.is_archived,
        p.esabora_kind,
        p.esabora_url,
        p.esabora_token,
        p.webhook_url,
        p.webhook_secret
    )
    .execute(conn)
    .await?;
    Ok(result.last_insert_id())
}

pub async fn update(
    conn: &mut MySqlConnection,
    id: u64,
    p: &PartnerFields<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE partners SET name = ?, type = ?, competences = ?, email = ?, email_notifiable = ?, is_archived = ?,
                esabora_kind = ?, esabora_url = ?, esabora_token = ?, webhook_url = ?, webhook_secret = ?
         WHERE id = ?",
        p.name,
        p.partner_type,
        Json(p.competences),
        p.email,
        p.email_notifiable,
        p.is_archived,
        p.esabora_kind,
        p.esabora_url,
        p.esabora_token,
        p.webhook_url,
        p.webhook_secret,
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The Zapier push settings (sealed hook URL and token; both `None`: no
/// push), in the caller's transaction.
pub async fn set_zapier(
    conn: &mut MySqlConnection,
    id: u64,
    url: Option<&str>,
    token: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE partners SET zapier_url = ?, zapier_token = ? WHERE id = ?",
        url,
        token,
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn replace_insee_codes(
    conn: &mut MySqlConnection,
    partner_id: u64,
    codes: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM partner_insee_codes WHERE partner_id = ?",
        partner_id
    )
    .execute(&mut *conn)
    .await?;
    for code in codes {
        sqlx::query!(
            "INSERT INTO partner_insee_codes (partner_id, insee_code) VALUES (?, ?)",
            partner_id,
            code
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A partner's interconnection secrets as stored (encrypted, or clear
/// when written before `crate::secrets` existed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSecrets {
    pub id: u64,
    pub esabora_token: Option<String>,
    pub webhook_secret: Option<String>,
    pub zapier_url: Option<String>,
    pub zapier_token: Option<String>,
}

/// Partners holding at least one secret.
pub async fn list_stored_secrets(pool: &Pool) -> Result<Vec<StoredSecrets>, sqlx::Error> {
    sqlx::query_as!(
        StoredSecrets,
        "SELECT id, esabora_token, webhook_secret, zapier_url, zapier_token FROM partners
         WHERE esabora_token IS NOT NULL OR webhook_secret IS NOT NULL
            OR zapier_url IS NOT NULL OR zapier_token IS NOT NULL
         ORDER BY id"
    )
    .fetch_all(pool)
    .await
}

/// Replaces a partner's secrets if they still are `before` (compared
/// byte for byte: the columns' collation ignores case); false otherwise.
pub async fn replace_stored_secrets(
    pool: &Pool,
    before: &StoredSecrets,
    after: &StoredSecrets,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        "UPDATE partners SET esabora_token = ?, webhook_secret = ?, zapier_url = ?, zapier_token = ?
         WHERE id = ? AND BINARY esabora_token <=> BINARY ? AND BINARY webhook_secret <=> BINARY ?
           AND BINARY zapier_url <=> BINARY ? AND BINARY zapier_token <=> BINARY ?",
        after.esabora_token,
        after.webhook_secret,
        after.zapier_url,
        after.zapier_token,
        before.id,
        before.esabora_token,
        before.webhook_secret,
        before.zapier_url,
        before.zapier_token
    )
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}
