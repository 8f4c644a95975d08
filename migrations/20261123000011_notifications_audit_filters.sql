-- In-app notifications, audit trail, saved list filters.

CREATE TABLE notifications (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    user_id BIGINT UNSIGNED NOT NULL,
    report_id BIGINT UNSIGNED NULL,
    follow_up_id BIGINT UNSIGNED NULL,
    kind VARCHAR(40) NOT NULL COMMENT 'nouveau_signalement | nouveau_suivi | nouvelle_affectation | cloture_signalement | cloture_partenaire | suivi_usager | nouvel_abonnement | demande_abandon_procedure',
    seen_at DATETIME NULL,
    emailed_at DATETIME NULL COMMENT 'sent by e-mail (instant or in the daily digest); NULL = not yet',
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    KEY idx_notifications_user_seen (user_id, seen_at),
    KEY idx_notifications_report (report_id),
    KEY idx_notifications_follow_up (follow_up_id),
    KEY idx_notifications_emailed (emailed_at),
    KEY idx_notifications_created (created_at),
    CONSTRAINT fk_notifications_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_notifications_report FOREIGN KEY (report_id) REFERENCES reports (id) ON DELETE CASCADE,
    CONSTRAINT fk_notifications_follow_up FOREIGN KEY (follow_up_id) REFERENCES follow_ups (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Append-only log; no foreign keys so that it outlives what it describes.
CREATE TABLE audit_events (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    actor_user_id BIGINT UNSIGNED NULL COMMENT 'NULL = resident, system or anonymous',
    actor_email VARCHAR(255) NULL COMMENT 'copied at the time of the event',
    action VARCHAR(40) NOT NULL COMMENT 'login | login_failed | logout | create | update | delete | export | ... (lowercase)',
    entity_type VARCHAR(40) NOT NULL COMMENT 'table name of the entity, e.g. report, user, partner',
    entity_id VARCHAR(64) NULL COMMENT 'id or uuid of the entity',
    report_id BIGINT UNSIGNED NULL COMMENT 'report concerned, for the report history',
    ip VARCHAR(45) NULL,
    user_agent VARCHAR(255) NULL,
    diff JSON NULL COMMENT '{"field": [old, new], ...}',
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    KEY idx_audit_events_created (created_at),
    KEY idx_audit_events_actor (actor_user_id, created_at),
    KEY idx_audit_events_entity (entity_type, entity_id),
    KEY idx_audit_events_report (report_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE saved_filters (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    user_id BIGINT UNSIGNED NOT NULL,
    name VARCHAR(100) NOT NULL,
    query_string TEXT NOT NULL COMMENT 'URL query string of the report list',
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    KEY idx_saved_filters_user (user_id),
    CONSTRAINT fk_saved_filters_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
