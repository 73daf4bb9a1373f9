// Package memo keeps values read from the store for a few seconds, on the
// hot paths where reading them on every request would cost more than the
// request itself (API keys, applications). What it answers may be that
// many seconds old: each caller says what staleness it can accept.
package memo

import (
	"sync"
	"time"
)

// Cache maps keys to values that expire. It holds at most max entries;
// when full it forgets an arbitrary one, which is enough for caches whose
// working set is small (the keys and applications in use).
type Cache[K comparable, V any] struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu sync.Mutex
	m  map[K]entry[V]
}

type entry[V any] struct {
	v       V
	expires time.Time
}

// New returns a cache whose entries live for ttl, by the clock now.
func New[K comparable, V any](ttl time.Duration, max int, now func() time.Time) *Cache[K, V] {
	return &Cache[K, V]{ttl: ttl, max: max, now: now, m: make(map[K]entry[V])}
}

// Get returns the value of k if it is there and fresh.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || !c.now().Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put stores v under k until the ttl passes, or until notAfter if that is
// earlier (zero: no such bound).
func (c *Cache[K, V]) Put(k K, v V, notAfter time.Time) {
	expires := c.now().Add(c.ttl)
	if !notAfter.IsZero() && notAfter.Before(expires) {
		expires = notAfter
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = entry[V]{v, expires}
}

// Forget drops k.
func (c *Cache[K, V]) Forget(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
}

// Clear drops every entry.
func (c *Cache[K, V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}
