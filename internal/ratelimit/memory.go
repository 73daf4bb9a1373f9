package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// Memory counts requests in this process: exact for one instance, blind to
// any other. It is safe for concurrent use.
type Memory struct {
	now      func() time.Time
	counters *table
}

// NewMemory returns a limiter that counts in memory, reading the time from
// now.
func NewMemory(now func() time.Time) *Memory {
	return &Memory{now: now, counters: newTable()}
}

// Allow counts one request under key, unless limit requests were already
// counted in the window in progress. It fails only for a window shorter
// than a microsecond.
func (m *Memory) Allow(_ context.Context, key string, limit int, window time.Duration) (Decision, error) {
	now := m.now()
	start, end, err := windowOf(now, window)
	if err != nil {
		return Decision{}, err
	}
	count, counted := m.counters.add(counterKey{key, window}, now.UnixMicro(), start, end, limit)
	return decide(now, end, limit, count, counted), nil
}

// Prune forgets the counters of ended windows. Allow also does it as the
// counters grow, so calling Prune only returns memory sooner.
func (m *Memory) Prune(context.Context) error {
	m.counters.sweep(m.now().UnixMicro())
	return nil
}

// shardCount is a power of two: requests for different keys rarely wait
// on one lock.
const shardCount = 32

// minSweep is the size below which a shard is never swept.
const minSweep = 256

// table holds counters in memory, sharded by key.
type table struct {
	seed   maphash.Seed
	shards [shardCount]shard
}

type shard struct {
	mu       sync.Mutex
	counters map[counterKey]*counter
	// sweepAt is the size at which adding a key first deletes the
	// counters of ended windows. After a sweep it is twice what is left,
	// so a shard never holds more than about twice the keys seen within a
	// window, and sweeping costs O(1) per added key, amortised.
	sweepAt int
	_       [64]byte // keeps neighbouring shards' locks off one cache line
}

type counterKey struct {
	key    string
	window time.Duration
}

// counter is the count of one key's window [start, end), in microseconds
// since the Unix epoch.
type counter struct {
	start, end int64
	count      int
}

func newTable() *table {
	t := &table{seed: maphash.MakeSeed()}
	for i := range t.shards {
		t.shards[i].counters = make(map[counterKey]*counter)
		t.shards[i].sweepAt = minSweep
	}
	return t
}

func (t *table) shard(key string) *shard {
	return &t.shards[maphash.String(t.seed, key)%shardCount]
}

// add counts one request in k's window [start, end) unless it already
// holds limit, and returns the count after it and whether it was counted.
func (t *table) add(k counterKey, now, start, end int64, limit int) (count int, counted bool) {
	s := t.shard(k.key)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counter(k, now, start, end)
	if c.count >= limit {
		return c.count, false
	}
	c.count++
	return c.count, true
}

// full reports whether k's window starting at start is known to hold at
// least limit requests.
func (t *table) full(k counterKey, start int64, limit int) bool {
	s := t.shard(k.key)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counters[k]
	return c != nil && c.start == start && c.count >= limit
}

// setFull records that k's window [start, end) holds at least limit
// requests.
func (t *table) setFull(k counterKey, now, start, end int64, limit int) {
	s := t.shard(k.key)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counter(k, now, start, end)
	c.count = max(c.count, limit)
}

// counter returns k's counter for the window [start, end), adding or
// restarting it as needed. s.mu is held.
func (s *shard) counter(k counterKey, now, start, end int64) *counter {
	c := s.counters[k]
	if c == nil {
		if len(s.counters) >= s.sweepAt {
			s.sweep(now)
		}
		c = &counter{start: start, end: end}
		s.counters[k] = c
	} else if c.start != start {
		*c = counter{start: start, end: end}
	}
	return c
}

// sweep deletes the counters of windows that ended at or before now.
func (t *table) sweep(now int64) {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		s.sweep(now)
		s.mu.Unlock()
	}
}

func (s *shard) sweep(now int64) {
	for k, c := range s.counters {
		if c.end <= now {
			delete(s.counters, k)
		}
	}
	s.sweepAt = max(minSweep, 2*len(s.counters))
}

// size returns the number of counters held, for tests.
func (t *table) size() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.counters)
		s.mu.Unlock()
	}
	return n
}
