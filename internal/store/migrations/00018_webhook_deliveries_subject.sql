-- A payment's page lists the webhook deliveries of its session: found by
-- subject, whatever the endpoint (webhook_deliveries_subject leads with
-- the endpoint, for ordering one endpoint's deliveries).

-- +goose Up
CREATE INDEX webhook_deliveries_by_subject ON webhook_deliveries (subject_id, created_at);

-- +goose Down
DROP INDEX webhook_deliveries_by_subject;
