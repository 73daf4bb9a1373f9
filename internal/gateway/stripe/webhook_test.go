package stripe_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/stripe"
	"github.com/sakkhq/sakk/internal/gateway/stripe/stripetest"
	"github.com/sakkhq/sakk/internal/pay"
)

// signHeader and v1 sign as Stripe's webhook documentation describes,
// written independently of the connector (package stripetest).
var (
	signHeader = stripetest.Sign
	v1         = stripetest.V1
)

var webhookNow = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

func webhookConnector(t *testing.T, secret string) *stripe.Connector {
	t.Helper()
	c, err := stripe.New(stripe.Config{SecretKey: "sk_test_" + randomHex(8), WebhookSecret: secret, BaseURL: "http://127.0.0.1:1", Now: func() time.Time { return webhookNow }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func delivery(header string, body []byte) gateway.Webhook {
	h := http.Header{}
	if header != "" {
		h.Set("Stripe-Signature", header)
	}
	return gateway.Webhook{Header: h, Body: body}
}

const eventSucceeded = `{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_123","object":"payment_intent","status":"succeeded"}}}`

func TestWebhookSignature(t *testing.T) {
	secret := "whsec_" + randomHex(24)
	c := webhookConnector(t, secret)
	body := []byte(eventSucceeded)
	ts := strconv.FormatInt(webhookNow.Unix(), 10)
	good := v1(secret, ts, body)
	wrong := v1("whsec_other", ts, body)
	stale := strconv.FormatInt(webhookNow.Add(-stripe.Tolerance-time.Second).Unix(), 10)
	future := strconv.FormatInt(webhookNow.Add(stripe.Tolerance+time.Second).Unix(), 10)
	edge := strconv.FormatInt(webhookNow.Add(-stripe.Tolerance).Unix(), 10)
	cases := []struct {
		name   string
		header string
		body   []byte
		ok     bool
	}{
		{"valid", "t=" + ts + ",v1=" + good, body, true},
		{"valid with spaces and a v0", "t=" + ts + ", v1=" + good + ", v0=" + wrong, body, true},
		{"several v1, the good one last", "t=" + ts + ",v1=" + wrong + ",v1=" + good, body, true},
		{"several v1, the good one first", "t=" + ts + ",v1=" + good + ",v1=" + wrong, body, true},
		{"at the edge of the tolerance", "t=" + edge + ",v1=" + v1(secret, edge, body), body, true},
		{"wrong secret", "t=" + ts + ",v1=" + wrong, body, false},
		{"several v1, none good", "t=" + ts + ",v1=" + wrong + ",v1=" + v1("whsec_third", ts, body), body, false},
		{"only v0", "t=" + ts + ",v0=" + good, body, false},
		{"stale timestamp, well signed", "t=" + stale + ",v1=" + v1(secret, stale, body), body, false},
		{"future timestamp, well signed", "t=" + future + ",v1=" + v1(secret, future, body), body, false},
		{"timestamp changed after signing", "t=" + edge + ",v1=" + good, body, false},
		{"body changed after signing", "t=" + ts + ",v1=" + good, append([]byte(eventSucceeded), ' '), false},
		{"no timestamp", "v1=" + good, body, false},
		{"two timestamps", "t=" + ts + ",t=" + ts + ",v1=" + good, body, false},
		{"malformed timestamp", "t=x" + ts + ",v1=" + good, body, false},
		{"signature not hex", "t=" + ts + ",v1=zz" + good[2:], body, false},
		{"signature too long", "t=" + ts + ",v1=" + good + "00", body, false},
		{"no header", "", body, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := c.ParseWebhook(t.Context(), delivery(tc.header, tc.body))
			if tc.ok {
				if err != nil || n.Reference != "pi_123" || n.Outcome != gateway.Approved || n.EventID != "evt_1" {
					t.Fatalf("ParseWebhook = (%+v, %v), want pi_123 approved evt_1", n, err)
				}
				return
			}
			if pay.KindOf(err) != pay.Unauthenticated || pay.CodeOf(err) != gateway.CodeInvalidSignature {
				t.Fatalf("ParseWebhook = (%+v, %v), want an Unauthenticated invalid_signature error", n, err)
			}
			if n != (gateway.Notification{}) {
				t.Errorf("a refused webhook returned %+v: nothing of its body may be used", n)
			}
		})
	}
}

func TestWebhookWithoutSecret(t *testing.T) {
	c, err := stripe.New(stripe.Config{SecretKey: "sk_test_x"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Capabilities().Webhooks {
		t.Error("Capabilities.Webhooks without a WebhookSecret")
	}
	body := []byte(eventSucceeded)
	if n, err := c.ParseWebhook(t.Context(), delivery(signHeader("whsec_", time.Now(), body), body)); pay.KindOf(err) != pay.Unauthenticated {
		t.Errorf("ParseWebhook without a secret = (%+v, %v), want Unauthenticated", n, err)
	}
}

func TestWebhookEvents(t *testing.T) {
	secret := "whsec_" + randomHex(24)
	c := webhookConnector(t, secret)
	cases := []struct {
		name, body string
		ref        string
		outcome    gateway.Outcome
		code       string // error code, when an error is wanted
	}{
		{"succeeded", eventSucceeded, "pi_123", gateway.Approved, ""},
		{"payment_failed", `{"id":"evt_2","object":"event","type":"payment_intent.payment_failed","data":{"object":{"id":"pi_9","object":"payment_intent"}}}`, "pi_9", gateway.Declined, ""},
		{"canceled", `{"id":"evt_3","object":"event","type":"payment_intent.canceled","data":{"object":{"id":"pi_9","object":"payment_intent"}}}`, "pi_9", gateway.Declined, ""},
		{"processing", `{"id":"evt_4","object":"event","type":"payment_intent.processing","data":{"object":{"id":"pi_9","object":"payment_intent"}}}`, "pi_9", gateway.Pending, ""},
		{"charge.refunded names its PaymentIntent", `{"id":"evt_5","object":"event","type":"charge.refunded","data":{"object":{"id":"ch_1","object":"charge","payment_intent":"pi_7","refunded":true}}}`, "pi_7", gateway.Approved, ""},
		{"charge.refunded without a PaymentIntent", `{"id":"evt_6","object":"event","type":"charge.refunded","data":{"object":{"id":"ch_1","object":"charge","payment_intent":null}}}`, "", "", gateway.CodeInvalidRequest},
		{"type sakk ignores", `{"id":"evt_7","object":"event","type":"customer.created","data":{"object":{"id":"cus_1","object":"customer"}}}`, "", "", stripe.CodeEventIgnored},
		{"not an event", `{"id":"pi_1","object":"payment_intent"}`, "", "", gateway.CodeInvalidRequest},
		{"not JSON", `{"id":`, "", "", gateway.CodeInvalidRequest},
		{"succeeded about another object", `{"id":"evt_8","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"ch_1","object":"charge"}}}`, "", "", gateway.CodeInvalidRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			n, err := c.ParseWebhook(t.Context(), delivery(signHeader(secret, webhookNow, body), body))
			if tc.code != "" {
				if pay.KindOf(err) != pay.Invalid || pay.CodeOf(err) != tc.code {
					t.Fatalf("ParseWebhook = (%+v, %v), want an Invalid %s error", n, err, tc.code)
				}
				return
			}
			if err != nil || n.Reference != tc.ref || n.Outcome != tc.outcome || n.EventID == "" {
				t.Fatalf("ParseWebhook = (%+v, %v), want %s %s", n, err, tc.ref, tc.outcome)
			}
		})
	}
}
