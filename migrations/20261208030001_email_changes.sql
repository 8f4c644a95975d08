-- A resident's new e-mail address waiting for confirmation
-- (docs/resident-space.md §2): the link sent to the new address carries a
-- token whose SHA-256 only is stored; it works once (used_at) and until
-- expires_at. `target` says which address of the report changes.
CREATE TABLE email_changes (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    report_id BIGINT UNSIGNED NOT NULL,
    target VARCHAR(10) NOT NULL COMMENT 'occupant | declarant',
    new_email VARCHAR(255) NOT NULL,
    token_hash CHAR(64) NOT NULL,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    used_at DATETIME NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_email_changes_token (token_hash),
    KEY idx_email_changes_report (report_id),
    CONSTRAINT fk_email_changes_report FOREIGN KEY (report_id) REFERENCES reports (id) ON DELETE CASCADE,
    CONSTRAINT ck_email_changes_target CHECK (target IN ('occupant', 'declarant'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
