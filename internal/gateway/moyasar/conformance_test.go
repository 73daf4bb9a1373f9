package moyasar_test

import (
	"testing"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/gatewaytest"
)

// cardFor is the test card for each behaviour of the suite.
var cardFor = map[gatewaytest.Behaviour]string{
	gatewaytest.Approve:           cardApprove,
	gatewaytest.Decline:           cardDecline,
	gatewaytest.InsufficientFunds: cardInsufficient,
	gatewaytest.ThreeDSecure:      card3DS,
	gatewaytest.ProcessingError:   cardProcessing,
}

// TestConformance runs the connector contract's suite against the
// stand-in, which answers a repeated given_id with a 400 (the stricter of
// the two readings; TestGivenIDReturnsFirstPayment covers the other).
func TestConformance(t *testing.T) {
	s := newStandIn(t)
	c := s.connector(t)
	gatewaytest.Run(t, gatewaytest.Harness{
		Connector: c,
		Token: func(t *testing.T, b gatewaytest.Behaviour) (string, bool) {
			card, ok := cardFor[b]
			if !ok {
				return "", false
			}
			return s.token(t, card), true
		},
		Complete: s.Complete,
		Charges:  s.charges,
		Webhook: func(t *testing.T, res gateway.ChargeResult, o gateway.Outcome) gateway.Webhook {
			typ := map[gateway.Outcome]string{gateway.Approved: "payment_paid", gateway.Declined: "payment_failed"}[o]
			if typ == "" {
				t.Fatalf("no Moyasar event for outcome %q", o)
			}
			return s.Webhook(t, s.webhookSecret, res.Reference, typ)
		},
	})
}
