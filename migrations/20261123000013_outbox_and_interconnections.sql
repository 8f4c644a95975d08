-- Job outbox (inserted in the same transaction as the business write), the log of calls to
-- external systems, sent e-mails and delivery issues reported by the e-mail provider.
-- Logs have no foreign key to business rows (they outlive them), except to the outbox.

CREATE TABLE outbox (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    kind VARCHAR(60) NOT NULL COMMENT 'job kind, e.g. send_email, geocode_report, esabora_push',
    payload JSON NOT NULL,
    idempotency_key VARCHAR(191) NULL COMMENT 'unique when set: a second enqueue of the same key is a no-op (INSERT IGNORE / ON DUPLICATE KEY)',
    status VARCHAR(20) NOT NULL DEFAULT 'pending' COMMENT 'pending | running | done | failed (will retry) | dead (gave up; admin may retry)',
    attempts INT UNSIGNED NOT NULL DEFAULT 0,
    max_attempts INT UNSIGNED NOT NULL DEFAULT 8,
    run_after DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP COMMENT 'not before (UTC); backoff and Retry-After move it',
    locked_by VARCHAR(100) NULL COMMENT 'worker id holding the row',
    locked_until DATETIME NULL COMMENT 'lease; a running row past it is handed out again',
    last_error TEXT NULL,
    report_id BIGINT UNSIGNED NULL,
    partner_id BIGINT UNSIGNED NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    done_at DATETIME NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_outbox_idempotency_key (idempotency_key),
    KEY idx_outbox_status_run_after (status, run_after),
    KEY idx_outbox_status_locked_until (status, locked_until),
    KEY idx_outbox_report (report_id),
    KEY idx_outbox_partner_created (partner_id, created_at),
    KEY idx_outbox_kind_created (kind, created_at),
    KEY idx_outbox_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE interconnection_calls (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    outbox_id BIGINT UNSIGNED NULL,
    partner_id BIGINT UNSIGNED NULL,
    report_id BIGINT UNSIGNED NULL,
    service VARCHAR(30) NOT NULL COMMENT 'esabora_schs | esabora_sish | brevo | ban | ademe_dpe | zapier | webhook | ...',
    action VARCHAR(60) NOT NULL COMMENT 'e.g. push_dossier, sync_state, send_email, geocode',
    endpoint VARCHAR(255) NULL COMMENT 'method and URL without secrets',
    http_status SMALLINT UNSIGNED NULL COMMENT 'NULL = no response (timeout, connection error)',
    duration_ms INT UNSIGNED NOT NULL DEFAULT 0,
    attempt INT UNSIGNED NOT NULL DEFAULT 1,
    error TEXT NULL,
    request_excerpt TEXT NULL,
    response_excerpt TEXT NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    KEY idx_interconnection_calls_created (created_at),
    KEY idx_interconnection_calls_partner_created (partner_id, created_at),
    KEY idx_interconnection_calls_report (report_id),
    KEY idx_interconnection_calls_outbox (outbox_id),
    KEY idx_interconnection_calls_service_created (service, created_at),
    CONSTRAINT fk_interconnection_calls_outbox FOREIGN KEY (outbox_id) REFERENCES outbox (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE sent_emails (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    outbox_id BIGINT UNSIGNED NULL,
    idempotency_key VARCHAR(191) NOT NULL COMMENT 'an e-mail with the same key is never sent twice',
    email_type VARCHAR(60) NULL COMMENT 'template / mail type',
    recipient VARCHAR(255) NOT NULL,
    subject VARCHAR(255) NOT NULL,
    provider VARCHAR(20) NOT NULL COMMENT 'brevo | smtp | file | memory',
    provider_message_id VARCHAR(255) NULL,
    report_id BIGINT UNSIGNED NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    UNIQUE KEY uq_sent_emails_idempotency_key (idempotency_key),
    KEY idx_sent_emails_outbox (outbox_id),
    KEY idx_sent_emails_recipient (recipient),
    KEY idx_sent_emails_provider_message (provider_message_id),
    KEY idx_sent_emails_report (report_id),
    KEY idx_sent_emails_created (created_at),
    CONSTRAINT fk_sent_emails_outbox FOREIGN KEY (outbox_id) REFERENCES outbox (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Delivery problems reported by the provider webhook ("adresse e-mail à vérifier").
CREATE TABLE email_delivery_issues (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    email VARCHAR(255) NOT NULL,
    event VARCHAR(30) NOT NULL COMMENT 'hard_bounce | soft_bounce | blocked | spam | invalid_email | error | unsubscribed',
    reason VARCHAR(255) NULL,
    provider_message_id VARCHAR(255) NULL,
    resolved_at DATETIME NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    KEY idx_email_delivery_issues_email (email, created_at),
    KEY idx_email_delivery_issues_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
