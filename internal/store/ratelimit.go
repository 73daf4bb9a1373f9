package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// IncrementRateCounter counts n requests against the rate-limit counter
// of key for the window [start, end), unless the counter would then hold
// more than limit requests. It returns the count including these
// requests, or counted false (and count 0) when fewer than n were left: a
// refused request is not counted, so a count never exceeds the limit it
// was checked against. (n is more than one for a limiter that takes
// several requests' worth of the window at once, ratelimit.Store.)
//
// It is one statement, on its own rather than in a caller's transaction: a
// request's count must stand even when the request's own work rolls back,
// and the database serialises concurrent statements on the counter's row,
// so of any number of concurrent calls on any number of instances exactly
// limit requests are counted.
func (s *Store) IncrementRateCounter(ctx context.Context, key string, start, end time.Time, limit, n int) (count int, counted bool, err error) {
	if limit < 1 || n < 1 || n > limit {
		// The INSERT below would count a first n whatever the limit.
		return 0, false, nil
	}
	// With the WHERE false, the upsert changes nothing and RETURNING gives
	// no row (SQLite >= 3.35 and PostgreSQL agree on both).
	err = s.write.QueryRowContext(ctx,
		`INSERT INTO rate_limit_counters (key, window_start, window_end, count) VALUES ($1, $2, $3, $5)
		 ON CONFLICT (key, window_start, window_end) DO UPDATE SET count = rate_limit_counters.count + $5
		   WHERE rate_limit_counters.count + $5 <= $4
		 RETURNING count`,
		key, toDB(start), toDB(end), limit, n).Scan(&count)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, wrap("increment rate counter", err)
	}
	return count, true, nil
}

// PruneRateCounters deletes the counters of windows that ended at or
// before now, and returns how many it deleted. Instances may prune at the
// same time: each deletion is idempotent.
func (s *Store) PruneRateCounters(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM rate_limit_counters WHERE window_end <= $1`, toDB(now))
	if err != nil {
		return 0, wrap("prune rate counters", err)
	}
	n, err := res.RowsAffected()
	return n, wrap("prune rate counters", err)
}
