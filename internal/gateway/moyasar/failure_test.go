package moyasar_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/moyasar"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// The tests below put a broken server where Moyasar should be: answers
// that never came or cannot be read must be unknown outcomes, retried
// with the same given_id, and never declines.

const paidSAR = `{"id":"11111111-1111-4111-8111-111111111111","status":"paid","amount":1000,"currency":"SAR","refunded":0,"captured":0,"source":{"type":"creditcard","message":"APPROVED","response_code":"00"}}`

// broken is a loopback server answering each attempt with answer(n), n
// counting from 0; it records each attempt's method, path and given_id.
type broken struct {
	mu    sync.Mutex
	calls []call
	srv   *httptest.Server
}

type call struct{ method, path, givenID string }

func newBroken(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *broken {
	t.Helper()
	b := &broken{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var in struct {
			GivenID string `json:"given_id"`
		}
		json.Unmarshal(body, &in)
		b.mu.Lock()
		n := len(b.calls)
		b.calls = append(b.calls, call{r.Method, r.URL.Path, in.GivenID})
		b.mu.Unlock()
		answer(n, w, r)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *broken) attempts() []call {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]call(nil), b.calls...)
}

func brokenConnector(t *testing.T, base string, retries int) *moyasar.Connector {
	t.Helper()
	c, err := moyasar.New(moyasar.Config{SecretKey: "sk_test_" + randomHex(8), BaseURL: base, MaxRetries: retries, HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	moyasar.SetBackoff(c, time.Millisecond)
	return c
}

func status(code int, body string) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write([]byte(body))
	}
}

func chargeReq(a money.Amount, token string) gateway.ChargeRequest {
	return gateway.ChargeRequest{
		IdempotencyKey: pay.NewID("test"), PaymentID: pay.NewID(pay.PrefixPayment), SessionID: pay.NewID(pay.PrefixSession),
		Amount: a, Method: "card", PaymentToken: token, ReturnURL: "https://sakk.test/api/v1/payments/callback/sess_x",
	}
}

func TestNoAnswerIsUnknown(t *testing.T) {
	const retries = 2
	cases := []struct {
		name     string
		answer   func(int, http.ResponseWriter, *http.Request)
		attempts int
	}{
		{"500", status(500, `{"type":"api_error","message":"Internal Server Error"}`), 1 + retries},
		{"503 with an HTML body", status(503, `<html>maintenance</html>`), 1 + retries},
		{"429", status(429, `{"type":"rate_limit_error","message":"Too Many Requests"}`), 1 + retries},
		{"201 with a broken body", status(201, `{"id":"11111111-1111-4111-8111-1111`), 1},
		{"201 with something else", status(201, `{"payments":[]}`), 1},
		{"201 with a fractional amount", status(201, `{"id":"p1","status":"paid","amount":10.5,"currency":"SAR"}`), 1},
		{"paid in an unknown currency", status(201, `{"id":"p1","status":"paid","amount":1000,"currency":"ZZZ"}`), 1},
		{"unknown status", status(201, `{"id":"p1","status":"pending_magic","amount":1000,"currency":"SAR"}`), 1},
		{"body cut short", func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(201)
			w.Write([]byte(`{"id":"p1",`))
		}, 1 + retries},
		{"connection dropped", func(_ int, w http.ResponseWriter, _ *http.Request) { hangUp(w) }, 1 + retries},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBroken(t, tc.answer)
			c := brokenConnector(t, b.srv.URL, retries)
			req := chargeReq(money.Amount{Minor: 1000, Currency: "SAR"}, "token_abc")
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
			calls := b.attempts()
			if len(calls) != tc.attempts {
				t.Errorf("%d attempts, want %d", len(calls), tc.attempts)
			}
			for _, c := range calls {
				if c.method != http.MethodPost || c.path != "/v1/payments" || c.givenID != moyasar.GivenID(req.IdempotencyKey) {
					t.Errorf("attempt %+v, want POST /v1/payments with given_id %s on every one", c, moyasar.GivenID(req.IdempotencyKey))
				}
			}
			if _, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: "p1"}); err == nil || pay.KindOf(err) == pay.NotFound {
				t.Errorf("Fetch against the same server: %v, want a non-NotFound error", err)
			}
		})
	}
}

// TestRetryThenAnswer: a 5xx, then Moyasar's answer: the retry, with the
// same given_id, gives the payment.
func TestRetryThenAnswer(t *testing.T) {
	b := newBroken(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			status(502, `bad gateway`)(n, w, r)
			return
		}
		status(201, paidSAR)(n, w, r)
	})
	c := brokenConnector(t, b.srv.URL, 2)
	req := chargeReq(money.Amount{Minor: 1000, Currency: "SAR"}, "token_abc")
	res, err := c.Charge(t.Context(), req)
	if err != nil || res.Outcome != gateway.Approved || res.Captured != req.Amount {
		t.Fatalf("Charge = (%+v, %v), want approved after one retry", res, err)
	}
	if calls := b.attempts(); len(calls) != 2 || calls[0].givenID != calls[1].givenID {
		t.Errorf("attempts %+v, want two with one given_id", calls)
	}
}

// TestSlowMoyasar: a Moyasar that does not answer before the caller's
// deadline, or the HTTP client's timeout, is an unknown outcome.
func TestSlowMoyasar(t *testing.T) {
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
	res, err := c.Charge(ctx, chargeReq(money.Amount{Minor: 1000, Currency: "SAR"}, "token_abc"))
	if o := gateway.ChargeOutcome(res, err); o != gateway.Unknown || pay.KindOf(err) != pay.Unavailable {
		t.Errorf("Charge past the deadline = (%+v, %v) reads %q, want unknown", res, err, o)
	}
	short, err := moyasar.New(moyasar.Config{SecretKey: "sk_test_x", BaseURL: b.srv.URL, MaxRetries: -1, HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	res, err = short.Charge(t.Context(), chargeReq(money.Amount{Minor: 1000, Currency: "SAR"}, "token_abc"))
	if o := gateway.ChargeOutcome(res, err); o != gateway.Unknown || pay.KindOf(err) != pay.Unavailable {
		t.Errorf("Charge past the client timeout = (%+v, %v) reads %q, want unknown", res, err, o)
	}
}

// TestRefusals: Moyasar's 4xx answers to a create are refusals once the
// given_id is known not to name a payment; not retried.
func TestRefusals(t *testing.T) {
	notFound := `{"type":"invalid_request_error","message":"Object not found","errors":null}`
	cases := []struct {
		name   string
		create string
		status int
		code   string
	}{
		{"validation", `{"type":"invalid_request_error","message":"Validation Failed","errors":{"callback_url":["is required"]}}`, 400, gateway.CodeInvalidRequest},
		{"bad token", `{"type":"invalid_request_error","message":"Validation Failed","errors":{"source.token":["is invalid"]}}`, 400, gateway.CodeInvalidPaymentToken},
		{"currency not enabled", `{"type":"invalid_request_error","message":"Validation Failed","errors":{"currency":["is not supported"]}}`, 400, gateway.CodeCurrencyNotSupported},
		{"bad key", `{"type":"authentication_error","message":"Invalid authorization credentials","errors":null}`, 401, gateway.CodeInvalidRequest},
		{"account not live", `{"type":"account_inactive_error","message":"Entity not activated to use live account","errors":null}`, 405, gateway.CodeInvalidRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBroken(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					status(404, notFound)(n, w, r)
					return
				}
				status(tc.status, tc.create)(n, w, r)
			})
			c := brokenConnector(t, b.srv.URL, 2)
			res, err := c.Charge(t.Context(), chargeReq(money.Amount{Minor: 1000, Currency: "SAR"}, "token_abc"))
			if pay.KindOf(err) != pay.Invalid || pay.CodeOf(err) != tc.code {
				t.Errorf("Charge = (%+v, %v), want invalid %s", res, err, tc.code)
			}
			if o := gateway.ChargeOutcome(res, err); o != gateway.Declined {
				t.Errorf("reads as %q, want declined (nothing charged)", o)
			}
			calls := b.attempts()
			if len(calls) != 2 || calls[0].method != http.MethodPost || calls[1].method != http.MethodGet || calls[1].path != "/v1/payments/"+calls[0].givenID {
				t.Errorf("calls %+v, want one POST, then GET /v1/payments/{given_id}", calls)
			}
		})
	}
}

// TestRefundNotRetried: a refund POST that got no answer is not sent
// again: without an idempotency key at Moyasar, a retry could refund
// twice.
func TestRefundNotRetried(t *testing.T) {
	b := newBroken(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodPut:
			status(200, paidSAR)(n, w, r)
		default:
			status(500, `{"type":"api_error","message":"boom"}`)(n, w, r)
		}
	})
	c := brokenConnector(t, b.srv.URL, 3)
	_, err := c.Refund(t.Context(), gateway.RefundRequest{IdempotencyKey: pay.NewID(pay.PrefixRefund), PaymentReference: "11111111-1111-4111-8111-111111111111", Amount: money.Amount{Minor: 500, Currency: "SAR"}})
	if pay.KindOf(err) != pay.Unavailable {
		t.Errorf("Refund against a 500 = %v, want unavailable", err)
	}
	posts := 0
	for _, c := range b.attempts() {
		if c.method == http.MethodPost {
			posts++
		}
	}
	if posts != 1 {
		t.Errorf("%d refund POSTs, want exactly 1", posts)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	bad := []moyasar.Config{
		{},
		{SecretKey: "pk_test_x"},
		{SecretKey: "sk_test_"},
		{SecretKey: "sk_test_x y"},
		{SecretKey: "sk_test_a:b"},
		{SecretKey: "sk_test_x", PublishableKey: "pk_live_y"},
		{SecretKey: "sk_live_x", PublishableKey: "sk_live_y"},
		{SecretKey: "sk_test_x", WebhookSecret: "short"},
		{SecretKey: "sk_test_x", BaseURL: "ftp://example.com"},
		{SecretKey: "sk_test_x", BaseURL: "/v1"},
	}
	for _, cfg := range bad {
		if _, err := moyasar.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
	c, err := moyasar.New(moyasar.Config{SecretKey: "sk_live_x", PublishableKey: "pk_live_y", WebhookSecret: "a-long-secret"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "moyasar" || c.PublishableKey() != "pk_live_y" || !c.Capabilities().Webhooks {
		t.Errorf("Name %q, PublishableKey %q, Capabilities %+v", c.Name(), c.PublishableKey(), c.Capabilities())
	}
	c2, _ := moyasar.New(moyasar.Config{SecretKey: "sk_test_x"})
	if c2.Capabilities().Webhooks {
		t.Error("Capabilities.Webhooks without a WebhookSecret")
	}
}
