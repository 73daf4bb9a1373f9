package checkout_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/sandbox"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/token"
	"github.com/sakkhq/sakk/internal/vault"
)

// clock is a settable time, shared by everything of one test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// counting wraps a sandbox connector: it counts the charges that reach
// the gateway, and can lose the answer of the next ones (the charge
// happens, the answer never arrives), as a timeout would.
type counting struct {
	gateway.Connector
	charges  atomic.Int64
	loseNext atomic.Int64
	// meanwhile, when set, runs after the gateway has charged and before
	// its answer reaches sakk.
	meanwhile func(gateway.ChargeResult)
}

func (c *counting) Charge(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
	c.charges.Add(1)
	res, err := c.Connector.Charge(ctx, req)
	if c.meanwhile != nil {
		c.meanwhile(res)
	}
	if c.loseNext.Add(-1) >= 0 {
		return gateway.ChargeResult{}, gateway.Unavailable("test.Charge", errors.New("answer lost"))
	}
	return res, err
}

type fixture struct {
	st    *store.Store
	co    *checkout.Service
	sim   *sandbox.Simulator
	conn  *counting
	clock *clock
	app   string
}

func newFixture(t *testing.T, st *store.Store) *fixture {
	t.Helper()
	clk := &clock{now: time.Now().UTC().Truncate(time.Microsecond)}
	box, err := vault.New(vault.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	sim, err := sandbox.New(sandbox.Options{PublicURL: "http://127.0.0.1:1", Key: key, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ring := token.NewRing(st, box, clk.Now, token.Options{})
	co := checkout.New(st, ring, clk.Now, "http://127.0.0.1:1")
	conn := &counting{Connector: sim.Connector("stripe")}
	co.UsePaymentFlow(checkout.PaymentFlow{
		Gateways: checkout.Gateways{Sandbox: sim, Live: map[string]gateway.Connector{"stripe": conn}},
		Sealer:   box,
	})
	created, err := merchant.New(st, box, clk.Now).CreateApplication(t.Context(),
		merchant.NewApplication{Name: "Shop", MerchantName: "Shop", Environment: pay.Live})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, co: co, sim: sim, conn: conn, clock: clk, app: created.Application.ID}
}

// session opens a live session of 100.00 MAD paid through the counting
// connector, for a shopper verified by email.
func (f *fixture) session(t *testing.T) string {
	t.Helper()
	req := checkout.NewSession{
		ApplicationID: f.app, Environment: pay.Live, Currency: "MAD", Total: money.New(10000, "MAD"),
		Items: []pay.Item{{Reference: "1", Name: "Mug", UnitPrice: money.New(10000, "MAD"), Quantity: 1}},
	}
	var id string
	_, err := f.co.OpenSession(t.Context(), req, nil, func(o checkout.Opened) (checkout.Response, error) {
		id = o.Session.ID
		return checkout.Response{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *fixture) payer(sessionID string) checkout.Payer {
	return checkout.Payer{ApplicationID: f.app, Environment: pay.Live, SessionID: sessionID, Identifier: "buyer@shop.example", Channel: "email"}
}

func (f *fixture) card(t *testing.T, number string) string {
	t.Helper()
	tok, err := f.sim.Tokenize(sandbox.Card{Number: number, ExpMonth: 12, ExpYear: 2040, CVC: "123"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (f *fixture) process(t *testing.T, sessionID, card string) checkout.Attempt {
	t.Helper()
	at, err := f.co.Process(t.Context(), f.payer(sessionID), checkout.ProcessRequest{
		SessionID: sessionID, Method: "card", Gateway: "stripe", PaymentToken: f.card(t, card),
	})
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func countEvents(t *testing.T, st *store.Store, subject, typ string) int {
	t.Helper()
	es, err := st.Events(t.Context(), subject)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func TestConcurrentProcessAndConfirmChargeOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		sid := f.session(t)
		tok := f.card(t, "4242424242424242")
		var wg sync.WaitGroup
		ids := make(chan string, 50)
		for i := range 50 {
			wg.Go(func() {
				var at checkout.Attempt
				var err error
				switch i % 3 {
				case 0:
					at, err = f.co.Process(t.Context(), f.payer(sid), checkout.ProcessRequest{
						SessionID: sid, Method: "card", Gateway: "stripe", PaymentToken: tok,
					})
				case 1:
					at, err = f.co.Confirm(t.Context(), f.app, pay.Live, sid)
				case 2:
					at, err = f.notifyApproved(t, sid)
				}
				if err != nil {
					t.Error(err)
					return
				}
				if at.Payment != nil {
					ids <- at.Payment.ID
				}
			})
		}
		wg.Wait()
		close(ids)
		seen := map[string]bool{}
		for id := range ids {
			seen[id] = true
		}
		if len(seen) != 1 {
			t.Errorf("answers named %d payments, want 1: %v", len(seen), seen)
		}
		if n := f.conn.charges.Load(); n != 1 {
			t.Errorf("the gateway was asked to charge %d times, want 1", n)
		}
		at, err := f.co.SessionAttempt(t.Context(), f.app, pay.Live, sid)
		if err != nil {
			t.Fatal(err)
		}
		if at.Session.Status != pay.SessionCompleted || at.Payment.Status != pay.PaymentCompleted {
			t.Errorf("session %s, payment %s; want completed, completed", at.Session.Status, at.Payment.Status)
		}
		if n := countEvents(t, st, sid, checkout.EventPaymentCompleted); n != 1 {
			t.Errorf("%d payment.completed events, want 1", n)
		}
	})
}

// notifyApproved delivers the gateway's "approved" notification about the
// session's attempt as soon as the attempt has a gateway reference (a
// notification can only name a charge the gateway made), as a duplicate
// of whatever the charge itself answered.
func (f *fixture) notifyApproved(t *testing.T, sid string) (checkout.Attempt, error) {
	for range 2000 {
		at, err := f.co.SessionAttempt(t.Context(), f.app, pay.Live, sid)
		if err != nil {
			return at, err
		}
		if at.Payment != nil && at.Payment.GatewayReference != "" {
			return f.co.Notify(t.Context(), f.app, pay.Live, "stripe", gateway.Notification{
				Reference: at.Payment.GatewayReference, Outcome: gateway.Approved, EventID: "evt_dup",
			})
		}
		time.Sleep(time.Millisecond)
	}
	return checkout.Attempt{}, errors.New("the attempt never got a gateway reference")
}

func TestLateNotificationsNeverOverwriteAFinalStatus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		declined := f.process(t, f.session(t), "4000000000000002")
		paid := f.process(t, f.session(t), "4242424242424242")
		for _, c := range []struct {
			at      checkout.Attempt
			outcome gateway.Outcome
		}{
			{declined, gateway.Approved}, {declined, gateway.ActionRequired},
			{paid, gateway.Declined}, {paid, gateway.Pending}, {paid, gateway.ActionRequired},
		} {
			at, err := f.co.Notify(t.Context(), f.app, pay.Live, "stripe", gateway.Notification{
				Reference: c.at.Payment.GatewayReference, Outcome: c.outcome,
			})
			if err != nil {
				t.Fatal(err)
			}
			if at.Payment.Status != c.at.Payment.Status || at.Session.Status != c.at.Session.Status {
				t.Errorf("a late %s notification moved a %s payment to %s (session %s)",
					c.outcome, c.at.Payment.Status, at.Payment.Status, at.Session.Status)
			}
		}
		// A reference of another application, or none sakk knows: NotFound.
		_, err := f.co.Notify(t.Context(), "app_other", pay.Live, "stripe", gateway.Notification{Reference: paid.Payment.GatewayReference, Outcome: gateway.Declined})
		if pay.KindOf(err) != pay.NotFound {
			t.Errorf("another application's notification: %v, want NotFound", err)
		}
	})
}

// A charge's answer that arrives after its attempt was settled another
// way (here by the reconciler, which asked the gateway meanwhile) changes
// nothing: Process's settle, which first trusts what its own transaction
// left, finds the attempt moved and reads it again; the payment completes
// once, with one event.
func TestChargeAnswerAfterTheAttemptMovedOn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		var reconciled atomic.Bool
		f.conn.meanwhile = func(gateway.ChargeResult) {
			if reconciled.CompareAndSwap(false, true) { // not again for the reconciler's own charge
				f.clock.Add(2 * time.Minute)
				if n, err := f.co.Reconcile(context.Background(), 10); n != 1 || err != nil {
					t.Errorf("Reconcile meanwhile = %d, %v; want 1, nil", n, err)
				}
			}
		}
		id := f.session(t)
		at := f.process(t, id, "4242424242424242")
		if at.Payment.Status != pay.PaymentCompleted || at.Session.Status != pay.SessionCompleted {
			t.Errorf("payment %s, session %s; want completed, completed", at.Payment.Status, at.Session.Status)
		}
		if n := countEvents(t, st, id, checkout.EventPaymentCompleted); n != 1 {
			t.Errorf("%d payment.completed events, want 1", n)
		}
		if n := f.conn.charges.Load(); n != 2 {
			t.Errorf("%d charge requests, want 2 (the first, and the reconciler's repeat of it)", n)
		}
	})
}

func TestDeclineThenRetrySucceeds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		sid := f.session(t)
		at := f.process(t, sid, "4000000000000002")
		if at.Session.Status != pay.SessionFailed || at.Payment.ErrorCode != gateway.DeclineCard || at.Payment.Retryable {
			t.Fatalf("declined card: session %s, payment %+v", at.Session.Status, at.Payment)
		}
		first := at.Payment.ID
		at = f.process(t, sid, "4000000000000119")
		if at.Payment.ErrorCode != gateway.DeclineProcessingError || !at.Payment.Retryable {
			t.Fatalf("processing error: payment %+v, want retryable processing_error", at.Payment)
		}
		at = f.process(t, sid, "4242424242424242")
		if at.Session.Status != pay.SessionCompleted || at.Payment.ID == first {
			t.Fatalf("retry: session %s, payment %s (first %s)", at.Session.Status, at.Payment.ID, first)
		}
		// Paid: a further process call reports the payment, charges nothing.
		before := f.conn.charges.Load()
		again := f.process(t, sid, "4242424242424242")
		if again.Payment.ID != at.Payment.ID || f.conn.charges.Load() != before {
			t.Errorf("processing a paid session charged again or named another payment")
		}
		if n := countEvents(t, st, sid, checkout.EventPaymentFailed); n != 2 {
			t.Errorf("%d payment.failed events, want 2", n)
		}
	})
}

func TestLostAnswerIsReconciledWithoutSecondCharge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		sid := f.session(t)
		f.conn.loseNext.Store(1)
		at := f.process(t, sid, "4242424242424242")
		if at.Payment.Status != pay.PaymentPending || at.Session.Status != pay.SessionPending {
			t.Fatalf("lost answer: session %s, payment %s; want pending, pending", at.Session.Status, at.Payment.Status)
		}
		// In flight: processing again must not start another charge.
		again := f.process(t, sid, "4242424242424242")
		if again.Payment.ID != at.Payment.ID || f.conn.charges.Load() != 1 {
			t.Fatalf("a second process started a new attempt while the first was unknown")
		}
		// Too early for the reconciler.
		if n, err := f.co.Reconcile(t.Context(), 10); err != nil || n != 0 {
			t.Fatalf("Reconcile right away = %d, %v; want 0, nil", n, err)
		}
		f.clock.Add(2 * time.Minute)
		n, err := f.co.Reconcile(t.Context(), 10)
		if err != nil || n != 1 {
			t.Fatalf("Reconcile = %d, %v; want 1, nil", n, err)
		}
		got, err := f.co.SessionAttempt(t.Context(), f.app, pay.Live, sid)
		if err != nil {
			t.Fatal(err)
		}
		if got.Payment.ID != at.Payment.ID || got.Payment.Status != pay.PaymentCompleted || got.Session.Status != pay.SessionCompleted {
			t.Fatalf("after reconciling: session %s, payment %s %s", got.Session.Status, got.Payment.ID, got.Payment.Status)
		}
		if got.Payment.GatewayReference == "" {
			t.Error("the reconciled payment has no gateway reference")
		}
		if n := countEvents(t, st, sid, checkout.EventPaymentCompleted); n != 1 {
			t.Errorf("%d payment.completed events, want 1", n)
		}
	})
}

func TestUnansweredAttemptBacksOff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		sid := f.session(t)
		f.conn.loseNext.Store(3) // the charge, and the reconciler's first two repeats
		f.process(t, sid, "4242424242424242")
		f.clock.Add(2 * time.Minute)
		for _, step := range []struct {
			wait    time.Duration
			settled int
		}{{0, 0}, {10 * time.Second, 0}, {30 * time.Second, 0}, {time.Minute, 1}} {
			f.clock.Add(step.wait)
			n, _ := f.co.Reconcile(t.Context(), 10)
			if n != step.settled {
				t.Fatalf("after waiting %v more: settled %d, want %d", step.wait, n, step.settled)
			}
		}
		// 1 charge + 3 repeats (the one at +10s was not yet due).
		if n := f.conn.charges.Load(); n != 4 {
			t.Errorf("gateway asked %d times, want 4", n)
		}
	})
}

func TestExpireSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		open := f.session(t)
		paid := f.session(t)
		f.process(t, paid, "4242424242424242")
		challenged := f.session(t)
		if at := f.process(t, challenged, "4000000000003220"); at.Payment.Status != pay.PaymentRequiresAction {
			t.Fatalf("3-D Secure card: payment %s, want requires_action", at.Payment.Status)
		}
		unknown := f.session(t)
		f.conn.loseNext.Store(1)
		f.process(t, unknown, "4242424242424242")

		if n, err := f.co.ExpireSessions(t.Context(), 100); err != nil || n != 0 {
			t.Fatalf("ExpireSessions before expiry = %d, %v; want 0", n, err)
		}
		f.clock.Add(checkout.SessionTTL + time.Second)
		n, err := f.co.ExpireSessions(t.Context(), 100)
		if err != nil || n != 2 {
			t.Fatalf("ExpireSessions = %d, %v; want 2 (open, challenged)", n, err)
		}
		want := map[string]pay.SessionStatus{
			open: pay.SessionExpired, challenged: pay.SessionExpired, paid: pay.SessionCompleted,
			// The unknown attempt's money may have moved: the reconciler,
			// not the clock, decides it.
			unknown: pay.SessionPending,
		}
		for id, status := range want {
			at, err := f.co.SessionAttempt(t.Context(), f.app, pay.Live, id)
			if err != nil {
				t.Fatal(err)
			}
			if at.Session.Status != status {
				t.Errorf("session %s: %s, want %s", id, at.Session.Status, status)
			}
		}
		if n := countEvents(t, st, open, checkout.EventPaymentExpired); n != 1 {
			t.Errorf("open session: %d payment.expired events, want 1", n)
		}
		// Running again (another instance, the next tick) changes nothing.
		if n, err := f.co.ExpireSessions(t.Context(), 100); err != nil || n != 0 {
			t.Errorf("second ExpireSessions = %d, %v; want 0", n, err)
		}
		// By now the sandbox token has expired, so the reconciler's repeat
		// is refused: a refused repeat says nothing of the first charge,
		// and the attempt stays in flight rather than failing.
		if n, _ := f.co.Reconcile(t.Context(), 10); n != 0 {
			t.Fatalf("Reconcile settled %d, want 0", n)
		}
		if at, _ := f.co.SessionAttempt(t.Context(), f.app, pay.Live, unknown); at.Payment.Status != pay.PaymentPending {
			t.Errorf("unknown attempt after a refused repeat: %s, want pending", at.Payment.Status)
		}
	})
}
