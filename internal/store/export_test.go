package store

import "context"

// ExecRaw runs one statement in tx, for tests that lay out rows the way
// an earlier version of sakk stored them.
func (tx *Tx) ExecRaw(ctx context.Context, query string, args ...any) error {
	_, err := tx.q.ExecContext(ctx, query, args...)
	return err
}

// CountRaw runs a COUNT query in tx.
func (tx *Tx) CountRaw(ctx context.Context, query string, args ...any) (int, error) {
	var n int
	err := tx.q.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, err
}

// QueuedJobs is how many transactions wait for the embedded store's
// writer.
func (s *Store) QueuedJobs() int { return len(s.group.jobs) }
