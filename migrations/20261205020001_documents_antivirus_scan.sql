-- Antivirus (docs/antivirus.md): every document is scanned by ClamAV (the
-- worker's ScanDocument job) and served only once clean.
--
-- Files stored before this migration were never scanned (the old code wrote
-- 'clean' without any scan): they become 'pending' and each gets its scan
-- job, exactly as a new upload does. The old 'suspicious' value was never
-- written. Expand only: the old code, still running during the deploy,
-- inserts 'clean' rows that the CHECK accepts (the daily rescan does not
-- see them; a deploy window is minutes).
UPDATE documents SET scan_status = 'pending';

ALTER TABLE documents
    MODIFY scan_status VARCHAR(20) NOT NULL DEFAULT 'pending'
        COMMENT 'pending | clean | infected: served only when clean',
    ADD COLUMN scanned_at DATETIME NULL COMMENT 'when clamd gave its verdict (UTC)' AFTER scan_status,
    ADD COLUMN scan_signature VARCHAR(255) NULL COMMENT 'signature clamd found, when infected' AFTER scanned_at,
    ADD CONSTRAINT chk_documents_scan_status CHECK (scan_status IN ('pending', 'clean', 'infected')),
    -- The daily rescan reads the pending ones in id order.
    ADD KEY idx_documents_scan_status (scan_status, id);

-- One scan job per existing document (same payload and key as new uploads).
INSERT IGNORE INTO outbox (kind, payload, idempotency_key, report_id, run_after)
SELECT 'scan_document',
       JSON_OBJECT('kind', 'scan_document', 'document_id', id),
       CONCAT('scan_document:', id),
       report_id,
       UTC_TIMESTAMP()
FROM documents;
