//! API credentials: an account's secret and the bearer tokens exchanged for
//! it (docs/api.md). Both are 32 random bytes in hex, stored only as their
//! SHA-256 (`auth::tokens`): a leaked database gives no usable credential.
//!
//! These are the only ways to authenticate a partner system, shared by
//! `/api/v1` (bearer tokens) and Open311's `api_key` (the account secret,
//! [`account_of_secret`]).

use time::PrimitiveDateTime;

use super::tokens;
use crate::{
    db::{self, Pool},
    domain::api::{ApiAccount, TOKEN_MINUTES},
};

/// A new account secret, to show once (64 hex characters), and its digest.
pub fn new_secret() -> (String, String) {
    let secret = tokens::generate();
    let digest = tokens::digest(&secret);
    (secret, digest)
}

/// The active account holding this secret (and this public identifier,
/// when given); `None` for anything else, malformed input included.
pub async fn account_of_secret(
    pool: &Pool,
    uuid: Option<&str>,
    secret: &str,
) -> Result<Option<ApiAccount>, sqlx::Error> {
    if !tokens::looks_valid(secret) {
        return Ok(None);
    }
    db::api::find_account_by_secret(pool, uuid, &tokens::digest(secret)).await
}

/// A bearer token issued to an account.
pub struct IssuedToken {
    /// Given to the client once.
    pub token: String,
    pub expires_at: PrimitiveDateTime,
}

/// Issues a token valid [`TOKEN_MINUTES`] minutes.
pub async fn issue_token(pool: &Pool, account: &ApiAccount) -> Result<IssuedToken, sqlx::Error> {
    let token = tokens::generate();
    let expires_at =
        db::api::insert_token(pool, account.id, &tokens::digest(&token), TOKEN_MINUTES).await?;
    Ok(IssuedToken { token, expires_at })
}

/// The account of a live bearer token, with the token's id; `None` when
/// the token is unknown, expired or revoked, or its account revoked.
pub async fn account_of_token(
    pool: &Pool,
    token: &str,
) -> Result<Option<(ApiAccount, u64)>, sqlx::Error> {
    if !tokens::looks_valid(token) {
        return Ok(None);
    }
    db::api::find_account_by_token(pool, &tokens::digest(token)).await
}
