// Package testclock is the settable clock that tests hand to sakk's
// services in place of time.Now: one value shared by every part of a
// test (as instances share the wall clock), moved only by the test.
// It imports only the standard library, so a test of any package,
// in-package or external, may use it.
package testclock

import (
	"sync"
	"time"
)

// Clock is a time source the test sets; it is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock that reads t until the test moves it.
func New(t time.Time) *Clock { return &Clock{now: t} }

// Now is the clock's time; pass c.Now where a service takes
// func() time.Time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
