-- Territories (départements) and communes.
--
-- Conventions for every migration of this project (MariaDB 10.11 and MySQL 8):
--   * InnoDB, DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci on every table.
--   * Enumerations are VARCHAR columns holding lowercase snake_case codes (no MySQL ENUM);
--     the allowed codes are listed in the column comment.
--   * created_at / updated_at are DATETIME in UTC (the app sets time_zone = '+00:00').
--   * No CHECK constraints, no generated columns, no spatial types.
--   * JSON columns have no DEFAULT (MySQL forbids literal defaults on JSON): the app writes them.

CREATE TABLE territories (
    id INT UNSIGNED NOT NULL COMMENT 'stable id, set by the reference-data migration (not auto)',
    code VARCHAR(3) NOT NULL COMMENT 'département code: 01..95, 2A, 2B, 69A (Métropole de Lyon), 971..976',
    name VARCHAR(100) NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT FALSE COMMENT 'open to the public form',
    timezone VARCHAR(64) NOT NULL DEFAULT 'Europe/Paris' COMMENT 'IANA time zone',
    bbox JSON NULL COMMENT '{"n":lat,"e":lon,"s":lat,"w":lon} (numbers); NULL when unknown',
    authorized_insee_codes JSON NULL COMMENT 'array of INSEE codes open to the public form; NULL or [] = every commune of the territory',
    settings JSON NULL COMMENT 'free-form per-territory settings (object)',
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    UNIQUE KEY uq_territories_code (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per (INSEE code, postal code) pair: a commune can have several postal codes and a
-- postal code several communes. The pair is unique in the reference file (checked by the
-- generator), so it is the natural key; the name is not part of it.
CREATE TABLE communes (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT,
    territory_id INT UNSIGNED NOT NULL,
    insee_code CHAR(5) NOT NULL COMMENT 'code officiel géographique (2A004, 69381, 97411...)',
    postal_code CHAR(5) NOT NULL,
    name VARCHAR(150) NOT NULL,
    delivery_label VARCHAR(100) NULL COMMENT 'libellé d''acheminement (La Poste), upper case',
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    -- also serves lookups by insee_code alone (leftmost prefix)
    UNIQUE KEY uq_communes_insee_postal (insee_code, postal_code),
    KEY idx_communes_postal_code (postal_code),
    KEY idx_communes_territory_name (territory_id, name),
    CONSTRAINT fk_communes_territory FOREIGN KEY (territory_id) REFERENCES territories (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
