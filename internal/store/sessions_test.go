package store_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// A session's items are stored in its own row, exactly (minor units past
// float64's 2^53 included), in order, and without rows in session_items.
func TestSessionItemsInRow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		app := newApp(t, st)
		s := newSession(t, st, app, pay.Sandbox)
		big := newSession(t, st, app, pay.Sandbox)
		big.ID = pay.NewID(pay.PrefixSession)
		big.Items = []pay.Item{{Reference: "B", Name: `Quote " and \ é`, UnitPrice: mad(1<<53 + 1), Quantity: 3}}
		empty := big
		empty.ID, empty.Items = pay.NewID(pay.PrefixSession), nil
		for _, sess := range []pay.Session{big, empty} {
			if err := st.WithTx(ctx, func(tx *store.Tx) error { return tx.CreateSession(ctx, sess) }); err != nil {
				t.Fatal(err)
			}
		}
		for _, want := range []pay.Session{s, big, empty} {
			got, err := st.Session(ctx, app.ID, pay.Sandbox, want.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("session %s round trip (-want +got):\n%s", want.ID, diff)
			}
			err = st.WithTx(ctx, func(tx *store.Tx) error {
				got, err := tx.Session(ctx, app.ID, pay.Sandbox, want.ID)
				if diff := cmp.Diff(want.Items, got.Items); err == nil && diff != "" {
					t.Errorf("tx.Session %s items (-want +got):\n%s", want.ID, diff)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		summary, err := st.SessionSummary(ctx, app.ID, pay.Sandbox, s.ID)
		if err != nil || summary.Items != nil {
			t.Errorf("SessionSummary items = %v, %v; want none", summary.Items, err)
		}
		var legacyRows int
		err = st.WithTx(ctx, func(tx *store.Tx) error {
			n, err := tx.CountRaw(ctx, `SELECT COUNT(*) FROM session_items`)
			legacyRows = n
			return err
		})
		if err != nil || legacyRows != 0 {
			t.Errorf("session_items rows = %d, %v; want 0", legacyRows, err)
		}
	})
}

// A session stored before the items column (items NULL, lines in
// session_items) still reads back with its items in order.
func TestSessionItemsStoredBeforeColumn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		app := newApp(t, st)
		s := newSession(t, st, app, pay.Sandbox)
		err := st.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.ExecRaw(ctx, `UPDATE sessions SET items = NULL WHERE id = $1`, s.ID); err != nil {
				return err
			}
			// Inserted last line first: position, not insertion, orders them.
			for i := len(s.Items) - 1; i >= 0; i-- {
				it := s.Items[i]
				err := tx.ExecRaw(ctx,
					`INSERT INTO session_items (session_id, position, reference, product_id, name, unit_price_minor, quantity, image_url)
					 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
					s.ID, i, it.Reference, it.ProductID, it.Name, it.UnitPrice.Minor, it.Quantity, it.ImageURL)
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.Session(ctx, app.ID, pay.Sandbox, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(s, got); diff != "" {
			t.Errorf("session stored before the items column (-want +got):\n%s", diff)
		}
	})
}
