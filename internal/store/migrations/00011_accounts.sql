-- A merchant's team (internal/account): people who sign in, their sessions
-- and personal access tokens, two-factor backup codes, single-use tokens
-- for invites and password resets, failed sign-ins (for throttling), and
-- the audit log of every management write. Times are BIGINT microseconds.

-- +goose Up
-- email is lower-case; one person belongs to one merchant. password_hash
-- is an argon2id PHC string; totp_secret is sealed with the installation
-- key, set during two-factor set-up and kept while it is on.
CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    merchant_id    TEXT NOT NULL REFERENCES merchants (id),
    email          TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL DEFAULT '',
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    totp_secret    TEXT NOT NULL DEFAULT '',
    totp_enabled   BOOLEAN NOT NULL DEFAULT FALSE,
    totp_last_step BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX users_merchant ON users (merchant_id, created_at);

-- Sign-in sessions, found by the SHA-256 of the cookie's value (256
-- random bits, so no salt). A session ends at expires_at whatever
-- happens, after the idle limit without use, or when revoked.
CREATE TABLE login_sessions (
    hash         TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX login_sessions_user ON login_sessions (user_id);

CREATE TABLE access_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    last_used_at BIGINT
);
CREATE INDEX access_tokens_user ON access_tokens (user_id, created_at);

CREATE TABLE backup_codes (
    user_id TEXT NOT NULL REFERENCES users (id),
    hash    TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, hash)
);

-- Invites (purpose 'invite': email and role of the person to add) and
-- password resets (purpose 'reset': user_id), found by the SHA-256 of the
-- mailed token; each works once, before expires_at.
CREATE TABLE account_tokens (
    hash        TEXT PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    purpose     TEXT NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    user_id     TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL,
    role        TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX account_tokens_merchant ON account_tokens (merchant_id, purpose, created_at);

-- One row per failed sign-in, under a key per account and one per client
-- address; counted over a window, so the throttle holds across instances.
CREATE TABLE login_failures (
    key TEXT NOT NULL,
    at  BIGINT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);

-- changes is a JSON object {field: [old, new]}; secrets never enter it.
CREATE TABLE audit_logs (
    id             TEXT PRIMARY KEY,
    merchant_id    TEXT NOT NULL REFERENCES merchants (id),
    application_id TEXT NOT NULL DEFAULT '',
    at             BIGINT NOT NULL,
    actor_type     TEXT NOT NULL,
    actor_id       TEXT NOT NULL DEFAULT '',
    actor_email    TEXT NOT NULL DEFAULT '',
    action         TEXT NOT NULL,
    target_type    TEXT NOT NULL DEFAULT '',
    target_id      TEXT NOT NULL DEFAULT '',
    ip             TEXT NOT NULL DEFAULT '',
    changes        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_logs_merchant ON audit_logs (merchant_id, at, id);

-- Branding shown on the hosted page (brand_logo, from 00001, is its logo
-- URL), and the moment an application was deleted: its payments and
-- events stay, for the books, but it answers no key and lists nowhere.
ALTER TABLE applications ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN primary_color TEXT NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN deleted_at BIGINT;
CREATE INDEX applications_merchant ON applications (merchant_id, created_at);

-- +goose Down
DROP INDEX applications_merchant;
ALTER TABLE applications DROP COLUMN deleted_at;
ALTER TABLE applications DROP COLUMN primary_color;
ALTER TABLE applications DROP COLUMN display_name;
DROP TABLE audit_logs;
DROP TABLE login_failures;
DROP TABLE account_tokens;
DROP TABLE backup_codes;
DROP TABLE access_tokens;
DROP TABLE login_sessions;
DROP TABLE users;
