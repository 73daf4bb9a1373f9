package store_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// A link's Paid counts its sessions that were paid (completed, or paid
// and since refunded), not those opened, declined, cancelled or expired,
// nor other links' or plain sessions.
func TestPaymentLinkPaidCount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		app := newApp(t, st)
		link := pay.PaymentLink{
			ID: pay.NewID(pay.PrefixPaymentLink), ApplicationID: app.ID, Environment: pay.Sandbox, Currency: "MAD",
			Items:         []pay.Item{{Reference: "T", Name: "Ticket", UnitPrice: mad(2500), Quantity: 2}},
			QuantityLimit: 5, ExpiresAt: now.Add(24 * time.Hour), Active: true, CreatedAt: now, UpdatedAt: now,
		}
		other := link
		other.ID, other.QuantityLimit, other.ExpiresAt = pay.NewID(pay.PrefixPaymentLink), 0, time.Time{}
		if err := st.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.CreatePaymentLink(ctx, link); err != nil {
				return err
			}
			return tx.CreatePaymentLink(ctx, other)
		}); err != nil {
			t.Fatal(err)
		}
		// Each session moves along a path to its final status.
		paths := map[string][]pay.SessionStatus{
			"open":      nil,
			"declined":  {pay.SessionFailed},
			"cancelled": {pay.SessionCancelled},
			"expired":   {pay.SessionExpired},
			"paid":      {pay.SessionCompleted},
			"paid too":  {pay.SessionPending, pay.SessionCompleted},
			"refunded":  {pay.SessionCompleted, pay.SessionRefunded},
		}
		for name, path := range paths {
			for _, linkID := range []string{link.ID, other.ID, ""} {
				if linkID == other.ID && name != "paid" {
					continue // the other link: one paid session
				}
				s := newSession(t, st, app, pay.Sandbox)
				err := st.WithTx(ctx, func(tx *store.Tx) error {
					if linkID != "" {
						if err := tx.AddPaymentLinkSession(ctx, linkID, s.ID); err != nil {
							return err
						}
					}
					from := s.Status
					for _, to := range path {
						if err := tx.SetSessionStatus(ctx, s.ID, from, to, now); err != nil {
							return err
						}
						from = to
					}
					return nil
				})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
		}
		got, err := st.PaymentLink(ctx, link.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := link
		want.Paid = 3 // paid, paid too, refunded
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("PaymentLink (-want +got):\n%s", diff)
		}
		links, err := st.PaymentLinks(ctx, app.ID, pay.Sandbox, store.Position{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		paid := map[string]int64{}
		for _, l := range links {
			paid[l.ID] = l.Paid
		}
		if diff := cmp.Diff(map[string]int64{link.ID: 3, other.ID: 1}, paid); diff != "" {
			t.Errorf("PaymentLinks' paid counts (-want +got):\n%s", diff)
		}
		if _, err := st.PaymentLink(ctx, "plink_missing"); pay.KindOf(err) != pay.NotFound {
			t.Errorf("missing link: %v, want NotFound", err)
		}
		// A session belongs to one link at most.
		s := newSession(t, st, app, pay.Sandbox)
		err = st.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.AddPaymentLinkSession(ctx, link.ID, s.ID); err != nil {
				return err
			}
			return tx.AddPaymentLinkSession(ctx, other.ID, s.ID)
		})
		if pay.KindOf(err) != pay.Conflict {
			t.Errorf("a session added to a second link: %v, want Conflict", err)
		}
	})
}
