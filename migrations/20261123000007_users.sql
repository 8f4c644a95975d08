-- Back-office users, their partner memberships and their one-time tokens.

CREATE TABLE users (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    uuid CHAR(36) CHARACTER SET ascii NOT NULL COMMENT 'public id, lowercase hyphenated',
    email VARCHAR(255) NOT NULL COMMENT 'unique, case-insensitive (collation)',
    password_hash VARCHAR(255) NULL COMMENT 'PHC string; NULL until activation or after inactivity wipe',
    first_name VARCHAR(100) NOT NULL DEFAULT '',
    last_name VARCHAR(100) NOT NULL DEFAULT '',
    phone VARCHAR(20) NULL COMMENT 'E.164',
    job_title VARCHAR(100) NULL COMMENT 'fonction',
    role VARCHAR(20) NOT NULL COMMENT 'super_admin | territory_admin | partner_admin | agent',
    status VARCHAR(20) NOT NULL DEFAULT 'inactive' COMMENT 'inactive | active | archived',
    notification_pref VARCHAR(20) NOT NULL DEFAULT 'instant' COMMENT 'instant | digest | none',
    can_assign BOOLEAN NOT NULL DEFAULT FALSE COMMENT 'agent allowed to assign partners (hasPermissionAffectation)',
    terms_version VARCHAR(20) NULL COMMENT 'version of the terms of use last accepted',
    last_login_at DATETIME NULL,
    inactivity_warned_at DATETIME NULL,
    archived_at DATETIME NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    UNIQUE KEY uq_users_uuid (uuid),
    UNIQUE KEY uq_users_email (email),
    KEY idx_users_role_status (role, status),
    KEY idx_users_status_last_login (status, last_login_at),
    KEY idx_users_last_name (last_name, first_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A user belongs to at most one partner per territory. territory_id is a copy of the
-- partner's territory, checked by the composite foreign key.
CREATE TABLE user_partners (
    user_id BIGINT UNSIGNED NOT NULL,
    partner_id BIGINT UNSIGNED NOT NULL,
    territory_id INT UNSIGNED NOT NULL COMMENT '= partners.territory_id (enforced by fk_user_partners_partner)',
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (user_id, partner_id),
    UNIQUE KEY uq_user_partners_user_territory (user_id, territory_id),
    KEY idx_user_partners_partner (partner_id, territory_id),
    CONSTRAINT fk_user_partners_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_user_partners_partner FOREIGN KEY (partner_id, territory_id) REFERENCES partners (id, territory_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE user_tokens (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    user_id BIGINT UNSIGNED NOT NULL,
    kind VARCHAR(20) NOT NULL COMMENT 'activation | password_reset | login_code (2FA e-mail code)',
    token_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'lowercase hex SHA-256 of the token; the token itself is never stored',
    expires_at DATETIME NOT NULL,
    used_at DATETIME NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    UNIQUE KEY uq_user_tokens_hash (token_hash),
    KEY idx_user_tokens_user_kind (user_id, kind),
    KEY idx_user_tokens_expires (expires_at),
    CONSTRAINT fk_user_tokens_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
