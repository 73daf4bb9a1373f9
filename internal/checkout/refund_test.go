package checkout_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// refunding wraps a connector: it counts the refunds that reach the
// gateway and can lose the answers of the next ones (the refund happens,
// the answer never arrives).
type refunding struct {
	gateway.Connector
	refunds  atomic.Int64
	loseNext atomic.Int64
}

func (c *refunding) Refund(ctx context.Context, req gateway.RefundRequest) (gateway.RefundResult, error) {
	c.refunds.Add(1)
	res, err := c.Connector.Refund(ctx, req)
	if c.loseNext.Add(-1) >= 0 {
		return gateway.RefundResult{}, gateway.Unavailable("test.Refund", errors.New("answer lost"))
	}
	return res, err
}

// paid is a fixture with one session paid (100.00 MAD) through a
// refund-counting connector.
func paid(t *testing.T, st *store.Store) (*fixture, *refunding, string, string) {
	t.Helper()
	f := newFixture(t, st)
	rc := &refunding{Connector: f.conn.Connector}
	f.conn.Connector = rc
	sid := f.session(t)
	at := f.process(t, sid, "4242424242424242")
	if at.Payment.Status != pay.PaymentCompleted {
		t.Fatalf("payment %s, want completed", at.Payment.Status)
	}
	return f, rc, sid, at.Payment.ID
}

func mad(minor int64) *money.Amount { a := money.New(minor, "MAD"); return &a }

func refundEvents(t *testing.T, st *store.Store, sid string) []map[string]any {
	t.Helper()
	es, err := st.Events(t.Context(), sid)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, e := range es {
		if e.Type != checkout.EventPaymentRefunded {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(e.Payload, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestPartialThenFullRefund(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f, rc, sid, pid := paid(t, st)
		r, err := f.co.Refund(t.Context(), f.app, pay.Live, pid, mad(3000), nil)
		if err != nil || r.Status != store.RefundSucceeded || r.Amount != *mad(3000) || r.GatewayReference == "" {
			t.Fatalf("partial refund: %+v, %v", r, err)
		}
		at, err := f.co.SessionAttempt(t.Context(), f.app, pay.Live, sid)
		if err != nil {
			t.Fatal(err)
		}
		if at.Payment.Status != pay.PaymentCompleted || at.Session.Status != pay.SessionCompleted || at.Payment.Refunded.Minor != 3000 {
			t.Fatalf("after a partial refund: session %s, payment %s refunded %d", at.Session.Status, at.Payment.Status, at.Payment.Refunded.Minor)
		}
		// nil: the rest.
		r, err = f.co.Refund(t.Context(), f.app, pay.Live, pid, nil, nil)
		if err != nil || r.Status != store.RefundSucceeded || r.Amount.Minor != 7000 {
			t.Fatalf("refund of the rest: %+v, %v", r, err)
		}
		at, err = f.co.SessionAttempt(t.Context(), f.app, pay.Live, sid)
		if err != nil {
			t.Fatal(err)
		}
		if at.Payment.Status != pay.PaymentRefunded || at.Session.Status != pay.SessionRefunded || at.Payment.Refunded.Minor != 10000 {
			t.Fatalf("after the full refund: session %s, payment %s refunded %d", at.Session.Status, at.Payment.Status, at.Payment.Refunded.Minor)
		}
		evs := refundEvents(t, st, sid)
		if len(evs) != 2 {
			t.Fatalf("%d payment.refunded events, want 2", len(evs))
		}
		if evs[0]["partial"] != true || evs[0]["status"] != "completed" || evs[0]["refundAmount"] != "30.00" || evs[0]["refundedMinor"] != 3000.0 {
			t.Errorf("partial refund event %v", evs[0])
		}
		if evs[1]["partial"] != false || evs[1]["status"] != "refunded" || evs[1]["refundedMinor"] != 10000.0 || evs[1]["paymentId"] != pid {
			t.Errorf("full refund event %v", evs[1])
		}
		// Nothing left: refused before the gateway is asked.
		before := rc.refunds.Load()
		_, err = f.co.Refund(t.Context(), f.app, pay.Live, pid, nil, nil)
		if pay.KindOf(err) != pay.Conflict || pay.CodeOf(err) != checkout.CodePaymentNotRefundable {
			t.Errorf("refund of a refunded payment: %v, want conflict %s", err, checkout.CodePaymentNotRefundable)
		}
		if rc.refunds.Load() != before {
			t.Error("a refused refund reached the gateway")
		}
		_, rs, err := f.co.Refunds(t.Context(), f.app, pay.Live, pid)
		if err != nil || len(rs) != 2 {
			t.Errorf("refunds of the payment: %v, %v", rs, err)
		}
	})
}

func TestRefundRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f, rc, sid, pid := paid(t, st)
		declinedSession := f.session(t)
		declined := f.process(t, declinedSession, "4000000000000002")
		cases := []struct {
			name      string
			appID, id string
			amount    *money.Amount
			kind      pay.Kind
			code      string
		}{
			{"more than captured", f.app, pid, mad(10001), pay.Conflict, checkout.CodeRefundExceedsRemaining},
			{"zero", f.app, pid, mad(0), pay.Invalid, checkout.CodeInvalidAmount},
			{"negative", f.app, pid, mad(-5), pay.Invalid, checkout.CodeInvalidAmount},
			{"other currency", f.app, pid, &money.Amount{Minor: 100, Currency: "USD"}, pay.Invalid, checkout.CodeInvalidAmount},
			{"declined payment", f.app, declined.Payment.ID, nil, pay.Conflict, checkout.CodePaymentNotRefundable},
			{"unknown payment", f.app, "pay_unknown", nil, pay.NotFound, checkout.CodePaymentNotFound},
			{"another application's payment", "app_other", pid, nil, pay.NotFound, checkout.CodePaymentNotFound},
		}
		for _, c := range cases {
			_, err := f.co.Refund(t.Context(), c.appID, pay.Live, c.id, c.amount, nil)
			if pay.KindOf(err) != c.kind || pay.CodeOf(err) != c.code {
				t.Errorf("%s: %v, want %v %s", c.name, err, c.kind, c.code)
			}
		}
		if n := rc.refunds.Load(); n != 0 {
			t.Errorf("%d refused refunds reached the gateway", n)
		}
		at, err := f.co.SessionAttempt(t.Context(), f.app, pay.Live, sid)
		if err != nil {
			t.Fatal(err)
		}
		if at.Payment.Refunded.Minor != 0 || at.Payment.Status != pay.PaymentCompleted {
			t.Errorf("refused refunds changed the payment: %+v", at.Payment)
		}
		if _, rs, _ := f.co.Refunds(t.Context(), f.app, pay.Live, pid); len(rs) != 0 {
			t.Errorf("refused refunds were stored: %v", rs)
		}
	})
}

// Concurrent partial refunds that together exceed the payment: exactly
// as many succeed as fit, the others are refused, and the gateway is
// asked only for those that fit.
func TestConcurrentRefundsNeverExceedCaptured(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f, rc, sid, pid := paid(t, st)
		const n = 10
		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				r, err := f.co.Refund(t.Context(), f.app, pay.Live, pid, mad(6000), nil)
				switch {
				case err == nil && r.Status == store.RefundSucceeded:
					ok.Add(1)
				case pay.CodeOf(err) == checkout.CodeRefundExceedsRemaining:
					refused.Add(1)
				default:
					t.Errorf("refund: %+v, %v", r, err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 || refused.Load() != n-1 || rc.refunds.Load() != 1 {
			t.Errorf("%d succeeded, %d refused, %d reached the gateway; want 1, %d, 1", ok.Load(), refused.Load(), rc.refunds.Load(), n-1)
		}
		at, err := f.co.SessionAttempt(t.Context(), f.app, pay.Live, sid)
		if err != nil {
			t.Fatal(err)
		}
		if at.Payment.Refunded.Minor != 6000 || at.Payment.Status != pay.PaymentCompleted {
			t.Errorf("payment after the race: %+v", at.Payment)
		}
	})
}

func TestRefundIdempotencyKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f, rc, sid, pid := paid(t, st)
		idem := &checkout.Idempotency{Key: "refund-1", RequestHash: checkout.HashRequest([]byte("a"))}
		first, replayed, err := f.co.RefundOrReplay(t.Context(), f.app, pay.Live, pid, mad(1000), idem)
		if err != nil || replayed {
			t.Fatalf("first request: replayed %v, %v", replayed, err)
		}
		again, replayed, err := f.co.RefundOrReplay(t.Context(), f.app, pay.Live, pid, mad(1000), idem)
		if err != nil || !replayed || again.ID != first.ID || again.Status != store.RefundSucceeded {
			t.Errorf("replay: %+v, replayed %v, %v; want refund %s replayed", again, replayed, err, first.ID)
		}
		other := &checkout.Idempotency{Key: "refund-1", RequestHash: checkout.HashRequest([]byte("b"))}
		if _, err := f.co.Refund(t.Context(), f.app, pay.Live, pid, mad(2000), other); pay.CodeOf(err) != checkout.CodeIdempotencyKey {
			t.Errorf("same key, other request: %v, want %s", err, checkout.CodeIdempotencyKey)
		}
		if _, rs, _ := f.co.Refunds(t.Context(), f.app, pay.Live, pid); len(rs) != 1 || rc.refunds.Load() != 1 {
			t.Errorf("%d refunds stored, %d sent; want 1, 1", len(rs), rc.refunds.Load())
		}
		// A retry of a refund whose answer was lost asks the gateway again,
		// with the same key: the refund settles, and is made once.
		rc.loseNext.Store(1)
		lost := &checkout.Idempotency{Key: "refund-2", RequestHash: checkout.HashRequest([]byte("c"))}
		pending, err := f.co.Refund(t.Context(), f.app, pay.Live, pid, mad(9000), lost)
		if err != nil || pending.Status != store.RefundPending {
			t.Fatalf("lost answer: %+v, %v; want pending", pending, err)
		}
		settled, replayed, err := f.co.RefundOrReplay(t.Context(), f.app, pay.Live, pid, mad(9000), lost)
		if err != nil || !replayed || settled.ID != pending.ID || settled.Status != store.RefundSucceeded {
			t.Fatalf("retry of a pending refund: %+v, replayed %v, %v; want %s succeeded, replayed", settled, replayed, err, pending.ID)
		}
		at, err := f.co.SessionAttempt(t.Context(), f.app, pay.Live, sid)
		if err != nil {
			t.Fatal(err)
		}
		if at.Payment.Status != pay.PaymentRefunded || at.Payment.Refunded.Minor != 10000 {
			t.Errorf("payment after the retried refund: %+v", at.Payment)
		}
	})
}

// A refund whose answer is lost stays pending with its amount reserved,
// and the reconciler settles it by repeating the same request, which the
// gateway answers without refunding twice.
func TestLostRefundAnswerIsReconciled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f, rc, sid, pid := paid(t, st)
		rc.loseNext.Store(1)
		r, err := f.co.Refund(t.Context(), f.app, pay.Live, pid, mad(4000), nil)
		if err != nil || r.Status != store.RefundPending {
			t.Fatalf("lost answer: %+v, %v; want pending", r, err)
		}
		// Reserved: the rest is 60.00, not 100.00.
		if _, err := f.co.Refund(t.Context(), f.app, pay.Live, pid, mad(6001), nil); pay.CodeOf(err) != checkout.CodeRefundExceedsRemaining {
			t.Errorf("refund beyond the reservation: %v", err)
		}
		if n, err := f.co.ReconcileRefunds(t.Context(), 10); err != nil || n != 0 {
			t.Fatalf("ReconcileRefunds right away = %d, %v; want 0, nil", n, err)
		}
		f.clock.Add(2 * time.Minute)
		if n, err := f.co.ReconcileRefunds(t.Context(), 10); err != nil || n != 1 {
			t.Fatalf("ReconcileRefunds = %d, %v; want 1, nil", n, err)
		}
		_, rs, err := f.co.Refunds(t.Context(), f.app, pay.Live, pid)
		if err != nil || len(rs) != 1 || rs[0].Status != store.RefundSucceeded || rs[0].GatewayReference == "" {
			t.Fatalf("after reconciling: %+v, %v", rs, err)
		}
		// The gateway refunded 40.00 once: the remaining 60.00 goes through.
		r, err = f.co.Refund(t.Context(), f.app, pay.Live, pid, nil, nil)
		if err != nil || r.Status != store.RefundSucceeded || r.Amount.Minor != 6000 {
			t.Fatalf("refund of the rest: %+v, %v", r, err)
		}
		at, err := f.co.SessionAttempt(t.Context(), f.app, pay.Live, sid)
		if err != nil {
			t.Fatal(err)
		}
		if at.Session.Status != pay.SessionRefunded || at.Payment.Refunded.Minor != 10000 {
			t.Errorf("session %s, refunded %d", at.Session.Status, at.Payment.Refunded.Minor)
		}
		if n := len(refundEvents(t, st, sid)); n != 2 {
			t.Errorf("%d payment.refunded events, want 2", n)
		}
	})
}

func TestListPaymentsPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		var want []string
		for range 7 {
			sid := f.session(t)
			want = append([]string{f.process(t, sid, "4242424242424242").Payment.ID}, want...)
			f.clock.Add(time.Second)
		}
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
			ps, next, err := f.co.ListPayments(t.Context(), checkout.ListQuery{ApplicationID: f.app, Environment: pay.Live, Limit: 3, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				got = append(got, p.ID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if len(got) != len(want) {
			t.Fatalf("listed %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("listed %v, want %v", got, want)
			}
		}
		if _, _, err := f.co.ListPayments(t.Context(), checkout.ListQuery{ApplicationID: f.app, Environment: pay.Live, Cursor: "!!"}); pay.CodeOf(err) != "invalid_cursor" {
			t.Errorf("bad cursor: %v", err)
		}
	})
}
