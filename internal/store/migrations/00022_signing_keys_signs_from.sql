-- A signing key may be published before it signs: signs_from is when it
-- starts to sign. A rotation stores the new key with signs_from a little
-- over the instances' key refresh interval ahead, so that every instance
-- has read it (and verifies its tokens) before any token carries it.
-- Keys from before this migration signed from their creation.

-- +goose Up
ALTER TABLE signing_keys ADD COLUMN signs_from BIGINT NOT NULL DEFAULT 0;
UPDATE signing_keys SET signs_from = created_at;

-- +goose Down
ALTER TABLE signing_keys DROP COLUMN signs_from;
