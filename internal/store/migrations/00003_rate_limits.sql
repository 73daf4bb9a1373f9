-- Rate-limit counters, shared by every instance on one database (see
-- internal/ratelimit: on SQLite sakk counts in memory instead, so this
-- table stays empty there). One row per key and fixed window; times are
-- BIGINT microseconds since the Unix epoch, set by Go.

-- +goose Up
-- window_end is part of the key so that one key counted over two window
-- lengths (say 10 a minute and 100 an hour) keeps two counters, and so
-- that rows of ended windows can be found without knowing each key's
-- window. count is never indexed: its updates stay heap-only (HOT) on
-- PostgreSQL.
CREATE TABLE rate_limit_counters (
    key          TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    window_end   BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    PRIMARY KEY (key, window_start, window_end)
);
CREATE INDEX rate_limit_counters_end ON rate_limit_counters (window_end);

-- +goose Down
DROP TABLE rate_limit_counters;
