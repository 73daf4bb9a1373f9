-- The customers listing read from one index alone. sessions_customer now
-- carries, after the customer key, every column ListCustomers reads: when
-- the session was created, its status, currency, amount and refunded
-- amount (what a paid session's payment captured and gave back), and the
-- columns of the key and of the contact details (a query that reads a
-- column must find it in the index for SQLite to leave the table alone,
-- even when the index holds an expression of it); so a customer with fifty thousand sessions is one
-- range of one index, with no row read and no payment joined.
--
-- sessions.refunded_minor follows payments.refunded_minor of the
-- session's paid payment (a session is paid at most once, for its whole
-- amount): AddRefunded writes both in one transaction. Rows from before
-- this migration are filled from their payments. currency comes right
-- after the key: the listing groups by key and currency, straight from
-- the index's order.

-- +goose Up
ALTER TABLE sessions ADD COLUMN refunded_minor BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET refunded_minor = (SELECT COALESCE(SUM(p.refunded_minor), 0) FROM payments p WHERE p.session_id = sessions.id)
 WHERE status IN ('completed', 'refunded');
DROP INDEX sessions_customer;
CREATE INDEX sessions_customer ON sessions (application_id, environment,
    (CASE WHEN verified_identifier <> '' THEN lower(verified_identifier) WHEN customer_email <> '' THEN lower(customer_email) ELSE customer_phone END),
    currency, created_at, status, amount_minor, refunded_minor, verified_identifier, customer_email, customer_phone);

-- +goose Down
DROP INDEX sessions_customer;
CREATE INDEX sessions_customer ON sessions (application_id, environment,
    (CASE WHEN verified_identifier <> '' THEN lower(verified_identifier) WHEN customer_email <> '' THEN lower(customer_email) ELSE customer_phone END));
ALTER TABLE sessions DROP COLUMN refunded_minor;
