package ratelimit

import (
	"strconv"
	"testing"
	"time"
)

func TestWindowOf(t *testing.T) {
	for _, c := range []struct {
		now        time.Time
		window     time.Duration
		start, end time.Time
	}{
		{time.Date(2026, 11, 22, 10, 7, 3, 0, time.UTC), 15 * time.Minute,
			time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), time.Date(2026, 11, 22, 10, 15, 0, 0, time.UTC)},
		{time.Date(2026, 11, 22, 10, 15, 0, 0, time.UTC), 15 * time.Minute,
			time.Date(2026, 11, 22, 10, 15, 0, 0, time.UTC), time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)},
		// Another zone, the same instant: the same window.
		{time.Date(2026, 11, 22, 11, 7, 3, 0, time.FixedZone("CET", 3600)), 15 * time.Minute,
			time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), time.Date(2026, 11, 22, 10, 15, 0, 0, time.UTC)},
		// Aligned to the Unix epoch, not to time.Time's year 1.
		{time.Unix(7*60*1000+5, 0), 7 * time.Minute, time.Unix(7*60*1000, 0), time.Unix(7*60*1001, 0)},
		{time.Unix(-1, 0), time.Minute, time.Unix(-60, 0), time.Unix(0, 0)},
		{time.Unix(0, 1500), 1001 * time.Nanosecond, time.Unix(0, 1000), time.Unix(0, 2000)},
	} {
		start, end, err := windowOf(c.now, c.window)
		if err != nil || start != c.start.UnixMicro() || end != c.end.UnixMicro() {
			t.Errorf("windowOf(%v, %v) = %v, %v, %v; want %v, %v", c.now, c.window,
				time.UnixMicro(start).UTC(), time.UnixMicro(end).UTC(), err, c.start.UTC(), c.end.UTC())
		}
	}
}

// Memory holds about twice the keys seen within a window, however many
// keys come and go, and Prune empties it once their windows end.
func TestMemoryBounded(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	m := NewMemory(func() time.Time { return now })
	const perWindow = 10000 // keys 100 µs apart, one-second windows
	most := 0
	for i := range 10 * perWindow {
		now = now.Add(100 * time.Microsecond)
		if _, err := m.Allow(t.Context(), "auth:ip:"+strconv.Itoa(i), 10, time.Second); err != nil {
			t.Fatal(err)
		}
		most = max(most, m.counters.size())
	}
	if bound := 2*perWindow + shardCount*minSweep; most > bound {
		t.Errorf("held up to %d counters, want at most %d", most, bound)
	}
	if err := m.Prune(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := m.counters.size(); n > perWindow {
		t.Errorf("after Prune: %d counters, want at most the %d of the window in progress", n, perWindow)
	}
	now = now.Add(time.Second)
	m.Prune(t.Context())
	if n := m.counters.size(); n != 0 {
		t.Errorf("after the last window: %d counters, want 0", n)
	}
}
