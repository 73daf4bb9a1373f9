package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// PutSandboxAnswer records the shopper's answer to the sandbox challenge
// of a charge, unless one is recorded already, and returns the answer
// that stands (the first): completed, or failed.
func (s *Store) PutSandboxAnswer(ctx context.Context, chargeID string, completed bool, at time.Time) (bool, error) {
	var stands bool
	err := s.WithTx(ctx, func(tx *Tx) error {
		if _, err := tx.q.ExecContext(ctx,
			`INSERT INTO sandbox_answers (charge_id, completed, answered_at) VALUES ($1, $2, $3)
			 ON CONFLICT (charge_id) DO NOTHING`, chargeID, completed, toDB(at)); err != nil {
			return err
		}
		return tx.q.QueryRowContext(ctx, `SELECT completed FROM sandbox_answers WHERE charge_id = $1`, chargeID).Scan(&stands)
	})
	return stands, wrap("put sandbox answer", err)
}

// SandboxAnswer reads the answer recorded for a charge's sandbox
// challenge; found is false when the shopper has not answered.
func (s *Store) SandboxAnswer(ctx context.Context, chargeID string) (completed, found bool, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT completed FROM sandbox_answers WHERE charge_id = $1`, chargeID).Scan(&completed)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, nil
	}
	return completed, err == nil, wrap("sandbox answer", err)
}

// PruneSandboxAnswers deletes the answers written before the given time.
func (s *Store) PruneSandboxAnswers(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM sandbox_answers WHERE answered_at < $1`, toDB(before))
	if err != nil {
		return 0, wrap("prune sandbox answers", err)
	}
	n, err := res.RowsAffected()
	return n, wrap("prune sandbox answers", err)
}
