-- The session search indexes hold only the sessions that have what they
-- index: many sessions are opened with no customer or order id (the
-- Checkout API's own fields are total, currency and items), and none has a
-- verified customer when it opens. Every session creation wrote an entry
-- in each of them anyway; a partial index skips those, and a search (of a
-- value that is never empty) names the condition so that both engines use
-- it.

-- +goose Up
DROP INDEX sessions_customer_email;
DROP INDEX sessions_customer_phone;
DROP INDEX sessions_verified_identifier;
DROP INDEX sessions_vendor_reference;
CREATE INDEX sessions_customer_email ON sessions (application_id, environment, lower(customer_email)) WHERE customer_email <> '';
CREATE INDEX sessions_customer_phone ON sessions (application_id, environment, customer_phone) WHERE customer_phone <> '';
CREATE INDEX sessions_verified_identifier ON sessions (application_id, environment, lower(verified_identifier)) WHERE verified_identifier <> '';
CREATE INDEX sessions_vendor_reference ON sessions (application_id, environment, vendor_reference, created_at) WHERE vendor_reference <> '';

-- +goose Down
DROP INDEX sessions_vendor_reference;
DROP INDEX sessions_verified_identifier;
DROP INDEX sessions_customer_phone;
DROP INDEX sessions_customer_email;
CREATE INDEX sessions_customer_email ON sessions (application_id, environment, lower(customer_email));
CREATE INDEX sessions_customer_phone ON sessions (application_id, environment, customer_phone);
CREATE INDEX sessions_verified_identifier ON sessions (application_id, environment, lower(verified_identifier));
CREATE INDEX sessions_vendor_reference ON sessions (application_id, environment, vendor_reference, created_at);
