//! Integration secrets encrypted at rest: Esabora tokens, webhook signing
//! secrets, Zapier hook URLs and tokens (columns of `partners`).
//!
//! A database dump (a backup, a read-only SQL access, an injection) must not
//! hand over the keys to the partners' systems. Each value is encrypted with
//! XChaCha20-Poly1305 (random 192-bit nonce, so no nonce bookkeeping) under
//! a key derived from `SECRET_KEY` by HKDF-SHA256, and stored as
//! `v1:` + base64(nonce ‖ ciphertext ‖ tag). The column is bound as
//! associated data: a value copied into another column does not decrypt.
//!
//! Rolling deploys: a value without the `v1:` prefix is a legacy clear value
//! (stored before this version, or by an old process still serving during a
//! deploy). It is used as is, and [`encrypt_legacy`] encrypts it; that runs
//! after `histologe migrate` and when the web process starts (idempotent).
//!
//! Changing `SECRET_KEY` makes the stored secrets unreadable: the jobs that
//! need them fail with "secret illisible" and an admin types them again on
//! the partner's form (docs/outbound.md).

use base64::Engine;
use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, AeadCore, KeyInit, OsRng, Payload},
};
use hkdf::Hkdf;
use sha2::Sha256;

use crate::{config::Config, db};

/// The column a secret lives in (bound as associated data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    EsaboraToken,
    WebhookSecret,
    ZapierUrl,
    ZapierToken,
}

impl Column {
    fn associated_data(self) -> &'static [u8] {
        match self {
            Column::EsaboraToken => b"partners.esabora_token",
            Column::WebhookSecret => b"partners.webhook_secret",
            Column::ZapierUrl => b"partners.zapier_url",
            Column::ZapierToken => b"partners.zapier_token",
        }
    }
}

/// A stored value that does not decrypt: `SECRET_KEY` changed, or the
/// value was altered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("secret illisible (SECRET_KEY a changé ?) : à ressaisir sur la fiche du partenaire")]
pub struct Unreadable;

const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Encrypts and decrypts integration secrets. Cheap to build (one HKDF).
#[derive(Clone)]
pub struct Secrets {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(***)")
    }
}

impl Secrets {
    /// The cipher keyed from `SECRET_KEY`. The salt and the info string name
    /// this use, so that the same `SECRET_KEY` gives unrelated keys to other
    /// uses.
    pub fn new(secret_key: &str) -> Self {
        let hkdf = Hkdf::<Sha256>::new(
            Some(b"histologe/integration-secrets"),
            secret_key.as_bytes(),
        );
        let mut key = [0u8; 32];
        #[allow(
            clippy::expect_used,
            reason = "HKDF-SHA256 fails only above 255 × 32 bytes of output"
        )]
        hkdf.expand(b"xchacha20poly1305 v1", &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        Self {
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    pub fn from_config(config: &Config) -> Self {
        Self::new(config.secret_key.expose())
    }

    /// `v1:` + base64(nonce ‖ ciphertext ‖ tag).
    pub fn encrypt(&self, column: Column, plain: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        #[allow(
            clippy::expect_used,
            reason = "the AEAD fails only on messages of 256 GiB and more"
        )]
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: column.associated_data(),
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any in-memory message");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    }

    /// The clear value of a stored one; a legacy clear value (no `v1:`
    /// prefix) is returned as is.
    pub fn decrypt(&self, column: Column, stored: &str) -> Result<String, Unreadable> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| Unreadable)?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(Unreadable);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: column.associated_data(),
                },
            )
            .map_err(|_| Unreadable)?;
        String::from_utf8(plain).map_err(|_| Unreadable)
    }

    /// Decrypts an optional stored value.
    pub fn reveal(
        &self,
        column: Column,
        stored: Option<&str>,
    ) -> Result<Option<String>, Unreadable> {
        stored.map(|s| self.decrypt(column, s)).transpose()
    }

    /// Whether a stored value is already encrypted.
    pub fn is_encrypted(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }
}

/// Encrypts the secrets still stored in clear; returns how many partners
/// were updated. Idempotent, and safe beside a running web process: a row
/// is rewritten only if it still holds the values read (an admin's save in
/// between wins).
pub async fn encrypt_legacy(pool: &db::Pool, secrets: &Secrets) -> Result<u64, sqlx::Error> {
    let mut updated = 0;
    for row in db::partners::list_stored_secrets(pool).await? {
        let seal = |column: Column, value: &Option<String>| {
            value.as_deref().map(|v| {
                if Secrets::is_encrypted(v) {
                    v.to_owned()
                } else {
                    secrets.encrypt(column, v)
                }
            })
        };
        let sealed = db::partners::StoredSecrets {
            id: row.id,
            esabora_token: seal(Column::EsaboraToken, &row.esabora_token),
            webhook_secret: seal(Column::WebhookSecret, &row.webhook_secret),
            zapier_url: seal(Column::ZapierUrl, &row.zapier_url),
            zapier_token: seal(Column::ZapierToken, &row.zapier_token),
        };
        if sealed == row {
            continue;
        }
        if db::partners::replace_stored_secrets(pool, &row, &sealed).await? {
            updated += 1;
        }
    }
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dev-only-secret-key-change-me-in-production-0123456789";

    #[test]
    fn a_secret_round_trips_and_only_with_its_key_and_column() {
        let secrets = Secrets::new(KEY);
        let sealed = secrets.encrypt(Column::EsaboraToken, "jeton-esabora");
        assert!(sealed.starts_with("v1:") && !sealed.contains("jeton"));
        assert_ne!(
            sealed,
            secrets.encrypt(Column::EsaboraToken, "jeton-esabora"),
            "a fresh nonce each time"
        );
        assert_eq!(
            secrets.decrypt(Column::EsaboraToken, &sealed).unwrap(),
            "jeton-esabora"
        );
        assert_eq!(
            secrets.decrypt(Column::WebhookSecret, &sealed),
            Err(Unreadable),
            "bound to its column"
        );
        let other = Secrets::new("another-secret-key-of-at-least-32-characters");
        assert_eq!(
            other.decrypt(Column::EsaboraToken, &sealed),
            Err(Unreadable)
        );
        let mut altered = sealed.clone();
        altered.replace_range(10..11, if &sealed[10..11] == "A" { "B" } else { "A" });
        assert_eq!(
            secrets.decrypt(Column::EsaboraToken, &altered),
            Err(Unreadable)
        );
        assert_eq!(
            secrets.decrypt(Column::EsaboraToken, "v1:"),
            Err(Unreadable)
        );
        // Written before encryption existed: used as is.
        assert_eq!(
            secrets.decrypt(Column::ZapierToken, "clair").unwrap(),
            "clair"
        );
        // A 500-character secret fits the 1024-character columns.
        assert!(
            secrets
                .encrypt(Column::WebhookSecret, &"s".repeat(500))
                .len()
                <= 1024
        );
    }
}
