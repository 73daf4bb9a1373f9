package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sakkhq/sakk/internal/store"
)

// Store counts requests in the database, so that a limit holds across
// every instance sharing it. It is safe for concurrent use.
//
// A database write per request would make the limiter as costly as the
// request it guards (a commit each, on PostgreSQL the wait for its WAL to
// reach the disk). So an instance takes a share of a window's allowance
// at once: leaseShare of the limit (at most maxLease requests, at least
// one), counted in the database in one statement, and hands it out from
// memory. A limit under 2×leaseShare is still counted one request at a
// time, exactly. The price: what an instance took and had not handed out
// when the window ends is not spent by anyone, so with N instances a
// client may be refused up to N×limit/leaseShare requests early; it is
// never allowed more than the limit.
type Store struct {
	st  *store.Store
	now func() time.Time
	// full remembers the windows this process saw the database refuse, so
	// that a client hammering while limited is refused here, without a
	// database round trip each time. It can only refuse what the database
	// would: within a window counts never go down (refused requests are
	// not counted), and a raised limit misses the cache.
	full *table

	mu     sync.Mutex
	leases map[counterKey]*lease
}

const (
	leaseShare = 100  // an instance takes a hundredth of a limit at once
	maxLease   = 1000 // and never more than this many requests
)

// lease is the places in a window's count that this process took from
// the database and has not handed out: next to last, 1-based.
type lease struct {
	// fill is held while taking more places from the database, so that
	// requests arriving together wait for one statement rather than each
	// take a lease of their own.
	fill       sync.Mutex
	start, end int64 // the window; these and the places are Store.mu's
	next, last int
}

// NewStore returns a limiter that counts in st, reading the time from now.
// Prune deletes its ended windows.
func NewStore(st *store.Store, now func() time.Time) *Store {
	return &Store{st: st, now: now, full: newTable(), leases: make(map[counterKey]*lease)}
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
	n := min(max(limit/leaseShare, 1), maxLease)
	var l *lease
	if n > 1 {
		l = s.lease(k)
		if place, ok := s.take(l, start, limit); ok {
			return decide(now, end, limit, place, true), nil
		}
		l.fill.Lock()
		defer l.fill.Unlock()
		if place, ok := s.take(l, start, limit); ok { // filled while this one waited
			return decide(now, end, limit, place, true), nil
		}
	}
	count, counted, err := s.st.IncrementRateCounter(ctx, key, time.UnixMicro(start), time.UnixMicro(end), limit, n)
	if err == nil && !counted && n > 1 {
		// Fewer than n left in the window: take them one at a time.
		n = 1
		count, counted, err = s.st.IncrementRateCounter(ctx, key, time.UnixMicro(start), time.UnixMicro(end), limit, n)
	}
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: %w", err)
	}
	if !counted {
		s.full.setFull(k, now.UnixMicro(), start, end, limit)
		return decide(now, end, limit, 0, false), nil
	}
	first := count - n + 1 // this request's place; the rest are the lease
	if n > 1 {
		s.mu.Lock()
		l.start, l.end, l.next, l.last = start, end, first+1, count
		s.mu.Unlock()
	}
	return decide(now, end, limit, first, true), nil
}

// lease returns k's lease, empty when new.
func (s *Store) lease(k counterKey) *lease {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.leases[k]
	if l == nil {
		l = &lease{}
		s.leases[k] = l
	}
	return l
}

// take hands out the next place of l for the window starting at start,
// if one is left within limit.
func (s *Store) take(l *lease, start int64, limit int) (place int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.start != start || l.next > l.last || l.next > limit {
		return 0, false
	}
	l.next++
	return l.next - 1, true
}

// Prune deletes the counters of ended windows, in the database and in
// this process.
func (s *Store) Prune(ctx context.Context) error {
	now := s.now()
	s.full.sweep(now.UnixMicro())
	s.mu.Lock()
	for k, l := range s.leases {
		if l.end <= now.UnixMicro() {
			delete(s.leases, k)
		}
	}
	s.mu.Unlock()
	if _, err := s.st.PruneRateCounters(ctx, now); err != nil {
		return fmt.Errorf("ratelimit: %w", err)
	}
	return nil
}
