//! Single-use secrets sent by e-mail (account activation, password reset):
//! 256 random bits, only their SHA-256 stored, so a database leak does not
//! leak usable links.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A fresh token to put in a link (64 hex characters).
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    to_hex(&bytes)
}

/// What the database stores for a token.
pub fn digest(token: &str) -> String {
    to_hex(&Sha256::digest(token.as_bytes()))
}

/// An HMAC-SHA256 of `value` keyed by the application's `SECRET_KEY`
/// (64 hex characters). For what must be recognisable without being
/// readable: a login identifier typed by someone unknown (often a password
/// typed in the wrong box) is logged and throttled under this, never in
/// clear, and cannot be brute-forced back without the key.
pub fn keyed_digest(secret_key: &str, value: &str) -> String {
    use hmac::{Hmac, Mac};
    #[allow(clippy::expect_used, reason = "HMAC takes keys of any length")]
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()).expect("HMAC takes keys of any size");
    mac.update(value.as_bytes());
    to_hex(&mac.finalize().into_bytes())
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A token as it may appear in a URL: anything else is refused before a
/// database lookup.
pub fn looks_valid(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_their_digest_is_kept() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert!(looks_valid(&a));
        assert_eq!(digest(&a), digest(&a));
        assert_ne!(digest(&a), a);
        assert!(!looks_valid("../../etc/passwd"));
    }

    #[test]
    fn keyed_digests_depend_on_the_key() {
        let a = keyed_digest("key-one-key-one-key-one-key-one-1", "motdepasse123");
        assert_eq!(a.len(), 64);
        assert_eq!(
            a,
            keyed_digest("key-one-key-one-key-one-key-one-1", "motdepasse123")
        );
        assert_ne!(
            a,
            keyed_digest("key-two-key-two-key-two-key-two-2", "motdepasse123")
        );
        assert_ne!(a, digest("motdepasse123"));
    }
}
