package moyasar_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/gatewaytest"
	"github.com/sakkhq/sakk/internal/gateway/moyasar"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

const paidSAR = `{"id":"11111111-1111-4111-8111-111111111111","status":"paid","amount":1000,"currency":"SAR","refunded":0,"captured":0,"source":{"type":"creditcard","message":"APPROVED","response_code":"00"}}`

func chargeReq(a money.Amount, token string) gateway.ChargeRequest {
	return gateway.ChargeRequest{
		IdempotencyKey: pay.NewID("test"), PaymentID: pay.NewID(pay.PrefixPayment), SessionID: pay.NewID(pay.PrefixSession),
		Amount: a, Method: "card", PaymentToken: token, ReturnURL: "https://sakk.test/api/v1/payments/callback/sess_x",
	}
}

// failures is Moyasar for gatewaytest.RunFailures: answers that never
// came or cannot be read are unknown outcomes, retried with the same
// given_id, and never declines.
var failures = gatewaytest.FailureHarness{
	New: func(base string, retries int, client *http.Client) (gateway.Connector, error) {
		return moyasar.New(moyasar.Config{SecretKey: "sk_test_" + randomHex(8), BaseURL: base, MaxRetries: retries, HTTPClient: client})
	},
	Backoff: func(c gateway.Connector, d time.Duration) { moyasar.SetBackoff(c.(*moyasar.Connector), d) },
	Charge: func() gateway.ChargeRequest {
		return chargeReq(money.Amount{Minor: 1000, Currency: "SAR"}, "token_abc")
	},
	ChargeCall: "POST /v1/payments",
	Key: func(_ *http.Request, body []byte) string {
		var in struct {
			GivenID string `json:"given_id"`
		}
		json.Unmarshal(body, &in)
		return in.GivenID
	},
	Want:      func(req gateway.ChargeRequest) string { return moyasar.GivenID(req.IdempotencyKey) },
	Reference: "p1",
	NoAnswer: []gatewaytest.NoAnswer{
		{Name: "500", Answer: gatewaytest.Status(500, `{"type":"api_error","message":"Internal Server Error"}`), Retried: true},
		{Name: "503 with an HTML body", Answer: gatewaytest.Status(503, `<html>maintenance</html>`), Retried: true},
		{Name: "429", Answer: gatewaytest.Status(429, `{"type":"rate_limit_error","message":"Too Many Requests"}`), Retried: true},
		{Name: "201 with a broken body", Answer: gatewaytest.Status(201, `{"id":"11111111-1111-4111-8111-1111`)},
		{Name: "201 with something else", Answer: gatewaytest.Status(201, `{"payments":[]}`)},
		{Name: "201 with a fractional amount", Answer: gatewaytest.Status(201, `{"id":"p1","status":"paid","amount":10.5,"currency":"SAR"}`)},
		{Name: "paid in an unknown currency", Answer: gatewaytest.Status(201, `{"id":"p1","status":"paid","amount":1000,"currency":"ZZZ"}`)},
		{Name: "unknown status", Answer: gatewaytest.Status(201, `{"id":"p1","status":"pending_magic","amount":1000,"currency":"SAR"}`)},
		{Name: "body cut short", Answer: gatewaytest.CutShort(201, `{"id":"p1",`), Retried: true},
		{Name: "connection dropped", Answer: gatewaytest.HangUp, Retried: true},
	},
	Approved: gatewaytest.Status(201, paidSAR),
	// A 4xx to a create is a refusal once the given_id is known not to
	// name a payment: one POST, one GET of it, no retry.
	Refusals: []gatewaytest.Refusal{
		refusal("validation", 400, `{"type":"invalid_request_error","message":"Validation Failed","errors":{"callback_url":["is required"]}}`, gateway.CodeInvalidRequest),
		refusal("bad token", 400, `{"type":"invalid_request_error","message":"Validation Failed","errors":{"source.token":["is invalid"]}}`, gateway.CodeInvalidPaymentToken),
		refusal("currency not enabled", 400, `{"type":"invalid_request_error","message":"Validation Failed","errors":{"currency":["is not supported"]}}`, gateway.CodeCurrencyNotSupported),
		refusal("bad key", 401, `{"type":"authentication_error","message":"Invalid authorization credentials","errors":null}`, gateway.CodeInvalidRequest),
		refusal("account not live", 405, `{"type":"account_inactive_error","message":"Entity not activated to use live account","errors":null}`, gateway.CodeInvalidRequest),
	},
}

func refusal(name string, status int, body, code string) gatewaytest.Refusal {
	notFound := gatewaytest.Status(404, `{"type":"invalid_request_error","message":"Object not found","errors":null}`)
	create := gatewaytest.Status(status, body)
	return gatewaytest.Refusal{
		Name: name, Code: code, Outcome: gateway.Declined,
		Answer: func(n int, w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				notFound(n, w, r)
				return
			}
			create(n, w, r)
		},
		Check: func(t *testing.T, req gateway.ChargeRequest, calls []gatewaytest.Call) {
			givenID := moyasar.GivenID(req.IdempotencyKey)
			if len(calls) != 2 || calls[0].Method != http.MethodPost || calls[0].Key != givenID ||
				calls[1].Method != http.MethodGet || calls[1].Path != "/v1/payments/"+givenID {
				t.Errorf("calls %+v, want one POST, then GET /v1/payments/{given_id}", calls)
			}
		},
	}
}

func TestFailures(t *testing.T) { gatewaytest.RunFailures(t, failures) }

// TestRefundNotRetried: a refund POST that got no answer is not sent
// again: without an idempotency key at Moyasar, a retry could refund
// twice.
func TestRefundNotRetried(t *testing.T) {
	b := failures.Broken(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodPut:
			gatewaytest.Status(200, paidSAR)(n, w, r)
		default:
			gatewaytest.Status(500, `{"type":"api_error","message":"boom"}`)(n, w, r)
		}
	})
	c := failures.Connector(t, b.URL, 3, 5*time.Second)
	_, err := c.Refund(t.Context(), gateway.RefundRequest{IdempotencyKey: pay.NewID(pay.PrefixRefund), PaymentReference: "11111111-1111-4111-8111-111111111111", Amount: money.Amount{Minor: 500, Currency: "SAR"}})
	if pay.KindOf(err) != pay.Unavailable {
		t.Errorf("Refund against a 500 = %v, want unavailable", err)
	}
	posts := 0
	for _, c := range b.Calls() {
		if c.Method == http.MethodPost {
			posts++
		}
	}
	if posts != 1 {
		t.Errorf("%d refund POSTs, want exactly 1", posts)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	c := gatewaytest.NewRefuses(t, moyasar.New, moyasar.Config{SecretKey: "sk_live_x", PublishableKey: "pk_live_y", WebhookSecret: "a-long-secret"},
		moyasar.Config{},
		moyasar.Config{SecretKey: "pk_test_x"},
		moyasar.Config{SecretKey: "sk_test_"},
		moyasar.Config{SecretKey: "sk_test_x y"},
		moyasar.Config{SecretKey: "sk_test_a:b"},
		moyasar.Config{SecretKey: "sk_test_x", PublishableKey: "pk_live_y"},
		moyasar.Config{SecretKey: "sk_live_x", PublishableKey: "sk_live_y"},
		moyasar.Config{SecretKey: "sk_test_x", WebhookSecret: "short"},
		moyasar.Config{SecretKey: "sk_test_x", BaseURL: "ftp://example.com"},
		moyasar.Config{SecretKey: "sk_test_x", BaseURL: "/v1"},
	)
	if c.Name() != "moyasar" || c.PublishableKey() != "pk_live_y" || !c.Capabilities().Webhooks {
		t.Errorf("Name %q, PublishableKey %q, Capabilities %+v", c.Name(), c.PublishableKey(), c.Capabilities())
	}
	c2, _ := moyasar.New(moyasar.Config{SecretKey: "sk_test_x"})
	if c2.Capabilities().Webhooks {
		t.Error("Capabilities.Webhooks without a WebhookSecret")
	}
}
