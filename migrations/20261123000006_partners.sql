-- Partners (public bodies acting on reports) and their perimeter.

CREATE TABLE partners (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    territory_id INT UNSIGNED NOT NULL,
    name VARCHAR(255) NOT NULL,
    type VARCHAR(40) NOT NULL COMMENT 'adil | ars | association | bailleur_social | caf_msa | ccas | commune_schs | conciliateurs | conseil_departemental | ddets | ddt_m | dispositif_renovation_habitat | epci | operateur_visites_et_travaux | police_gendarmerie | prefecture | tribunal | autre',
    competences JSON NOT NULL COMMENT 'array of lowercase qualification codes, e.g. ["visites","insalubrite"]',
    email VARCHAR(255) NULL COMMENT 'generic mailbox',
    email_notifiable BOOLEAN NOT NULL DEFAULT FALSE COMMENT 'send notifications to the generic mailbox too',
    is_archived BOOLEAN NOT NULL DEFAULT FALSE,
    -- interconnections (NULL = none). Tokens and secrets may be stored encrypted by the app.
    esabora_kind VARCHAR(10) NULL COMMENT 'NULL | schs | sish',
    esabora_url VARCHAR(255) NULL,
    esabora_token VARCHAR(512) NULL,
    webhook_url VARCHAR(255) NULL,
    webhook_secret VARCHAR(512) NULL,
    zapier_url VARCHAR(255) NULL,
    zapier_token VARCHAR(512) NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    -- lets user_partners check (partner_id, territory_id) with a composite foreign key
    UNIQUE KEY uq_partners_id_territory (id, territory_id),
    KEY idx_partners_territory_type (territory_id, type),
    KEY idx_partners_territory_name (territory_id, name),
    CONSTRAINT fk_partners_territory FOREIGN KEY (territory_id) REFERENCES territories (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Perimeter by INSEE code. No row for a partner = the whole territory.
CREATE TABLE partner_insee_codes (
    partner_id BIGINT UNSIGNED NOT NULL,
    insee_code CHAR(5) NOT NULL,
    PRIMARY KEY (partner_id, insee_code),
    KEY idx_partner_insee_codes_insee (insee_code),
    CONSTRAINT fk_partner_insee_codes_partner FOREIGN KEY (partner_id) REFERENCES partners (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
