-- The partner API (docs/api.md): API accounts, their short-lived bearer
-- tokens and the stored answers of idempotent writes. Expand only.

-- An API account is created by a super admin or a territory admin for a
-- partner system. It belongs to one territory and sees either the whole
-- territory (scope = territory) or the cases assigned to its partners
-- (scope = partners, api_account_partners). Its secret is shown once and
-- only its SHA-256 is kept: the secret is 32 random bytes, so a fast hash
-- is as strong as a slow one and lets Open311's api_key be looked up.
CREATE TABLE api_accounts (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    uuid CHAR(36) CHARACTER SET ascii NOT NULL COMMENT 'public identifier, sent with the secret to get a token',
    name VARCHAR(100) NOT NULL COMMENT 'the partner system, as the admin names it',
    territory_id INT UNSIGNED NOT NULL,
    scope VARCHAR(20) NOT NULL COMMENT 'territory | partners',
    can_read_cases BOOLEAN NOT NULL DEFAULT TRUE,
    can_answer_assignments BOOLEAN NOT NULL DEFAULT FALSE,
    can_write_follow_ups BOOLEAN NOT NULL DEFAULT FALSE,
    can_write_visits BOOLEAN NOT NULL DEFAULT FALSE,
    can_write_documents BOOLEAN NOT NULL DEFAULT FALSE,
    secret_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'SHA-256 of the secret, lowercase hex',
    created_by_user_id BIGINT UNSIGNED NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    revoked_at DATETIME NULL COMMENT 'set once; a revoked account and its tokens are refused',
    revoked_by_user_id BIGINT UNSIGNED NULL,
    last_used_at DATETIME NULL COMMENT 'last authenticated call (updated at most once a minute)',
    PRIMARY KEY (id),
    UNIQUE KEY uq_api_accounts_uuid (uuid),
    UNIQUE KEY uq_api_accounts_secret_hash (secret_hash),
    KEY idx_api_accounts_territory (territory_id, revoked_at),
    KEY idx_api_accounts_created_by (created_by_user_id),
    KEY idx_api_accounts_revoked_by (revoked_by_user_id),
    CONSTRAINT chk_api_accounts_scope CHECK (scope IN ('territory', 'partners')),
    CONSTRAINT fk_api_accounts_territory FOREIGN KEY (territory_id) REFERENCES territories (id),
    CONSTRAINT fk_api_accounts_created_by FOREIGN KEY (created_by_user_id) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT fk_api_accounts_revoked_by FOREIGN KEY (revoked_by_user_id) REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE api_account_partners (
    account_id BIGINT UNSIGNED NOT NULL,
    partner_id BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (account_id, partner_id),
    KEY idx_api_account_partners_partner (partner_id),
    CONSTRAINT fk_api_account_partners_account FOREIGN KEY (account_id) REFERENCES api_accounts (id) ON DELETE CASCADE,
    CONSTRAINT fk_api_account_partners_partner FOREIGN KEY (partner_id) REFERENCES partners (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Bearer tokens: 32 random bytes (64 hex) given once, kept as SHA-256,
-- valid 60 minutes. Expired tokens are worthless; the retention purge may
-- delete them a day later (Histologe's figure).
CREATE TABLE api_tokens (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    account_id BIGINT UNSIGNED NOT NULL,
    token_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at DATETIME NOT NULL,
    revoked_at DATETIME NULL,
    last_used_at DATETIME NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_api_tokens_hash (token_hash),
    KEY idx_api_tokens_account (account_id, expires_at),
    CONSTRAINT fk_api_tokens_account FOREIGN KEY (account_id) REFERENCES api_accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A write sent with an Idempotency-Key: the first answer is kept, a retry
-- with the same key and the same request gets it again; the same key with
-- another request is a 422.
CREATE TABLE api_idempotency_keys (
    account_id BIGINT UNSIGNED NOT NULL,
    idempotency_key VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    request_hash CHAR(64) CHARACTER SET ascii NOT NULL COMMENT 'SHA-256 of method, path and body',
    status SMALLINT UNSIGNED NOT NULL,
    body MEDIUMTEXT NOT NULL COMMENT 'the JSON answer as sent',
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (account_id, idempotency_key),
    KEY idx_api_idempotency_keys_created (created_at),
    CONSTRAINT fk_api_idempotency_keys_account FOREIGN KEY (account_id) REFERENCES api_accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Public identifiers of assignments and visits (the API's
-- /affectations/{uuid} and /visites/{uuid}). The default fills existing
-- rows and every insert that does not name the column.
ALTER TABLE assignments
    ADD COLUMN uuid CHAR(36) CHARACTER SET ascii NOT NULL DEFAULT (UUID()) COMMENT 'public id' AFTER id,
    ADD UNIQUE KEY uq_assignments_uuid (uuid);

ALTER TABLE visits
    ADD COLUMN uuid CHAR(36) CHARACTER SET ascii NOT NULL DEFAULT (UUID()) COMMENT 'public id' AFTER id,
    ADD UNIQUE KEY uq_visits_uuid (uuid);

-- The API's `since` filter reads reports changed after a date.
ALTER TABLE reports ADD KEY idx_reports_updated (updated_at, id);
