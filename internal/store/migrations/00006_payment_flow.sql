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
-- The reconciler's backoff for an attempt waiting for the gateway: how
-- often it asked, and when it asks next (microseconds; 0 = when due).
ALTER TABLE payments ADD COLUMN checks BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN next_check_at BIGINT NOT NULL DEFAULT 0;
-- The gateway's payment token, sealed with the installation key, kept
-- only while the outcome is open: when an answer is lost before the
-- gateway named the charge, the reconciler repeats the very same charge
-- request (same idempotency key) to learn it. Cleared once final.
ALTER TABLE payments ADD COLUMN sealed_token TEXT NOT NULL DEFAULT '';
-- attempt numbers a session's attempts 1, 2, 3…: the newest is the one
-- with the highest number, whatever the clocks of the instances say.
ALTER TABLE payments ADD COLUMN attempt BIGINT NOT NULL DEFAULT 1;
CREATE INDEX payments_session_attempt ON payments (session_id, attempt);
-- One attempt in flight per session, whatever the code above does: a
-- second concurrent attempt fails to insert instead of charging twice.
CREATE UNIQUE INDEX payments_one_open ON payments (session_id)
    WHERE status IN ('pending', 'requires_action');
-- The gateway's reference finds the attempt when its notification arrives.
CREATE INDEX payments_gateway_reference ON payments (gateway, gateway_reference);

-- +goose Down
DROP INDEX payments_gateway_reference;
DROP INDEX payments_one_open;
DROP INDEX payments_session_attempt;
ALTER TABLE payments DROP COLUMN attempt;
ALTER TABLE payments DROP COLUMN sealed_token;
ALTER TABLE payments DROP COLUMN next_check_at;
ALTER TABLE payments DROP COLUMN checks;
ALTER TABLE payments DROP COLUMN retryable;
ALTER TABLE payments DROP COLUMN redirect_url;
ALTER TABLE payments DROP COLUMN method;
