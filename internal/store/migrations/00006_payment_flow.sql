-- The Public Payment API's payment flow: what an attempt needs to be
-- resumed (3-D Secure, off-site approval) and the rule that a session has
-- at most one attempt in flight.

-- +goose Up
-- method is what the shopper paid with ("card", "paypal"); redirect_url is
-- where the shopper must go while the attempt requires action; retryable
-- says a failed attempt may be tried again with the same details.
ALTER TABLE payments ADD COLUMN method TEXT NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN redirect_url TEXT NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN retryable BOOLEAN NOT NULL DEFAULT FALSE;
-- One attempt in flight per session, whatever the code above does: a
-- second concurrent attempt fails to insert instead of charging twice.
CREATE UNIQUE INDEX payments_one_open ON payments (session_id)
    WHERE status IN ('pending', 'requires_action');
-- The gateway's reference finds the attempt when its notification arrives.
CREATE INDEX payments_gateway_reference ON payments (gateway, gateway_reference);

-- +goose Down
DROP INDEX payments_gateway_reference;
DROP INDEX payments_one_open;
ALTER TABLE payments DROP COLUMN retryable;
ALTER TABLE payments DROP COLUMN redirect_url;
ALTER TABLE payments DROP COLUMN method;
