-- The partner API's writes (docs/api.md §8): an API account acts through a
-- technical user of its own (the author of its follow-ups and answers, as
-- Histologe's API users are users), created with the account: no
-- password, never active, no e-mail notifications. Expand only: NULL for
-- accounts made before, which then only read.
ALTER TABLE api_accounts
    ADD COLUMN user_id BIGINT UNSIGNED NULL COMMENT 'technical user acting for the account' AFTER territory_id,
    ADD KEY idx_api_accounts_user (user_id),
    ADD CONSTRAINT fk_api_accounts_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL;
