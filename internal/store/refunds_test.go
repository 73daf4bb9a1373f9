package store_test

import (
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/vault"
)

// refundFixture stores an application and n completed payments of 10.00
// MAD, each on its own session, all created at the same instant (so that
// only their ids order them).
func refundFixture(t *testing.T, st *store.Store, n int) (string, []pay.Payment) {
	t.Helper()
	box, err := vault.New(vault.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	app, err := merchant.New(st, box, func() time.Time { return now }).CreateApplication(t.Context(),
		merchant.NewApplication{Name: "Shop", Environment: pay.Sandbox})
	if err != nil {
		t.Fatal(err)
	}
	appID := app.Application.ID
	var ps []pay.Payment
	for range n {
		amount := money.New(1000, "MAD")
		sess := pay.Session{ID: pay.NewID(pay.PrefixSession), ApplicationID: appID, Environment: pay.Sandbox,
			Status: pay.SessionCompleted, Amount: amount, ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now,
			Items: []pay.Item{{Reference: "1", Name: "Mug", UnitPrice: amount, Quantity: 1}}}
		p := pay.Payment{ID: pay.NewID(pay.PrefixPayment), SessionID: sess.ID, ApplicationID: appID, Environment: pay.Sandbox,
			Gateway: "stripe", Method: "card", Status: pay.PaymentCompleted, Amount: amount, Refunded: money.New(0, "MAD"),
			CreatedAt: now, UpdatedAt: now}
		if err := st.WithTx(t.Context(), func(tx *store.Tx) error {
			if err := tx.CreateSession(t.Context(), sess); err != nil {
				return err
			}
			return tx.CreatePayment(t.Context(), p)
		}); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return appID, ps
}

func TestRefundRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		appID, ps := refundFixture(t, st, 1)
		p, now := ps[0], ps[0].CreatedAt
		r := pay.Refund{ID: pay.NewID(pay.PrefixRefund), PaymentID: p.ID, ApplicationID: appID, Environment: pay.Sandbox,
			Amount: money.New(600, "MAD"), Status: store.RefundPending, CreatedAt: now, UpdatedAt: now}
		err := st.WithTx(t.Context(), func(tx *store.Tx) error {
			if err := tx.CreateRefund(t.Context(), r); err != nil {
				return err
			}
			reserved, err := tx.ReservedRefunds(t.Context(), p.ID)
			if err != nil || reserved != 600 {
				t.Errorf("reserved = %d, %v; want 600", reserved, err)
			}
			if err := tx.SettleRefund(t.Context(), r.ID, store.RefundSucceeded, "re_gw", "", "", now); err != nil {
				return err
			}
			if err := tx.SettleRefund(t.Context(), r.ID, store.RefundFailed, "", "x", "y", now); err != store.ErrStale {
				t.Errorf("settling a settled refund: %v, want ErrStale", err)
			}
			if err := tx.AddRefunded(t.Context(), p.ID, 600, now); err != nil {
				return err
			}
			// The payment's refunded sum never passes its amount.
			if err := tx.AddRefunded(t.Context(), p.ID, 401, now); err != store.ErrStale {
				t.Errorf("refunding past the amount: %v, want ErrStale", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.Refund(t.Context(), appID, pay.Sandbox, r.ID)
		if err != nil || got.Status != store.RefundSucceeded || got.GatewayReference != "re_gw" || got.SessionID != p.SessionID || got.Amount != r.Amount {
			t.Errorf("refund %+v, %v", got, err)
		}
		if _, err := st.Refund(t.Context(), "app_other", pay.Sandbox, r.ID); pay.KindOf(err) != pay.NotFound {
			t.Errorf("another application's refund: %v, want not found", err)
		}
		if owner, env, err := st.PaymentOwner(t.Context(), p.ID); owner != appID || env != pay.Sandbox || err != nil {
			t.Errorf("PaymentOwner = %s, %s, %v", owner, env, err)
		}
	})
}

// Rows created at the same instant are ordered by id, and pages resume
// exactly after the previous page's last row.
func TestListPaymentsTies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		appID, ps := refundFixture(t, st, 5)
		f := store.ListFilter{ApplicationID: appID, Environment: pay.Sandbox, Limit: 2}
		var ids []string
		for range 10 {
			page, err := st.ListPayments(t.Context(), f)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page {
				ids = append(ids, p.ID)
			}
			if len(page) < f.Limit {
				break
			}
			last := page[len(page)-1]
			f.After = store.Position{CreatedAt: last.CreatedAt, ID: last.ID}
		}
		if len(ids) != len(ps) {
			t.Fatalf("listed %v, want %d payments", ids, len(ps))
		}
		for i := 1; i < len(ids); i++ {
			if ids[i-1] <= ids[i] {
				t.Errorf("not in descending id order: %v", ids)
			}
		}
		ss, err := st.ListSessions(t.Context(), store.ListFilter{ApplicationID: appID, Environment: pay.Sandbox, Status: "completed", Limit: 100})
		if err != nil || len(ss) != len(ps) {
			t.Errorf("ListSessions: %d, %v; want %d", len(ss), err, len(ps))
		}
	})
}
