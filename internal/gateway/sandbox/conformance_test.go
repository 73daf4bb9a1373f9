package sandbox_test

import (
	"testing"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/gatewaytest"
	"github.com/sakkhq/sakk/internal/gateway/sandbox"
)

// cardFor is the test card of each behaviour of the suite.
var cardFor = map[gatewaytest.Behaviour]string{
	gatewaytest.Approve:           sandbox.CardApproved,
	gatewaytest.Decline:           sandbox.CardDeclined,
	gatewaytest.InsufficientFunds: sandbox.CardInsufficientFunds,
	gatewaytest.ThreeDSecure:      sandbox.CardThreeDSecure,
	gatewaytest.ProcessingError:   sandbox.CardProcessingError,
}

// TestConformance runs the suite against the simulator under every name
// it serves: the card gateways with 3-D Secure, the off-site ones with an
// approval page for every charge.
func TestConformance(t *testing.T) {
	for _, name := range []string{"stripe", "moyasar", "paypal", "myfatoorah"} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			gatewaytest.Run(t, gatewaytest.Harness{
				Connector: e.sim.Connector(name),
				Token: func(t *testing.T, b gatewaytest.Behaviour) (string, bool) {
					return e.token(t, cardFor[b]), true
				},
				Complete: func(t *testing.T, res gateway.ChargeResult, pass bool) { e.complete(t, res, pass) },
				Charges:  e.sim.HeldCharges,
			})
		})
	}
}

// TestConformanceOffSiteWithoutCard runs the suite against an off-site
// name charged without a card token, as the hosted page's PayPal button
// does: only the behaviours that need no card apply.
func TestConformanceOffSiteWithoutCard(t *testing.T) {
	e := newEnv(t, nil)
	gatewaytest.Run(t, gatewaytest.Harness{
		Connector: e.sim.Connector("paypal"),
		Token: func(t *testing.T, b gatewaytest.Behaviour) (string, bool) {
			return "", b == gatewaytest.Approve
		},
		Complete: func(t *testing.T, res gateway.ChargeResult, pass bool) { e.complete(t, res, pass) },
		Charges:  e.sim.HeldCharges,
		Method:   "paypal",
	})
}
