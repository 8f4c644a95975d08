-- Ends the other sessions of a user when their access changes.
-- A session records the user's generation when it starts; the gate ends any
-- session whose generation is behind the user's. Bumped on password change or
-- reset, deactivation, role change and membership change (src/db/users.rs).
-- Expand-only: old processes ignore the column; their sessions (without a
-- generation) are ended by the new gate, which costs each user one sign-in.
ALTER TABLE users
    ADD COLUMN session_generation INT UNSIGNED NOT NULL DEFAULT 0
        COMMENT 'bumped when every session of the user must end';
