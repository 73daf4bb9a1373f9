package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/testclock"
	"github.com/sakkhq/sakk/internal/vault"
)

func newClock() *testclock.Clock {
	return testclock.New(time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC))
}

// fixture is one application with what a test needs around it.
type fixture struct {
	t     *testing.T
	st    *store.Store
	box   *vault.Box
	clock *testclock.Clock
	svc   *merchant.Service
	app   string
}

func newFixture(t *testing.T, st *store.Store) *fixture {
	t.Helper()
	box, err := vault.New(vault.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	c := newClock()
	svc := merchant.New(st, box, c.Now)
	created, err := svc.CreateApplication(t.Context(), merchant.NewApplication{
		Name: "Corner Shop", MerchantName: "Corner Merchant", Environment: pay.Sandbox,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, st: st, box: box, clock: c, svc: svc, app: created.Application.ID}
}

func (f *fixture) dispatcher() *Dispatcher {
	return New(f.st, f.box, Options{Now: f.clock.Now})
}

func (f *fixture) endpoint(env pay.Environment, url string, format pay.WebhookFormat) (string, string) {
	f.t.Helper()
	w, secret, err := f.svc.AddWebhook(f.t.Context(), merchant.NewWebhook{
		ApplicationID: f.app, Environment: env, URL: url, Format: format,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return w.ID, secret
}

// event commits an engine event about subject, as the engine would.
func (f *fixture) event(env pay.Environment, subject, typ string, p Payload) pay.Event {
	f.t.Helper()
	raw, err := json.Marshal(p)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.rawEvent(env, subject, typ, raw)
}

func (f *fixture) rawEvent(env pay.Environment, subject, typ string, raw []byte) pay.Event {
	f.t.Helper()
	var e pay.Event
	err := f.st.WithTx(f.t.Context(), func(tx *store.Tx) error {
		var err error
		e, err = tx.AddEvent(f.t.Context(), pay.Event{
			ID: pay.NewID(pay.PrefixEvent), ApplicationID: f.app, Environment: env, Type: typ,
			SubjectID: subject, Payload: raw, CreatedAt: f.clock.Now(),
		})
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

func (f *fixture) runOnce(d *Dispatcher) Pass {
	f.t.Helper()
	p, err := d.RunOnce(f.t.Context())
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func completed(session string) Payload {
	return Payload{
		SessionID: session, PaymentID: "pay_" + session, Status: "completed", AmountMinor: 179900, Currency: "MAD",
		Gateway: "stripe", VendorReference: "order-42", CustomerPhone: "212650296165", CustomerEmail: "buyer@example.com",
		CreatedAt: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
	}
}

// received is one request a receiver got.
type received struct {
	header http.Header
	body   []byte
	event  string // the event name in the body
	id     string // the event id receivers de-duplicate on
	status int    // what the receiver answered
}

// receiver is a merchant's endpoint on loopback. answer decides each
// response from the number of requests so far (from 1).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(n int, r received) int
}

func newReceiver(t *testing.T, tls bool, answer func(n int, r received) int) *receiver {
	rc := &receiver{answer: answer}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var env struct {
			Event string `json:"event"`
			Type  string `json:"type"`
			ID    string `json:"id"`
		}
		json.Unmarshal(body, &env)
		got := received{header: r.Header.Clone(), body: body, event: env.Event + env.Type}
		got.id = r.Header.Get("X-Alya-Event-Id") + r.Header.Get("Sakk-Event-Id")
		rc.mu.Lock()
		got.status = rc.answer(len(rc.got)+1, got)
		rc.got = append(rc.got, got)
		rc.mu.Unlock()
		w.WriteHeader(got.status)
		fmt.Fprintf(w, "answer %d", got.status)
	})
	if tls {
		rc.srv = httptest.NewTLSServer(h)
	} else {
		rc.srv = httptest.NewServer(h)
	}
	t.Cleanup(rc.srv.Close)
	return rc
}

func always(status int) func(int, received) int { return func(int, received) int { return status } }

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// The verifiers below are written from SURFACES.md, not from sign().

// verifyAlya checks a Checkout API webhook: X-Alya-Signature is
// "sha256=" + hex HMAC-SHA256(secret, X-Alya-Timestamp + "." + body), the
// timestamp is ISO 8601 and recent, the event id a UUID.
func verifyAlya(t *testing.T, r received, secret string, now time.Time) {
	t.Helper()
	ts := r.header.Get("X-Alya-Timestamp")
	at, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		t.Errorf("X-Alya-Timestamp %q is not ISO 8601: %v", ts, err)
	} else if d := now.Sub(at); d < -time.Minute || d > 5*time.Minute {
		t.Errorf("X-Alya-Timestamp %s is %v away from now", ts, d)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(r.body)))
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if got := r.header.Get("X-Alya-Signature"); !hmac.Equal([]byte(got), []byte(want)) {
		t.Errorf("X-Alya-Signature %q, want %q", got, want)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(r.header.Get("X-Alya-Event-Id")) {
		t.Errorf("X-Alya-Event-Id %q is not a UUID", r.header.Get("X-Alya-Event-Id"))
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

// verifySakk checks a Public Payment API webhook: Sakk-Signature is
// "t=<unix>,v1=<hex>[,v1=<hex>…]" with hex = HMAC-SHA256(secret, t + "." +
// body); it reports which of secrets signed it.
func verifySakk(t *testing.T, r received, now time.Time, secrets ...string) []bool {
	t.Helper()
	var ts string
	var sigs []string
	for part := range strings.SplitSeq(r.header.Get("Sakk-Signature"), ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(unix, 0)) > 5*time.Minute {
		t.Errorf("Sakk-Signature t=%q is not a recent Unix time", ts)
	}
	signed := make([]bool, len(secrets))
	for i, s := range secrets {
		mac := hmac.New(sha256.New, []byte(s))
		mac.Write([]byte(ts + "." + string(r.body)))
		want := hex.EncodeToString(mac.Sum(nil))
		for _, sig := range sigs {
			if hmac.Equal([]byte(sig), []byte(want)) {
				signed[i] = true
			}
		}
	}
	return signed
}

func TestSignedDeliveryBothFormats(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		checkoutRcv := newReceiver(t, false, always(200))
		paymentRcv := newReceiver(t, false, always(204))
		_, checkoutSecret := f.endpoint(pay.Sandbox, checkoutRcv.srv.URL+"/alya", pay.WebhookCheckout)
		paymentID, paymentSecret := f.endpoint(pay.Sandbox, paymentRcv.srv.URL+"/sakk", pay.WebhookPayment)
		liveRcv := newReceiver(t, true, always(200))
		f.endpoint(pay.Live, liveRcv.srv.URL, pay.WebhookCheckout) // another environment: receives nothing

		f.event(pay.Sandbox, "sess_1", SessionCreated, Payload{SessionID: "sess_1", Currency: "MAD"})
		completedEvent := f.event(pay.Sandbox, "sess_1", PaymentCompleted, completed("sess_1"))
		failed := completed("sess_2")
		failed.Status, failed.ErrorCode, failed.ErrorMessage = "failed", "card_declined", "The card was declined."
		f.event(pay.Sandbox, "sess_2", PaymentFailed, failed)

		d := f.dispatcher()
		p := f.runOnce(d)
		if p.Routed != 3 || p.Attempted != 3 || p.Delivered != 3 {
			t.Errorf("pass: %+v, want 3 routed, 3 attempted and delivered", p)
		}

		got := checkoutRcv.requests()
		if len(got) != 1 {
			t.Fatalf("checkout endpoint got %d requests, want 1 (transaction.approved only)", len(got))
		}
		verifyAlya(t, got[0], checkoutSecret, f.clock.Now())
		var body struct {
			Event     string                     `json:"event"`
			Timestamp string                     `json:"timestamp"`
			Data      map[string]json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(got[0].body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Event != "transaction.approved" || body.Timestamp != "2026-11-22T10:30:00.000Z" {
			t.Errorf("event %q at %q", body.Event, body.Timestamp)
		}
		for field, want := range map[string]string{
			"id": `"pay_sess_1"`, "orderReference": `"sess_1"`, "vendorReference": `"order-42"`, "status": `"APPROVED"`,
			"amount": `1799.00`, "currency": `"MAD"`, "customerPhone": `"212650296165"`,
			"merchantName": `"Corner Merchant"`, "storeName": `"Corner Shop"`, "createdAt": `"2026-11-22T10:00:00.000Z"`,
		} {
			if string(body.Data[field]) != want {
				t.Errorf("data.%s = %s, want %s", field, body.Data[field], want)
			}
		}

		got = paymentRcv.requests()
		if len(got) != 2 {
			t.Fatalf("payment endpoint got %d requests, want 2", len(got))
		}
		types := map[string]received{}
		for _, r := range got {
			if signed := verifySakk(t, r, f.clock.Now(), paymentSecret); !signed[0] {
				t.Errorf("%s: Sakk-Signature %q does not verify", r.event, r.header.Get("Sakk-Signature"))
			}
			types[r.event] = r
		}
		if r, ok := types["payment.completed"]; !ok || r.id != completedEvent.ID {
			t.Errorf("payment.completed missing or with the wrong id: %+v", types)
		}
		if r := types["payment.failed"]; !strings.Contains(string(r.body), `"error":{"code":"card_declined"`) ||
			!strings.Contains(string(r.body), `"amount":1799.00`) {
			t.Errorf("payment.failed body: %s", r.body)
		}
		if n := len(liveRcv.requests()); n != 0 {
			t.Errorf("live endpoint got %d sandbox events", n)
		}

		// A rotation: both secrets sign during the overlap, only the new
		// one after it.
		newSecret := "whsec_rotated0123456789"
		err := st.WithTx(t.Context(), func(tx *store.Tx) error {
			return tx.RotateWebhookSecret(t.Context(), paymentID, f.box.Seal(newSecret), f.clock.Now().Add(time.Hour))
		})
		if err != nil {
			t.Fatal(err)
		}
		f.event(pay.Sandbox, "sess_3", PaymentCompleted, completed("sess_3"))
		f.runOnce(d)
		f.clock.Advance(2 * time.Hour)
		f.event(pay.Sandbox, "sess_4", PaymentCompleted, completed("sess_4"))
		f.runOnce(d)
		got = paymentRcv.requests()
		if len(got) != 4 {
			t.Fatalf("payment endpoint got %d requests, want 4", len(got))
		}
		if s := verifySakk(t, got[2], got2time(got[2]), newSecret, paymentSecret); !s[0] || !s[1] {
			t.Errorf("during the overlap: signed by new %v, old %v; want both (%s)", s[0], s[1], got[2].header.Get("Sakk-Signature"))
		}
		if s := verifySakk(t, got[3], f.clock.Now(), newSecret, paymentSecret); !s[0] || s[1] {
			t.Errorf("after the overlap: signed by new %v, old %v; want the new only", s[0], s[1])
		}
	})
}

// got2time is the time a payment-format request was signed at.
func got2time(r received) time.Time {
	t, _, _ := strings.Cut(strings.TrimPrefix(r.header.Get("Sakk-Signature"), "t="), ",")
	unix, _ := strconv.ParseInt(t, 10, 64)
	return time.Unix(unix, 0)
}

func TestRetriesThenDelivers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		rcv := newReceiver(t, false, func(n int, _ received) int {
			if n <= 3 {
				return 500
			}
			return 200
		})
		_, secret := f.endpoint(pay.Sandbox, rcv.srv.URL, pay.WebhookCheckout)
		f.event(pay.Sandbox, "sess_1", PaymentCompleted, completed("sess_1"))
		d := f.dispatcher()

		start := f.clock.Now()
		for i, wait := range []time.Duration{0, 5 * time.Second, 10 * time.Second, 15 * time.Second} {
			f.clock.Advance(wait)
			if p := f.runOnce(d); p.Attempted != 1 {
				t.Fatalf("attempt %d: pass %+v, want one attempt", i+1, p)
			}
			// Not due again until its next time has come.
			if p := f.runOnce(d); p.Attempted != 0 {
				t.Fatalf("after attempt %d: attempted again at once: %+v", i+1, p)
			}
		}
		got := rcv.requests()
		if len(got) != 4 {
			t.Fatalf("receiver got %d requests, want 4", len(got))
		}
		for _, r := range got {
			if r.id != got[0].id || string(r.body) != string(got[0].body) {
				t.Errorf("a retry changed the event id or body")
			}
		}
		verifyAlya(t, got[3], secret, f.clock.Now())

		deliveries, err := st.WebhookDeliveries(t.Context(), f.app, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(deliveries) != 1 || deliveries[0].Status != store.DeliveryDelivered || deliveries[0].Attempts != 4 {
			t.Fatalf("deliveries: %+v", deliveries)
		}
		attempts, err := st.WebhookAttempts(t.Context(), deliveries[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		var codes []int
		var at []time.Duration
		for _, a := range attempts {
			codes = append(codes, a.StatusCode)
			at = append(at, a.StartedAt.Sub(start))
			if a.Latency <= 0 || !strings.HasPrefix(a.ResponseExcerpt, "answer ") {
				t.Errorf("attempt lacks latency or excerpt: %+v", a)
			}
		}
		if fmt.Sprint(codes) != "[500 500 500 200]" || fmt.Sprint(at) != "[0s 5s 15s 30s]" {
			t.Errorf("attempts: codes %v at %v; want [500 500 500 200] at [0s 5s 15s 30s]", codes, at)
		}
	})
}

func TestPerSubjectOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		firstTries := 0
		rcv := newReceiver(t, false, func(_ int, r received) int {
			// The first event of sess_a fails twice.
			if strings.Contains(string(r.body), `"status":"pending"`) {
				if firstTries++; firstTries <= 2 {
					return 503
				}
			}
			return 200
		})
		f.endpoint(pay.Sandbox, rcv.srv.URL, pay.WebhookPayment)
		first := completed("sess_a")
		first.Status = "pending"
		f.event(pay.Sandbox, "sess_a", PaymentFailed, first)
		f.event(pay.Sandbox, "sess_a", PaymentCompleted, completed("sess_a"))
		refunded := completed("sess_a")
		refunded.Status, refunded.RefundedMinor = "refunded", 179900
		f.event(pay.Sandbox, "sess_a", PaymentRefunded, refunded)
		f.event(pay.Sandbox, "sess_b", PaymentCompleted, completed("sess_b"))

		d := f.dispatcher()
		// sess_b is not held up by sess_a; sess_a's later events wait.
		p := f.runOnce(d)
		if p.Attempted != 2 || p.Delivered != 1 {
			t.Fatalf("first pass: %+v, want sess_a's first (failing) and sess_b's", p)
		}
		f.clock.Advance(5 * time.Second)
		if p := f.runOnce(d); p.Attempted != 1 || p.Delivered != 0 {
			t.Fatalf("second pass: %+v, want sess_a's first only, failing again", p)
		}
		f.clock.Advance(10 * time.Second)
		// Delivered at last: the rest of sess_a follows in the same pass,
		// one after the other.
		if p := f.runOnce(d); p.Attempted != 3 || p.Delivered != 3 {
			t.Fatalf("third pass: %+v, want sess_a's three events", p)
		}
		var order []string
		for _, r := range rcv.requests() {
			if strings.Contains(string(r.body), `"sessionId":"sess_a"`) {
				order = append(order, fmt.Sprintf("%s/%d", r.event, r.status))
			}
		}
		want := "[payment.failed/503 payment.failed/503 payment.failed/200 payment.completed/200 payment.refunded/200]"
		if fmt.Sprint(order) != want {
			t.Errorf("sess_a's requests: %v, want %s", order, want)
		}
	})
}

// Two dispatchers, each with its own connection pool (two instances),
// share one database: each event reaches the receiver exactly once when
// it always answers 200, and each subject's events arrive in order.
func TestTwoDispatchersDeliverOnce(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			opts := storetest.Options(t, engine)
			st1 := open(t, opts)
			st2 := open(t, opts)
			f := newFixture(t, st1)
			var mu sync.Mutex
			counts := map[string]int{}
			lastSeq := map[string]int{}
			outOfOrder := 0
			rcv := newReceiver(t, false, func(_ int, r received) int {
				var b struct {
					Data struct {
						SessionID string `json:"sessionId"`
						PaymentID string `json:"paymentId"`
					} `json:"data"`
				}
				json.Unmarshal(r.body, &b)
				seq, _ := strconv.Atoi(strings.TrimPrefix(b.Data.PaymentID, "pay_"))
				mu.Lock()
				defer mu.Unlock()
				counts[r.id]++
				if seq <= lastSeq[b.Data.SessionID] {
					outOfOrder++
				}
				lastSeq[b.Data.SessionID] = seq
				return 200
			})
			f.endpoint(pay.Sandbox, rcv.srv.URL, pay.WebhookPayment)
			const subjects, perSubject = 20, 6
			for i := range perSubject {
				for s := range subjects {
					p := completed(fmt.Sprintf("sess_%02d", s))
					p.PaymentID = fmt.Sprintf("pay_%d", i+1)
					f.event(pay.Sandbox, p.SessionID, PaymentCompleted, p)
				}
			}
			var wg sync.WaitGroup
			for _, st := range []*store.Store{st1, st2} {
				d := New(st, f.box, Options{Now: f.clock.Now, Concurrency: 4})
				wg.Go(func() {
					// Bounded: each pass delivers at least one event of
					// every subject whose turn it is.
					for range 4 * perSubject {
						if _, err := d.RunOnce(t.Context()); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			mu.Lock()
			defer mu.Unlock()
			if len(counts) != subjects*perSubject {
				t.Errorf("receiver saw %d distinct events, want %d", len(counts), subjects*perSubject)
			}
			for id, n := range counts {
				if n != 1 {
					t.Errorf("event %s delivered %d times", id, n)
				}
			}
			if outOfOrder != 0 {
				t.Errorf("%d events arrived before an earlier one of their session", outOfOrder)
			}
		})
	}
}

func open(t *testing.T, o store.Options) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}

// An instance that claimed a delivery and died never records it: once its
// lease ends, another instance delivers it.
func TestLeaseExpiryRedelivers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		rcv := newReceiver(t, false, always(200))
		f.endpoint(pay.Sandbox, rcv.srv.URL, pay.WebhookCheckout)
		f.event(pay.Sandbox, "sess_1", PaymentCompleted, completed("sess_1"))
		d := f.dispatcher()
		if _, err := d.route(t.Context()); err != nil {
			t.Fatal(err)
		}
		// The instance that "crashes": claims, then never sends or records.
		claimed, err := d.claim(t.Context())
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %d, %v", len(claimed), err)
		}
		survivor := f.dispatcher()
		if p := f.runOnce(survivor); p.Attempted != 0 {
			t.Fatalf("a leased delivery was sent: %+v", p)
		}
		f.clock.Advance(Lease - time.Second)
		if p := f.runOnce(survivor); p.Attempted != 0 {
			t.Fatalf("sent before the lease ended: %+v", p)
		}
		f.clock.Advance(time.Second)
		if p := f.runOnce(survivor); p.Delivered != 1 {
			t.Fatalf("after the lease: %+v, want the delivery made", p)
		}
		if n := len(rcv.requests()); n != 1 {
			t.Errorf("receiver got %d requests, want 1", n)
		}
	})
}

func TestGuardRefusesPrivateAddressesInLive(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		live := newReceiver(t, true, always(200))
		sandbox := newReceiver(t, false, always(200))
		port := live.srv.URL[strings.LastIndex(live.srv.URL, ":"):]
		// 127.0.0.1 directly, and a name that resolves to loopback at
		// connect time.
		f.endpoint(pay.Live, live.srv.URL, pay.WebhookCheckout)
		f.endpoint(pay.Live, "https://localhost"+port, pay.WebhookCheckout)
		f.endpoint(pay.Sandbox, sandbox.srv.URL, pay.WebhookCheckout)
		f.event(pay.Live, "sess_live", PaymentCompleted, completed("sess_live"))
		f.event(pay.Sandbox, "sess_sandbox", PaymentCompleted, completed("sess_sandbox"))

		p := f.runOnce(f.dispatcher())
		if p.Attempted != 3 || p.Delivered != 1 {
			t.Fatalf("pass: %+v, want 3 attempts, only the sandbox one delivered", p)
		}
		if n := len(live.requests()); n != 0 {
			t.Errorf("the live receiver on loopback got %d requests", n)
		}
		if n := len(sandbox.requests()); n != 1 {
			t.Errorf("the sandbox receiver on loopback got %d requests, want 1", n)
		}
		deliveries, err := st.WebhookDeliveries(t.Context(), f.app, 10)
		if err != nil {
			t.Fatal(err)
		}
		refused := 0
		for _, d := range deliveries {
			if d.Environment == pay.Live {
				if d.Status != store.DeliveryPending || !strings.Contains(d.LastError, "refusing to connect to 127.0.0.1") &&
					!strings.Contains(d.LastError, "refusing to connect to ::1") {
					t.Errorf("live delivery: status %s, error %q", d.Status, d.LastError)
				}
				refused++
			}
		}
		if refused != 2 {
			t.Errorf("%d live deliveries, want 2", refused)
		}
	})
}

// The table of forbidden addresses is netguard's; this checks that the
// dialer's guard consults it, whichever way the address is written.
func TestGuardControl(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "::1": true, "::ffff:10.0.0.1": true, "169.254.169.254": true,
		"93.184.216.34": false, "2606:2800:220:1:248:1893:25c8:1946": false,
	} {
		err := guardControl("tcp", netJoin(addr, "443"), nil)
		if got := err != nil; got != want {
			t.Errorf("%s: refused %v, want %v (%v)", addr, got, want, err)
		}
	}
}

func netJoin(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// An endpoint that never answers 2xx is retried for 3 days, then its
// delivery gives up and the endpoint is disabled with the reason.
func TestDisabledAfterThreeDays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		rcv := newReceiver(t, false, always(500))
		id, _ := f.endpoint(pay.Sandbox, rcv.srv.URL, pay.WebhookCheckout)
		f.event(pay.Sandbox, "sess_1", PaymentCompleted, completed("sess_1"))
		d := f.dispatcher()
		start := f.clock.Now()

		var delivery store.WebhookDelivery
		for range 100 {
			f.runOnce(d)
			deliveries, err := st.WebhookDeliveries(t.Context(), f.app, 10)
			if err != nil || len(deliveries) != 1 {
				t.Fatalf("deliveries: %v, %v", deliveries, err)
			}
			delivery = deliveries[0]
			if delivery.Status != store.DeliveryPending {
				break
			}
			f.clock.Set(delivery.NextAttemptAt)
		}
		if delivery.Status != store.DeliveryFailed {
			t.Fatalf("after 100 rounds the delivery is %s", delivery.Status)
		}
		attempts, err := st.WebhookAttempts(t.Context(), delivery.ID)
		if err != nil {
			t.Fatal(err)
		}
		last := attempts[len(attempts)-1].StartedAt
		if got := last.Sub(start); got != RetryWindow {
			t.Errorf("last attempt %v after the first, want %v", got, RetryWindow)
		}
		if len(attempts) != delivery.Attempts || len(attempts) < 10 || len(attempts) > 30 {
			t.Errorf("%d attempts (delivery says %d)", len(attempts), delivery.Attempts)
		}
		if n := len(rcv.requests()); n != len(attempts) {
			t.Errorf("receiver saw %d requests, %d attempts recorded", n, len(attempts))
		}
		w, err := st.WebhookEndpoint(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if w.Endpoint.Enabled || !strings.Contains(w.Endpoint.DisabledReason, "HTTP 500") {
			t.Errorf("endpoint: enabled %v, reason %q", w.Endpoint.Enabled, w.Endpoint.DisabledReason)
		}
		// A disabled endpoint gets no new deliveries.
		f.event(pay.Sandbox, "sess_2", PaymentCompleted, completed("sess_2"))
		if p := f.runOnce(d); p.Routed != 1 || p.Attempted != 0 {
			t.Errorf("after disabling: %+v", p)
		}
	})
}

// An endpoint that fails for a while but recovers inside 3 days stays
// enabled.
func TestRecoveredEndpointStaysEnabled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		failing := true
		rcv := newReceiver(t, false, func(int, received) int {
			if failing {
				return 502
			}
			return 200
		})
		id, _ := f.endpoint(pay.Sandbox, rcv.srv.URL, pay.WebhookCheckout)
		d := f.dispatcher()
		for day := range 5 {
			f.event(pay.Sandbox, fmt.Sprintf("sess_%d", day), PaymentCompleted, completed(fmt.Sprintf("sess_%d", day)))
			rcv.mu.Lock()
			failing = true
			rcv.mu.Unlock()
			f.runOnce(d)
			f.clock.Advance(47 * time.Hour)
			rcv.mu.Lock()
			failing = false
			rcv.mu.Unlock()
			f.runOnce(d)
			f.clock.Advance(time.Hour)
		}
		w, err := st.WebhookEndpoint(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if !w.Endpoint.Enabled {
			t.Errorf("endpoint disabled although it recovered: %q", w.Endpoint.DisabledReason)
		}
	})
}

func TestUnmappablePayloadIsSkipped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		rcv := newReceiver(t, false, always(200))
		f.endpoint(pay.Sandbox, rcv.srv.URL, pay.WebhookCheckout)
		f.endpoint(pay.Sandbox, rcv.srv.URL, pay.WebhookPayment)
		f.rawEvent(pay.Sandbox, "sess_1", PaymentCompleted, []byte(`{"amountMinor":"not a number"}`))
		f.rawEvent(pay.Sandbox, "sess_1", PaymentCompleted, []byte(`{"sessionId":"sess_1","currency":"XXQ"}`))
		f.event(pay.Sandbox, "sess_1", PaymentCompleted, completed("sess_1"))
		p := f.runOnce(f.dispatcher())
		if p.Routed != 3 || p.Delivered != 2 {
			t.Errorf("pass: %+v, want 3 routed and the valid event delivered to both endpoints", p)
		}
	})
}

func TestTestEventAndResend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		rcv := newReceiver(t, false, always(200))
		checkoutID, checkoutSecret := f.endpoint(pay.Sandbox, rcv.srv.URL, pay.WebhookCheckout)
		paymentID, paymentSecret := f.endpoint(pay.Sandbox, rcv.srv.URL, pay.WebhookPayment)
		d := f.dispatcher()

		a, err := d.Test(t.Context(), checkoutID)
		if err != nil || !a.Delivered || a.StatusCode != 200 {
			t.Fatalf("test: %+v, %v", a, err)
		}
		if _, err := d.Test(t.Context(), paymentID); err != nil {
			t.Fatal(err)
		}
		got := rcv.requests()
		if len(got) != 2 || got[0].event != "test" || got[1].event != "test" {
			t.Fatalf("requests: %+v", got)
		}
		verifyAlya(t, got[0], checkoutSecret, f.clock.Now())
		if s := verifySakk(t, got[1], f.clock.Now(), paymentSecret); !s[0] {
			t.Errorf("test event to the payment endpoint not signed")
		}
		if _, err := d.Test(t.Context(), "whe_unknown"); pay.KindOf(err) != pay.NotFound {
			t.Errorf("test of an unknown endpoint: %v", err)
		}
		// A test delivery is recorded, and not delivered again by Run.
		if p := f.runOnce(d); p.Attempted != 0 {
			t.Errorf("a test event was sent again: %+v", p)
		}

		// Re-send a delivered event: the same id and body again.
		f.event(pay.Sandbox, "sess_1", PaymentCompleted, completed("sess_1"))
		f.runOnce(d)
		deliveries, err := st.WebhookDeliveries(t.Context(), f.app, 10)
		if err != nil {
			t.Fatal(err)
		}
		var target store.WebhookDelivery
		for _, dl := range deliveries {
			if dl.EndpointID == checkoutID && dl.EventType == "transaction.approved" {
				target = dl
			}
		}
		before := len(rcv.requests())
		f.clock.Advance(time.Hour)
		a, err = d.Resend(t.Context(), target.ID)
		if err != nil || !a.Delivered {
			t.Fatalf("resend: %+v, %v", a, err)
		}
		got = rcv.requests()
		if len(got) != before+1 || got[len(got)-1].id != target.MessageID || string(got[len(got)-1].body) != string(target.Body) {
			t.Errorf("resend did not repeat the event")
		}
		verifyAlya(t, got[len(got)-1], checkoutSecret, f.clock.Now())
		if _, err := d.Resend(t.Context(), "whd_unknown"); pay.KindOf(err) != pay.NotFound {
			t.Errorf("resend of an unknown delivery: %v", err)
		}
	})
}

func TestRetrySchedule(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := created
	var delays []time.Duration
	for n := 1; ; n++ {
		next, ok := nextAttempt(created, now, n)
		if !ok {
			break
		}
		delays = append(delays, next.Sub(now))
		now = next
		if n > 100 {
			t.Fatal("never gives up")
		}
	}
	if fmt.Sprint(delays[:3]) != "[5s 10s 15s]" {
		t.Errorf("first delays %v, want [5s 10s 15s]", delays[:3])
	}
	for i := 3; i < len(delays)-1; i++ {
		if delays[i] < delays[i-1] {
			t.Errorf("delay %d (%v) shorter than the one before (%v)", i, delays[i], delays[i-1])
		}
	}
	if !now.Equal(created.Add(RetryWindow)) {
		t.Errorf("last attempt at %v, want the end of the window %v", now.Sub(created), RetryWindow)
	}
}

// Run delivers at start, then sleeps until its poll interval (an hour
// here) unless Notify wakes it; it returns when its context ends.
func TestRunWakesOnNotify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		arrived := make(chan string, 10)
		rcv := newReceiver(t, false, func(_ int, r received) int {
			arrived <- r.id
			return 200
		})
		f.endpoint(pay.Sandbox, rcv.srv.URL, pay.WebhookPayment)
		probe := f.event(pay.Sandbox, "sess_1", PaymentCompleted, completed("sess_1"))

		d := New(st, f.box, Options{Now: f.clock.Now, PollInterval: time.Hour})
		ctx, cancel := context.WithCancel(t.Context())
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			d.Run(ctx)
		}()
		wait := func(want string) {
			t.Helper()
			select {
			case id := <-arrived:
				if id != want {
					t.Fatalf("got event %s, want %s", id, want)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("event %s never arrived", want)
			}
		}
		wait(probe.ID)
		later := f.event(pay.Sandbox, "sess_2", PaymentCompleted, completed("sess_2"))
		d.Notify()
		d.Notify() // a second call before Run wakes must not block
		wait(later.ID)
		cancel()
		<-stopped
	})
}

// An endpoint with an event filter gets only the types it names, by its
// format's names; one without gets everything.
func TestEventFilter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		all, wanted, other := newReceiver(t, false, always(200)), newReceiver(t, false, always(200)), newReceiver(t, false, always(200))
		f.endpoint(pay.Sandbox, all.srv.URL, pay.WebhookPayment)
		for _, e := range []struct {
			url, format string
			events      []string
		}{
			{wanted.srv.URL, string(pay.WebhookCheckout), []string{"transaction.approved"}},
			{other.srv.URL, string(pay.WebhookPayment), []string{PaymentCancelled}},
		} {
			if _, _, err := f.svc.AddWebhook(t.Context(), merchant.NewWebhook{ApplicationID: f.app, Environment: pay.Sandbox,
				URL: e.url, Format: pay.WebhookFormat(e.format), Events: e.events}); err != nil {
				t.Fatal(err)
			}
		}
		f.event(pay.Sandbox, "sess_1", PaymentCompleted, completed("sess_1"))
		f.runOnce(f.dispatcher())
		if n := len(all.requests()); n != 1 {
			t.Errorf("the unfiltered endpoint got %d requests, want 1", n)
		}
		if got := wanted.requests(); len(got) != 1 || got[0].event != "transaction.approved" {
			t.Errorf("the endpoint asking for transaction.approved got %+v", got)
		}
		if n := len(other.requests()); n != 0 {
			t.Errorf("the endpoint asking for %s only got %d requests", PaymentCancelled, n)
		}
	})
}

// Run's workers do not wait for each other: with two of them, an
// endpoint that does not answer holds one, and every delivery to another
// endpoint goes through the other while the first request still hangs.
func TestRunSlowEndpointHoldsUpNoOther(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		release := make(chan struct{})
		var hanging atomic.Bool
		slow := newReceiver(t, false, func(int, received) int {
			hanging.Store(true)
			<-release
			hanging.Store(false)
			return 200
		})
		t.Cleanup(func() { close(release) }) // before the receiver closes (cleanups run last first)
		arrived := make(chan string, 10)
		fast := newReceiver(t, false, func(_ int, r received) int {
			arrived <- r.id
			return 200
		})
		f.endpoint(pay.Sandbox, slow.srv.URL, pay.WebhookPayment)
		f.endpoint(pay.Sandbox, fast.srv.URL, pay.WebhookPayment)
		const n = 5
		for i := range n {
			sess := fmt.Sprintf("sess_%d", i)
			f.event(pay.Sandbox, sess, PaymentCompleted, completed(sess))
		}

		d := New(st, f.box, Options{Now: f.clock.Now, PollInterval: time.Hour, Concurrency: 2})
		ctx, cancel := context.WithCancel(t.Context())
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			d.Run(ctx)
		}()
		for i := range n {
			select {
			case <-arrived:
			case <-time.After(Timeout / 2): // a hung request ends after Timeout
				t.Fatalf("%d of %d deliveries to the answering endpoint arrived while the other hung", i, n)
			}
		}
		if !hanging.Load() {
			t.Error("the slow endpoint's request was not hanging any more when the others were delivered")
		}
		cancel()
		release <- struct{}{} // the hanging request answers; Run returns once it is recorded
		<-stopped
	})
}
