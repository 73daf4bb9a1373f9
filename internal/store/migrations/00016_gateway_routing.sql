-- Routing by currency (internal/routing): a session in a routed currency
-- is charged through the gateway routed for it, before the default
-- (gateway_credentials.is_default). A currency goes to at most one
-- gateway of an application environment, hence the key; a route lives
-- and dies with the gateway's credentials.

-- +goose Up
CREATE TABLE gateway_routes (
    application_id TEXT NOT NULL,
    environment    TEXT NOT NULL,
    currency       TEXT NOT NULL,
    gateway        TEXT NOT NULL,
    PRIMARY KEY (application_id, environment, currency),
    FOREIGN KEY (application_id, environment, gateway)
        REFERENCES gateway_credentials (application_id, environment, gateway)
);

-- +goose Down
DROP TABLE gateway_routes;
