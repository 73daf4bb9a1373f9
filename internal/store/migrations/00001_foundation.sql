-- The foundation schema. Every statement is valid on both SQLite and
-- PostgreSQL: times are BIGINT microseconds since the Unix epoch (UTC, set
-- by Go, never by the database clock), amounts BIGINT minor units beside a
-- currency code, identifiers prefixed TEXT, flags BOOLEAN.

-- +goose Up
CREATE TABLE merchants (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE applications (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    name        TEXT NOT NULL,
    brand_logo  TEXT NOT NULL DEFAULT '',
    permissions TEXT NOT NULL DEFAULT '',
    modules     TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);

-- Keys are stored as a SHA-256 of the whole key (they carry 190 bits of
-- randomness, so no salt is needed and lookup by hash is direct).
CREATE TABLE api_keys (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id),
    environment    TEXT NOT NULL,
    kind           TEXT NOT NULL,
    prefix         TEXT NOT NULL,
    hash           TEXT NOT NULL UNIQUE,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT,
    revoked_at     BIGINT
);
CREATE INDEX api_keys_application ON api_keys (application_id, environment, kind);

CREATE TABLE domains (
    application_id TEXT NOT NULL REFERENCES applications (id),
    domain         TEXT NOT NULL,
    verified       BOOLEAN NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (application_id, domain)
);

CREATE TABLE products (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id),
    store_code     TEXT NOT NULL,
    title          TEXT NOT NULL,
    price_minor    BIGINT NOT NULL,
    currency       TEXT NOT NULL,
    image_url      TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    UNIQUE (application_id, store_code)
);

CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    application_id  TEXT NOT NULL REFERENCES applications (id),
    environment     TEXT NOT NULL,
    url             TEXT NOT NULL,
    format          TEXT NOT NULL,
    sealed_secret   TEXT NOT NULL,
    enabled         BOOLEAN NOT NULL,
    disabled_reason TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_application ON webhook_endpoints (application_id, environment);

CREATE TABLE sessions (
    id                  TEXT PRIMARY KEY,
    application_id      TEXT NOT NULL REFERENCES applications (id),
    environment         TEXT NOT NULL,
    status              TEXT NOT NULL,
    amount_minor        BIGINT NOT NULL,
    currency            TEXT NOT NULL,
    customer_email      TEXT NOT NULL DEFAULT '',
    customer_phone      TEXT NOT NULL DEFAULT '',
    customer_locked     BOOLEAN NOT NULL DEFAULT FALSE,
    verified_identifier TEXT NOT NULL DEFAULT '',
    verified_channel    TEXT NOT NULL DEFAULT '',
    vendor_reference    TEXT NOT NULL DEFAULT '',
    metadata            TEXT,
    return_url          TEXT NOT NULL DEFAULT '',
    cancel_url          TEXT NOT NULL DEFAULT '',
    gateway             TEXT NOT NULL DEFAULT '',
    locale              TEXT NOT NULL DEFAULT '',
    expires_at          BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX sessions_application ON sessions (application_id, environment, created_at);
CREATE INDEX sessions_expiry ON sessions (status, expires_at);

CREATE TABLE session_items (
    session_id       TEXT NOT NULL REFERENCES sessions (id),
    position         BIGINT NOT NULL,
    reference        TEXT NOT NULL,
    product_id       TEXT NOT NULL DEFAULT '',
    name             TEXT NOT NULL,
    unit_price_minor BIGINT NOT NULL,
    quantity         BIGINT NOT NULL,
    image_url        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (session_id, position)
);

CREATE TABLE payments (
    id                TEXT PRIMARY KEY,
    session_id        TEXT NOT NULL REFERENCES sessions (id),
    application_id    TEXT NOT NULL REFERENCES applications (id),
    environment       TEXT NOT NULL,
    gateway           TEXT NOT NULL,
    status            TEXT NOT NULL,
    amount_minor      BIGINT NOT NULL,
    refunded_minor    BIGINT NOT NULL DEFAULT 0,
    currency          TEXT NOT NULL,
    gateway_reference TEXT NOT NULL DEFAULT '',
    error_code        TEXT NOT NULL DEFAULT '',
    error_message     TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor)
);
CREATE INDEX payments_session ON payments (session_id);
CREATE INDEX payments_application ON payments (application_id, environment, created_at);
-- The last line of defence for "a session is paid at most once": whatever
-- the code above does, the database refuses a second paid attempt.
CREATE UNIQUE INDEX payments_paid_once ON payments (session_id)
    WHERE status IN ('completed', 'refunded');

CREATE TABLE refunds (
    id                TEXT PRIMARY KEY,
    payment_id        TEXT NOT NULL REFERENCES payments (id),
    application_id    TEXT NOT NULL REFERENCES applications (id),
    environment       TEXT NOT NULL,
    amount_minor      BIGINT NOT NULL CHECK (amount_minor > 0),
    currency          TEXT NOT NULL,
    status            TEXT NOT NULL,
    gateway_reference TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id);

-- The outbox: each row is written in the same transaction as the change it
-- records. seq orders the events of one subject (a session), from 1.
CREATE TABLE events (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id),
    environment    TEXT NOT NULL,
    type           TEXT NOT NULL,
    subject_id     TEXT NOT NULL,
    seq            BIGINT NOT NULL,
    payload        TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    UNIQUE (subject_id, seq)
);
CREATE INDEX events_application ON events (application_id, environment, created_at);

-- settings holds the few values an installation must agree on, such as a
-- check value that tells whether the configured encryption key is the one
-- the data was sealed with.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE events;
DROP TABLE refunds;
DROP TABLE payments;
DROP TABLE session_items;
DROP TABLE sessions;
DROP TABLE webhook_endpoints;
DROP TABLE products;
DROP TABLE domains;
DROP TABLE api_keys;
DROP TABLE applications;
DROP TABLE merchants;
