package myfatoorah_test

import (
	"testing"

	"github.com/sakkhq/sakk/internal/gateway/gatewaytest"
	"github.com/sakkhq/sakk/internal/money"
)

// TestConformance runs the connector contract's suite against the
// stand-in, once per MyFatoorah base currency: the 3-decimal KWD, BHD,
// OMR and JOD and the 2-decimal SAR, AED, QAR and EGP. (MyFatoorah has no
// zero-decimal base currency; zero-decimal amounts are covered by
// TestAmounts and refused by Charge, see TestCurrencyRefused.)
//
// The connector runs without a webhook secret here: the suite's webhook
// check alters the raw body after signing, and MyFatoorah's signature
// covers Data fields, not bytes, so that check cannot apply;
// TestWebhook* check verification and the re-fetch instead.
func TestConformance(t *testing.T) {
	for _, cur := range []money.Currency{"KWD", "BHD", "OMR", "JOD", "SAR", "AED", "QAR", "EGP"} {
		t.Run(string(cur), func(t *testing.T) {
			s := newStandIn(t, cur)
			gatewaytest.Run(t, gatewaytest.Harness{
				Connector: s.connector(t, "", nil),
				Token: func(t *testing.T, b gatewaytest.Behaviour) (string, bool) {
					return s.tokenFor(b)
				},
				Complete: s.complete,
				Charges:  s.charges,
			})
		})
	}
}
