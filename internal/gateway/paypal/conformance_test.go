package paypal_test

import (
	"testing"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/gatewaytest"
)

// TestConformance runs the connector contract's suite against the
// stand-in, every request and answer checked against PayPal's OpenAPI
// documents.
func TestConformance(t *testing.T) {
	s := newStandIn(t)
	c := s.connector(t, s.WebhookID())
	gatewaytest.Run(t, gatewaytest.Harness{
		Connector: c,
		Token:     s.setBehaviour,
		Complete:  s.complete,
		Charges:   s.charges,
		Method:    "paypal",
		Webhook: func(t *testing.T, res gateway.ChargeResult, o gateway.Outcome) gateway.Webhook {
			if o != gateway.Approved {
				t.Fatalf("no PayPal event for outcome %q", o)
			}
			return s.webhook(t, res.Reference, "PAYMENT.CAPTURE.COMPLETED", s.WebhookID())
		},
	})
}
