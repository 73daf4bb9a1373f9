package store_test

import (
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

func TestRateCounters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		minute := now.Truncate(time.Minute)
		type call struct {
			key         string
			start, end  time.Time
			limit       int
			n           int // requests at once; 0 is 1
			wantCount   int
			wantCounted bool
		}
		check := func(c call) {
			t.Helper()
			count, counted, err := st.IncrementRateCounter(ctx, c.key, c.start, c.end, c.limit, max(c.n, 1))
			if err != nil {
				t.Fatal(err)
			}
			if count != c.wantCount || counted != c.wantCounted {
				t.Errorf("%s [%v, %v) limit %d: (%d, %v), want (%d, %v)", c.key, c.start, c.end, c.limit,
					count, counted, c.wantCount, c.wantCounted)
			}
		}
		short, long := minute.Add(time.Minute), minute.Add(time.Hour)
		for _, c := range []call{
			{"k", minute, short, 2, 0, 1, true},
			{"k", minute, short, 2, 0, 2, true},
			{"k", minute, short, 2, 0, 0, false}, // full: not counted
			{"k", minute, short, 3, 0, 3, true},  // a raised limit counts on from 2
			{"k", minute, short, 1, 0, 0, false}, // a lowered one refuses
			{"k", minute, long, 2, 0, 1, true},   // same key and start, another window
			{"k", short, short.Add(time.Minute), 2, 0, 1, true},
			{"k2", minute, short, 2, 0, 1, true},
			{"k3", minute, short, 0, 0, 0, false}, // limit 0 counts nothing, not even a first
			{"k3", minute, short, 1, 0, 1, true},
			{"k4", minute, short, 10, 4, 4, true}, // several at once
			{"k4", minute, short, 10, 4, 8, true},
			{"k4", minute, short, 10, 4, 0, false}, // only 2 left: none counted
			{"k4", minute, short, 10, 0, 9, true},
			{"k5", minute, short, 3, 4, 0, false}, // more than the limit, even first
		} {
			check(c)
		}

		// At the end of the first minute, its counters go and the others stay.
		n, err := st.PruneRateCounters(ctx, short)
		if err != nil {
			t.Fatal(err)
		}
		if n != 4 {
			t.Errorf("pruned %d counters at %v, want 4 (k, k2, k3, k4 of the first minute)", n, short)
		}
		check(call{"k", minute, short, 2, 0, 1, true}) // deleted: starts again
		check(call{"k", minute, long, 2, 0, 2, true})  // kept: counts on
		check(call{"k", short, short.Add(time.Minute), 2, 0, 2, true})
		if n, err := st.PruneRateCounters(ctx, long.Add(time.Hour)); err != nil || n != 3 {
			t.Errorf("prune everything: %d, %v; want 3", n, err)
		}
	})
}
