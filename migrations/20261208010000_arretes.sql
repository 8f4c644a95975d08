-- Orders (arrêtés) signed by a prefect or a mayor about a dwelling:
-- docs/arretes.md. Each is attached to an address (address_key, the same
-- normalised key as reports.address_key, docs/addresses.md) and, when it
-- concerns a known case, to that case. An order read from a prefecture's
-- register may match no case: report_id stays NULL and the address
-- history still shows it.
CREATE TABLE arretes (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    uuid CHAR(36) CHARACTER SET ascii NOT NULL COMMENT 'public id, lowercase hyphenated',
    territory_id INT UNSIGNED NOT NULL,
    report_id BIGINT UNSIGNED NULL,
    address_key VARCHAR(320) NOT NULL COMMENT 'domain::address::AddressKey',
    address_label VARCHAR(255) NOT NULL COMMENT 'the address as written, for display',
    kind VARCHAR(50) NOT NULL COMMENT 'domain::arrete::ArreteType code (one of 14)',
    number VARCHAR(50) NOT NULL,
    order_date DATE NOT NULL,
    signatory VARCHAR(10) NOT NULL COMMENT 'prefet | maire',
    signer_name VARCHAR(120) NULL,
    works_deadline DATE NULL,
    lifted_on DATE NULL COMMENT 'main levée: the order no longer binds from this date',
    document_id BIGINT UNSIGNED NULL COMMENT 'the scanned order, a documents row',
    source VARCHAR(10) NOT NULL COMMENT 'manual | import',
    created_by BIGINT UNSIGNED NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    UNIQUE KEY uq_arretes_uuid (uuid),
    -- One order per territory, number and date: a re-imported register and
    -- a second manual entry of the same order are refused, not doubled.
    UNIQUE KEY uq_arretes_territory_number_date (territory_id, number, order_date),
    KEY idx_arretes_address (address_key),
    -- "arrêté en cours" in the list: EXISTS on (report_id, lifted_on).
    KEY idx_arretes_report_lifted (report_id, lifted_on),
    CONSTRAINT fk_arretes_territory FOREIGN KEY (territory_id) REFERENCES territories (id),
    CONSTRAINT fk_arretes_report FOREIGN KEY (report_id) REFERENCES reports (id) ON DELETE SET NULL,
    CONSTRAINT fk_arretes_document FOREIGN KEY (document_id) REFERENCES documents (id) ON DELETE SET NULL,
    CONSTRAINT fk_arretes_created_by FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
