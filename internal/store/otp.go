package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/sakkhq/sakk/internal/pay"
)

// OTPCode is the one-time code currently valid for one identifier of an
// application environment (package otp owns the rules: length, lifetime,
// attempts). The store keeps one per (application, environment, channel,
// identifier); putting a new one replaces the old.
type OTPCode struct {
	ID            string // "ver_…": the verification id; a new code gets a new one
	ApplicationID string
	Environment   pay.Environment
	SessionID     string // the session the code was requested for; may be empty
	Channel       string // "email" or "phone"
	Identifier    string // normalised email address or E.164 phone number
	CodeHash      string // keyed hash of the id and the code; never the code
	Attempts      int    // wrong tries so far
	ExpiresAt     time.Time
	UsedAt        time.Time // zero until verified
	CreatedAt     time.Time
}

// PutOTPCode stores c as the code of its identifier, replacing (id
// included) whatever code the identifier had, used or not: from this
// statement on, only c can verify it. It is one statement, so two
// concurrent requests leave exactly one of the two codes.
func (s *Store) PutOTPCode(ctx context.Context, c OTPCode) error {
	return s.WithRerunnableTx(ctx, func(tx *Tx) error { return tx.putOTPCode(ctx, c) })
}

func (tx *Tx) putOTPCode(ctx context.Context, c OTPCode) error {
	_, err := tx.q.ExecContext(ctx,
		`INSERT INTO otp_codes (id, application_id, environment, session_id, channel, identifier, code_hash, attempts, expires_at, used_at, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		 ON CONFLICT (application_id, environment, channel, identifier) DO UPDATE
		   SET id = excluded.id, session_id = excluded.session_id, code_hash = excluded.code_hash,
		       attempts = excluded.attempts, expires_at = excluded.expires_at, used_at = excluded.used_at,
		       created_at = excluded.created_at`,
		c.ID, c.ApplicationID, string(c.Environment), c.SessionID, c.Channel, c.Identifier, c.CodeHash,
		c.Attempts, toDB(c.ExpiresAt), nullTime(c.UsedAt), toDB(c.CreatedAt))
	if err != nil || c.SessionID == "" {
		return wrap("put otp code", err)
	}
	_, err = tx.q.ExecContext(ctx,
		`INSERT INTO session_codes (id, application_id, environment, session_id, channel, identifier, sent_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		c.ID, c.ApplicationID, string(c.Environment), c.SessionID, c.Channel, c.Identifier, toDB(c.CreatedAt))
	return wrap("put otp code", err)
}

// OTPCode reads the code of an identifier, whatever its state (expired,
// used, out of attempts): deciding whether it still counts is the caller's
// business, and UseOTPCode re-checks atomically.
func (s *Store) OTPCode(ctx context.Context, appID string, env pay.Environment, channel, identifier string) (OTPCode, error) {
	c := OTPCode{ApplicationID: appID, Environment: env, Channel: channel, Identifier: identifier}
	var expires, created int64
	var used sql.NullInt64
	err := s.read.QueryRowContext(ctx,
		`SELECT id, session_id, code_hash, attempts, expires_at, used_at, created_at FROM otp_codes
		 WHERE application_id = $1 AND environment = $2 AND channel = $3 AND identifier = $4`,
		appID, string(env), channel, identifier).
		Scan(&c.ID, &c.SessionID, &c.CodeHash, &c.Attempts, &expires, &used, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("otp code")
	}
	c.ExpiresAt, c.UsedAt, c.CreatedAt = fromDB(expires), fromNullTime(used), fromDB(created)
	return c, wrap("otp code", err)
}

// UseOTPCode marks the code with this id used, if it is still live at
// now: not used, not replaced, not expired and with fewer than
// maxAttempts wrong tries. It reports whether it did. The check and the
// change are one UPDATE, which the database serialises on the row, so of
// any number of concurrent calls (on any number of instances) at most one
// ever returns true for a code.
func (s *Store) UseOTPCode(ctx context.Context, id string, now time.Time, maxAttempts int) (bool, error) {
	return s.execAffected(ctx, "use otp code",
		`UPDATE otp_codes SET used_at = $2
		 WHERE id = $1 AND used_at IS NULL AND attempts < $3 AND expires_at > $2`,
		[]any{id, toDB(now), maxAttempts},
		`UPDATE session_codes SET verified_at = $2 WHERE id = $1`, id, toDB(now))
}

// CountOTPFailure counts one wrong try against the code with this id, if
// it is still live at now (as for UseOTPCode), and reports whether it did.
// As one UPDATE with the limit in its WHERE clause, concurrent wrong tries
// never raise attempts above maxAttempts; the try that reaches it leaves a
// code nothing can use any more.
func (s *Store) CountOTPFailure(ctx context.Context, id string, now time.Time, maxAttempts int) (bool, error) {
	return s.execAffected(ctx, "count otp failure",
		`UPDATE otp_codes SET attempts = attempts + 1
		 WHERE id = $1 AND used_at IS NULL AND attempts < $3 AND expires_at > $2`,
		[]any{id, toDB(now), maxAttempts},
		`UPDATE session_codes SET failures = failures + 1 WHERE id = $1`, id)
}

// execAffected runs query in a write transaction (on SQLite, one of a
// group-committed batch) and reports whether it changed one row; when it
// did, runs then with thenArgs in the same transaction.
func (s *Store) execAffected(ctx context.Context, op, query string, args []any, then string, thenArgs ...any) (bool, error) {
	var ok bool
	err := s.WithRerunnableTx(ctx, func(tx *Tx) error {
		res, err := tx.q.ExecContext(ctx, query, args...)
		if ok, err = affected(op, res, err); err != nil || !ok {
			return err
		}
		_, err = tx.q.ExecContext(ctx, then, thenArgs...)
		return wrap(op, err)
	})
	return ok, err
}

// SessionCode is one code sent for a session, as its timeline shows it.
type SessionCode struct {
	ID         string // the verification id
	Channel    string // "email" or "phone"
	Identifier string
	Failures   int       // wrong codes typed against it
	VerifiedAt time.Time // zero unless it verified the customer
	SentAt     time.Time
}

// SessionCodes lists the codes sent for a session of an application
// environment, oldest first.
func (s *Store) SessionCodes(ctx context.Context, appID string, env pay.Environment, sessionID string) ([]SessionCode, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT id, channel, identifier, failures, verified_at, sent_at FROM session_codes
		 WHERE session_id = $1 AND application_id = $2 AND environment = $3 ORDER BY sent_at, id`,
		sessionID, appID, string(env))
	if err != nil {
		return nil, wrap("session codes", err)
	}
	defer rows.Close()
	var cs []SessionCode
	for rows.Next() {
		var c SessionCode
		var verified sql.NullInt64
		var sent int64
		if err := rows.Scan(&c.ID, &c.Channel, &c.Identifier, &c.Failures, &verified, &sent); err != nil {
			return nil, wrap("session codes", err)
		}
		c.VerifiedAt, c.SentAt = fromNullTime(verified), fromDB(sent)
		cs = append(cs, c)
	}
	return cs, wrap("session codes", rows.Err())
}

func affected(op string, res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrap(op, err)
	}
	return n == 1, nil
}

// PruneOTPCodes deletes the codes that expired before the given time,
// used or not, and returns how many it deleted. Instances may prune at the
// same time: each deletion is idempotent.
func (s *Store) PruneOTPCodes(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM otp_codes WHERE expires_at < $1`, toDB(before))
	if err != nil {
		return 0, wrap("prune otp codes", err)
	}
	n, err := res.RowsAffected()
	return n, wrap("prune otp codes", err)
}
