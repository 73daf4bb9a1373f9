-- One-time codes that prove a shopper's email address or phone number
-- (internal/otp). Times are BIGINT microseconds since the Unix epoch, set
-- by Go.

-- +goose Up
-- One row per (application, environment, channel, identifier): the code
-- currently valid for that identifier, if any. A new request replaces the
-- row, id included, so the previous code stops working at once. id is the
-- verification id ("ver_…") shown to the caller. code_hash is a hex
-- HMAC-SHA256, keyed by an installation secret that is not in the
-- database, of id and code: the code itself is never stored. attempts
-- counts wrong tries; used_at is set by the one successful verification.
CREATE TABLE otp_codes (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id),
    environment    TEXT NOT NULL,
    session_id     TEXT NOT NULL DEFAULT '',
    channel        TEXT NOT NULL CHECK (channel IN ('email', 'phone')),
    identifier     TEXT NOT NULL,
    code_hash      TEXT NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    created_at     BIGINT NOT NULL,
    UNIQUE (application_id, environment, channel, identifier)
);
CREATE INDEX otp_codes_expiry ON otp_codes (expires_at);

-- +goose Down
DROP TABLE otp_codes;
