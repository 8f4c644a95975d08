-- Finished jobs are pruned after a configurable time (OUTBOX_RETENTION_DAYS, docs/worker.md)
-- so that the outbox stays small. A pruned job's idempotency key must keep refusing a second
-- enqueue (an Esabora event imported once, a partner pushed once): the key moves to
-- outbox_done_keys in the transaction that deletes the row, and enqueueing checks both tables.

ALTER TABLE outbox ADD KEY idx_outbox_status_done_at (status, done_at);

CREATE TABLE outbox_done_keys (
    idempotency_key VARCHAR(191) NOT NULL,
    done_at DATETIME NOT NULL COMMENT 'when the pruned job was done (UTC)',
    PRIMARY KEY (idempotency_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
