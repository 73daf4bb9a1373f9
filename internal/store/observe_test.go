package store_test

import (
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// The backlog counts events not yet routed and deliveries pending, ages
// the oldest of them, and counts the attempts waiting for a gateway; the
// event stream reads an application's events from a time on.
func TestBacklogAndEventsSince(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		app := newApp(t, st)
		if b, err := st.Backlog(ctx, now); err != nil || b.OutboxDepth != 0 || b.OutboxOldest != 0 {
			t.Fatalf("empty store: %+v, %v", b, err)
		}
		w := newEndpoint(t, st, app)
		addRoutedDelivery(t, st, app, w, "sess_a") // routed at now, delivery pending since now
		later := now.Add(time.Minute)
		err := st.WithTx(ctx, func(tx *store.Tx) error {
			_, err := tx.AddEvent(ctx, pay.Event{ID: pay.NewID(pay.PrefixEvent), ApplicationID: app.ID, Environment: pay.Sandbox,
				Type: "payment.failed", SubjectID: "sess_b", Payload: []byte(`{}`), CreatedAt: later})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		b, err := st.Backlog(ctx, now.Add(10*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if b.OutboxDepth != 2 || b.OutboxOldest != 10*time.Minute || b.PendingAttempts != 0 {
			t.Errorf("backlog %+v; want depth 2 (one unrouted, one pending), oldest 10m, no attempts", b)
		}
		es, err := st.EventsSince(ctx, app.ID, pay.Sandbox, later, 10)
		if err != nil || len(es) != 1 || es[0].Type != "payment.failed" || !es[0].CreatedAt.Equal(later) {
			t.Errorf("events since %v: %+v, %v", later, es, err)
		}
		if es, _ := st.EventsSince(ctx, app.ID, pay.Live, now, 10); len(es) != 0 {
			t.Errorf("live events of a sandbox-only application: %+v", es)
		}
	})
}
