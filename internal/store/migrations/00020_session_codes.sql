-- What a session's payment timeline shows of its verification: each code
-- sent for the session (by email or SMS, to which identifier), when it was
-- verified, and how many wrong codes were typed. otp_codes cannot say it:
-- its one row per identifier is replaced by the next request and pruned
-- after expiry. The id is the verification id ("ver_…"); codes sent
-- without a session are not kept here. Times are BIGINT microseconds.

-- +goose Up
CREATE TABLE session_codes (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id),
    environment    TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    channel        TEXT NOT NULL,
    identifier     TEXT NOT NULL,
    failures       BIGINT NOT NULL DEFAULT 0,
    verified_at    BIGINT,
    sent_at        BIGINT NOT NULL
);
CREATE INDEX session_codes_by_session ON session_codes (session_id, sent_at);

-- +goose Down
DROP TABLE session_codes;
