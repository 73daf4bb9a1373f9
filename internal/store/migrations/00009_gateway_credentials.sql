-- A merchant's credentials at a payment gateway, per application and
-- environment (internal/routing). Times are BIGINT microseconds.

-- +goose Up
-- sealed_config is the gateway's settings as a JSON object of strings,
-- sealed with the installation key (it holds secret keys); public_config
-- is the part a browser may see (a publishable key), in clear. is_default
-- marks the gateway routing picks when a session names none.
CREATE TABLE gateway_credentials (
    application_id TEXT NOT NULL REFERENCES applications (id),
    environment    TEXT NOT NULL,
    gateway        TEXT NOT NULL,
    sealed_config  TEXT NOT NULL,
    public_config  TEXT NOT NULL,
    is_default     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (application_id, environment, gateway)
);
CREATE INDEX gateway_credentials_gateway ON gateway_credentials (gateway);

-- +goose Down
DROP TABLE gateway_credentials;
