-- Automatic assignment rules and drafts of the public form.

CREATE TABLE auto_assignment_rules (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    territory_id INT UNSIGNED NOT NULL,
    partner_type VARCHAR(40) NOT NULL COMMENT 'as partners.type',
    declarant_profile VARCHAR(30) NOT NULL DEFAULT 'all' COMMENT 'all | tiers | occupant | one of reports.declarant_profile',
    housing_sector VARCHAR(20) NOT NULL DEFAULT 'all' COMMENT 'all | prive | public | non_renseigne',
    allowance VARCHAR(10) NOT NULL DEFAULT 'all' COMMENT 'all | oui | non | caf | msa | nsp',
    insee_include JSON NULL COMMENT 'array of INSEE codes; NULL or [] = every code; ["partner_list"] = the partner perimeter',
    insee_exclude JSON NULL COMMENT 'array of INSEE codes',
    partner_exclude JSON NULL COMMENT 'array of partner ids',
    suspected_procedures JSON NULL COMMENT 'array of lowercase qualification codes; NULL or [] = any',
    description VARCHAR(255) NULL,
    status VARCHAR(20) NOT NULL DEFAULT 'active' COMMENT 'active | archived',
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    KEY idx_auto_assignment_rules_territory_status (territory_id, status),
    CONSTRAINT fk_auto_assignment_rules_territory FOREIGN KEY (territory_id) REFERENCES territories (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Form drafts (payload = flat JSON slug -> value, FORM.md §4). Purged after 6 months.
CREATE TABLE drafts (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    uuid CHAR(36) CHARACTER SET ascii NOT NULL COMMENT 'public id, lowercase hyphenated',
    email VARCHAR(255) NULL COMMENT 'declarant e-mail (resume link)',
    profile VARCHAR(30) NULL COMMENT 'as reports.declarant_profile',
    territory_id INT UNSIGNED NULL,
    payload JSON NOT NULL,
    current_step VARCHAR(60) NOT NULL COMMENT 'screen slug being saved',
    status VARCHAR(20) NOT NULL DEFAULT 'en_cours' COMMENT 'en_cours | en_signalement | archive | hors_pdlhi',
    checksum CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL COMMENT 'hex sha256(declarant e-mail + address label), duplicate check',
    landlord_informed_at DATE NULL COMMENT 'for the 2-month "landlord informed" reminder',
    report_id BIGINT UNSIGNED NULL COMMENT 'report built from this draft',
    reminded_at DATETIME NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    UNIQUE KEY uq_drafts_uuid (uuid),
    KEY idx_drafts_status_updated (status, updated_at),
    KEY idx_drafts_checksum (checksum),
    KEY idx_drafts_email (email),
    KEY idx_drafts_report (report_id),
    KEY idx_drafts_territory (territory_id),
    CONSTRAINT fk_drafts_territory FOREIGN KEY (territory_id) REFERENCES territories (id),
    CONSTRAINT fk_drafts_report FOREIGN KEY (report_id) REFERENCES reports (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
