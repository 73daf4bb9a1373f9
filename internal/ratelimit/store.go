package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/sakkhq/sakk/internal/store"
)

// Store counts requests in the database, so that a limit holds across
// every instance sharing it: one atomic upsert per allowed request. It is
// safe for concurrent use.
type Store struct {
	st  *store.Store
	now func() time.Time
	// full remembers the windows this process saw the database refuse, so
	// that a client hammering while limited is refused here, without a
	// database round trip each time. It can only refuse what the database
	// would: within a window counts never go down (refused requests are
	// not counted), and a raised limit misses the cache.
	full *table
}

// NewStore returns a limiter that counts in st, reading the time from now.
// Prune deletes its ended windows.
func NewStore(st *store.Store, now func() time.Time) *Store {
	return &Store{st: st, now: now, full: newTable()}
}

// Allow counts one request under key, unless limit requests were already
// counted in the window in progress by any instance. It returns the
// store's error when the request could not be counted.
func (s *Store) Allow(ctx context.Context, key string, limit int, window time.Duration) (Decision, error) {
	now := s.now()
	start, end, err := windowOf(now, window)
	if err != nil {
		return Decision{}, err
	}
	k := counterKey{key, window}
	if limit < 1 || s.full.full(k, start, limit) {
		return decide(now, end, limit, 0, false), nil
	}
	count, counted, err := s.st.IncrementRateCounter(ctx, key, time.UnixMicro(start), time.UnixMicro(end), limit)
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: %w", err)
	}
	if !counted {
		s.full.setFull(k, now.UnixMicro(), start, end, limit)
	}
	return decide(now, end, limit, count, counted), nil
}

// Prune deletes the counters of ended windows, in the database and in
// this process.
func (s *Store) Prune(ctx context.Context) error {
	now := s.now()
	s.full.sweep(now.UnixMicro())
	if _, err := s.st.PruneRateCounters(ctx, now); err != nil {
		return fmt.Errorf("ratelimit: %w", err)
	}
	return nil
}
