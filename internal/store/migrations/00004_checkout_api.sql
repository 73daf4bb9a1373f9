-- What the Checkout API needs beyond the foundation: per-application
-- currencies and rate limits, and stored responses of idempotent requests.

-- +goose Up
-- currencies: space-separated ISO 4217 codes the application accepts
-- besides MAD, which is always accepted. rate_limit: requests per window
-- for each of its keys; 0 uses the installation's default.
ALTER TABLE applications ADD COLUMN currencies TEXT NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN rate_limit BIGINT NOT NULL DEFAULT 0;

-- An idempotent request's first response, replayed to a retry with the
-- same key and body. It is written in the transaction of the change it
-- answers, so a response is stored if and only if its change committed.
CREATE TABLE idempotency_keys (
    application_id  TEXT NOT NULL REFERENCES applications (id),
    environment     TEXT NOT NULL,
    key             TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    response_status BIGINT NOT NULL,
    response_body   TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (application_id, environment, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
ALTER TABLE applications DROP COLUMN rate_limit;
ALTER TABLE applications DROP COLUMN currencies;
