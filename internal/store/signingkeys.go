package store

import (
	"context"
	"time"
)

// SigningKey is a key that signs sakk's own tokens, as stored. Which key
// signs, when keys rotate and how tokens are checked is package token's
// business; the store only keeps the rows.
type SigningKey struct {
	KID       string // the name in a token's header, e.g. "session-2026-11"
	Algorithm string // JWS "alg": "HS256" (earlier versions: "EdDSA")
	PublicKey string // an EdDSA key's raw public key in unpadded base64url, as a JWK's "x"; "" for HS256
	// SealedPrivateKey is the HMAC secret (of an EdDSA key, its Ed25519
	// seed) sealed by vault.Box.Seal: the store never sees it in clear.
	SealedPrivateKey string
	CreatedAt        time.Time
	SignsFrom        time.Time // it signs nothing before this (it verifies from its creation)
	RetiresAt        time.Time // it signs nothing after this
	ExpiresAt        time.Time // it verifies nothing after this
}

// signingKeyLockID is the PostgreSQL advisory lock that serialises the
// creation of signing keys by instances sharing the database ("ZKK" + 1;
// migrationLockID is "ZKK").
const signingKeyLockID = 0x5a4b4c

// LockSigningKeys holds, until the transaction ends, the right to decide
// whether a new signing key is needed, so that instances starting together
// create one key, not one each. On PostgreSQL it takes a transaction-level
// advisory lock; on SQLite a write transaction holds the database's one
// write lock from BEGIN (_txlock=immediate), which already serialises them.
func (tx *Tx) LockSigningKeys(ctx context.Context) error {
	if tx.engine != Postgres {
		return nil
	}
	_, err := tx.q.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(signingKeyLockID))
	return wrap("lock signing keys", err)
}

// CreateSigningKey inserts a key; a kid already taken is a Conflict.
func (tx *Tx) CreateSigningKey(ctx context.Context, k SigningKey) error {
	_, err := tx.q.ExecContext(ctx,
		`INSERT INTO signing_keys (kid, algorithm, public_key, sealed_private_key, created_at, signs_from, retires_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		k.KID, k.Algorithm, k.PublicKey, k.SealedPrivateKey, toDB(k.CreatedAt), toDB(k.SignsFrom), toDB(k.RetiresAt), toDB(k.ExpiresAt))
	return wrap("create signing key", err)
}

const signingKeyColumns = `kid, algorithm, public_key, sealed_private_key, created_at, signs_from, retires_at, expires_at`

// SigningKeys lists the keys that still verify at the given time (expires_at
// after it), newest first: the latest to start signing first.
func (s *Store) SigningKeys(ctx context.Context, at time.Time) ([]SigningKey, error) {
	return signingKeys(ctx, s.r, at)
}

// SigningKeys lists the keys that still verify at the given time, newest
// first, inside the transaction.
func (tx *Tx) SigningKeys(ctx context.Context, at time.Time) ([]SigningKey, error) {
	return signingKeys(ctx, tx.q, at)
}

func signingKeys(ctx context.Context, q querier, at time.Time) ([]SigningKey, error) {
	rows, err := q.QueryContext(ctx,
		`SELECT `+signingKeyColumns+` FROM signing_keys WHERE expires_at > $1
		 ORDER BY signs_from DESC, created_at DESC, kid DESC`, toDB(at))
	if err != nil {
		return nil, wrap("signing keys", err)
	}
	defer rows.Close()
	var keys []SigningKey
	for rows.Next() {
		var k SigningKey
		var created, signs, retires, expires int64
		if err := rows.Scan(&k.KID, &k.Algorithm, &k.PublicKey, &k.SealedPrivateKey, &created, &signs, &retires, &expires); err != nil {
			return nil, wrap("signing keys", err)
		}
		k.CreatedAt, k.SignsFrom, k.RetiresAt, k.ExpiresAt = fromDB(created), fromDB(signs), fromDB(retires), fromDB(expires)
		keys = append(keys, k)
	}
	return keys, wrap("signing keys", rows.Err())
}

// SigningKeyIDs lists every stored kid that is base or starts with
// base + "-" (base, base-2, base-3 …), expired ones included, so that a new
// key's name is never one already used. base must hold neither LIKE
// wildcard (% or _); kids are letters, digits and dashes.
func (tx *Tx) SigningKeyIDs(ctx context.Context, base string) ([]string, error) {
	rows, err := tx.q.QueryContext(ctx,
		`SELECT kid FROM signing_keys WHERE kid = $1 OR kid LIKE $2`, base, base+"-%")
	if err != nil {
		return nil, wrap("signing key ids", err)
	}
	defer rows.Close()
	var kids []string
	for rows.Next() {
		var kid string
		if err := rows.Scan(&kid); err != nil {
			return nil, wrap("signing key ids", err)
		}
		kids = append(kids, kid)
	}
	return kids, wrap("signing key ids", rows.Err())
}

// RetireSigningKeys stops every key still signing at the given time from
// signing after it (retires_at = at), and from verifying after expires
// (expires_at is lowered to it, never raised). It returns how many keys it
// retired.
func (tx *Tx) RetireSigningKeys(ctx context.Context, at, expires time.Time) (int64, error) {
	res, err := tx.q.ExecContext(ctx,
		`UPDATE signing_keys
		 SET retires_at = $1, expires_at = CASE WHEN expires_at < $2 THEN expires_at ELSE $2 END
		 WHERE retires_at > $1`, toDB(at), toDB(expires))
	if err != nil {
		return 0, wrap("retire signing keys", err)
	}
	n, err := res.RowsAffected()
	return n, wrap("retire signing keys", err)
}

// DeleteSigningKeys deletes the keys that expired before expiredBefore and
// were created before createdBefore, and returns how many it deleted.
func (tx *Tx) DeleteSigningKeys(ctx context.Context, expiredBefore, createdBefore time.Time) (int64, error) {
	res, err := tx.q.ExecContext(ctx,
		`DELETE FROM signing_keys WHERE expires_at < $1 AND created_at < $2`,
		toDB(expiredBefore), toDB(createdBefore))
	if err != nil {
		return 0, wrap("delete signing keys", err)
	}
	n, err := res.RowsAffected()
	return n, wrap("delete signing keys", err)
}
