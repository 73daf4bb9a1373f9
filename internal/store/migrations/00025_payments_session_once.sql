-- payments_session (session_id) is the first column of
-- payments_session_attempt (session_id, attempt), which answers every
-- query by session on both engines: each payment attempt wrote both.

-- +goose Up
DROP INDEX payments_session;

-- +goose Down
CREATE INDEX payments_session ON payments (session_id);
