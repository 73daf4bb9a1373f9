-- A webhook endpoint may ask for some event types only. events holds the
-- surface's type names (as in webhook_deliveries.event_type) separated by
-- commas; empty, as every existing endpoint, means every event.

-- +goose Up
ALTER TABLE webhook_endpoints ADD COLUMN events TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE webhook_endpoints DROP COLUMN events;
