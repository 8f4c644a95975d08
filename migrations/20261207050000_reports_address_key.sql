-- One key per address, so that "12 rue X" and "12, Rue X" are one place
-- (address history, "other cases at this address", matching the orders of
-- a prefecture's register). The BAN id when the geocoder gave one (the
-- national address base names each address once); otherwise the postal
-- code and the street line lowercased, accents folded, every run of
-- punctuation or spaces turned into one dash: "75001-12-rue-de-l-eglise".
--
-- A STORED generated column: every writer (filing, back-office edit, bulk
-- loader, API, Open311) gets the key without a line of code, existing rows
-- are backfilled by this ALTER, and the key can never drift from the
-- address. src/domain/address.rs computes the same key in Rust (for import
-- lines and URLs); a test compares both on tricky addresses.
-- TRIM(postal_code): MariaDB refuses a CHAR column inside CONCAT in a
-- generated column (its value would depend on PAD_CHAR_TO_FULL_LENGTH).
ALTER TABLE reports
    ADD COLUMN address_key VARCHAR(320) AS (
        COALESCE(NULLIF(LOWER(TRIM(ban_id)), ''),
                 CONCAT(TRIM(postal_code), '-', TRIM(BOTH '-' FROM REGEXP_REPLACE(
                   REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(
                   REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(
                   REPLACE(REPLACE(LOWER(address_line),
                     'à','a'),'â','a'),'ä','a'),'á','a'),'é','e'),'è','e'),'ê','e'),'ë','e'),'î','i'),'ï','i'),
                     'í','i'),'ô','o'),'ö','o'),'ó','o'),'ù','u'),'û','u'),'ü','u'),'ú','u'),'ÿ','y'),'ç','c'),
                     'œ','oe'),'æ','ae'),
                   '[^a-z0-9]+', '-'))))
    ) STORED,
    ADD INDEX idx_reports_address_key (address_key);
