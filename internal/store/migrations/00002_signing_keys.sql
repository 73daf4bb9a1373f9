-- The keys that sign sakk's own tokens (session, SDK and payment
-- verification JWTs). They live in the database, not in each instance's
-- memory, so that every instance sharing it signs and verifies with the
-- same keys.

-- +goose Up
-- kid names the key in a token's header, e.g. "session-2026-11", then
-- "session-2026-11-2" for a second key of the same month. public_key is
-- the raw public key in unpadded base64url (a JWK's "x"); the private key is
-- only ever stored sealed by the installation's encryption key. A key signs
-- until retires_at and verifies until expires_at, which is at least
-- retires_at plus the longest token lifetime.
CREATE TABLE signing_keys (
    kid                TEXT PRIMARY KEY,
    algorithm          TEXT NOT NULL,
    public_key         TEXT NOT NULL,
    sealed_private_key TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    retires_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    CHECK (retires_at <= expires_at)
);

-- +goose Down
DROP TABLE signing_keys;
