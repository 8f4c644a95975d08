//! Password hashing with argon2id, off the async runtime (a hash takes tens of
//! milliseconds of CPU, which would stall every other request on the thread),
//! and bounded: the web process computes at most
//! `PASSWORD_HASHING_PERMITS` hashes at once.
//!
//! Why a bound: each argon2 computation holds ~19 MiB and a core for tens of
//! milliseconds on tokio's blocking pool, which is unbounded in practice (512
//! threads). A few hundred concurrent logins, wrong ones included, would
//! take gigabytes and starve the other requests. Past the bound, a request
//! waits [`PERMIT_WAIT`] for its turn and then gets [`Busy`] (a 429 page).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A hash of a throwaway password, verified when the e-mail is unknown so
/// that a wrong e-mail takes as long as a wrong password (no enumeration by
/// timing).
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$Vf3tCkVH3x7tG7n7Dw5e8i1I2GQbXr0pJ3yH1nOHqQk";

/// How long a request waits for a hashing permit before giving up: long
/// enough to absorb a burst of legitimate logins (a hash takes ~50 ms),
/// short enough not to pile up requests behind an attack.
pub const PERMIT_WAIT: Duration = Duration::from_secs(2);

/// Every permit stayed taken for [`PERMIT_WAIT`]: the caller answers 429.
#[derive(Debug, thiserror::Error)]
#[error("password hashing is saturated")]
pub struct Busy;

/// The process-wide bound on password hashing. Cheap to clone.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// How long a request waits for a permit ([`PERMIT_WAIT`]).
    wait: Duration,
    /// Verifications run so far (the throttle tests count them).
    verifications: Arc<AtomicU64>,
}

impl Hasher {
    pub fn new(permits: usize) -> Self {
        Self::with_wait(permits, PERMIT_WAIT)
    }

    pub fn with_wait(permits: usize, wait: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(permits.max(1))),
            wait,
            verifications: Arc::default(),
        }
    }

    async fn permit(&self) -> Result<OwnedSemaphorePermit, Busy> {
        match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // Timed out, or the semaphore was closed (never done).
            _ => Err(Busy),
        }
    }

    /// Hashes a new password (activation, reset, change).
    pub async fn hash(&self, password: String) -> Result<anyhow::Result<String>, Busy> {
        let permit = self.permit().await?;
        let hashed = hash(password).await;
        drop(permit);
        Ok(hashed)
    }

    /// True when `password` matches `hash`. With no hash (unknown account),
    /// a dummy verification still runs and the answer is false.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, Busy> {
        let permit = self.permit().await?;
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let matches = tokio::task::spawn_blocking(move || verify_blocking(&password, hash))
            .await
            .unwrap_or(false);
        drop(permit);
        Ok(matches)
    }

    /// How many verifications ran since start-up.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Takes `n` permits now, as `n` hashes in progress would, until the
    /// returned guard is dropped (tests of the saturated case).
    pub fn occupy(&self, n: u32) -> Option<OwnedSemaphorePermit> {
        self.permits.clone().try_acquire_many_owned(n).ok()
    }
}

/// Hashes a password without the web bound (command-line seeding).
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await?
}

fn verify_blocking(password: &str, hash: Option<String>) -> bool {
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), hash.as_str())
        .is_ok();
    known && matches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hasher = Hasher::new(2);
        let hashed = hasher
            .hash("Vert-Tilleul-42-Maison".into())
            .await
            .unwrap()
            .unwrap();
        assert!(hashed.starts_with("$argon2id$"));
        assert!(
            hasher
                .verify("Vert-Tilleul-42-Maison".into(), Some(hashed.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("vert-tilleul-42-maison".into(), Some(hashed))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("anything".into(), None).await.unwrap());
        assert_eq!(hasher.verifications(), 3);
    }

    #[tokio::test]
    async fn a_saturated_hasher_answers_busy_after_the_wait() {
        let hasher = Hasher::with_wait(1, Duration::from_millis(20));
        let held = hasher.occupy(1).expect("a free permit");
        assert!(hasher.verify("x".into(), None).await.is_err());
        assert_eq!(hasher.verifications(), 0);
        drop(held);
        assert!(hasher.verify("x".into(), None).await.is_ok());
    }
}
