// Package ratelimit counts requests per key in fixed time windows, so that
// the HTTP surfaces can refuse a client past its allowance ("100 requests
// per 15 minutes per key") with 429 and the RateLimit-* headers.
//
// Windows are fixed and aligned to the Unix epoch: 15-minute windows run
// 10:00-10:15, 10:15-10:30 and so on, for every key and on every instance,
// so instances agree on which window a request falls in and a client is
// told one reset time for all its requests of a window. The known price of
// fixed windows: a client may spend its whole allowance just before a
// window ends and again just after it, up to twice the limit within a short
// moment. Sliding windows would close that gap for more state per key and
// a reset time that moves with every request; for limits that stop abuse
// rather than meter, and with a Reset header that names one moment, fixed
// windows are the usual choice.
//
// Refused requests are not counted. A window holds at most limit counted
// requests, and a client that keeps sending while refused is free again
// when the window ends, like any other: with fixed windows counting them
// would not lengthen its wait anyway. Not counting them also lets the Store
// limiter remember a full window in this process and refuse the rest of it
// without a database round trip each.
//
// Keys are opaque strings chosen by callers, such as "checkout:key_abc" or
// "auth:ip:192.0.2.1". A counter is identified by its key and its window
// length, so one key may be limited over two windows at once (two calls);
// a changed limit applies to the window in progress. Keys are kept in
// memory and, by the Store limiter, in the database: never put a secret in
// one (an API key's id, never its text).
//
// Memory counts in this process; Store counts in the database, so that a
// limit holds across instances sharing it. New picks one for a store.
package ratelimit

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sakkhq/sakk/internal/store"
)

// Decision is the answer for one request.
type Decision struct {
	Allowed   bool
	Limit     int           // requests allowed per window
	Remaining int           // requests left in this window after this one; 0 when refused
	Reset     time.Duration // until the window ends and the count starts again
}

// Limiter decides whether a request under key may proceed: at most limit
// requests per window. An error means the request could not be counted
// (the database is unreachable, ctx ended). Callers should then fail
// closed, answering as for any internal error: a store that cannot count a
// request will almost surely not serve it either, and failing open would
// lift the limits exactly when the system is struggling.
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (Decision, error)
}

// New returns the limiter that fits the store st runs on.
//
// On PostgreSQL several instances may serve one installation, and a limit
// must hold across all of them: counting in each process would multiply it
// by the number of instances, so the counters live in the database.
//
// The embedded SQLite database is opened by one serving process only, so
// counting in that process is exact, and it costs ~100 ns instead of a
// durable write (an fsync, see PERFORMANCE.md) per request on the one
// writer connection that also carries payments. What it loses in a restart
// is the counts of the windows in progress: at most one extra allowance
// per key, once.
func New(st *store.Store, now func() time.Time) Limiter {
	if st.Engine() == store.Postgres {
		return NewStore(st, now)
	}
	return NewMemory(now)
}

// SetHeaders writes d as the RateLimit-Limit, RateLimit-Remaining and
// RateLimit-Reset headers, and Retry-After when the request was refused.
// Reset and Retry-After are whole seconds rounded up, and at least 1, so a
// client that waits that long finds the new window open. (net/http
// canonicalises the names to "Ratelimit-Limit" etc.; header names are
// case-insensitive.)
func SetHeaders(h http.Header, d Decision) {
	reset := strconv.FormatInt(ceilSeconds(d.Reset), 10)
	h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("RateLimit-Reset", reset)
	if !d.Allowed {
		h.Set("Retry-After", reset)
	}
}

func ceilSeconds(d time.Duration) int64 {
	return max(1, int64((d+time.Second-1)/time.Second))
}

// windowOf returns the start and end, in microseconds since the Unix epoch
// (the store's unit), of the window of the given length that holds now.
// The length is taken in whole microseconds.
func windowOf(now time.Time, window time.Duration) (start, end int64, err error) {
	w := window.Microseconds()
	if w < 1 {
		return 0, 0, fmt.Errorf("ratelimit: window %v is shorter than a microsecond", window)
	}
	t := now.UnixMicro()
	start = t - t%w
	if t%w < 0 { // before 1970: % truncates towards zero
		start -= w
	}
	return start, start + w, nil
}

// decide makes the decision for a request counted (or not) in a window
// ending at end.
func decide(now time.Time, end int64, limit, count int, counted bool) Decision {
	d := Decision{Allowed: counted, Limit: max(limit, 0), Reset: time.UnixMicro(end).Sub(now)}
	if counted {
		d.Remaining = limit - count
	}
	return d
}
