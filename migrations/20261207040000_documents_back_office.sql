-- Documents handled in the back office: soft delete (who, when) and the indexes the case list
-- filters "avec rapport de visite" / "sans photo" probe per case.
ALTER TABLE documents
    ADD COLUMN deleted_at DATETIME NULL COMMENT 'soft delete: no longer listed nor served',
    ADD COLUMN deleted_by_user_id BIGINT UNSIGNED NULL,
    ADD COLUMN updated_at DATETIME NULL COMMENT 'last rename, type change, rotation or visibility change',
    ADD KEY idx_documents_report_type_deleted (report_id, document_type, deleted_at),
    ADD KEY idx_documents_report_kind_deleted (report_id, kind, deleted_at),
    ADD KEY idx_documents_deleted_by (deleted_by_user_id),
    ADD CONSTRAINT fk_documents_deleted_by FOREIGN KEY (deleted_by_user_id) REFERENCES users (id) ON DELETE SET NULL;
