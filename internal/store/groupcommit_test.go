package store_test

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// Transactions that share a commit still succeed or fail each on its own:
// a failing or panicking one leaves no trace, the others all commit. Every
// other one is rerunnable: those may run more than once (when one of them
// fails after writing, the others of its savepoint run again), the rest
// exactly once.
func TestConcurrentTransactionsKeepTheirOwnOutcome(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		const n = 120
		errs := make([]error, n)
		panics := make([]any, n)
		runs := make([]atomic.Int32, n)
		var wg sync.WaitGroup
		for i := range n {
			withTx := st.WithTx
			if i%2 == 1 {
				withTx = st.WithRerunnableTx
			}
			wg.Go(func() {
				defer func() { panics[i] = recover() }()
				errs[i] = withTx(ctx, func(tx *store.Tx) error {
					runs[i].Add(1)
					m := pay.Merchant{ID: fmt.Sprintf("mer_group_%d", i), Name: "m", CreatedAt: now}
					if err := tx.CreateMerchant(ctx, m); err != nil {
						return err
					}
					switch i % 3 {
					case 1:
						return errors.New("refused")
					case 2:
						if i%6 == 2 {
							panic("boom")
						}
						// A constraint error inside the transaction.
						return tx.CreateMerchant(ctx, m)
					}
					return nil
				})
			})
		}
		wg.Wait()
		reruns := 0
		for i := range n {
			switch r := runs[i].Load(); {
			case i%2 == 0 && r != 1:
				t.Errorf("job %d (WithTx) ran %d times", i, r)
			case r > 1:
				reruns++
			}
			exists := merchantExists(t, st, fmt.Sprintf("mer_group_%d", i))
			switch {
			case i%3 == 0:
				if errs[i] != nil || !exists {
					t.Errorf("job %d: err %v, stored %v; want committed", i, errs[i], exists)
				}
			case i%6 == 2:
				if panics[i] != "boom" || exists {
					t.Errorf("job %d: panic %v, stored %v; want the panic back and nothing stored", i, panics[i], exists)
				}
			default:
				if errs[i] == nil || exists {
					t.Errorf("job %d: err %v, stored %v; want its error and nothing stored", i, errs[i], exists)
				}
			}
		}
		t.Logf("%d rerunnable jobs ran again", reruns)
	})
}

func merchantExists(t *testing.T, st *store.Store, id string) bool {
	t.Helper()
	_, err := st.Merchant(t.Context(), id)
	if err != nil && pay.KindOf(err) != pay.NotFound {
		t.Fatal(err)
	}
	return err == nil
}

// Rerunnable transactions queued together share one savepoint: when one
// fails after writing, the ones before it in the group run again, it does
// not, and every other one commits once.
func TestRerunnableTransactionsRunAgainWhenOneFails(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	ctx := t.Context()
	// A transaction holding the writer, so that the others queue up and
	// make one group.
	release, holding := make(chan struct{}), make(chan struct{})
	go st.WithTx(ctx, func(tx *store.Tx) error { close(holding); <-release; return nil })
	<-holding
	const n, failing = 10, 9 // the failing one queues last
	runs := make([]atomic.Int32, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		for st.QueuedJobs() < i {
			runtime.Gosched()
		}
		wg.Go(func() {
			errs[i] = st.WithRerunnableTx(ctx, func(tx *store.Tx) error {
				runs[i].Add(1)
				if err := tx.CreateMerchant(ctx, pay.Merchant{ID: fmt.Sprintf("mer_rerun_%d", i), Name: "m", CreatedAt: now}); err != nil {
					return err
				}
				if i == failing {
					return errors.New("refused after writing")
				}
				return nil
			})
		})
	}
	for st.QueuedJobs() < n {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	total := 0
	for i := range n {
		total += int(runs[i].Load())
		stored := merchantExists(t, st, fmt.Sprintf("mer_rerun_%d", i))
		if i == failing {
			if errs[i] == nil || stored || runs[i].Load() != 1 {
				t.Errorf("failing job: err %v, stored %v, ran %d times; want its error, nothing stored, one run", errs[i], stored, runs[i].Load())
			}
		} else if errs[i] != nil || !stored {
			t.Errorf("job %d: err %v, stored %v; want committed", i, errs[i], stored)
		}
	}
	if want := 2*n - 1; total != want {
		t.Errorf("%d runs in all, want %d: every job queued before the failing one runs again", total, want)
	}
}

// WithStatement stores what its one statement writes, on PostgreSQL
// outside a transaction: concurrent statements all commit, a constraint
// error is a Conflict that writes nothing, and a second statement is
// refused, on both engines alike, before it runs.
func TestWithStatement(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		const n = 40
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				m := pay.Merchant{ID: fmt.Sprintf("mer_stmt_%d", i), Name: "m", CreatedAt: now}
				errs[i] = st.WithStatement(ctx, func(tx *store.Tx) error { return tx.CreateMerchant(ctx, m) })
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("statement %d: %v", i, err)
			}
			if _, err := st.Merchant(ctx, fmt.Sprintf("mer_stmt_%d", i)); err != nil {
				t.Fatalf("merchant %d: %v", i, err)
			}
		}

		again := pay.Merchant{ID: "mer_stmt_0", Name: "again", CreatedAt: now}
		err := st.WithStatement(ctx, func(tx *store.Tx) error { return tx.CreateMerchant(ctx, again) })
		if pay.KindOf(err) != pay.Conflict {
			t.Fatalf("same id again: %v, want a Conflict", err)
		}
		if m, _ := st.Merchant(ctx, "mer_stmt_0"); m.Name != "m" {
			t.Fatalf("merchant after the conflict: %+v", m)
		}

		second := pay.Merchant{ID: "mer_stmt_second", Name: "m", CreatedAt: now}
		var recovered any
		func() {
			defer func() { recovered = recover() }()
			st.WithStatement(ctx, func(tx *store.Tx) error {
				tx.MerchantByName(ctx, "m")
				return tx.CreateMerchant(ctx, second)
			})
		}()
		if recovered == nil {
			t.Fatal("a second statement ran")
		}
		if _, err := st.Merchant(ctx, second.ID); pay.KindOf(err) != pay.NotFound {
			t.Fatalf("the refused second statement's merchant: %v", err)
		}
	})
}
