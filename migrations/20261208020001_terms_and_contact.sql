-- Terms of use (docs/terms.md): when an agent accepted the version recorded
-- in users.terms_version (migration 7), shown to the super admin and kept
-- as proof; and the territory's contact address, which receives the public
-- contact form's messages (else the national team's, CONTACT_EMAIL).
ALTER TABLE users
    ADD COLUMN terms_accepted_at DATETIME NULL COMMENT 'when terms_version was accepted (UTC)' AFTER terms_version;
ALTER TABLE territories
    ADD COLUMN contact_email VARCHAR(255) NULL COMMENT 'receives the public contact form (else CONTACT_EMAIL)' AFTER timezone;
