-- The visit workflow (docs/visits.md): whether the resident reads the
-- conclusion, why a visit was cancelled, and the history of its dates.
ALTER TABLE visits
    ADD COLUMN conclusion_public BOOLEAN NOT NULL DEFAULT FALSE AFTER conclusions,
    ADD COLUMN cancel_reason VARCHAR(500) NULL AFTER conclusion_public;

CREATE TABLE visit_reschedules (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    visit_id BIGINT UNSIGNED NOT NULL,
    previous_at DATETIME NOT NULL,
    new_at DATETIME NOT NULL,
    reason VARCHAR(500) NOT NULL,
    created_by BIGINT UNSIGNED NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    KEY idx_visit_reschedules_visit (visit_id, created_at),
    CONSTRAINT fk_visit_reschedules_visit FOREIGN KEY (visit_id) REFERENCES visits (id) ON DELETE CASCADE,
    CONSTRAINT fk_visit_reschedules_by FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
