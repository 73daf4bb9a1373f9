package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// Transactions that share a commit still succeed or fail each on its own:
// a failing or panicking one leaves no trace, the others all commit.
func TestConcurrentTransactionsKeepTheirOwnOutcome(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		const n = 60
		errs := make([]error, n)
		panics := make([]any, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				defer func() { panics[i] = recover() }()
				errs[i] = st.WithTx(ctx, func(tx *store.Tx) error {
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
		for i := range n {
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
