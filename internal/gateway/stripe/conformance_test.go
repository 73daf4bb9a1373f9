package stripe_test

import (
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/gatewaytest"
)

// pmFor is Stripe's test PaymentMethod for each behaviour of the suite.
var pmFor = map[gatewaytest.Behaviour]string{
	gatewaytest.Approve:           pmApprove,
	gatewaytest.Decline:           pmDecline,
	gatewaytest.InsufficientFunds: pmInsufficient,
	gatewaytest.ThreeDSecure:      pm3DS,
	gatewaytest.ProcessingError:   pmProcessing,
}

// TestConformance runs the connector contract's suite against stripe-mock
// behind the recording layer.
func TestConformance(t *testing.T) {
	s := newStandIn(t)
	secret := "whsec_" + randomHex(24)
	c := s.connector(t, secret)
	gatewaytest.Run(t, gatewaytest.Harness{
		Connector: c,
		Token: func(t *testing.T, b gatewaytest.Behaviour) (string, bool) {
			pm, ok := pmFor[b]
			return pm, ok
		},
		Complete: s.complete,
		Charges:  s.charges,
		Webhook: func(t *testing.T, res gateway.ChargeResult, o gateway.Outcome) gateway.Webhook {
			typ := map[gateway.Outcome]string{gateway.Approved: "payment_intent.succeeded", gateway.Declined: "payment_intent.payment_failed"}[o]
			if typ == "" {
				t.Fatalf("no Stripe event for outcome %q", o)
			}
			return s.webhook(t, secret, res.Reference, typ, time.Now())
		},
	})
}
