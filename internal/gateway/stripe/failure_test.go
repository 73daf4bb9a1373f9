package stripe_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/stripe"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// The tests below put a broken server where Stripe should be: answers
// that never came or cannot be read must be unknown outcomes, retried
// with the same Idempotency-Key, and never declines.

const succeededPI = `{"id":"pi_1","object":"payment_intent","status":"succeeded","amount":1000,"amount_received":1000,"currency":"usd"}`

// broken is a loopback server answering each attempt with answer(n),
// n counting from 0; it records the Idempotency-Key of every attempt.
type broken struct {
	mu   sync.Mutex
	keys []string
	srv  *httptest.Server
}

func newBroken(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *broken {
	t.Helper()
	b := &broken{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		n := len(b.keys)
		b.keys = append(b.keys, r.Header.Get("Idempotency-Key"))
		b.mu.Unlock()
		answer(n, w, r)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *broken) attempts() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.keys...)
}

func brokenConnector(t *testing.T, base string, retries int) *stripe.Connector {
	t.Helper()
	c, err := stripe.New(stripe.Config{SecretKey: "sk_test_" + randomHex(8), BaseURL: base, MaxRetries: retries, HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	stripe.SetBackoff(c, time.Millisecond)
	return c
}

func status(code int, body string, hdr ...string) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.WriteHeader(code)
		w.Write([]byte(body))
	}
}

func TestNoAnswerIsUnknown(t *testing.T) {
	const retries = 2
	cases := []struct {
		name     string
		answer   func(int, http.ResponseWriter, *http.Request)
		attempts int // 0: not checked
	}{
		{"500", status(500, `{"error":{"type":"api_error","message":"boom"}}`), 1 + retries},
		{"502 with an HTML body", status(502, `<html>bad gateway</html>`), 1 + retries},
		{"429", status(429, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"slow down"}}`), 1 + retries},
		{"409 key in flight", status(409, `{"error":{"type":"invalid_request_error","code":"idempotency_key_in_use","message":"in progress"}}`), 1 + retries},
		{"500 Stripe says not to retry", status(500, `{"error":{"type":"api_error"}}`, "Stripe-Should-Retry", "false"), 1},
		{"200 with a broken body", status(200, `{"id":"pi_1","object":"payment_in`), 1},
		{"200 with something else", status(200, `{"object":"list","data":[]}`), 1},
		{"succeeded with an unreadable amount", status(200, `{"id":"pi_1","object":"payment_intent","status":"succeeded","amount":1,"amount_received":1,"currency":"zzz"}`), 1},
		{"unknown status", status(200, `{"id":"pi_1","object":"payment_intent","status":"requires_magic","amount":1000,"currency":"usd"}`), 1},
		{"body cut short", func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(200)
			w.Write([]byte(`{"id":"pi_1",`))
		}, 1 + retries},
		{"connection dropped", func(_ int, w http.ResponseWriter, _ *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}, 1 + retries},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBroken(t, tc.answer)
			c := brokenConnector(t, b.srv.URL, retries)
			req := chargeReq(money.Amount{Minor: 1000, Currency: "USD"}, pmApprove)
			res, err := c.Charge(t.Context(), req)
			if err == nil || res.Outcome == gateway.Approved || res.Outcome == gateway.Declined {
				t.Fatalf("Charge = (%+v, %v), want an error and no verdict", res, err)
			}
			if o := gateway.ChargeOutcome(res, err); o != gateway.Unknown {
				t.Errorf("Charge reads as %q (%v), want unknown", o, err)
			}
			if k := pay.KindOf(err); k != pay.Unavailable {
				t.Errorf("error kind %v (%v), want unavailable", k, err)
			}
			keys := b.attempts()
			if len(keys) != tc.attempts {
				t.Errorf("%d attempts, want %d", len(keys), tc.attempts)
			}
			for _, k := range keys {
				if k != req.IdempotencyKey {
					t.Errorf("an attempt carried Idempotency-Key %q, want %q on every one", k, req.IdempotencyKey)
				}
			}
			// Fetch of the same must not read as NotFound either.
			if _, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: "pi_1"}); err == nil || pay.KindOf(err) == pay.NotFound {
				t.Errorf("Fetch against the same server: %v, want a non-NotFound error", err)
			}
		})
	}
}

// TestRetryThenAnswer: a 5xx, then Stripe's answer: the retry, with the
// same key, gives the charge.
func TestRetryThenAnswer(t *testing.T) {
	b := newBroken(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			status(503, `{"error":{"type":"api_error"}}`)(n, w, r)
			return
		}
		status(200, succeededPI)(n, w, r)
	})
	c := brokenConnector(t, b.srv.URL, 2)
	req := chargeReq(money.Amount{Minor: 1000, Currency: "USD"}, pmApprove)
	res, err := c.Charge(t.Context(), req)
	if err != nil || res.Outcome != gateway.Approved || res.Captured != req.Amount {
		t.Fatalf("Charge = (%+v, %v), want approved after one retry", res, err)
	}
	if keys := b.attempts(); len(keys) != 2 || keys[0] != keys[1] || keys[0] != req.IdempotencyKey {
		t.Errorf("attempts with keys %q, want two with %q", keys, req.IdempotencyKey)
	}
}

// TestSlowStripe: a Stripe that does not answer before the caller's
// deadline, or the HTTP client's timeout, is an unknown outcome.
func TestSlowStripe(t *testing.T) {
	release := make(chan struct{})
	b := newBroken(t, func(n int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release) // before the server closes (cleanups run after)
	c := brokenConnector(t, b.srv.URL, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	res, err := c.Charge(ctx, chargeReq(money.Amount{Minor: 1000, Currency: "USD"}, pmApprove))
	if o := gateway.ChargeOutcome(res, err); o != gateway.Unknown || pay.KindOf(err) != pay.Unavailable {
		t.Errorf("Charge past the deadline = (%+v, %v) reads %q, want unknown", res, err, o)
	}

	short, err := stripe.New(stripe.Config{SecretKey: "sk_test_x", BaseURL: b.srv.URL, MaxRetries: -1, HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	res, err = short.Charge(t.Context(), chargeReq(money.Amount{Minor: 1000, Currency: "USD"}, pmApprove))
	if o := gateway.ChargeOutcome(res, err); o != gateway.Unknown || pay.KindOf(err) != pay.Unavailable {
		t.Errorf("Charge past the client timeout = (%+v, %v) reads %q, want unknown", res, err, o)
	}
}

// TestStripeRefusals: Stripe's 4xx answers are refusals, nothing done.
func TestStripeRefusals(t *testing.T) {
	cases := []struct {
		name    string
		answer  func(int, http.ResponseWriter, *http.Request)
		kind    pay.Kind
		code    string
		outcome gateway.Outcome // what ChargeOutcome reads
	}{
		{"invalid request", status(400, `{"error":{"type":"invalid_request_error","code":"parameter_invalid_integer","param":"amount","message":"Invalid integer"}}`), pay.Invalid, gateway.CodeInvalidRequest, gateway.Declined},
		{"unknown PaymentMethod", status(400, `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"payment_method","message":"No such PaymentMethod: 'pm_x'"}}`), pay.Invalid, gateway.CodeInvalidPaymentToken, gateway.Declined},
		{"key reused with other parameters", status(400, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters"}}`), pay.Invalid, gateway.CodeIdempotencyKeyReused, gateway.Unknown},
		{"bad secret key", status(401, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_****"}}`), pay.Invalid, gateway.CodeInvalidRequest, gateway.Declined},
		{"ISK fraction", status(400, `{"error":{"type":"invalid_request_error","code":"invalid_charge_amount_no_decimal_compatible","message":"Invalid amount."}}`), pay.Invalid, gateway.CodeAmountNotRepresentable, gateway.Declined},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBroken(t, tc.answer)
			c := brokenConnector(t, b.srv.URL, 2)
			res, err := c.Charge(t.Context(), chargeReq(money.Amount{Minor: 1000, Currency: "USD"}, pmApprove))
			if pay.KindOf(err) != tc.kind || pay.CodeOf(err) != tc.code {
				t.Errorf("Charge = (%+v, %v), want %v %s", res, err, tc.kind, tc.code)
			}
			if o := gateway.ChargeOutcome(res, err); o != tc.outcome {
				t.Errorf("reads as %q, want %q", o, tc.outcome)
			}
			if n := len(b.attempts()); n != 1 {
				t.Errorf("%d attempts, want 1: a refusal is not retried", n)
			}
		})
	}
}

// TestCardErrorIsDecline: a 402 card error is a decline, a result, with
// the PaymentIntent Stripe put in the error as its reference.
func TestCardErrorIsDecline(t *testing.T) {
	b := newBroken(t, status(402, `{"error":{"type":"card_error","code":"expired_card","message":"Your card has expired.","payment_intent":{"id":"pi_9","object":"payment_intent","status":"requires_payment_method","amount":1000,"currency":"usd"}}}`))
	c := brokenConnector(t, b.srv.URL, 2)
	res, err := c.Charge(t.Context(), chargeReq(money.Amount{Minor: 1000, Currency: "USD"}, pmApprove))
	if err != nil || res.Outcome != gateway.Declined || res.Reference != "pi_9" || res.DeclineCode != gateway.DeclineExpiredCard || res.DeclineMessage != "Your card has expired." || res.Retryable {
		t.Errorf("Charge = (%+v, %v), want declined expired_card on pi_9", res, err)
	}
}

func TestFetchNotFound(t *testing.T) {
	b := newBroken(t, status(404, `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"intent","message":"No such payment_intent: 'pi_x'"}}`))
	c := brokenConnector(t, b.srv.URL, 2)
	if res, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: "pi_x"}); pay.KindOf(err) != pay.NotFound {
		t.Errorf("Fetch = (%+v, %v), want NotFound", res, err)
	}
	if n := len(b.attempts()); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	bad := []stripe.Config{
		{},
		{SecretKey: "pk_test_x"},
		{SecretKey: "sk_test_"},
		{SecretKey: "sk_test_x y"},
		{SecretKey: "sk_test_x", PublishableKey: "pk_live_y"},
		{SecretKey: "sk_live_x", PublishableKey: "sk_live_y"},
		{SecretKey: "sk_test_x", WebhookSecret: "secret"},
		{SecretKey: "sk_test_x", BaseURL: "ftp://example.com"},
		{SecretKey: "sk_test_x", BaseURL: "/v1"},
	}
	for _, cfg := range bad {
		if _, err := stripe.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
	c, err := stripe.New(stripe.Config{SecretKey: "rk_live_x", PublishableKey: "pk_live_y", WebhookSecret: "whsec_z"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "stripe" || c.PublishableKey() != "pk_live_y" || !c.Capabilities().Webhooks {
		t.Errorf("Name %q, PublishableKey %q, Capabilities %+v", c.Name(), c.PublishableKey(), c.Capabilities())
	}
}
