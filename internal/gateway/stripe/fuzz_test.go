package stripe_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/stripe"
	"github.com/sakkhq/sakk/internal/gateway/stripe/stripetest"
	"github.com/sakkhq/sakk/internal/pay"
)

// FuzzParseWebhook: a delivery whose Stripe-Signature the fuzzer wrote
// is refused as unauthenticated; one signed with the endpoint's secret
// (sign true) is refused as Invalid or read as a notification naming an
// event and a PaymentIntent.
func FuzzParseWebhook(f *testing.F) {
	const secret = "whsec_fuzz"
	c, err := stripe.New(stripe.Config{SecretKey: "sk_test_" + stripetest.RandomHex(8), WebhookSecret: secret, BaseURL: "http://127.0.0.1:1", Now: func() time.Time { return webhookNow }})
	if err != nil {
		f.Fatal(err)
	}
	for _, body := range []string{eventSucceeded,
		`{"id":"evt_2","object":"event","type":"charge.refunded","data":{"object":{"id":"ch_1","object":"charge","payment_intent":"pi_9"}}}`,
		`{"id":"evt_3","object":"event","type":"customer.created","data":{"object":{"id":"cus_1","object":"customer"}}}`,
		`{"id":"","object":"event"}`, `[]`, ``} {
		f.Add([]byte(body), stripetest.Sign(secret, webhookNow, []byte(body)), true)
		f.Add([]byte(body), stripetest.Sign(secret, webhookNow, []byte(body)), false)
	}
	f.Add([]byte(eventSucceeded), "t=1,v1=00,v1=,t=2", false)
	f.Fuzz(func(t *testing.T, body []byte, header string, sign bool) {
		if sign {
			header = stripetest.Sign(secret, webhookNow, body)
		}
		n, err := c.ParseWebhook(t.Context(), gateway.Webhook{Header: http.Header{"Stripe-Signature": {header}}, Body: body})
		if !sign {
			// Only the endpoint's own signature of this body verifies (its hex
			// in either case: the same bytes).
			if err == nil && !strings.Contains(strings.ToLower(header), stripetest.V1(secret, strconv.FormatInt(webhookNow.Unix(), 10), body)) {
				t.Fatalf("forged header %q accepted for %q: %+v", header, body, n)
			}
			if err != nil && pay.KindOf(err) != pay.Unauthenticated && pay.KindOf(err) != pay.Invalid {
				t.Fatalf("%q %q: %v", header, body, err)
			}
			return
		}
		if err != nil {
			if pay.KindOf(err) != pay.Invalid {
				t.Fatalf("signed %q: %v, want Invalid", body, err)
			}
			return
		}
		switch n.Outcome {
		case gateway.Approved, gateway.Declined, gateway.Pending, gateway.ActionRequired:
		default:
			t.Fatalf("signed %q read as outcome %q", body, n.Outcome)
		}
		if n.EventID == "" || n.Reference == "" {
			t.Fatalf("signed %q read as %+v", body, n)
		}
	})
}
