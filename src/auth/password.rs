//! Password hashing with argon2id, off the async runtime (a hash takes tens of
//! milliseconds of CPU, which would stall every other request on the thread).

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier},
};

/// A hash of a throwaway password, verified when the e-mail is unknown so
/// that a wrong e-mail takes as long as a wrong password (no enumeration by
/// timing).
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$Vf3tCkVH3x7tG7n7Dw5e8i1I2GQbXr0pJ3yH1nOHqQk";

pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await?
}

/// True when `password` matches `hash`. With no hash (unknown account), a
/// dummy verification still runs and the answer is false.
pub async fn verify(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok();
        known && matches
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hashed = hash("Vert-Tilleul-42-Maison".into()).await.unwrap();
        assert!(hashed.starts_with("$argon2id$"));
        assert!(verify("Vert-Tilleul-42-Maison".into(), Some(hashed.clone())).await);
        assert!(!verify("vert-tilleul-42-maison".into(), Some(hashed)).await);
        assert!(!verify("anything".into(), None).await);
    }
}
