-- Payment links (internal/merchant/paymentlinks.go): a product list at a
-- public URL, /pay/{id}, that opens a fresh session for each buyer. Times
-- are BIGINT microseconds since the Unix epoch, set by Go.

-- +goose Up
-- items is a JSON array of the link's lines, in order, each
-- {"reference", "product_id", "name", "unit_price_minor", "quantity",
-- "image_url"} as a session's items column; unit prices are integer minor
-- units of currency. quantity_limit (how many paid payments the link may
-- take) and expires_at are NULL when the link has none.
CREATE TABLE payment_links (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id),
    environment    TEXT NOT NULL,
    currency       TEXT NOT NULL,
    items          TEXT NOT NULL,
    quantity_limit BIGINT,
    expires_at     BIGINT,
    active         BOOLEAN NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
-- A merchant's listing, newest first.
CREATE INDEX payment_links_application ON payment_links (application_id, environment, created_at, id);

-- The sessions each link opened, written in the session's own
-- transaction. A table of its own rather than a column of sessions, so
-- the hot session INSERT stays as it is; the index finds a link's
-- sessions to count the paid ones.
CREATE TABLE payment_link_sessions (
    session_id      TEXT PRIMARY KEY REFERENCES sessions (id),
    payment_link_id TEXT NOT NULL REFERENCES payment_links (id)
);
CREATE INDEX payment_link_sessions_link ON payment_link_sessions (payment_link_id);

-- +goose Down
DROP TABLE payment_link_sessions;
DROP TABLE payment_links;
