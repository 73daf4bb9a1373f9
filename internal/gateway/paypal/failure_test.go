package paypal_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/gatewaytest"
	"github.com/sakkhq/sakk/internal/gateway/paypal"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

const tokenBody = `{"scope":"x","access_token":"A21AAtesttoken","token_type":"Bearer","app_id":"APP-1","expires_in":32400,"nonce":"n"}`

func chargeReq(a money.Amount) gateway.ChargeRequest {
	return gateway.ChargeRequest{
		IdempotencyKey: pay.NewID("idem"), PaymentID: pay.NewID(pay.PrefixPayment), SessionID: pay.NewID(pay.PrefixSession),
		Amount: a, Method: "paypal", ReturnURL: "https://sakk.test/api/v1/payments/callback/tok",
	}
}

var usd = money.Amount{Minor: 1000, Currency: "USD"}

// failures is PayPal for gatewaytest.RunFailures: its token endpoint
// works, its API answers as each case says. Answers that never came or
// cannot be read are unknown outcomes, retried with the same
// PayPal-Request-Id, and never declines.
var failures = gatewaytest.FailureHarness{
	New: func(base string, retries int, client *http.Client) (gateway.Connector, error) {
		return paypal.New(paypal.Config{ClientID: "client", ClientSecret: "secret", WebhookID: "WH1", BaseURL: base, MaxRetries: retries, HTTPClient: client})
	},
	Backoff:    func(c gateway.Connector, d time.Duration) { paypal.SetBackoff(c.(*paypal.Connector), d) },
	Charge:     func() gateway.ChargeRequest { return chargeReq(usd) },
	ChargeCall: "POST /v2/checkout/orders",
	Key:        func(r *http.Request, _ []byte) string { return r.Header.Get("PayPal-Request-Id") },
	Aside: func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/v1/oauth2/token" {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(tokenBody))
		return true
	},
	Reference: "5O190127TN364715T",
	NoAnswer: []gatewaytest.NoAnswer{
		{Name: "500", Answer: gatewaytest.Status(500, `{"name":"INTERNAL_SERVER_ERROR","message":"An internal server error occurred.","debug_id":"d"}`), Retried: true},
		{Name: "503 with an HTML body", Answer: gatewaytest.Status(503, `<html>unavailable</html>`), Retried: true},
		{Name: "429", Answer: gatewaytest.Status(429, `{"name":"RATE_LIMIT_REACHED","message":"Too many requests."}`), Retried: true},
		{Name: "409 request id in flight", Answer: gatewaytest.Status(409, `{"name":"RESOURCE_CONFLICT","message":"The server has detected a conflict while processing this request."}`), Retried: true},
		{Name: "201 with a broken body", Answer: gatewaytest.Status(201, `{"id":"5O190127TN364715T","status":"PAYER_ACT`)},
		{Name: "201 with something else", Answer: gatewaytest.Status(201, `{"name":"x"}`)},
		{Name: "201 with an unknown status", Answer: gatewaytest.Status(201, `{"id":"5O190127TN364715T","status":"MAGIC","links":[]}`)},
		{Name: "201 awaiting approval without a link", Answer: gatewaytest.Status(201, `{"id":"5O190127TN364715T","status":"PAYER_ACTION_REQUIRED","links":[]}`)},
		{Name: "201 completed with an unreadable capture amount", Answer: gatewaytest.Status(201, `{"id":"5O190127TN364715T","status":"COMPLETED","purchase_units":[{"payments":{"captures":[{"id":"C1","status":"COMPLETED","amount":{"currency_code":"USD","value":"10.001"}}]}}]}`)},
		{Name: "500 with a 4xx-looking body", Answer: gatewaytest.Status(500, `{"name":"UNPROCESSABLE_ENTITY","details":[{"issue":"INSTRUMENT_DECLINED"}]}`), Retried: true},
		{Name: "body cut short", Answer: gatewaytest.CutShort(201, `{"id":"5O1`), Retried: true},
		{Name: "connection dropped", Answer: gatewaytest.HangUp, Retried: true},
	},
	Refusals: []gatewaytest.Refusal{
		{Name: "invalid request", Answer: gatewaytest.Status(400, `{"name":"INVALID_REQUEST","message":"m","details":[{"issue":"INVALID_PARAMETER_VALUE"}]}`), Code: gateway.CodeInvalidRequest, Outcome: gateway.Declined},
		{Name: "currency not supported for the merchant", Answer: gatewaytest.Status(422, `{"name":"UNPROCESSABLE_ENTITY","message":"m","details":[{"issue":"CURRENCY_NOT_SUPPORTED"}]}`), Code: gateway.CodeCurrencyNotSupported, Outcome: gateway.Declined},
		{Name: "decimal precision", Answer: gatewaytest.Status(422, `{"name":"UNPROCESSABLE_ENTITY","message":"m","details":[{"issue":"DECIMAL_PRECISION"}]}`), Code: gateway.CodeAmountNotRepresentable, Outcome: gateway.Declined},
		{Name: "request id reused", Answer: gatewaytest.Status(422, `{"name":"UNPROCESSABLE_ENTITY","message":"m","details":[{"issue":"PAYPAL_REQUEST_ID_PREVIOUSLY_USED"}]}`), Code: gateway.CodeIdempotencyKeyReused, Outcome: gateway.Unknown},
		{Name: "not authorized", Answer: gatewaytest.Status(403, `{"name":"NOT_AUTHORIZED","message":"m"}`), Code: gateway.CodeInvalidRequest, Outcome: gateway.Declined},
	},
	FetchNotFound: gatewaytest.Status(404, `{"name":"RESOURCE_NOT_FOUND","message":"The specified resource does not exist.","details":[{"issue":"INVALID_RESOURCE_ID"}]}`),
}

func TestFailures(t *testing.T) { gatewaytest.RunFailures(t, failures) }

const approvedOrder = `{"id":"5O190127TN364715T","status":"APPROVED","links":[]}`

// TestCaptureWithoutAnswer: the shopper approved, and the capture's
// answer is lost: unknown, retried with the capture's request id, never
// a decline. The next Fetch captures with the same request id.
func TestCaptureWithoutAnswer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		capture gatewaytest.Answer
	}{
		{"500", gatewaytest.Status(500, `{"name":"INTERNAL_SERVER_ERROR","message":"x"}`)},
		{"dropped", gatewaytest.HangUp},
		{"broken body", gatewaytest.Status(201, `{"id":"5O190127TN364715T","status":"COMPL`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := failures.Broken(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					gatewaytest.Status(200, approvedOrder)(n, w, r)
					return
				}
				tc.capture(n, w, r)
			})
			c := failures.Connector(t, b.URL, 1, 5*time.Second)
			res, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: "5O190127TN364715T"})
			if err == nil || pay.KindOf(err) != pay.Unavailable || res.Outcome == gateway.Declined || res.Outcome == gateway.Approved {
				t.Fatalf("Fetch = (%+v, %v), want unavailable, no verdict", res, err)
			}
			for _, c := range b.Calls() {
				if c.Method+" "+c.Path == "POST /v2/checkout/orders/5O190127TN364715T/capture" && c.Key != "capture-5O190127TN364715T" {
					t.Errorf("capture attempt with PayPal-Request-Id %q", c.Key)
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
			b := failures.Broken(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					gatewaytest.Status(200, approvedOrder)(n, w, r)
					return
				}
				gatewaytest.Status(422, `{"name":"UNPROCESSABLE_ENTITY","message":"m","details":[{"issue":"`+tc.issue+`"}]}`)(n, w, r)
			})
			c := failures.Connector(t, b.URL, 2, 5*time.Second)
			res, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: "5O190127TN364715T"})
			if err != nil || res.Outcome != tc.outcome || res.DeclineCode != tc.code || res.DeclineMessage == "" {
				t.Errorf("Fetch = (%+v, %v), want %s %s", res, err, tc.outcome, tc.code)
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
			c := failures.Connector(t, srv.URL, 1, 5*time.Second)
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

func TestNewRefusesBadConfig(t *testing.T) {
	c := gatewaytest.NewRefuses(t, paypal.New, paypal.Config{ClientID: "id", ClientSecret: "s"},
		paypal.Config{},
		paypal.Config{ClientID: "id"},
		paypal.Config{ClientSecret: "secret"},
		paypal.Config{ClientID: "id:x", ClientSecret: "s"},
		paypal.Config{ClientID: "id x", ClientSecret: "s"},
		paypal.Config{ClientID: "id", ClientSecret: "s", WebhookID: "not-alnum!"},
		paypal.Config{ClientID: "id", ClientSecret: "s", BaseURL: "ftp://example.com"},
		paypal.Config{ClientID: "id", ClientSecret: "s", BaseURL: "/v2"},
	)
	caps := c.Capabilities()
	if c.Name() != "paypal" || caps.Webhooks || !caps.Redirect || caps.ThreeDSecure || !caps.PartialRefunds || !caps.StatusFetch {
		t.Errorf("Name %q, Capabilities %+v", c.Name(), caps)
	}
	if w, _ := paypal.New(paypal.Config{ClientID: "id", ClientSecret: "s", WebhookID: "8PT597110X687430LKGECATA"}); !w.Capabilities().Webhooks {
		t.Error("a WebhookID does not turn Webhooks on")
	}
}
