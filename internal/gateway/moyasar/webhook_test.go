package moyasar_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/moyasar"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// approvedPayment makes a paid payment at the stand-in.
func approvedPayment(t *testing.T, s *standIn, c *moyasar.Connector, card string) gateway.ChargeResult {
	t.Helper()
	res, err := c.Charge(t.Context(), chargeReq(money.Amount{Minor: 3000, Currency: "SAR"}, s.token(t, card)))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// rewrite returns w with its body's JSON object changed by f.
func rewrite(t *testing.T, w gateway.Webhook, f func(map[string]any)) gateway.Webhook {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	body, _ := json.Marshal(m)
	return gateway.Webhook{Header: w.Header, Body: body}
}

func TestWebhookRefused(t *testing.T) {
	s := newStandIn(t)
	c := s.connector(t)
	paid := approvedPayment(t, s, c, cardApprove)
	good := s.Webhook(t, s.webhookSecret, paid.Reference, "payment_paid")
	if n, err := c.ParseWebhook(t.Context(), good); err != nil || n.Reference != paid.Reference || n.Outcome != gateway.Approved || n.EventID == "" {
		t.Fatalf("ParseWebhook of a genuine notification = (%+v, %v)", n, err)
	}
	token := `"secret_token":"` + s.webhookSecret + `"`
	cases := []struct {
		name string
		w    gateway.Webhook
	}{
		{"wrong token", s.Webhook(t, s.webhookSecret+"x", paid.Reference, "payment_paid")},
		{"token prefix", s.Webhook(t, s.webhookSecret[:len(s.webhookSecret)-1], paid.Reference, "payment_paid")},
		{"no token", rewrite(t, good, func(m map[string]any) { delete(m, "secret_token") })},
		{"token not a string", rewrite(t, good, func(m map[string]any) { m["secret_token"] = 1 })},
		{"duplicate token, forged first", gateway.Webhook{Header: good.Header, Body: []byte(`{"secret_token":"forged",` + strings.TrimPrefix(string(good.Body), "{"))}},
		{"duplicate token, forged last", gateway.Webhook{Header: good.Header, Body: []byte(strings.TrimSuffix(string(good.Body), "}") + `,"secret_token":"forged"}`)}},
		{"trailing bytes", gateway.Webhook{Header: good.Header, Body: append(bytes.Clone(good.Body), []byte(`{"`+token[1:]+`}`)...)}},
		{"not JSON", gateway.Webhook{Header: http.Header{"Content-Type": {"text/plain"}}, Body: good.Body}},
		{"no Content-Type", gateway.Webhook{Header: http.Header{}, Body: good.Body}},
		{"an array", gateway.Webhook{Header: good.Header, Body: []byte(`[{` + token + `}]`)}},
		{"live event for a test key", rewrite(t, good, func(m map[string]any) { m["live"] = true })},
	}
	before := s.allRequests()
	for _, tc := range cases {
		n, err := c.ParseWebhook(t.Context(), tc.w)
		if pay.KindOf(err) != pay.Unauthenticated {
			t.Errorf("%s: ParseWebhook = (%+v, %v), want an unauthenticated error", tc.name, n, err)
		}
	}
	if after := s.allRequests(); after != before {
		t.Errorf("refused notifications made %d requests to Moyasar, want none", after-before)
	}

	unconfigured, _ := moyasar.New(moyasar.Config{SecretKey: s.secretKey, BaseURL: s.URL})
	if _, err := unconfigured.ParseWebhook(t.Context(), good); pay.KindOf(err) != pay.Unauthenticated {
		t.Errorf("ParseWebhook without a configured secret: %v, want unauthenticated", err)
	}
	payout := s.Webhook(t, s.webhookSecret, paid.Reference, "payout_paid")
	if _, err := c.ParseWebhook(t.Context(), payout); pay.CodeOf(err) != moyasar.CodeEventIgnored {
		t.Errorf("payout event: %v, want %s", err, moyasar.CodeEventIgnored)
	}
}

// TestWebhookOutcomeIsTheAPIs: a notification with the right token but a
// body that lies (payment_paid about a failed payment, a data object
// claiming paid) tells the payment's state as Moyasar's API reports it.
func TestWebhookOutcomeIsTheAPIs(t *testing.T) {
	s := newStandIn(t)
	c := s.connector(t)
	failed := approvedPayment(t, s, c, cardDecline)
	lie := rewrite(t, s.Webhook(t, s.webhookSecret, failed.Reference, "payment_paid"), func(m map[string]any) {
		d := m["data"].(map[string]any)
		d["status"] = "paid"
	})
	n, err := c.ParseWebhook(t.Context(), lie)
	if err != nil || n.Reference != failed.Reference || n.Outcome != gateway.Declined {
		t.Errorf("ParseWebhook of a lying notification = (%+v, %v), want the API's declined", n, err)
	}
	if got := s.requests(http.MethodGet, "/v1/payments/"+failed.Reference); len(got) == 0 {
		t.Error("ParseWebhook did not re-read the payment")
	}
	unknown := s.Webhook(t, s.webhookSecret, "99999999-9999-4999-8999-999999999999", "payment_paid")
	if _, err := c.ParseWebhook(t.Context(), unknown); pay.KindOf(err) != pay.NotFound {
		t.Errorf("notification about an unknown payment: %v, want not found", err)
	}
	// Both documented spellings of the failure event are payment events.
	for _, typ := range []string{"payment_failed", "payment_faild", "payment_refunded"} {
		if n, err := c.ParseWebhook(t.Context(), s.Webhook(t, s.webhookSecret, failed.Reference, typ)); err != nil || n.Outcome != gateway.Declined {
			t.Errorf("%s: (%+v, %v), want declined", typ, n, err)
		}
	}
}
