-- Outbound webhook delivery (internal/webhook). Times are BIGINT
-- microseconds since the Unix epoch, set by Go, never by the database.

-- +goose Up
-- routed_at is set once the dispatcher has created the event's deliveries
-- (or decided no endpoint wants it). Events still NULL here are the
-- dispatcher's to-do list; the partial index keeps finding them cheap
-- however long the outbox grows.
ALTER TABLE events ADD COLUMN routed_at BIGINT;
CREATE INDEX events_unrouted ON events (created_at) WHERE routed_at IS NULL;

-- A secret rotation keeps the previous secret signing next to the new one
-- until previous_secret_until. failing_since is the time of the first
-- failed attempt since the endpoint last answered 2xx; three days of that
-- disables the endpoint.
ALTER TABLE webhook_endpoints ADD COLUMN previous_sealed_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN failing_since BIGINT;

-- One event to one endpoint. The body is rendered once, in the endpoint's
-- format, when the delivery is created; each attempt signs it afresh.
-- message_id is the id receivers de-duplicate on (X-Alya-Event-Id, or the
-- event id): the same for every attempt and every re-send.
-- subject_id and seq copy the event's, so that a subject's later delivery
-- waits for its earlier one to the same endpoint.
-- status: pending (to be attempted at next_attempt_at), delivered, failed
-- (gave up). claimed_until and claim_token are the lease of the instance
-- attempting it: another instance may take it over once the lease ends.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id),
    event_id         TEXT NOT NULL,
    application_id   TEXT NOT NULL REFERENCES applications (id),
    environment      TEXT NOT NULL,
    subject_id       TEXT NOT NULL,
    seq              BIGINT NOT NULL,
    event_type       TEXT NOT NULL,
    message_id       TEXT NOT NULL,
    body             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    claimed_until    BIGINT NOT NULL DEFAULT 0,
    claim_token      TEXT NOT NULL DEFAULT '',
    last_status_code BIGINT NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    delivered_at     BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_subject ON webhook_deliveries (endpoint_id, subject_id, seq);
CREATE INDEX webhook_deliveries_application ON webhook_deliveries (application_id, created_at);

-- Every attempt, successful or not. status_code is 0 when no response
-- came; latency_us is microseconds; response_excerpt holds at most the
-- first KiB of the answer.
CREATE TABLE webhook_attempts (
    id               TEXT PRIMARY KEY,
    delivery_id      TEXT NOT NULL REFERENCES webhook_deliveries (id),
    started_at       BIGINT NOT NULL,
    latency_us       BIGINT NOT NULL,
    status_code      BIGINT NOT NULL,
    response_excerpt TEXT NOT NULL,
    error            TEXT NOT NULL,
    manual           BOOLEAN NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, started_at);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_endpoints DROP COLUMN failing_since;
ALTER TABLE webhook_endpoints DROP COLUMN previous_secret_until;
ALTER TABLE webhook_endpoints DROP COLUMN previous_sealed_secret;
DROP INDEX events_unrouted;
ALTER TABLE events DROP COLUMN routed_at;
