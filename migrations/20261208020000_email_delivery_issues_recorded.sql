-- E-mail deliverability (docs/deliverability.md): the table of migration 13
-- was reserved and never written, so it is reshaped freely here.
--  * event_key: what makes a provider event unique (Brevo's message-id, the
--    outbox key of an SMTP refusal): a replayed webhook is recorded once.
--  * source: who reported it (brevo | smtp | file).
--  * occurred_at: when the provider saw it (UTC), shown on the case page.
--  * to_check: whether the row puts the address "à vérifier" (a soft
--    bounce only from the third unresolved one in a row).
--  * resolved_at / resolved_by_user_id / resolution: checked by an agent, or
--    a later delivery proved the address good.
ALTER TABLE email_delivery_issues
    ADD COLUMN event_key VARCHAR(255) NOT NULL COMMENT 'provider message id (or outbox key): unique with event' AFTER provider_message_id,
    ADD COLUMN source VARCHAR(10) NOT NULL DEFAULT 'brevo' COMMENT 'brevo | smtp | file' AFTER event_key,
    ADD COLUMN occurred_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP COMMENT 'when the provider saw it (UTC)' AFTER source,
    ADD COLUMN to_check BOOLEAN NOT NULL DEFAULT TRUE COMMENT 'counts for "e-mail à vérifier"' AFTER occurred_at,
    ADD COLUMN resolved_by_user_id BIGINT UNSIGNED NULL AFTER resolved_at,
    ADD COLUMN resolution VARCHAR(20) NULL COMMENT 'checked | delivered' AFTER resolved_by_user_id,
    ADD UNIQUE KEY uq_email_delivery_issues_event (event_key, event),
    -- The open issues by address: the list filter, the dashboard count and
    -- the case page read "resolved_at IS NULL AND to_check" then the e-mail.
    ADD KEY idx_email_delivery_issues_open (resolved_at, to_check, email),
    ADD CONSTRAINT fk_email_delivery_issues_resolved_by FOREIGN KEY (resolved_by_user_id) REFERENCES users (id) ON DELETE SET NULL,
    ADD CONSTRAINT ck_email_delivery_issues_event CHECK (event IN ('hard_bounce', 'soft_bounce', 'blocked', 'spam', 'invalid_email', 'error', 'unsubscribed')),
    ADD CONSTRAINT ck_email_delivery_issues_source CHECK (source IN ('brevo', 'smtp', 'file')),
    ADD CONSTRAINT ck_email_delivery_issues_resolution CHECK (resolution IS NULL OR resolution IN ('checked', 'delivered'));
