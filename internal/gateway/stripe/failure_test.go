package stripe_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/gatewaytest"
	"github.com/sakkhq/sakk/internal/gateway/stripe"
	"github.com/sakkhq/sakk/internal/money"
)

// failures is Stripe for gatewaytest.RunFailures: answers that never
// came or cannot be read are unknown outcomes, retried with the same
// Idempotency-Key, and never declines.
var failures = gatewaytest.FailureHarness{
	New: func(base string, retries int, client *http.Client) (gateway.Connector, error) {
		return stripe.New(stripe.Config{SecretKey: "sk_test_" + randomHex(8), BaseURL: base, MaxRetries: retries, HTTPClient: client})
	},
	Backoff:    func(c gateway.Connector, d time.Duration) { stripe.SetBackoff(c.(*stripe.Connector), d) },
	Charge:     func() gateway.ChargeRequest { return chargeReq(money.Amount{Minor: 1000, Currency: "USD"}, pmApprove) },
	ChargeCall: "POST /v1/payment_intents",
	Key:        func(r *http.Request, _ []byte) string { return r.Header.Get("Idempotency-Key") },
	Reference:  "pi_1",
	NoAnswer: []gatewaytest.NoAnswer{
		{Name: "500", Answer: gatewaytest.Status(500, `{"error":{"type":"api_error","message":"boom"}}`), Retried: true},
		{Name: "502 with an HTML body", Answer: gatewaytest.Status(502, `<html>bad gateway</html>`, "Content-Type", "text/html"), Retried: true},
		{Name: "429", Answer: gatewaytest.Status(429, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"slow down"}}`), Retried: true},
		{Name: "409 key in flight", Answer: gatewaytest.Status(409, `{"error":{"type":"invalid_request_error","code":"idempotency_key_in_use","message":"in progress"}}`), Retried: true},
		{Name: "500 Stripe says not to retry", Answer: gatewaytest.Status(500, `{"error":{"type":"api_error"}}`, "Stripe-Should-Retry", "false")},
		{Name: "200 with a broken body", Answer: gatewaytest.Status(200, `{"id":"pi_1","object":"payment_in`)},
		{Name: "200 with something else", Answer: gatewaytest.Status(200, `{"object":"list","data":[]}`)},
		{Name: "succeeded with an unreadable amount", Answer: gatewaytest.Status(200, `{"id":"pi_1","object":"payment_intent","status":"succeeded","amount":1,"amount_received":1,"currency":"zzz"}`)},
		{Name: "unknown status", Answer: gatewaytest.Status(200, `{"id":"pi_1","object":"payment_intent","status":"requires_magic","amount":1000,"currency":"usd"}`)},
		{Name: "body cut short", Answer: gatewaytest.CutShort(200, `{"id":"pi_1",`), Retried: true},
		{Name: "connection dropped", Answer: gatewaytest.HangUp, Retried: true},
	},
	Approved: gatewaytest.Status(200, `{"id":"pi_1","object":"payment_intent","status":"succeeded","amount":1000,"amount_received":1000,"currency":"usd"}`),
	Refusals: []gatewaytest.Refusal{
		{Name: "invalid request", Answer: gatewaytest.Status(400, `{"error":{"type":"invalid_request_error","code":"parameter_invalid_integer","param":"amount","message":"Invalid integer"}}`), Code: gateway.CodeInvalidRequest, Outcome: gateway.Declined},
		{Name: "unknown PaymentMethod", Answer: gatewaytest.Status(400, `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"payment_method","message":"No such PaymentMethod: 'pm_x'"}}`), Code: gateway.CodeInvalidPaymentToken, Outcome: gateway.Declined},
		{Name: "key reused with other parameters", Answer: gatewaytest.Status(400, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters"}}`), Code: gateway.CodeIdempotencyKeyReused, Outcome: gateway.Unknown},
		{Name: "bad secret key", Answer: gatewaytest.Status(401, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_****"}}`), Code: gateway.CodeInvalidRequest, Outcome: gateway.Declined},
		{Name: "ISK fraction", Answer: gatewaytest.Status(400, `{"error":{"type":"invalid_request_error","code":"invalid_charge_amount_no_decimal_compatible","message":"Invalid amount."}}`), Code: gateway.CodeAmountNotRepresentable, Outcome: gateway.Declined},
	},
	FetchNotFound: gatewaytest.Status(404, `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"intent","message":"No such payment_intent: 'pi_x'"}}`),
}

func TestFailures(t *testing.T) { gatewaytest.RunFailures(t, failures) }

// TestCardErrorIsDecline: a 402 card error is a decline, a result, with
// the PaymentIntent Stripe put in the error as its reference.
func TestCardErrorIsDecline(t *testing.T) {
	b := failures.Broken(t, gatewaytest.Status(402, `{"error":{"type":"card_error","code":"expired_card","message":"Your card has expired.","payment_intent":{"id":"pi_9","object":"payment_intent","status":"requires_payment_method","amount":1000,"currency":"usd"}}}`))
	c := failures.Connector(t, b.URL, 2, 5*time.Second)
	res, err := c.Charge(t.Context(), chargeReq(money.Amount{Minor: 1000, Currency: "USD"}, pmApprove))
	if err != nil || res.Outcome != gateway.Declined || res.Reference != "pi_9" || res.DeclineCode != gateway.DeclineExpiredCard || res.DeclineMessage != "Your card has expired." || res.Retryable {
		t.Errorf("Charge = (%+v, %v), want declined expired_card on pi_9", res, err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	c := gatewaytest.NewRefuses(t, stripe.New, stripe.Config{SecretKey: "rk_live_x", PublishableKey: "pk_live_y", WebhookSecret: "whsec_z"},
		stripe.Config{},
		stripe.Config{SecretKey: "pk_test_x"},
		stripe.Config{SecretKey: "sk_test_"},
		stripe.Config{SecretKey: "sk_test_x y"},
		stripe.Config{SecretKey: "sk_test_x", PublishableKey: "pk_live_y"},
		stripe.Config{SecretKey: "sk_live_x", PublishableKey: "sk_live_y"},
		stripe.Config{SecretKey: "sk_test_x", WebhookSecret: "secret"},
		stripe.Config{SecretKey: "sk_test_x", BaseURL: "ftp://example.com"},
		stripe.Config{SecretKey: "sk_test_x", BaseURL: "/v1"},
	)
	if c.Name() != "stripe" || c.PublishableKey() != "pk_live_y" || !c.Capabilities().Webhooks {
		t.Errorf("Name %q, PublishableKey %q, Capabilities %+v", c.Name(), c.PublishableKey(), c.Capabilities())
	}
}
