package store_test

import (
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// A status read finds a session with its newest attempt, or an attempt
// with its session, in one query, and nothing of another tenant.
func TestStatusReads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		app := newApp(t, st)
		s := newSession(t, st, app, pay.Live)

		sess, p, err := st.StatusBySession(ctx, app.ID, pay.Live, s.ID)
		if err != nil || p != nil {
			t.Fatalf("session without attempts: payment %v, err %v; want nil, nil", p, err)
		}
		if sess.ID != s.ID || sess.Status != pay.SessionInit || sess.Amount != s.Amount || sess.Customer.Email != s.Customer.Email ||
			!sess.CreatedAt.Equal(s.CreatedAt) || !sess.UpdatedAt.Equal(s.UpdatedAt) || !sess.ExpiresAt.Equal(s.ExpiresAt) {
			t.Errorf("session summary %+v, want the fields of %+v", sess, s)
		}

		failed := pay.Payment{ID: pay.NewID(pay.PrefixPayment), SessionID: s.ID, ApplicationID: app.ID, Environment: pay.Live,
			Gateway: "sandbox", Status: pay.PaymentFailed, Amount: s.Amount, Refunded: mad(0), CreatedAt: now, UpdatedAt: now}
		paid := failed
		paid.ID, paid.Status, paid.Refunded = pay.NewID(pay.PrefixPayment), pay.PaymentCompleted, mad(100)
		paid.CreatedAt, paid.UpdatedAt = now.Add(time.Minute), now.Add(2*time.Minute)
		for _, p := range []pay.Payment{failed, paid} {
			if err := st.WithTx(ctx, func(tx *store.Tx) error { return tx.CreatePayment(ctx, p) }); err != nil {
				t.Fatal(err)
			}
		}
		_, latest, err := st.StatusBySession(ctx, app.ID, pay.Live, s.ID)
		if err != nil || latest == nil || latest.ID != paid.ID {
			t.Fatalf("newest attempt: %+v, %v; want %s", latest, err, paid.ID)
		}
		for _, c := range []struct {
			id   string
			want pay.Payment
		}{{failed.ID, failed}, {paid.ID, paid}} {
			sess, got, err := st.StatusByPayment(ctx, app.ID, pay.Live, c.id)
			if err != nil {
				t.Fatal(err)
			}
			w := c.want
			if sess.ID != s.ID || got.ID != w.ID || got.SessionID != s.ID || got.Status != w.Status || got.Amount != w.Amount ||
				got.Refunded != w.Refunded || !got.CreatedAt.Equal(w.CreatedAt) || !got.UpdatedAt.Equal(w.UpdatedAt) {
				t.Errorf("status of %s: session %s, payment %+v; want %+v", c.id, sess.ID, got, w)
			}
		}

		other := newApp(t, st)
		for _, c := range []struct {
			name, appID string
			env         pay.Environment
		}{{"other environment", app.ID, pay.Sandbox}, {"other application", other.ID, pay.Live}} {
			if _, _, err := st.StatusBySession(ctx, c.appID, c.env, s.ID); pay.KindOf(err) != pay.NotFound {
				t.Errorf("%s, session: err = %v, want NotFound", c.name, err)
			}
			if _, _, err := st.StatusByPayment(ctx, c.appID, c.env, paid.ID); pay.KindOf(err) != pay.NotFound {
				t.Errorf("%s, payment: err = %v, want NotFound", c.name, err)
			}
		}
	})
}
