-- Defect (désordre) taxonomy: categories -> criteria -> precisions.
--
-- Histologe has two category notions (FORM.md §6.7), both kept here:
--   * defect_categories: the categories of the public form (slug_categorie, e.g.
--     'desordres_batiment_proprete'), one zone each; criteria hang below them.
--   * defect_office_categories: the 16 back-office categories of DesordreCategorie.yml
--     ('usage_entretien', ...), used for back-office display and statistics.
-- Ids are stable (set by the reference-data migration, in file order); join on codes anyway.
-- Codes are the Histologe slugs verbatim (some contain upper case: '..._evacuation_KO').

CREATE TABLE defect_office_categories (
    id INT UNSIGNED NOT NULL,
    code VARCHAR(80) NOT NULL COMMENT 'slug of the Histologe label, e.g. usage_entretien',
    label VARCHAR(150) NOT NULL,
    zone VARCHAR(20) NULL COMMENT 'batiment | logement; NULL when mixed (service_secours)',
    app_context VARCHAR(40) NULL COMMENT 'NULL = every form; service_secours = emergency-services form only',
    position SMALLINT UNSIGNED NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_defect_office_categories_code (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE defect_categories (
    id INT UNSIGNED NOT NULL,
    code VARCHAR(80) NOT NULL COMMENT 'form category slug, e.g. desordres_batiment_proprete',
    label VARCHAR(150) NOT NULL,
    zone VARCHAR(20) NULL COMMENT 'batiment | logement; NULL when mixed (service_secours): use defect_criteria.zone',
    app_context VARCHAR(40) NULL COMMENT 'NULL = public form; service_secours = emergency-services form only',
    position SMALLINT UNSIGNED NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_defect_categories_code (code),
    KEY idx_defect_categories_zone (zone, position)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE defect_criteria (
    id INT UNSIGNED NOT NULL,
    category_id INT UNSIGNED NOT NULL COMMENT 'form category',
    office_category_id INT UNSIGNED NOT NULL COMMENT 'back-office category',
    code VARCHAR(120) NOT NULL COMMENT 'criterion slug, e.g. desordres_batiment_proprete_interieur',
    label VARCHAR(255) NOT NULL,
    zone VARCHAR(20) NOT NULL COMMENT 'batiment | logement (the scoring zone)',
    free_text_kind VARCHAR(20) NULL COMMENT 'NULL | critere (one free text for the criterion) | precisions (one per precision)',
    free_text_label VARCHAR(255) NULL,
    position SMALLINT UNSIGNED NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_defect_criteria_code (code),
    KEY idx_defect_criteria_category (category_id, position),
    KEY idx_defect_criteria_office_category (office_category_id),
    CONSTRAINT fk_defect_criteria_category FOREIGN KEY (category_id) REFERENCES defect_categories (id),
    CONSTRAINT fk_defect_criteria_office_category FOREIGN KEY (office_category_id) REFERENCES defect_office_categories (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE defect_precisions (
    id INT UNSIGNED NOT NULL,
    criterion_id INT UNSIGNED NOT NULL,
    code VARCHAR(150) NOT NULL COMMENT 'precision slug; equals the criterion slug for single-precision criteria',
    label VARCHAR(255) NOT NULL,
    coef DECIMAL(5,2) NOT NULL DEFAULT 0 COMMENT 'severity weight, 0..24, may be fractional (0.25)',
    is_danger BOOLEAN NOT NULL DEFAULT FALSE,
    is_suroccupation BOOLEAN NOT NULL DEFAULT FALSE,
    is_insalubrite BOOLEAN NOT NULL DEFAULT FALSE,
    is_unique BOOLEAN NOT NULL DEFAULT FALSE COMMENT 'config_is_unique: never combined with another precision of the same criterion',
    qualifications JSON NOT NULL COMMENT 'array of lowercase qualification codes, e.g. ["non_decence","rsd"]',
    position SMALLINT UNSIGNED NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_defect_precisions_code (code),
    KEY idx_defect_precisions_criterion (criterion_id, position),
    CONSTRAINT fk_defect_precisions_criterion FOREIGN KEY (criterion_id) REFERENCES defect_criteria (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
