package paypal_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/paypal"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// The tests below put a broken PayPal on loopback: its token endpoint
// works, its API answers as each case says. Answers that never came or
// cannot be read must be unknown outcomes, retried with the same
// PayPal-Request-Id, and never declines.

const tokenBody = `{"scope":"x","access_token":"A21AAtesttoken","token_type":"Bearer","app_id":"APP-1","expires_in":32400,"nonce":"n"}`

type broken struct {
	mu     sync.Mutex
	keys   []string // PayPal-Request-Id of every API attempt
	paths  []string
	tokens int
	srv    *httptest.Server
}

func newBroken(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *broken {
	t.Helper()
	b := &broken{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/oauth2/token" {
			b.mu.Lock()
			b.tokens++
			b.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(tokenBody))
			return
		}
		b.mu.Lock()
		n := len(b.keys)
		b.keys = append(b.keys, r.Header.Get("PayPal-Request-Id"))
		b.paths = append(b.paths, r.Method+" "+r.URL.Path)
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

func brokenConnector(t *testing.T, base string, retries int) *paypal.Connector {
	t.Helper()
	c, err := paypal.New(paypal.Config{ClientID: "client", ClientSecret: "secret", WebhookID: "WH1", BaseURL: base, MaxRetries: retries, HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	paypal.SetBackoff(c, time.Millisecond)
	return c
}

func status(code int, body string) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write([]byte(body))
	}
}

func chargeReq(a money.Amount) gateway.ChargeRequest {
	return gateway.ChargeRequest{
		IdempotencyKey: pay.NewID("idem"), PaymentID: pay.NewID(pay.PrefixPayment), SessionID: pay.NewID(pay.PrefixSession),
		Amount: a, Method: "paypal", ReturnURL: "https://sakk.test/api/v1/payments/callback/tok",
	}
}

var usd = money.Amount{Minor: 1000, Currency: "USD"}

func TestNoAnswerIsUnknown(t *testing.T) {
	const retries = 2
	cases := []struct {
		name     string
		answer   func(int, http.ResponseWriter, *http.Request)
		attempts int
	}{
		{"500", status(500, `{"name":"INTERNAL_SERVER_ERROR","message":"An internal server error occurred.","debug_id":"d"}`), 1 + retries},
		{"503 with an HTML body", status(503, `<html>unavailable</html>`), 1 + retries},
		{"429", status(429, `{"name":"RATE_LIMIT_REACHED","message":"Too many requests."}`), 1 + retries},
		{"409 request id in flight", status(409, `{"name":"RESOURCE_CONFLICT","message":"The server has detected a conflict while processing this request."}`), 1 + retries},
		{"201 with a broken body", status(201, `{"id":"5O190127TN364715T","status":"PAYER_ACT`), 1},
		{"201 with something else", status(201, `{"name":"x"}`), 1},
		{"201 with an unknown status", status(201, `{"id":"5O190127TN364715T","status":"MAGIC","links":[]}`), 1},
		{"201 awaiting approval without a link", status(201, `{"id":"5O190127TN364715T","status":"PAYER_ACTION_REQUIRED","links":[]}`), 1},
		{"201 completed with an unreadable capture amount", status(201, `{"id":"5O190127TN364715T","status":"COMPLETED","purchase_units":[{"payments":{"captures":[{"id":"C1","status":"COMPLETED","amount":{"currency_code":"USD","value":"10.001"}}]}}]}`), 1},
		{"500 with a 4xx-looking body", status(500, `{"name":"UNPROCESSABLE_ENTITY","details":[{"issue":"INSTRUMENT_DECLINED"}]}`), 1 + retries},
		{"body cut short", func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(201)
			w.Write([]byte(`{"id":"5O1`))
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
			req := chargeReq(usd)
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
					t.Errorf("an attempt carried PayPal-Request-Id %q, want %q on every one", k, req.IdempotencyKey)
				}
			}
			if _, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: "5O190127TN364715T"}); err == nil || pay.KindOf(err) == pay.NotFound {
				t.Errorf("Fetch against the same server: %v, want a non-NotFound error", err)
			}
		})
	}
}

const approvedOrder = `{"id":"5O190127TN364715T","status":"APPROVED","links":[]}`

// TestCaptureWithoutAnswer: the shopper approved, and the capture's
// answer is lost: unknown, retried with the capture's request id, never
// a decline. The next Fetch captures with the same request id.
func TestCaptureWithoutAnswer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		capture func(int, http.ResponseWriter, *http.Request)
	}{
		{"500", status(500, `{"name":"INTERNAL_SERVER_ERROR","message":"x"}`)},
		{"dropped", func(_ int, w http.ResponseWriter, _ *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}},
		{"broken body", status(201, `{"id":"5O190127TN364715T","status":"COMPL`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBroken(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					status(200, approvedOrder)(n, w, r)
					return
				}
				tc.capture(n, w, r)
			})
			c := brokenConnector(t, b.srv.URL, 1)
			res, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: "5O190127TN364715T"})
			if err == nil || pay.KindOf(err) != pay.Unavailable || res.Outcome == gateway.Declined || res.Outcome == gateway.Approved {
				t.Fatalf("Fetch = (%+v, %v), want unavailable, no verdict", res, err)
			}
			for i, k := range b.attempts() {
				if b.paths[i] == "POST /v2/checkout/orders/5O190127TN364715T/capture" && k != "capture-5O190127TN364715T" {
					t.Errorf("capture attempt with PayPal-Request-Id %q", k)
				}
			}
		})
	}
}

// TestCaptureRefused: PayPal's 422s on capture.
func TestCaptureRefused(t *testing.T) {
	cases := []struct {
		issue   string
		outcome gateway.Outcome
		code    string
	}{
		{"INSTRUMENT_DECLINED", gateway.Declined, gateway.DeclineCard},
		{"ORDER_EXPIRED", gateway.Declined, gateway.DeclineApprovalDeclined},
	}
	for _, tc := range cases {
		t.Run(tc.issue, func(t *testing.T) {
			b := newBroken(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					status(200, approvedOrder)(n, w, r)
					return
				}
				status(422, `{"name":"UNPROCESSABLE_ENTITY","message":"m","details":[{"issue":"`+tc.issue+`"}]}`)(n, w, r)
			})
			c := brokenConnector(t, b.srv.URL, 2)
			res, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: "5O190127TN364715T"})
			if err != nil || res.Outcome != tc.outcome || res.DeclineCode != tc.code || res.DeclineMessage == "" {
				t.Errorf("Fetch = (%+v, %v), want %s %s", res, err, tc.outcome, tc.code)
			}
		})
	}
}

// TestSlowPayPal: no answer before the caller's deadline or the HTTP
// client's timeout is an unknown outcome.
func TestSlowPayPal(t *testing.T) {
	release := make(chan struct{})
	b := newBroken(t, func(n int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	c := brokenConnector(t, b.srv.URL, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	res, err := c.Charge(ctx, chargeReq(usd))
	if o := gateway.ChargeOutcome(res, err); o != gateway.Unknown || pay.KindOf(err) != pay.Unavailable {
		t.Errorf("Charge past the deadline = (%+v, %v) reads %q, want unknown", res, err, o)
	}
	short, err := paypal.New(paypal.Config{ClientID: "c", ClientSecret: "s", BaseURL: b.srv.URL, MaxRetries: -1, HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	res, err = short.Charge(t.Context(), chargeReq(usd))
	if o := gateway.ChargeOutcome(res, err); o != gateway.Unknown || pay.KindOf(err) != pay.Unavailable {
		t.Errorf("Charge past the client timeout = (%+v, %v) reads %q, want unknown", res, err, o)
	}
}

// TestRefusals: PayPal's 4xx answers are refusals, nothing done, not
// retried.
func TestRefusals(t *testing.T) {
	cases := []struct {
		name    string
		answer  func(int, http.ResponseWriter, *http.Request)
		code    string
		outcome gateway.Outcome
	}{
		{"invalid request", status(400, `{"name":"INVALID_REQUEST","message":"m","details":[{"issue":"INVALID_PARAMETER_VALUE"}]}`), gateway.CodeInvalidRequest, gateway.Declined},
		{"currency not supported for the merchant", status(422, `{"name":"UNPROCESSABLE_ENTITY","message":"m","details":[{"issue":"CURRENCY_NOT_SUPPORTED"}]}`), gateway.CodeCurrencyNotSupported, gateway.Declined},
		{"decimal precision", status(422, `{"name":"UNPROCESSABLE_ENTITY","message":"m","details":[{"issue":"DECIMAL_PRECISION"}]}`), gateway.CodeAmountNotRepresentable, gateway.Declined},
		{"request id reused", status(422, `{"name":"UNPROCESSABLE_ENTITY","message":"m","details":[{"issue":"PAYPAL_REQUEST_ID_PREVIOUSLY_USED"}]}`), gateway.CodeIdempotencyKeyReused, gateway.Unknown},
		{"not authorized", status(403, `{"name":"NOT_AUTHORIZED","message":"m"}`), gateway.CodeInvalidRequest, gateway.Declined},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBroken(t, tc.answer)
			c := brokenConnector(t, b.srv.URL, 2)
			res, err := c.Charge(t.Context(), chargeReq(usd))
			if pay.KindOf(err) != pay.Invalid || pay.CodeOf(err) != tc.code {
				t.Errorf("Charge = (%+v, %v), want invalid %s", res, err, tc.code)
			}
			if o := gateway.ChargeOutcome(res, err); o != tc.outcome {
				t.Errorf("reads as %q, want %q", o, tc.outcome)
			}
			if n := len(b.attempts()); n != 1 {
				t.Errorf("%d attempts, want 1", n)
			}
		})
	}
}

// TestBadCredentials: a token refused is a refusal (nothing was sent that
// could charge); a token endpoint that does not answer is unknown.
func TestBadCredentials(t *testing.T) {
	for _, tc := range []struct {
		name  string
		token func(w http.ResponseWriter)
		kind  pay.Kind
	}{
		{"invalid_client", func(w http.ResponseWriter) {
			w.WriteHeader(401)
			w.Write([]byte(`{"error":"invalid_client","error_description":"Client Authentication failed"}`))
		}, pay.Invalid},
		{"503", func(w http.ResponseWriter) { w.WriteHeader(503) }, pay.Unavailable},
		{"no token in the answer", func(w http.ResponseWriter) { w.Write([]byte(`{"token_type":"Bearer","expires_in":100}`)) }, pay.Unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var api atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v1/oauth2/token" {
					tc.token(w)
					return
				}
				api.Add(1)
			}))
			defer srv.Close()
			c := brokenConnector(t, srv.URL, 1)
			_, err := c.Charge(t.Context(), chargeReq(usd))
			if pay.KindOf(err) != tc.kind {
				t.Errorf("Charge: %v, want kind %v", err, tc.kind)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("the error shows the client secret: %v", err)
			}
			if n := api.Load(); n != 0 {
				t.Errorf("%d API calls without a token", n)
			}
		})
	}
}

func TestFetchNotFound(t *testing.T) {
	b := newBroken(t, status(404, `{"name":"RESOURCE_NOT_FOUND","message":"The specified resource does not exist.","details":[{"issue":"INVALID_RESOURCE_ID"}]}`))
	c := brokenConnector(t, b.srv.URL, 2)
	if res, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: "5O190127TN364715T"}); pay.KindOf(err) != pay.NotFound {
		t.Errorf("Fetch = (%+v, %v), want NotFound", res, err)
	}
	if n := len(b.attempts()); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	bad := []paypal.Config{
		{},
		{ClientID: "id"},
		{ClientSecret: "secret"},
		{ClientID: "id:x", ClientSecret: "s"},
		{ClientID: "id x", ClientSecret: "s"},
		{ClientID: "id", ClientSecret: "s", WebhookID: "not-alnum!"},
		{ClientID: "id", ClientSecret: "s", BaseURL: "ftp://example.com"},
		{ClientID: "id", ClientSecret: "s", BaseURL: "/v2"},
	}
	for _, cfg := range bad {
		if _, err := paypal.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
	c, err := paypal.New(paypal.Config{ClientID: "id", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	caps := c.Capabilities()
	if c.Name() != "paypal" || caps.Webhooks || !caps.Redirect || caps.ThreeDSecure || !caps.PartialRefunds || !caps.StatusFetch {
		t.Errorf("Name %q, Capabilities %+v", c.Name(), caps)
	}
	if w, _ := paypal.New(paypal.Config{ClientID: "id", ClientSecret: "s", WebhookID: "8PT597110X687430LKGECATA"}); !w.Capabilities().Webhooks {
		t.Error("a WebhookID does not turn Webhooks on")
	}
}
