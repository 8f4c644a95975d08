-- Reports (signalements) and their per-territory reference counters.
--
-- Tri-state answers (oui / non / nsp) are BOOLEAN NULL: TRUE = oui, FALSE = non,
-- NULL = nsp or not asked. Answers with more values are VARCHAR codes (comment).
-- Form answers without a column of their own go to `extra` (object keyed by form slug).

CREATE TABLE reports (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    uuid CHAR(36) CHARACTER SET ascii NOT NULL COMMENT 'public id, lowercase hyphenated',
    territory_id INT UNSIGNED NOT NULL,
    reference VARCHAR(20) NOT NULL COMMENT 'YYYY-N, unique per territory',
    status VARCHAR(30) NOT NULL DEFAULT 'need_validation' COMMENT 'need_validation | active | closed | refused | archived',
    declarant_profile VARCHAR(30) NOT NULL COMMENT 'locataire | bailleur_occupant | tiers_particulier | tiers_pro | service_secours | bailleur',
    occupant_profile VARCHAR(30) NULL COMMENT 'status of the occupant: locataire | bailleur_occupant; NULL = unknown (nsp)',
    is_public_housing BOOLEAN NULL COMMENT 'logement social; NULL = unknown',
    creation_source VARCHAR(20) NOT NULL DEFAULT 'form' COMMENT 'form (public form) | office (back office) | api | import',
    created_by_user_id BIGINT UNSIGNED NULL COMMENT 'back-office author (creation_source = office)',

    -- occupant
    occupant_civility VARCHAR(10) NULL COMMENT 'mme | mr',
    occupant_first_name VARCHAR(100) NULL,
    occupant_last_name VARCHAR(100) NULL,
    occupant_email VARCHAR(255) NULL,
    occupant_phone VARCHAR(20) NULL COMMENT 'E.164',
    occupant_phone_secondary VARCHAR(20) NULL COMMENT 'E.164',
    occupant_birth_date DATE NULL,

    -- declarant (same person as the occupant for locataire / bailleur_occupant)
    declarant_civility VARCHAR(10) NULL COMMENT 'mme | mr',
    declarant_first_name VARCHAR(100) NULL,
    declarant_last_name VARCHAR(100) NULL,
    declarant_email VARCHAR(255) NULL,
    declarant_phone VARCHAR(20) NULL COMMENT 'E.164',
    declarant_phone_secondary VARCHAR(20) NULL COMMENT 'E.164',
    declarant_birth_date DATE NULL,
    declarant_structure VARCHAR(200) NULL COMMENT 'organisation name (nom_organisme)',
    declarant_link VARCHAR(20) NULL COMMENT 'proche | voisin | secours | bailleur | pro | autre',

    -- landlord
    landlord_kind VARCHAR(30) NULL COMMENT 'particulier | organisme_societe',
    landlord_name VARCHAR(255) NULL COMMENT 'last name or organisation name',
    landlord_first_name VARCHAR(100) NULL,
    landlord_email VARCHAR(255) NULL,
    landlord_phone VARCHAR(20) NULL COMMENT 'E.164',
    landlord_phone_secondary VARCHAR(20) NULL COMMENT 'E.164',
    landlord_address VARCHAR(255) NULL COMMENT 'street line',
    landlord_postal_code VARCHAR(10) NULL,
    landlord_city VARCHAR(100) NULL,

    -- managing agency and syndic (back office)
    agency_name VARCHAR(255) NULL,
    agency_contact_name VARCHAR(200) NULL,
    agency_email VARCHAR(255) NULL,
    agency_phone VARCHAR(20) NULL COMMENT 'E.164',
    agency_address VARCHAR(255) NULL,
    agency_postal_code VARCHAR(10) NULL,
    agency_city VARCHAR(100) NULL,
    syndic_name VARCHAR(255) NULL,
    syndic_contact_name VARCHAR(200) NULL,
    syndic_email VARCHAR(255) NULL,
    syndic_phone VARCHAR(20) NULL COMMENT 'E.164',

    -- dwelling
    dwelling_type VARCHAR(20) NULL COMMENT 'appartement | maison | autre',
    dwelling_type_other VARCHAR(50) NULL COMMENT 'free text when dwelling_type = autre',
    dwelling_surface DECIMAL(7,2) NULL COMMENT 'm²',
    dwelling_rooms SMALLINT UNSIGNED NULL COMMENT 'living rooms; 1 for a single room',
    dwelling_floors SMALLINT UNSIGNED NULL COMMENT 'number of storeys of the building',
    dwelling_is_single_room BOOLEAN NULL,
    dwelling_is_ground_floor BOOLEAN NULL,
    dwelling_is_top_floor BOOLEAN NULL,
    dwelling_is_attic_without_window BOOLEAN NULL COMMENT 'sous les combles sans fenêtre',
    dwelling_is_basement_without_window BOOLEAN NULL COMMENT 'en sous-sol sans fenêtre',
    dwelling_has_room_9m2 BOOLEAN NULL COMMENT 'a living room of 9 m² or more',
    dwelling_has_kitchen BOOLEAN NULL,
    dwelling_kitchen_shared BOOLEAN NULL COMMENT 'access to a shared kitchen (when no kitchen)',
    dwelling_has_bathroom BOOLEAN NULL,
    dwelling_bathroom_shared BOOLEAN NULL,
    dwelling_has_wc BOOLEAN NULL,
    dwelling_wc_shared BOOLEAN NULL,
    dwelling_wc_in_kitchen BOOLEAN NULL,
    dwelling_occupants_count SMALLINT UNSIGNED NULL,
    dwelling_children_count SMALLINT UNSIGNED NULL,
    dwelling_children_under_6 BOOLEAN NULL COMMENT 'form answer composition_logement_enfants; TRUE drives the x1.1 score factor',
    dwelling_children_under_6_count SMALLINT UNSIGNED NULL COMMENT 'count when known (back office, API, import)',
    dwelling_move_in_date DATE NULL,
    dwelling_has_lease BOOLEAN NULL,
    dwelling_has_inventory BOOLEAN NULL COMMENT 'état des lieux',
    dwelling_has_dpe BOOLEAN NULL,
    dwelling_dpe_class CHAR(1) NULL COMMENT 'declared energy class A..G (upper case); NULL = unknown',
    dwelling_dpe_period VARCHAR(20) NULL COMMENT 'before2023 | post2023; NULL = unknown',
    dwelling_dpe_year SMALLINT UNSIGNED NULL COMMENT 'year of the DPE when known (back office)',
    dwelling_tax_id VARCHAR(12) NULL COMMENT 'invariant fiscal',
    dwelling_construction_year SMALLINT UNSIGNED NULL,
    dwelling_rent DECIMAL(10,2) NULL COMMENT 'monthly rent, euros',
    dwelling_is_vacant BOOLEAN NOT NULL DEFAULT FALSE COMMENT 'logement vacant (back office switch)',

    -- household situation
    household_housing_allowance BOOLEAN NULL COMMENT 'allocataire',
    household_allowance_fund VARCHAR(10) NULL COMMENT 'caf | msa',
    household_allowance_number VARCHAR(25) NULL,
    household_allowance_amount DECIMAL(10,2) NULL COMMENT 'monthly, euros',
    household_wants_to_leave BOOLEAN NULL COMMENT 'souhaite quitter le logement',
    household_notice_given BOOLEAN NULL COMMENT 'préavis de départ donné',
    household_wants_rehousing BOOLEAN NULL COMMENT 'demande de (re)logement social',
    household_social_worker BOOLEAN NULL COMMENT 'accompagné par un travailleur social',
    household_social_worker_structure VARCHAR(100) NULL,
    household_rsa BOOLEAN NULL,
    household_fsl BOOLEAN NULL,

    -- procedure
    procedure_landlord_informed BOOLEAN NULL,
    procedure_landlord_informed_at DATE NULL COMMENT 'first day of the declared MM/YYYY',
    procedure_landlord_informed_how VARCHAR(20) NULL COMMENT 'courrier | email | telephone | sms | autre',
    procedure_landlord_answer VARCHAR(255) NULL,
    procedure_claim_number VARCHAR(30) NULL COMMENT 'social landlord claim number',
    procedure_insurer_contacted VARCHAR(30) NULL COMMENT 'oui | non | pas_assurance_logement; NULL = nsp or not asked',
    procedure_insurer_answer VARCHAR(255) NULL,
    procedure_stay_after_works BOOLEAN NULL COMMENT 'would stay after the works',

    -- defects overview (precisions are in report_defects)
    defects_zone VARCHAR(20) NULL COMMENT 'batiment | logement | batiment_logement',
    defects_onset VARCHAR(20) NULL COMMENT 'less_1_month | months_1_to_6 | months_6_to_12 | years_1_to_2 | more_2_years; NULL = nsp',
    defects_seen_by_declarant BOOLEAN NULL COMMENT 'third parties: defects seen in person',

    consents JSON NULL COMMENT 'object {consent_slug: true} + accepted terms version',
    details TEXT NULL COMMENT 'free message of the declarant (message_administration)',
    extra JSON NULL COMMENT 'remaining form answers, keyed by form slug',

    -- address and geocoding
    address_line VARCHAR(255) NOT NULL COMMENT 'number and street',
    address_complement VARCHAR(255) NULL,
    floor VARCHAR(10) NULL,
    staircase VARCHAR(10) NULL,
    door VARCHAR(10) NULL COMMENT 'apartment number',
    postal_code CHAR(5) NOT NULL,
    city VARCHAR(100) NOT NULL,
    insee_code CHAR(5) NULL,
    ban_id VARCHAR(50) NULL,
    rnb_id VARCHAR(20) NULL COMMENT 'Référentiel national des bâtiments id',
    latitude DECIMAL(9,6) NULL,
    longitude DECIMAL(9,6) NULL,
    geocode_score DECIMAL(4,3) NULL COMMENT 'BAN score 0..1',
    address_needs_check BOOLEAN NOT NULL DEFAULT FALSE,

    -- DPE found at ADEME
    dpe_label CHAR(1) NULL COMMENT 'A..G (upper case)',
    dpe_date DATE NULL,
    dpe_number VARCHAR(20) NULL,
    dpe_consumption DECIMAL(9,2) NULL COMMENT 'primary energy, kWh/m²/year',

    -- severity (SCORING.md)
    severity_score DECIMAL(5,2) NULL COMMENT '0..100, rounded half away from zero; for display, sort and filters',
    severity_score_raw DOUBLE NULL COMMENT 'unrounded f64 score (bands compare this one)',
    severity_building DOUBLE NULL COMMENT 'sB, uncapped',
    severity_dwelling DOUBLE NULL COMMENT 'sL, uncapped',

    follow_up_code CHAR(43) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'secret of the resident follow-up link (base64url, 32 bytes), case-sensitive',

    -- lifecycle
    validated_at DATETIME NULL,
    refused_at DATETIME NULL,
    refusal_reason VARCHAR(40) NULL COMMENT 'hors_pdlhi | hors_zone_geographique | hors_competence | doublon | autre',
    refusal_message TEXT NULL,
    closed_at DATETIME NULL,
    closure_reason VARCHAR(60) NULL COMMENT 'lowercase MotifCloture: abandon_de_procedure_absence_de_reponse | depart_occupant | insalubrite | logement_decent | logement_vendu | non_decence | peril | refus_de_visite | refus_de_travaux | relogement_occupant | responsabilite_de_l_occupant | rsd | travaux_faits_ou_en_cours | doublon | autre | demande_fermeture_abandon_occupant | logement_mis_en_conformite | absence_de_reponse_occupant | gestion_du_dossier_externe | hors_perimetre_lhi',
    archived_at DATETIME NULL,
    last_follow_up_at DATETIME NULL,
    last_follow_up_author_kind VARCHAR(20) NULL COMMENT 'as follow_ups.author_kind',
    version INT UNSIGNED NOT NULL DEFAULT 1 COMMENT 'optimistic lock: UPDATE ... SET version = version + 1 WHERE id = ? AND version = ?',
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,

    PRIMARY KEY (id),
    UNIQUE KEY uq_reports_uuid (uuid),
    UNIQUE KEY uq_reports_territory_reference (territory_id, reference),
    UNIQUE KEY uq_reports_follow_up_code (follow_up_code),
    KEY idx_reports_territory_status_created (territory_id, status, created_at),
    KEY idx_reports_territory_created (territory_id, created_at),
    KEY idx_reports_territory_last_follow_up (territory_id, last_follow_up_at),
    KEY idx_reports_territory_geo (territory_id, latitude, longitude),
    KEY idx_reports_status_created (status, created_at),
    KEY idx_reports_postal_code (postal_code),
    KEY idx_reports_insee_code (insee_code),
    KEY idx_reports_last_follow_up (last_follow_up_at),
    KEY idx_reports_severity (severity_score),
    KEY idx_reports_occupant_email (occupant_email),
    KEY idx_reports_declarant_email (declarant_email),
    KEY idx_reports_created_by (created_by_user_id),
    -- search box: MATCH (these columns, this order) AGAINST (... IN BOOLEAN MODE)
    FULLTEXT KEY ft_reports_search (occupant_last_name, occupant_first_name, occupant_email,
        declarant_last_name, declarant_first_name, declarant_email,
        address_line, city, landlord_name),
    CONSTRAINT fk_reports_territory FOREIGN KEY (territory_id) REFERENCES territories (id),
    CONSTRAINT fk_reports_created_by FOREIGN KEY (created_by_user_id) REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Next reference number per territory and year, in the report-creating transaction:
--   INSERT INTO report_reference_counters (territory_id, year, last_number) VALUES (?, ?, 1)
--     ON DUPLICATE KEY UPDATE last_number = last_number + 1;
--   SELECT last_number FROM report_reference_counters WHERE territory_id = ? AND year = ?;
-- (the row stays locked until commit, so numbers are gap-free and never reused).
CREATE TABLE report_reference_counters (
    territory_id INT UNSIGNED NOT NULL,
    year SMALLINT UNSIGNED NOT NULL,
    last_number INT UNSIGNED NOT NULL DEFAULT 0,
    PRIMARY KEY (territory_id, year),
    CONSTRAINT fk_report_reference_counters_territory FOREIGN KEY (territory_id) REFERENCES territories (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
