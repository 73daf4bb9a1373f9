package paypal_test

import (
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/gatewaytest"
	"github.com/sakkhq/sakk/internal/gateway/paypal"
	"github.com/sakkhq/sakk/internal/gateway/paypal/paypaltest"
)

// standIn is package paypaltest's PayPal, with what these tests do with
// it: every request the connector sends and every answer is checked
// against PayPal's OpenAPI documents.
type standIn struct{ *paypaltest.StandIn }

func newStandIn(t *testing.T) standIn { return standIn{paypaltest.Start(t)} }

// connector returns a connector pointed at the stand-in, sharing its
// clock, with short retry waits.
func (s standIn) connector(t *testing.T, webhookID string) *paypal.Connector {
	t.Helper()
	c, err := paypal.New(paypal.Config{
		ClientID: s.ClientID(), ClientSecret: s.ClientSecret(), WebhookID: webhookID,
		BaseURL: s.URL(), MaxRetries: 4, Now: s.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	paypal.SetBackoff(c, 5*time.Millisecond)
	return c
}

// charges is how many orders were created.
func (s standIn) charges() int { return s.Charges() }

// requests returns the recorded requests whose path starts with prefix.
func (s standIn) requests(method, prefix string) []paypaltest.Request {
	return s.RequestsTo(method, prefix)
}

// complete answers the payer-action page as the shopper's browser would:
// approve (pass) or cancel, and checks that PayPal sends the browser back
// to the return or cancel URL. A shopper who cancels never comes back to
// PayPal: the stand-in's clock then moves past the approval window, as
// the reconciler would find the order later.
func (s standIn) complete(t *testing.T, res gateway.ChargeResult, pass bool) {
	t.Helper()
	outcome := "cancel"
	if pass {
		outcome = "success"
	}
	loc := s.Approve(t, res.RedirectURL, pass)
	if loc.Query().Get("token") != res.Reference || loc.Query().Get("outcome") != outcome {
		t.Fatalf("approval page sent the shopper to %q, want the return URL with token=%s and outcome=%s", loc, res.Reference, outcome)
	}
	if !pass {
		s.Advance(paypal.ApprovalWindow + time.Minute)
	}
}

// setBehaviour is the harness's Token: the next order's shopper approves
// with funding that behaves as b.
func (s standIn) setBehaviour(t *testing.T, b gatewaytest.Behaviour) (string, bool) {
	return "", s.SetBehaviour(b)
}

// webhook returns a delivery about the order ref signed for webhookID.
func (s standIn) webhook(t *testing.T, ref, eventType, webhookID string) gateway.Webhook {
	t.Helper()
	return s.Webhook(t, ref, eventType, webhookID)
}
