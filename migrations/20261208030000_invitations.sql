-- Third parties the resident invites to their follow-up space (Histologe's
-- TiersInvitation, docs/resident-space.md §3): a social worker or a relative
-- gets their own link. Only the SHA-256 of the link's token is stored; the
-- resident can revoke it (revoked_at), after which the link opens nothing.
CREATE TABLE invitations (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    report_id BIGINT UNSIGNED NOT NULL,
    name VARCHAR(100) NOT NULL,
    email VARCHAR(255) NOT NULL,
    relation VARCHAR(30) NOT NULL COMMENT 'travailleur_social | proche | autre',
    token_hash CHAR(64) NOT NULL COMMENT 'SHA-256 (hex) of the link token',
    created_at DATETIME NOT NULL,
    revoked_at DATETIME NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_invitations_token (token_hash),
    KEY idx_invitations_report (report_id),
    CONSTRAINT fk_invitations_report FOREIGN KEY (report_id) REFERENCES reports (id) ON DELETE CASCADE,
    CONSTRAINT ck_invitations_relation CHECK (relation IN ('travailleur_social', 'proche', 'autre'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
