-- The AlyaPay partner surface (internal/partner, docs/compat.md): partner
-- transactions, each application environment's partner configuration,
-- and the index the shop plugins' reconciliation reads sessions by.
-- Times are BIGINT microseconds since the Unix epoch, set by Go.

-- +goose Up
-- A partner (server-to-server, phone-confirmed) transaction. id is a
-- UUID; order_reference the short code shown to the customer; items a
-- JSON array of {"name", "reference", "quantity", "unit_price_minor",
-- "category_id"}, unit prices in integer minor units of currency.
-- expires_at is NULL for a transaction that never expires; updated_at
-- NULL until its first change, as the API reports it.
CREATE TABLE partner_transactions (
    id               TEXT PRIMARY KEY,
    application_id   TEXT NOT NULL REFERENCES applications (id),
    environment      TEXT NOT NULL,
    order_reference  TEXT NOT NULL,
    vendor_reference TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    total_minor      BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    customer_phone   TEXT NOT NULL,
    items            TEXT NOT NULL,
    expires_at       BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT
);
-- The reconcile cron's lookup by the merchant's order id, newest first.
CREATE INDEX partner_transactions_vendor ON partner_transactions (application_id, environment, vendor_reference, created_at);
-- The expiry job's scan of pending transactions past their time.
CREATE INDEX partner_transactions_expiry ON partner_transactions (status, expires_at);

-- One row per application environment that wrote its configuration;
-- webhook_endpoint_id names the Checkout-format endpoint it manages ('' when
-- none).
CREATE TABLE partner_configs (
    application_id      TEXT NOT NULL REFERENCES applications (id),
    environment         TEXT NOT NULL,
    webhook_endpoint_id TEXT NOT NULL DEFAULT '',
    transaction_expiry  BIGINT NOT NULL,
    installments        BIGINT NOT NULL,
    interval_days       BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (application_id, environment)
);

-- The same lookup for sessions opened through session-intents, whose
-- vendorReference is the shop's order number.
CREATE INDEX sessions_vendor_reference ON sessions (application_id, environment, vendor_reference, created_at);

-- +goose Down
DROP INDEX sessions_vendor_reference;
DROP TABLE partner_configs;
DROP TABLE partner_transactions;
