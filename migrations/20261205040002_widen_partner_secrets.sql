-- Integration secrets are stored encrypted (src/secrets.rs): `v1:` +
-- base64(24-byte nonce ‖ ciphertext ‖ 16-byte tag) is 3 + 4⌈(n + 40) / 3⌉
-- characters for n clear ones. The form accepts secrets of up to 500
-- characters (723 encrypted) and URLs of up to 255 (399 encrypted for a
-- Zapier hook URL): the columns widen to 1024. No index uses them; widening a
-- VARCHAR that already has a 2-byte length prefix is done in place.

ALTER TABLE partners
    MODIFY esabora_token VARCHAR(1024) NULL COMMENT 'encrypted: v1:base64(nonce|ciphertext|tag), see src/secrets.rs',
    MODIFY webhook_secret VARCHAR(1024) NULL COMMENT 'encrypted: v1:base64(nonce|ciphertext|tag), see src/secrets.rs',
    MODIFY zapier_url VARCHAR(1024) NULL COMMENT 'encrypted (the hook URL is a secret), see src/secrets.rs',
    MODIFY zapier_token VARCHAR(1024) NULL COMMENT 'encrypted: v1:base64(nonce|ciphertext|tag), see src/secrets.rs';
