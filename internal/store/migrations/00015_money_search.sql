-- The management API's money views (internal/store/listing.go): search by
-- customer, amount and id, refunds and customers listed per application
-- environment. Every index leads with (application_id, environment), the
-- scope of every listing, so that a search reads only one application
-- environment's rows. Expression indexes are valid on both engines; SQLite
-- uses one only where a query spells the very expression indexed.

-- +goose Up
-- Email search compares lower-cased, because sessions created through the
-- Checkout API keep the address as the merchant sent it.
CREATE INDEX sessions_customer_email ON sessions (application_id, environment, lower(customer_email));
CREATE INDEX sessions_customer_phone ON sessions (application_id, environment, customer_phone);
-- Serves email and phone searches alike: a verified identifier is one or
-- the other, and a normalised phone number is its own lower case.
CREATE INDEX sessions_verified_identifier ON sessions (application_id, environment, lower(verified_identifier));
-- The customer key of ListCustomers, character for character: customers
-- are read in key order straight from it, one group after the other.
CREATE INDEX sessions_customer ON sessions (application_id, environment,
    (CASE WHEN verified_identifier <> '' THEN lower(verified_identifier) WHEN customer_email <> '' THEN lower(customer_email) ELSE customer_phone END));
-- An amount search is equalities on currency and amount, then the
-- listing's order: with created_at last, the index gives the rows already
-- in order, which is what makes SQLite prefer it to the plain
-- (application_id, environment, created_at) index.
CREATE INDEX sessions_amount ON sessions (application_id, environment, currency, amount_minor, created_at);
CREATE INDEX payments_amount ON payments (application_id, environment, currency, amount_minor, created_at);
-- Refunds were only ever read by payment; now they are listed too.
CREATE INDEX refunds_application ON refunds (application_id, environment, created_at);

-- +goose Down
DROP INDEX refunds_application;
DROP INDEX payments_amount;
DROP INDEX sessions_amount;
DROP INDEX sessions_customer;
DROP INDEX sessions_verified_identifier;
DROP INDEX sessions_customer_phone;
DROP INDEX sessions_customer_email;
