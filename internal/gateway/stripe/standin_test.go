package stripe_test

import (
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/stripe"
	"github.com/sakkhq/sakk/internal/gateway/stripe/stripetest"
)

// The tests run against stripe-mock, Stripe's own mock server, behind the
// recording layer of package stripetest; one stripe-mock serves the
// package, stopped when the tests end.
func TestMain(m *testing.M) { stripetest.Main(m) }

// Stripe's documented test PaymentMethods.
const (
	pmApprove      = stripetest.PMApprove
	pmDecline      = stripetest.PMDecline
	pmInsufficient = stripetest.PMInsufficient
	pmProcessing   = stripetest.PMProcessing
	pm3DS          = stripetest.PM3DS
)

// needMock returns stripe-mock's URL, or skips the test when the binary is
// not installed (fails instead when SAKK_TEST_REQUIRE_PEERS=1).
func needMock(t *testing.T) string { return stripetest.MockURL(t) }

// randomHex returns n random bytes in hex: test keys and ids.
func randomHex(n int) string { return stripetest.RandomHex(n) }

// standIn is the stand-in with what these tests do with it.
type standIn struct{ *stripetest.StandIn }

func newStandIn(t *testing.T) standIn { return standIn{stripetest.Start(t)} }

// connector returns a connector pointed at the stand-in, with short retry
// waits.
func (s standIn) connector(t *testing.T, webhookSecret string) *stripe.Connector {
	t.Helper()
	c, err := stripe.New(stripe.Config{
		SecretKey:      "sk_test_" + randomHex(12),
		PublishableKey: "pk_test_" + randomHex(12),
		WebhookSecret:  webhookSecret,
		BaseURL:        s.URL(),
		MaxRetries:     4,
	})
	if err != nil {
		t.Fatal(err)
	}
	stripe.SetBackoff(c, 10*time.Millisecond)
	return c
}

// charges is how many PaymentIntents were created: the conformance
// suite's proof that a repeated key charges once.
func (s standIn) charges() int { return s.Charges() }

// requests returns the recorded requests to path.
func (s standIn) requests(method, path string) []stripetest.Request {
	return s.RequestsTo(method, path)
}

// complete answers the 3-D Secure challenge at res.RedirectURL as the
// shopper's browser would, and checks that it is sent back to the return
// URL with the PaymentIntent's id.
func (s standIn) complete(t *testing.T, res gateway.ChargeResult, pass bool) {
	t.Helper()
	loc := s.ThreeDSecure(t, res.RedirectURL, pass)
	if loc.Query().Get("payment_intent") != res.Reference {
		t.Fatalf("3-D Secure page sent the shopper to %q, want the return URL with payment_intent=%s", loc, res.Reference)
	}
}

// webhook returns a Stripe event about the PaymentIntent ref, signed with
// secret at time at.
func (s standIn) webhook(t *testing.T, secret, ref, typ string, at time.Time) gateway.Webhook {
	t.Helper()
	return s.Webhook(t, secret, ref, typ, at)
}
