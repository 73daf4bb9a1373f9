-- Domains verified by the merchant rather than vouched for by an operator
-- (internal/merchant): a random token to publish in DNS or a well-known
-- file, and what the last check found. Times are BIGINT microseconds.

-- +goose Up
-- verification_token is 32 base-62 characters, not secret. Rows from
-- before this migration have '' and are given a token the first time
-- sakk reads them (a portable random default in SQL is not to be had).
ALTER TABLE domains ADD COLUMN verification_token TEXT NOT NULL DEFAULT '';
-- NULL: not verified, or verified (by an operator) before this column.
ALTER TABLE domains ADD COLUMN verified_at BIGINT;
-- NULL: never checked.
ALTER TABLE domains ADD COLUMN last_checked_at BIGINT;
-- What the last failed check found, shown to the merchant; '' once verified.
ALTER TABLE domains ADD COLUMN last_error TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE domains DROP COLUMN last_error;
ALTER TABLE domains DROP COLUMN last_checked_at;
ALTER TABLE domains DROP COLUMN verified_at;
ALTER TABLE domains DROP COLUMN verification_token;
