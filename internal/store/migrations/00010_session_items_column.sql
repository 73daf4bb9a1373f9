-- A session's items move into the sessions row: written with the session
-- by one INSERT instead of one more per item, each of which also updated
-- the random-keyed session_items index (on the embedded store, one more
-- page to write and fsync per session created).

-- +goose Up
-- items is a JSON array of the session's lines, in order, each
-- {"reference", "product_id", "name", "unit_price_minor", "quantity",
-- "image_url"}; unit prices are integer minor units of the session's
-- currency. NULL marks a session stored before this migration: its items
-- stay in session_items and are still read from there, though nothing
-- writes that table any more.
ALTER TABLE sessions ADD COLUMN items TEXT;

-- +goose Down
-- Sessions created since the Up have their items only in this column: a
-- downgrade loses those sessions' item lines (not their amounts, status or
-- payments).
ALTER TABLE sessions DROP COLUMN items;
