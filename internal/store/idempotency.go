package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/sakkhq/sakk/internal/pay"
)

// IdempotentResponse is the first answer to a request made with an
// Idempotency-Key, kept to be replayed to its retries.
type IdempotentResponse struct {
	ApplicationID string
	Environment   pay.Environment
	Key           string
	RequestHash   string // SHA-256 of what identifies the request: a retry must match it
	Status        int
	Body          []byte
	CreatedAt     time.Time
}

// SaveIdempotentResponse stores a response in the transaction of the
// change it answers. A key used since notBefore is a Conflict: the caller
// rolls back and replays the stored response instead. An older use of the
// key is forgotten and replaced.
func (tx *Tx) SaveIdempotentResponse(ctx context.Context, r IdempotentResponse, notBefore time.Time) error {
	res, err := tx.q.ExecContext(ctx,
		`INSERT INTO idempotency_keys (application_id, environment, key, request_hash, response_status, response_body, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7)
		 ON CONFLICT (application_id, environment, key) DO UPDATE
		   SET request_hash = excluded.request_hash, response_status = excluded.response_status,
		       response_body = excluded.response_body, created_at = excluded.created_at
		   WHERE idempotency_keys.created_at < $8`,
		r.ApplicationID, string(r.Environment), r.Key, r.RequestHash, r.Status, string(r.Body), toDB(r.CreatedAt), toDB(notBefore))
	if err != nil {
		return wrap("save idempotent response", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrap("save idempotent response", err)
	} else if n == 0 {
		return &pay.Error{Kind: pay.Conflict, Code: "idempotency_key_used", Message: "idempotency key already used"}
	}
	return nil
}

// IdempotentResponse reads the stored response of a key used since
// notBefore; older ones count as never used.
func (s *Store) IdempotentResponse(ctx context.Context, appID string, env pay.Environment, key string, notBefore time.Time) (IdempotentResponse, error) {
	r := IdempotentResponse{ApplicationID: appID, Environment: env, Key: key}
	var body string
	var created int64
	err := s.r.QueryRowContext(ctx,
		`SELECT request_hash, response_status, response_body, created_at FROM idempotency_keys
		 WHERE application_id = $1 AND environment = $2 AND key = $3 AND created_at >= $4`,
		appID, string(env), key, toDB(notBefore)).Scan(&r.RequestHash, &r.Status, &body, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return r, notFound("idempotency key")
	}
	r.Body, r.CreatedAt = []byte(body), fromDB(created)
	return r, wrap("idempotent response", err)
}

// PruneIdempotentResponses deletes responses stored before the given time.
func (s *Store) PruneIdempotentResponses(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.WithTx(ctx, func(tx *Tx) error {
		res, err := tx.q.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, toDB(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, wrap("prune idempotent responses", err)
}
