package ratelimit_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/ratelimit"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/testclock"
)

// start is 20 s into a minute, 10:00:20.
var start = time.Date(2026, 11, 22, 10, 0, 20, 0, time.UTC)

// eachLimiter runs f as a subtest for Memory and for Store on each engine,
// each with a fresh clock at start and a fresh store.
func eachLimiter(t *testing.T, f func(t *testing.T, clk *testclock.Clock, l ratelimit.Limiter)) {
	t.Helper()
	t.Run("memory", func(t *testing.T) {
		clk := testclock.New(start)
		f(t, clk, ratelimit.NewMemory(clk.Now))
	})
	for _, engine := range storetest.Engines(t) {
		t.Run("store/"+string(engine), func(t *testing.T) {
			clk := testclock.New(start)
			f(t, clk, ratelimit.NewStore(storetest.Open(t, engine), clk.Now))
		})
	}
}

func allow(t *testing.T, l ratelimit.Limiter, key string, limit int, window time.Duration) ratelimit.Decision {
	t.Helper()
	d, err := l.Allow(t.Context(), key, limit, window)
	if err != nil {
		t.Fatalf("Allow(%q, %d, %v): %v", key, limit, window, err)
	}
	return d
}

// Three a minute: counts, remaining and reset through one window, at its
// end, and into the next.
func TestWindow(t *testing.T) {
	eachLimiter(t, func(t *testing.T, clk *testclock.Clock, l ratelimit.Limiter) {
		for i, step := range []struct {
			advance time.Duration
			want    ratelimit.Decision
		}{
			{0, ratelimit.Decision{Allowed: true, Limit: 3, Remaining: 2, Reset: 40 * time.Second}},
			{0, ratelimit.Decision{Allowed: true, Limit: 3, Remaining: 1, Reset: 40 * time.Second}},
			{10 * time.Second, ratelimit.Decision{Allowed: true, Limit: 3, Remaining: 0, Reset: 30 * time.Second}},
			{0, ratelimit.Decision{Allowed: false, Limit: 3, Remaining: 0, Reset: 30 * time.Second}},
			{29 * time.Second, ratelimit.Decision{Allowed: false, Limit: 3, Remaining: 0, Reset: time.Second}},
			{999999 * time.Microsecond, ratelimit.Decision{Allowed: false, Limit: 3, Remaining: 0, Reset: time.Microsecond}},
			// 10:01:00 exactly: a new window, a full allowance again (the
			// refused requests were not counted, nor carried over).
			{time.Microsecond, ratelimit.Decision{Allowed: true, Limit: 3, Remaining: 2, Reset: time.Minute}},
			{59 * time.Second, ratelimit.Decision{Allowed: true, Limit: 3, Remaining: 1, Reset: time.Second}},
			{time.Second, ratelimit.Decision{Allowed: true, Limit: 3, Remaining: 2, Reset: time.Minute}},
		} {
			clk.Advance(step.advance)
			if got := allow(t, l, "checkout:key_a", 3, time.Minute); got != step.want {
				t.Errorf("step %d at %v: %+v, want %+v", i, clk.Now().Format(time.TimeOnly+".000000"), got, step.want)
			}
		}
	})
}

// Counters are per key and window length; limits apply to the window in
// progress.
func TestKeysAndWindows(t *testing.T) {
	eachLimiter(t, func(t *testing.T, clk *testclock.Clock, l ratelimit.Limiter) {
		type call struct {
			key           string
			limit         int
			window        time.Duration
			wantAllowed   bool
			wantRemaining int
		}
		for i, c := range []call{
			{"checkout:key_a", 1, time.Minute, true, 0},
			{"checkout:key_a", 1, time.Minute, false, 0},
			{"checkout:key_ab", 1, time.Minute, true, 0}, // a key sharing a prefix
			{"checkout:key_b", 1, time.Minute, true, 0},
			{"auth:key_a", 1, time.Minute, true, 0},
			{"checkout:key_a", 1, 15 * time.Minute, true, 0}, // the same key, another window
			{"checkout:key_a", 1, 15 * time.Minute, false, 0},
			{"checkout:key_a", 3, time.Minute, true, 1}, // a raised limit counts on from 1
			{"checkout:key_a", 3, time.Minute, true, 0},
			{"checkout:key_a", 3, time.Minute, false, 0},
			{"checkout:key_a", 2, time.Minute, false, 0}, // a lowered one refuses
			{"checkout:key_c", 0, time.Minute, false, 0}, // limit 0 allows nothing
			{"checkout:key_c", -1, time.Minute, false, 0},
			{"checkout:key_c", 2, time.Minute, true, 1},
		} {
			d := allow(t, l, c.key, c.limit, c.window)
			if d.Allowed != c.wantAllowed || d.Remaining != c.wantRemaining || d.Limit != max(c.limit, 0) {
				t.Errorf("call %d: %+v: %+v", i, c, d)
			}
		}
		// A minute on, the one-minute counters start again and the
		// quarter-hour one is still spent.
		clk.Advance(time.Minute)
		if d := allow(t, l, "checkout:key_a", 1, time.Minute); !d.Allowed {
			t.Errorf("next minute: %+v", d)
		}
		if d := allow(t, l, "checkout:key_a", 1, 15*time.Minute); d.Allowed || d.Reset != 13*time.Minute+40*time.Second {
			t.Errorf("same quarter-hour: %+v", d)
		}
	})
}

func TestBadWindow(t *testing.T) {
	eachLimiter(t, func(t *testing.T, clk *testclock.Clock, l ratelimit.Limiter) {
		for _, w := range []time.Duration{0, -time.Minute, 999 * time.Nanosecond} {
			if d, err := l.Allow(t.Context(), "k", 10, w); err == nil {
				t.Errorf("window %v: %+v, want an error", w, d)
			}
		}
	})
}

// With limit 100, exactly 100 of 300 concurrent requests are allowed, and
// each is told a different remaining count.
func TestConcurrent(t *testing.T) {
	eachLimiter(t, func(t *testing.T, clk *testclock.Clock, l ratelimit.Limiter) {
		burst(t, l, l, 300, 100)
	})
}

// Two instances, each with its own connections to one PostgreSQL
// database, share one limit.
func TestConcurrentInstances(t *testing.T) {
	opts := storetest.Options(t, store.Postgres)
	clk := testclock.New(start)
	var ls []ratelimit.Limiter
	for range 2 {
		st, err := store.Open(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		l := ratelimit.New(st, clk.Now)
		if _, ok := l.(*ratelimit.Store); !ok {
			t.Fatalf("New on PostgreSQL: %T, want *ratelimit.Store", l)
		}
		ls = append(ls, l)
	}
	burst(t, ls[0], ls[1], 300, 100)
}

// A limit of 1000 is taken from the database ten places at a time: one
// instance still allows exactly 1000, each told a different remaining
// count, and refuses the next; two instances together never allow more
// than the limit, and lose at most what each holds untaken.
func TestLeases(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			st := storetest.Open(t, engine)
			clk := testclock.New(start)
			one := ratelimit.NewStore(st, clk.Now)
			for i := range 1000 {
				if d := allow(t, one, "checkout:key_one", 1000, time.Minute); !d.Allowed || d.Remaining != 999-i {
					t.Fatalf("request %d: %+v, want allowed with %d remaining", i+1, d, 999-i)
				}
			}
			if d := allow(t, one, "checkout:key_one", 1000, time.Minute); d.Allowed {
				t.Errorf("request 1001: %+v, want refused", d)
			}
			a, b := ratelimit.NewStore(st, clk.Now), ratelimit.NewStore(st, clk.Now)
			remaining, _ := sendBurst(t, a, b, 3000, 1000)
			if n := len(remaining); n > 1000 || n < 1000-2*9 || len(slices.Compact(remaining)) != n {
				t.Errorf("two instances: %d allowed, remaining %v; want 982 to 1000, each told a different count", n, remaining)
			}
		})
	}
}

// burst sends n concurrent requests for one key, alternating between a and
// b, and checks that exactly limit are allowed, each told a different
// remaining count.
func burst(t *testing.T, a, b ratelimit.Limiter, n, limit int) {
	t.Helper()
	remaining, refused := sendBurst(t, a, b, n, limit)
	want := make([]int, limit)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(remaining, want) || refused != n-limit {
		t.Errorf("%d allowed (remaining %v), %d refused; want %d allowed, remaining 0..%d each once", len(remaining), remaining, refused, limit, limit-1)
	}
}

// sendBurst sends n concurrent requests for one key, alternating between
// a and b, and answers the remaining counts of those allowed, sorted, and
// how many were refused.
func sendBurst(t *testing.T, a, b ratelimit.Limiter, n, limit int) (remaining []int, refused int) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Go(func() {
			d, err := l.Allow(t.Context(), "checkout:key_burst", limit, 15*time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if d.Allowed {
				remaining = append(remaining, d.Remaining)
			} else {
				refused++
			}
		})
	}
	wg.Wait()
	slices.Sort(remaining)
	return remaining, refused
}

func TestNew(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			l := ratelimit.New(storetest.Open(t, engine), time.Now)
			var ok bool
			if engine == store.Postgres {
				_, ok = l.(*ratelimit.Store)
			} else {
				_, ok = l.(*ratelimit.Memory)
			}
			if !ok {
				t.Errorf("New on %s: %T", engine, l)
			}
		})
	}
}

// A store that cannot count is an error, except for a window this process
// already saw full: that is refused without asking.
func TestStoreError(t *testing.T) {
	st, err := store.Open(t.Context(), storetest.Options(t, store.SQLite))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	clk := testclock.New(start)
	l := ratelimit.NewStore(st, clk.Now)
	allow(t, l, "k", 1, time.Minute)
	if d := allow(t, l, "k", 1, time.Minute); d.Allowed {
		t.Fatalf("second of one: %+v", d)
	}
	st.Close()
	if d, err := l.Allow(t.Context(), "k", 1, time.Minute); err != nil || d.Allowed {
		t.Errorf("known full window on a closed store: %+v, %v; want refused", d, err)
	}
	for _, c := range []struct {
		key   string
		limit int
	}{{"k", 2}, {"other", 1}} {
		if d, err := l.Allow(t.Context(), c.key, c.limit, time.Minute); err == nil {
			t.Errorf("%+v on a closed store: %+v, want an error", c, d)
		}
	}
	if err := l.Prune(t.Context()); err == nil {
		t.Error("Prune on a closed store: no error")
	}
}

func TestSetHeaders(t *testing.T) {
	for _, c := range []struct {
		d                       ratelimit.Decision
		limit, remaining, reset string
		retryAfter              string
	}{
		{ratelimit.Decision{Allowed: true, Limit: 100, Remaining: 99, Reset: 15 * time.Minute}, "100", "99", "900", ""},
		{ratelimit.Decision{Allowed: true, Limit: 100, Remaining: 0, Reset: 14*time.Minute + 59200*time.Millisecond}, "100", "0", "900", ""},
		{ratelimit.Decision{Allowed: true, Limit: 10, Remaining: 3, Reset: time.Nanosecond}, "10", "3", "1", ""},
		{ratelimit.Decision{Allowed: false, Limit: 30, Remaining: 0, Reset: 90*time.Second + time.Microsecond}, "30", "0", "91", "91"},
		{ratelimit.Decision{Allowed: false, Limit: 30, Remaining: 0, Reset: time.Millisecond}, "30", "0", "1", "1"},
		{ratelimit.Decision{Allowed: false, Limit: 30, Remaining: 0, Reset: 0}, "30", "0", "1", "1"},
	} {
		h := http.Header{}
		ratelimit.SetHeaders(h, c.d)
		got := []string{h.Get("RateLimit-Limit"), h.Get("RateLimit-Remaining"), h.Get("RateLimit-Reset"), h.Get("Retry-After")}
		if want := []string{c.limit, c.remaining, c.reset, c.retryAfter}; !slices.Equal(got, want) {
			t.Errorf("%+v: limit, remaining, reset, retry-after = %q, want %q", c.d, got, want)
		}
	}
}

// The headers of a real decision: a refused request's Retry-After is the
// time to the window's end.
func TestSetHeadersRefused(t *testing.T) {
	clk := testclock.New(start)
	l := ratelimit.NewMemory(clk.Now)
	allow(t, l, "k", 1, 15*time.Minute)
	clk.Advance(1500 * time.Millisecond) // 10:00:21.5, 14m38.5s before 10:15
	h := http.Header{}
	ratelimit.SetHeaders(h, allow(t, l, "k", 1, 15*time.Minute))
	want := strconv.Itoa(14*60 + 39)
	if h.Get("Retry-After") != want || h.Get("RateLimit-Reset") != want || h.Get("RateLimit-Remaining") != "0" {
		t.Errorf("refused: %v, want Retry-After and RateLimit-Reset %s", h, want)
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	const limit = 1 << 40
	b.Run("serial", func(b *testing.B) {
		l := ratelimit.NewMemory(time.Now)
		ctx := context.Background()
		for b.Loop() {
			l.Allow(ctx, "checkout:key_bench", limit, 15*time.Minute)
		}
	})
	// Each goroutine its own key, as distinct API keys and clients are.
	b.Run("parallel", func(b *testing.B) {
		l := ratelimit.NewMemory(time.Now)
		var mu sync.Mutex
		next := 0
		b.RunParallel(func(pb *testing.PB) {
			mu.Lock()
			key := "checkout:key_" + strconv.Itoa(next)
			next++
			mu.Unlock()
			ctx := context.Background()
			for pb.Next() {
				l.Allow(ctx, key, limit, 15*time.Minute)
			}
		})
	})
	// The worst case: every goroutine on one key, so one lock.
	b.Run("parallel-one-key", func(b *testing.B) {
		l := ratelimit.NewMemory(time.Now)
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				l.Allow(ctx, "checkout:key_bench", limit, 15*time.Minute)
			}
		})
	})
}

func BenchmarkStoreAllow(b *testing.B) {
	for _, engine := range storetest.Engines(b) {
		b.Run(string(engine), func(b *testing.B) {
			l := ratelimit.NewStore(storetest.Open(b, engine), time.Now)
			ctx := b.Context()
			b.Run("counted", func(b *testing.B) {
				for b.Loop() {
					if _, err := l.Allow(ctx, "checkout:key_bench", 1<<40, 15*time.Minute); err != nil {
						b.Fatal(err)
					}
				}
			})
			// A key already refused in this window: answered from memory.
			b.Run("refused", func(b *testing.B) {
				for b.Loop() {
					if _, err := l.Allow(ctx, "checkout:key_spent", 1, time.Hour); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
