-- The sandbox simulator's one fact that its signed references cannot
-- carry: the shopper's answer to a 3-D Secure challenge or an off-site
-- approval (internal/gateway/sandbox). Kept here so that the callback
-- reads the answer on whichever instance it reaches. charge_id is the
-- hex of the simulator's charge id; the first answer stands. Rows are
-- sandbox test data, pruned a day after they were written.

-- +goose Up
CREATE TABLE sandbox_answers (
    charge_id   TEXT PRIMARY KEY,
    completed   BOOLEAN NOT NULL,
    answered_at BIGINT NOT NULL
);
CREATE INDEX sandbox_answers_age ON sandbox_answers (answered_at);

-- +goose Down
DROP TABLE sandbox_answers;
