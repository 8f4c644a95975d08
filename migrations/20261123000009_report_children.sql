-- Rows that belong to one report: qualifications, chosen defects, tags, subscriptions.

-- Suspected or confirmed qualifications (SCORING.md §2). A qualification can have one
-- automatic record (is_post_visit = FALSE, recomputed, archived when stale) and one
-- confirmed record set by a visit or an order (is_post_visit = TRUE, never recomputed).
CREATE TABLE report_qualifications (
    report_id BIGINT UNSIGNED NOT NULL,
    qualification VARCHAR(40) NOT NULL COMMENT 'lowercase Qualification: non_decence | rsd | salete | insalubrite | mise_en_securite_peril | assurantiel | danger | suroccupation | non_decence_energetique | ...',
    is_post_visit BOOLEAN NOT NULL DEFAULT FALSE,
    status VARCHAR(40) NOT NULL COMMENT 'lowercase QualificationStatus: <qualification>_check | <qualification>_averee | insalubrite_manquement_check | nde_check | nde_averee | nde_ok | archived',
    precision_codes JSON NULL COMMENT 'array of the defect precision slugs that led to it',
    details JSON NULL COMMENT 'NDE details: {"dpe":bool|null,"period":"before2023"|"post2023"|null,"consumption":n|null,"consumption_unit":"kwh_m2_year"|"kwh_year"|null,"class":"A".."G"|null}',
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (report_id, qualification, is_post_visit),
    KEY idx_report_qualifications_qualification_status (qualification, status),
    CONSTRAINT fk_report_qualifications_report FOREIGN KEY (report_id) REFERENCES reports (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE report_defects (
    report_id BIGINT UNSIGNED NOT NULL,
    precision_id INT UNSIGNED NOT NULL,
    free_text TEXT NULL COMMENT 'free precision (pest type, ceiling height...)',
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (report_id, precision_id),
    KEY idx_report_defects_precision (precision_id),
    CONSTRAINT fk_report_defects_report FOREIGN KEY (report_id) REFERENCES reports (id) ON DELETE CASCADE,
    CONSTRAINT fk_report_defects_precision FOREIGN KEY (precision_id) REFERENCES defect_precisions (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE tags (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    territory_id INT UNSIGNED NOT NULL,
    label VARCHAR(100) NOT NULL,
    is_archived BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    UNIQUE KEY uq_tags_territory_label (territory_id, label),
    CONSTRAINT fk_tags_territory FOREIGN KEY (territory_id) REFERENCES territories (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE report_tags (
    report_id BIGINT UNSIGNED NOT NULL,
    tag_id BIGINT UNSIGNED NOT NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (report_id, tag_id),
    KEY idx_report_tags_tag (tag_id, report_id),
    CONSTRAINT fk_report_tags_report FOREIGN KEY (report_id) REFERENCES reports (id) ON DELETE CASCADE,
    CONSTRAINT fk_report_tags_tag FOREIGN KEY (tag_id) REFERENCES tags (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Users following a report (only subscribers are notified).
CREATE TABLE report_subscriptions (
    user_id BIGINT UNSIGNED NOT NULL,
    report_id BIGINT UNSIGNED NOT NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (user_id, report_id),
    KEY idx_report_subscriptions_report (report_id),
    CONSTRAINT fk_report_subscriptions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_report_subscriptions_report FOREIGN KEY (report_id) REFERENCES reports (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
