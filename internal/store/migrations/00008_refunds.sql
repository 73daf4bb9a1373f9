-- Refunds through the merchant API (internal/checkout/refund.go). Times
-- are BIGINT microseconds since the Unix epoch, set by Go.

-- +goose Up
-- Why a refund failed (the gateway's refusal), for the merchant to read.
ALTER TABLE refunds ADD COLUMN failure_code TEXT NOT NULL DEFAULT '';
ALTER TABLE refunds ADD COLUMN failure_message TEXT NOT NULL DEFAULT '';
-- The reconciler's backoff for a refund whose outcome is unknown (the
-- gateway did not answer): how often it asked, and when it asks next
-- (0 = when due). It asks by repeating the refund request with the same
-- idempotency key, so the gateway refunds at most once.
ALTER TABLE refunds ADD COLUMN checks BIGINT NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN next_check_at BIGINT NOT NULL DEFAULT 0;
-- Pending refunds are the reconciler's to-do list; the partial index
-- keeps finding them cheap however many refunds there are.
CREATE INDEX refunds_pending ON refunds (updated_at) WHERE status = 'pending';

-- +goose Down
DROP INDEX refunds_pending;
ALTER TABLE refunds DROP COLUMN next_check_at;
ALTER TABLE refunds DROP COLUMN checks;
ALTER TABLE refunds DROP COLUMN failure_message;
ALTER TABLE refunds DROP COLUMN failure_code;
