//! Queries on back-office users, their partner memberships and tokens.

use sqlx::MySqlConnection;
use time::PrimitiveDateTime;

use super::Pool;

/// What the login form needs.
pub struct LoginRow {
    pub id: u64,
    pub email: String,
    pub password_hash: Option<String>,
    pub status: String,
    pub session_generation: u32,
}

pub async fn find_for_login(pool: &Pool, email: &str) -> Result<Option<LoginRow>, sqlx::Error> {
    sqlx::query_as!(
        LoginRow,
        "SELECT id, email, password_hash, status, session_generation FROM users WHERE email = ?",
        email.trim()
    )
    .fetch_optional(pool)
    .await
}

/// A user as the back office sees them.
pub struct UserRow {
    pub id: u64,
    pub uuid: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub job_title: Option<String>,
    pub role: String,
    pub status: String,
    pub notification_pref: String,
    pub last_login_at: Option<PrimitiveDateTime>,
    pub created_at: PrimitiveDateTime,
    /// Sessions started under an older generation are ended.
    pub session_generation: u32,
}

pub async fn find(pool: &Pool, id: u64) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        "SELECT id, uuid, email, first_name, last_name, phone, job_title, role, status, notification_pref,
                last_login_at, created_at, session_generation
         FROM users WHERE id = ?",
        id
    )
    .fetch_optional(pool)
    .await
}

/// A user's membership of a partner, with names for display.
pub struct MembershipRow {
    pub partner_id: u64,
    pub partner_name: String,
    pub partner_type: String,
    pub territory_id: u32,
    pub territory_code: String,
    pub territory_name: String,
}

pub async fn memberships(pool: &Pool, user_id: u64) -> Result<Vec<MembershipRow>, sqlx::Error> {
    sqlx::query_as!(
        MembershipRow,
        "SELECT p.id AS partner_id, p.name AS partner_name, p.type AS partner_type,
                t.id AS territory_id, t.code AS territory_code, t.name AS territory_name
         FROM user_partners up
         JOIN partners p ON p.id = up.partner_id
         JOIN territories t ON t.id = up.territory_id
         WHERE up.user_id = ?
         ORDER BY t.code, p.name",
        user_id
    )
    .fetch_all(pool)
    .await
}

/// A user and their memberships in one query: what every signed-in request
/// loads (one round trip instead of two). Only memberships that grant
/// something are returned: a membership of an archived partner grants
/// nothing (its users lose its cases at once).
pub async fn find_with_memberships(
    pool: &Pool,
    id: u64,
) -> Result<Option<(UserRow, Vec<MembershipRow>)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT u.id, u.uuid, u.email, u.first_name, u.last_name, u.phone, u.job_title, u.role, u.status,
                u.notification_pref, u.last_login_at, u.created_at, u.session_generation,
                p.id AS `partner_id?`, p.name AS `partner_name?`, p.type AS `partner_type?`,
                t.id AS `territory_id?`, t.code AS `territory_code?`, t.name AS `territory_name?`
         FROM users u
         LEFT JOIN user_partners up ON up.user_id = u.id
         LEFT JOIN partners p ON p.id = up.partner_id AND p.is_archived = FALSE
         LEFT JOIN territories t ON t.id = p.territory_id
         WHERE u.id = ?
         ORDER BY t.code, p.name",
        id
    )
    .fetch_all(pool)
    .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let user = UserRow {
        id: first.id,
        uuid: first.uuid.clone(),
        email: first.email.clone(),
        first_name: first.first_name.clone(),
        last_name: first.last_name.clone(),
        phone: first.phone.clone(),
        job_title: first.job_title.clone(),
        role: first.role.clone(),
        status: first.status.clone(),
        notification_pref: first.notification_pref.clone(),
        last_login_at: first.last_login_at,
        created_at: first.created_at,
        session_generation: first.session_generation,
    };
    let memberships = rows
        .into_iter()
        .filter_map(|r| {
            Some(MembershipRow {
                partner_id: r.partner_id?,
                partner_name: r.partner_name?,
                partner_type: r.partner_type?,
                territory_id: r.territory_id?,
                territory_code: r.territory_code?,
                territory_name: r.territory_name?,
            })
        })
        .collect();
    Ok(Some((user, memberships)))
}

/// Memberships of many users at once (lists: one query, not one per row).
pub async fn memberships_of(
    pool: &Pool,
    user_ids: &[u64],
) -> Result<Vec<(u64, MembershipRow)>, sqlx::Error> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = super::id_list(user_ids);
    let rows = sqlx::query!(
        "SELECT up.user_id, p.id AS partner_id, p.name AS partner_name, p.type AS partner_type,
                t.id AS territory_id, t.code AS territory_code, t.name AS territory_name
         FROM user_partners up
         JOIN partners p ON p.id = up.partner_id
         JOIN territories t ON t.id = up.territory_id
         WHERE FIND_IN_SET(up.user_id, ?)
         ORDER BY t.code, p.name",
        ids
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.user_id,
                MembershipRow {
                    partner_id: r.partner_id,
                    partner_name: r.partner_name,
                    partner_type: r.partner_type,
                    territory_id: r.territory_id,
                    territory_code: r.territory_code,
                    territory_name: r.territory_name,
                },
            )
        })
        .collect())
}

pub async fn record_login(pool: &Pool, id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE users SET last_login_at = UTC_TIMESTAMP(), inactivity_warned_at = NULL WHERE id = ?", id)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn email_exists(
    conn: &mut MySqlConnection,
    email: &str,
    except_id: Option<u64>,
) -> Result<bool, sqlx::Error> {
    let found = sqlx::query_scalar!(
        "SELECT COUNT(*) AS `n!: i64` FROM users WHERE email = ? AND (? IS NULL OR id <> ?)",
        email,
        except_id,
        except_id
    )
    .fetch_one(conn)
    .await?;
    Ok(found > 0)
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub job_title: Option<&'a str>,
    pub role: &'a str,
}

pub async fn insert(conn: &mut MySqlConnection, user: &NewUser<'_>) -> Result<u64, sqlx::Error> {
    let uuid = uuid::Uuid::new_v4().to_string();
    let result = sqlx::query!(
        "INSERT INTO users (uuid, email, first_name, last_name, job_title, role, status)
         VALUES (?, ?, ?, ?, ?, ?, 'inactive')",
        uuid,
        user.email,
        user.first_name,
        user.last_name,
        user.job_title,
        user.role
    )
    .execute(conn)
    .await?;
    Ok(result.last_insert_id())
}

pub async fn update_identity(
    conn: &mut MySqlConnection,
    id: u64,
    first_name: &str,
    last_name: &str,
    job_title: Option<&str>,
    role: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        // A role change ends the user's sessions. MariaDB evaluates the
        // assignments left to right: the comparison sees the old role.
        "UPDATE users SET session_generation = session_generation + (role <> ?),
                first_name = ?, last_name = ?, job_title = ?, role = ? WHERE id = ?",
        role,
        first_name,
        last_name,
        job_title,
        role,
        id
    )
    .execute(&mut *conn)
    .await?;
    super::subscriptions::prune(conn, super::subscriptions::Recheck::User(id)).await?;
    Ok(())
}

pub async fn update_profile(
    conn: &mut MySqlConnection,
    id: u64,
    first_name: &str,
    last_name: &str,
    notification_pref: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE users SET first_name = ?, last_name = ?, notification_pref = ? WHERE id = ?",
        first_name,
        last_name,
        notification_pref,
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_status(
    conn: &mut MySqlConnection,
    id: u64,
    status: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        // A deactivation (or any change of status) ends the user's sessions.
        "UPDATE users SET session_generation = session_generation + (status <> ?),
                status = ?, archived_at = IF(? = 'archived', UTC_TIMESTAMP(), NULL) WHERE id = ?",
        status,
        status,
        status,
        id
    )
    .execute(&mut *conn)
    .await?;
    super::subscriptions::prune(conn, super::subscriptions::Recheck::User(id)).await?;
    Ok(())
}

/// Sets the password, activates the account and ends every session of the
/// user (a new password is often the answer to a stolen one). Returns the
/// new session generation, for the session that made the change.
pub async fn set_password(
    conn: &mut MySqlConnection,
    id: u64,
    password_hash: &str,
) -> Result<u32, sqlx::Error> {
    sqlx::query!(
        "UPDATE users SET password_hash = ?, status = IF(status = 'archived', status, 'active'),
                session_generation = session_generation + 1
         WHERE id = ?",
        password_hash,
        id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar!("SELECT session_generation FROM users WHERE id = ?", id)
        .fetch_one(conn)
        .await
}

/// The user's access changed (a membership): their sessions end and their
/// subscriptions are re-checked.
async fn access_changed(conn: &mut MySqlConnection, id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE users SET session_generation = session_generation + 1 WHERE id = ?",
        id
    )
    .execute(&mut *conn)
    .await?;
    super::subscriptions::prune(conn, super::subscriptions::Recheck::User(id)).await?;
    Ok(())
}

pub async fn add_membership(
    conn: &mut MySqlConnection,
    user_id: u64,
    partner_id: u64,
    territory_id: u32,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO user_partners (user_id, partner_id, territory_id) VALUES (?, ?, ?)",
        user_id,
        partner_id,
        territory_id
    )
    .execute(&mut *conn)
    .await?;
    access_changed(conn, user_id).await
}

pub async fn remove_membership(
    conn: &mut MySqlConnection,
    user_id: u64,
    partner_id: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM user_partners WHERE user_id = ? AND partner_id = ?",
        user_id,
        partner_id
    )
    .execute(&mut *conn)
    .await?;
    access_changed(conn, user_id).await
}

/// A row of the user list.
pub struct UserListRow {
    pub id: u64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    pub status: String,
    pub last_login_at: Option<PrimitiveDateTime>,
}

/// Which users a list shows (never the technical users of API accounts,
/// which are no one's colleagues: docs/api.md §8): all, those of some
/// territories, or of some
/// partners (comma-separated ids, applied with FIND_IN_SET: these lists
/// hold thousands of rows, not millions).
pub struct UserScope {
    pub kind: &'static str,
    pub ids: String,
}

pub async fn list(
    pool: &Pool,
    scope: &UserScope,
    search: &str,
    partner_id: Option<u64>,
    limit: u32,
    offset: u32,
) -> Result<(Vec<UserListRow>, i64), sqlx::Error> {
    let pattern = format!("%{}%", super::escape_like(search.trim()));
    let rows = sqlx::query_as!(
        UserListRow,
        "SELECT u.id, u.email, u.first_name, u.last_name, u.role, u.status, u.last_login_at
         FROM users u
         WHERE (? = 'all' OR EXISTS (
                 SELECT 1 FROM user_partners up WHERE up.user_id = u.id
                 AND ((? = 'territories' AND FIND_IN_SET(up.territory_id, ?))
                   OR (? = 'partners' AND FIND_IN_SET(up.partner_id, ?)))))
           AND (? IS NULL OR EXISTS (SELECT 1 FROM user_partners up2 WHERE up2.user_id = u.id AND up2.partner_id = ?))
           AND (? = '%%' OR u.email LIKE ? OR u.last_name LIKE ? OR u.first_name LIKE ?)
           AND NOT EXISTS (SELECT 1 FROM api_accounts ac WHERE ac.user_id = u.id)
         ORDER BY u.last_name, u.first_name, u.id
         LIMIT ? OFFSET ?",
        scope.kind,
        scope.kind,
        scope.ids,
        scope.kind,
        scope.ids,
        partner_id,
        partner_id,
        pattern,
        pattern,
        pattern,
        pattern,
        limit,
        offset
    )
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar!(
        "SELECT COUNT(*) AS `n!: i64`
         FROM users u
         WHERE (? = 'all' OR EXISTS (
                 SELECT 1 FROM user_partners up WHERE up.user_id = u.id
                 AND ((? = 'territories' AND FIND_IN_SET(up.territory_id, ?))
                   OR (? = 'partners' AND FIND_IN_SET(up.partner_id, ?)))))
           AND (? IS NULL OR EXISTS (SELECT 1 FROM user_partners up2 WHERE up2.user_id = u.id AND up2.partner_id = ?))
           AND (? = '%%' OR u.email LIKE ? OR u.last_name LIKE ? OR u.first_name LIKE ?)
           AND NOT EXISTS (SELECT 1 FROM api_accounts ac WHERE ac.user_id = u.id)",
        scope.kind,
        scope.kind,
        scope.ids,
        scope.kind,
        scope.ids,
        partner_id,
        partner_id,
        pattern,
        pattern,
        pattern,
        pattern
    )
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

/// Stores a token's digest; earlier unused tokens of the same kind die.
pub async fn insert_token(
    conn: &mut MySqlConnection,
    user_id: u64,
    kind: &str,
    token_digest: &str,
    valid_minutes: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE user_tokens SET used_at = UTC_TIMESTAMP() WHERE user_id = ? AND kind = ? AND used_at IS NULL",
        user_id,
        kind
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO user_tokens (user_id, kind, token_hash, expires_at)
         VALUES (?, ?, ?, UTC_TIMESTAMP() + INTERVAL ? MINUTE)",
        user_id,
        kind,
        token_digest,
        valid_minutes
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Uses a token: returns its user when it exists, is of this kind, unused
/// and unexpired, and marks it used in the same statement (so it works once,
/// even under two concurrent submissions).
pub async fn consume_token(
    conn: &mut MySqlConnection,
    kind: &str,
    token_digest: &str,
) -> Result<Option<u64>, sqlx::Error> {
    let user_id = sqlx::query_scalar!(
        "SELECT user_id FROM user_tokens
         WHERE token_hash = ? AND kind = ? AND used_at IS NULL AND expires_at > UTC_TIMESTAMP()
         FOR UPDATE",
        token_digest,
        kind
    )
    .fetch_optional(&mut *conn)
    .await?;
    if user_id.is_some() {
        sqlx::query!(
            "UPDATE user_tokens SET used_at = UTC_TIMESTAMP() WHERE token_hash = ?",
            token_digest
        )
        .execute(conn)
        .await?;
    }
    Ok(user_id)
}

/// Whether a token is usable, without using it (to show the form).
pub async fn token_is_valid(
    pool: &Pool,
    kind: &str,
    token_digest: &str,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query_scalar!(
        "SELECT COUNT(*) AS `n!: i64` FROM user_tokens
         WHERE token_hash = ? AND kind = ? AND used_at IS NULL AND expires_at > UTC_TIMESTAMP()",
        token_digest,
        kind
    )
    .fetch_one(pool)
    .await?;
    Ok(n > 0)
}
