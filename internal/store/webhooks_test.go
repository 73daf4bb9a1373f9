package store_test

import (
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

func newEndpoint(t *testing.T, st *store.Store, app pay.Application) pay.WebhookEndpoint {
	t.Helper()
	w := pay.WebhookEndpoint{
		ID: pay.NewID(pay.PrefixWebhook), ApplicationID: app.ID, Environment: pay.Sandbox,
		URL: "http://127.0.0.1:1/hook", Format: pay.WebhookPayment, SealedSecret: "v1:sealed", Enabled: true, CreatedAt: now,
	}
	if err := st.WithTx(t.Context(), func(tx *store.Tx) error { return tx.CreateWebhookEndpoint(t.Context(), w) }); err != nil {
		t.Fatal(err)
	}
	return w
}

// addRoutedDelivery writes an event of subject with seq and its delivery
// to w, as the dispatcher's routing would.
func addRoutedDelivery(t *testing.T, st *store.Store, app pay.Application, w pay.WebhookEndpoint, subject string) store.WebhookDelivery {
	t.Helper()
	var d store.WebhookDelivery
	err := st.WithTx(t.Context(), func(tx *store.Tx) error {
		e, err := tx.AddEvent(t.Context(), pay.Event{
			ID: pay.NewID(pay.PrefixEvent), ApplicationID: app.ID, Environment: pay.Sandbox, Type: "payment.completed",
			SubjectID: subject, Payload: []byte(`{}`), CreatedAt: now,
		})
		if err != nil {
			return err
		}
		d = store.WebhookDelivery{
			ID: pay.NewID("whd"), EndpointID: w.ID, EventID: e.ID, ApplicationID: app.ID, Environment: pay.Sandbox,
			SubjectID: subject, Seq: e.Seq, EventType: e.Type, MessageID: e.ID, Body: []byte(`{"n":1}`),
			Status: store.DeliveryPending, NextAttemptAt: now, CreatedAt: now,
		}
		created, err := tx.CreateWebhookDelivery(t.Context(), d)
		if err != nil || !created {
			t.Errorf("create delivery: created %v, err %v", created, err)
		}
		// A second routing of the same event creates nothing.
		d2 := d
		d2.ID = pay.NewID("whd")
		if again, err := tx.CreateWebhookDelivery(t.Context(), d2); err != nil || again {
			t.Errorf("second delivery of one event to one endpoint: created %v, err %v", again, err)
		}
		return tx.MarkEventRouted(t.Context(), e.ID, now)
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func claimDue(t *testing.T, st *store.Store, at time.Time, token string) []store.ClaimedDelivery {
	t.Helper()
	var c []store.ClaimedDelivery
	err := st.WithTx(t.Context(), func(tx *store.Tx) error {
		var err error
		c, err = tx.ClaimDueWebhookDeliveries(t.Context(), at, at.Add(time.Minute), token, 10)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ids(cs []store.ClaimedDelivery) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Delivery.ID)
	}
	return out
}

func TestWebhookDeliveryClaims(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		app := newApp(t, st)
		w := newEndpoint(t, st, app)
		first := addRoutedDelivery(t, st, app, w, "sess_a")
		second := addRoutedDelivery(t, st, app, w, "sess_a")
		other := addRoutedDelivery(t, st, app, w, "sess_b")

		// Only the earliest delivery of each subject is due.
		got := claimDue(t, st, now, "lease_1")
		if len(got) != 2 || got[0].Delivery.ID == second.ID || got[1].Delivery.ID == second.ID {
			t.Fatalf("claimed %v, want %s and %s (not %s)", ids(got), first.ID, other.ID, second.ID)
		}
		if got[0].Target.Endpoint.URL != w.URL || string(got[0].Delivery.Body) != `{"n":1}` {
			t.Errorf("claimed delivery lacks its endpoint or body: %+v", got[0])
		}
		// Leased: nothing is due for anyone else until the lease ends.
		if again := claimDue(t, st, now.Add(30*time.Second), "lease_2"); len(again) != 0 {
			t.Fatalf("leased deliveries claimed again: %v", ids(again))
		}
		// The lease ran out (the first claimer died): another takes them over.
		taken := claimDue(t, st, now.Add(2*time.Minute), "lease_3")
		if len(taken) != 2 {
			t.Fatalf("after the lease: claimed %v, want both again", ids(taken))
		}
		// The first claimer comes back: its record of the attempt must not
		// decide the delivery's state.
		var firstOK, thirdOK bool
		err := st.WithTx(ctx, func(tx *store.Tx) error {
			var err error
			a := store.WebhookAttempt{ID: pay.NewID("wha"), DeliveryID: first.ID, StartedAt: now, StatusCode: 500, Error: "HTTP 500"}
			firstOK, err = tx.FinishWebhookAttempt(ctx, "lease_1", a, store.DeliveryOutcome{Status: store.DeliveryFailed, NextAttemptAt: now, At: now})
			if err != nil {
				return err
			}
			a = store.WebhookAttempt{ID: pay.NewID("wha"), DeliveryID: first.ID, StartedAt: now.Add(2 * time.Minute), StatusCode: 200, Latency: 1500 * time.Microsecond}
			thirdOK, err = tx.FinishWebhookAttempt(ctx, "lease_3", a, store.DeliveryOutcome{
				Status: store.DeliveryDelivered, NextAttemptAt: now, DeliveredAt: now.Add(2 * time.Minute), At: now.Add(2 * time.Minute)})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if firstOK || !thirdOK {
			t.Fatalf("stale lease recorded: %v, current lease recorded: %v; want false, true", firstOK, thirdOK)
		}
		d, err := st.WebhookDelivery(ctx, first.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Attempts counts the attempts that decided; the log has both.
		if d.Status != store.DeliveryDelivered || d.Attempts != 1 || d.LastStatus != 200 || d.DeliveredAt.IsZero() {
			t.Errorf("delivery after its attempts: %+v", d)
		}
		attempts, err := st.WebhookAttempts(ctx, first.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(attempts) != 2 || attempts[1].Latency != 1500*time.Microsecond {
			t.Errorf("attempts: %+v, want both recorded", attempts)
		}
		// The first delivered: the subject's second is due now (the lease
		// on the other one is still running).
		if next := claimDue(t, st, now.Add(2*time.Minute), "lease_4"); len(next) != 1 || next[0].Delivery.ID != second.ID {
			t.Errorf("after the first delivery: claimed %v, want %s", ids(next), second.ID)
		}
	})
}

func TestWebhookEndpointFailingStreak(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		app := newApp(t, st)
		w := newEndpoint(t, st, app)
		var since1, since2 time.Time
		err := st.WithTx(ctx, func(tx *store.Tx) error {
			var err error
			if since1, err = tx.WebhookEndpointFailed(ctx, w.ID, now); err != nil {
				return err
			}
			if since2, err = tx.WebhookEndpointFailed(ctx, w.ID, now.Add(time.Hour)); err != nil {
				return err
			}
			if err := tx.WebhookEndpointSucceeded(ctx, w.ID); err != nil {
				return err
			}
			return tx.DisableWebhookEndpoint(ctx, w.ID, "failing")
		})
		if err != nil {
			t.Fatal(err)
		}
		if !since1.Equal(now) || !since2.Equal(now) {
			t.Errorf("failing since %v then %v, want %v both times", since1, since2, now)
		}
		got, err := st.WebhookEndpoint(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Endpoint.Enabled || got.Endpoint.DisabledReason != "failing" {
			t.Errorf("endpoint after disabling: %+v", got.Endpoint)
		}
		if _, err := st.WebhookEndpoint(ctx, "whe_missing"); pay.KindOf(err) != pay.NotFound {
			t.Errorf("missing endpoint: %v, want NotFound", err)
		}
	})
}

// A claim can leave out endpoints, and give deliveries back: they are due
// again at once, for anyone, and another lease is not ended by the call.
func TestWebhookDeliveryClaimSkipAndRelease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		app := newApp(t, st)
		busy, idle := newEndpoint(t, st, app), newEndpoint(t, st, app)
		toBusy := addRoutedDelivery(t, st, app, busy, "sess_a")
		toIdle := addRoutedDelivery(t, st, app, idle, "sess_b")
		var got []store.ClaimedDelivery
		err := st.WithTx(ctx, func(tx *store.Tx) error {
			var err error
			got, err = tx.ClaimDueWebhookDeliveries(ctx, now, now.Add(time.Minute), "lease_1", 10, busy.ID)
			return err
		})
		if err != nil || len(got) != 1 || got[0].Delivery.ID != toIdle.ID {
			t.Fatalf("claim skipping %s: %v, %v; want only %s", busy.ID, ids(got), err, toIdle.ID)
		}
		if err := st.WithTx(ctx, func(tx *store.Tx) error {
			return tx.ReleaseWebhookDeliveries(ctx, []string{toIdle.ID, toBusy.ID}, "lease_other")
		}); err != nil {
			t.Fatal(err)
		}
		if again := claimDue(t, st, now, "lease_2"); len(again) != 1 || again[0].Delivery.ID != toBusy.ID {
			t.Fatalf("after a release by another lease: claimed %v, want only %s", ids(again), toBusy.ID)
		}
		if err := st.WithTx(ctx, func(tx *store.Tx) error {
			return tx.ReleaseWebhookDeliveries(ctx, []string{toIdle.ID}, "lease_1")
		}); err != nil {
			t.Fatal(err)
		}
		if again := claimDue(t, st, now, "lease_3"); len(again) != 1 || again[0].Delivery.ID != toIdle.ID {
			t.Fatalf("after its release: claimed %v, want %s", ids(again), toIdle.ID)
		}
	})
}
