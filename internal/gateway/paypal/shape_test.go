package paypal_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/gatewaytest"
	"github.com/sakkhq/sakk/internal/gateway/paypal"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// approve takes a charge through the payer-action page and Fetch.
func approve(t *testing.T, s standIn, c *paypal.Connector, req gateway.ChargeRequest) gateway.ChargeResult {
	t.Helper()
	res, err := c.Charge(t.Context(), req)
	if err != nil || res.Outcome != gateway.ActionRequired {
		t.Fatalf("Charge = (%+v, %v), want action_required", res, err)
	}
	s.complete(t, res, true)
	res, err = c.Fetch(t.Context(), gateway.FetchRequest{Reference: res.Reference})
	if err != nil || res.Outcome != gateway.Approved {
		t.Fatalf("Fetch after approval = (%+v, %v), want approved", res, err)
	}
	return res
}

// TestRequests checks what the connector sends beyond what the OpenAPI
// documents require: the idempotency keys, the return and cancel URLs,
// and sakk's ids.
func TestRequests(t *testing.T) {
	s := newStandIn(t)
	c := s.connector(t, "")
	req := chargeReq(money.Amount{Minor: 1799, Currency: "USD"})
	req.ReturnURL = "https://pay.example.com/api/v1/payments/callback/tok_1?lang=ar"
	res := approve(t, s, c, req)

	creates := s.requests(http.MethodPost, "/v2/checkout/orders")
	if len(creates) < 2 {
		t.Fatalf("%d POSTs to /v2/checkout/orders, want a create and a capture", len(creates))
	}
	create := creates[0]
	if got := create.Header.Get("PayPal-Request-Id"); got != req.IdempotencyKey {
		t.Errorf("create: PayPal-Request-Id %q, want the idempotency key %q", got, req.IdempotencyKey)
	}
	var body struct {
		Intent        string `json:"intent"`
		PurchaseUnits []struct {
			ReferenceID string `json:"reference_id"`
			CustomID    string `json:"custom_id"`
			Amount      struct {
				CurrencyCode string `json:"currency_code"`
				Value        string `json:"value"`
			} `json:"amount"`
		} `json:"purchase_units"`
		PaymentSource struct {
			PayPal struct {
				ExperienceContext struct {
					ReturnURL string `json:"return_url"`
					CancelURL string `json:"cancel_url"`
				} `json:"experience_context"`
			} `json:"paypal"`
		} `json:"payment_source"`
	}
	if err := json.Unmarshal(create.Body, &body); err != nil {
		t.Fatal(err)
	}
	pu := body.PurchaseUnits[0]
	if body.Intent != "CAPTURE" || pu.Amount.CurrencyCode != "USD" || pu.Amount.Value != "17.99" || pu.CustomID != req.PaymentID || pu.ReferenceID != req.PaymentID {
		t.Errorf("create body %s", create.Body)
	}
	for which, raw := range map[string]string{"success": body.PaymentSource.PayPal.ExperienceContext.ReturnURL, "cancel": body.PaymentSource.PayPal.ExperienceContext.CancelURL} {
		u, err := url.Parse(raw)
		if err != nil || u.Host != "pay.example.com" || u.Path != "/api/v1/payments/callback/tok_1" || u.Query().Get("outcome") != which || u.Query().Get("lang") != "ar" {
			t.Errorf("%s URL %q: want the ReturnURL with outcome=%s", which, raw, which)
		}
	}
	capture := creates[len(creates)-1]
	if capture.Path != "/v2/checkout/orders/"+res.Reference+"/capture" || capture.Header.Get("PayPal-Request-Id") != "capture-"+res.Reference {
		t.Errorf("capture: %s with PayPal-Request-Id %q", capture.Path, capture.Header.Get("PayPal-Request-Id"))
	}

	key := pay.NewID("rfd")
	if _, err := c.Refund(t.Context(), gateway.RefundRequest{IdempotencyKey: key, PaymentReference: res.Reference, Amount: money.Amount{Minor: 500, Currency: "USD"}}); err != nil {
		t.Fatal(err)
	}
	refunds := s.requests(http.MethodPost, "/v2/payments/captures/")
	if len(refunds) != 1 || refunds[0].Header.Get("PayPal-Request-Id") != key || !bytes.Contains(refunds[0].Body, []byte(`"value":"5.00"`)) {
		t.Errorf("refund requests %+v, want one with PayPal-Request-Id %q and value 5.00", refunds, key)
	}
	// Every API call carried a bearer token, never the client secret.
	for _, r := range s.requests(http.MethodPost, "/v") {
		if r.Path != "/v1/oauth2/token" && !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			t.Errorf("%s without a bearer token", r.Path)
		}
	}
}

// TestToken: one token for concurrent calls, fetched again when it
// expires or PayPal stops taking it.
func TestToken(t *testing.T) {
	s := newStandIn(t)
	c := s.connector(t, "")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c.Charge(t.Context(), chargeReq(money.Amount{Minor: 1000, Currency: "EUR"})); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	tokens := func() int {
		return s.TokenRequests()
	}
	if n := tokens(); n != 1 {
		t.Errorf("8 concurrent charges asked for %d tokens, want 1", n)
	}

	// Nine hours later the token has expired: a new one, before PayPal
	// has to refuse the old one.
	s.Advance(9 * time.Hour)
	if _, err := c.Charge(t.Context(), chargeReq(money.Amount{Minor: 1000, Currency: "EUR"})); err != nil {
		t.Fatal(err)
	}
	if n := tokens(); n != 2 {
		t.Errorf("after expiry: %d token requests, want 2", n)
	}
	if n := len(s.TakeRejected()); n != 0 {
		t.Errorf("%d requests with an expired token", n)
	}

	// PayPal revokes every token: the call is refused once (401), and
	// sent again with a fresh token.
	s.RevokeTokens()
	if _, err := c.Charge(t.Context(), chargeReq(money.Amount{Minor: 1000, Currency: "EUR"})); err != nil {
		t.Fatalf("Charge after the token was revoked: %v", err)
	}
	if n := tokens(); n != 3 {
		t.Errorf("after revocation: %d token requests, want 3", n)
	}
	if rej := s.TakeRejected(); len(rej) != 1 {
		t.Errorf("after revocation: rejections %q, want exactly the one refused call", rej)
	}
}

// TestWholeUnitCurrencies: PayPal's no-decimal currencies, outgoing and
// back. HUF and TWD are left out of Capabilities (see amount.go), yet a
// whole amount converts exactly and a fraction is refused before
// anything is sent.
func TestWholeUnitCurrencies(t *testing.T) {
	s := newStandIn(t)
	c := s.connector(t, "")
	for _, tc := range []struct {
		amount money.Amount
		value  string
	}{
		{money.Amount{Minor: 1234, Currency: "JPY"}, "1234"},
		{money.Amount{Minor: 120000, Currency: "HUF"}, "1200"},
		{money.Amount{Minor: 99900, Currency: "TWD"}, "999"},
	} {
		res := approve(t, s, c, chargeReq(tc.amount))
		if res.Captured != tc.amount {
			t.Errorf("%v: Captured %v", tc.amount, res.Captured)
		}
		creates := s.requests(http.MethodPost, "/v2/checkout/orders")
		if last := creates[len(creates)-2]; !bytes.Contains(last.Body, []byte(`"value":"`+tc.value+`"`)) {
			t.Errorf("%v sent as %s, want value %q", tc.amount, last.Body, tc.value)
		}
	}
	before := len(s.requests(http.MethodPost, "/v2/checkout/orders"))
	for _, a := range []money.Amount{{Minor: 120050, Currency: "HUF"}, {Minor: 99901, Currency: "TWD"}} {
		if _, err := c.Charge(t.Context(), chargeReq(a)); pay.CodeOf(err) != gateway.CodeAmountNotRepresentable {
			t.Errorf("Charge(%v): %v, want %s", a, err, gateway.CodeAmountNotRepresentable)
		}
	}
	for _, cur := range []money.Currency{"KWD", "BHD", "OMR", "JOD"} {
		if c.Capabilities().Supports(cur) {
			t.Errorf("Capabilities supports %s", cur)
		}
		if _, err := c.Charge(t.Context(), chargeReq(money.Amount{Minor: 12340, Currency: cur})); pay.CodeOf(err) != gateway.CodeCurrencyNotSupported {
			t.Errorf("Charge in %s: %v, want %s", cur, err, gateway.CodeCurrencyNotSupported)
		}
	}
	if after := len(s.requests(http.MethodPost, "/v2/checkout/orders")); after != before {
		t.Errorf("refused amounts reached PayPal: %d orders sent", after-before)
	}
}

// TestThreeDecimalsComingBack: PayPal never takes KWD, BHD, OMR or JOD
// from sakk, but an order read back in one is read exactly, never
// rounded; a digit beyond the fils is unknown, not a verdict.
func TestThreeDecimalsComingBack(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  money.Amount
	}{
		{"12.345", money.Amount{Minor: 12345, Currency: "KWD"}},
		{"12.3456", money.Amount{}},
	} {
		b := failures.Broken(t, gatewaytest.Status(200, `{"id":"5O190127TN364715T","status":"COMPLETED","purchase_units":[{"payments":{"captures":[{"id":"C1","status":"COMPLETED","amount":{"currency_code":"KWD","value":"`+tc.value+`"}}]}}]}`))
		c := failures.Connector(t, b.URL, 0, 5*time.Second)
		res, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: "5O190127TN364715T"})
		switch {
		case tc.want.IsZero() && (err == nil || res.Outcome == gateway.Approved):
			t.Errorf("KWD %s: (%+v, %v), want an error", tc.value, res, err)
		case !tc.want.IsZero() && (err != nil || res.Captured != tc.want):
			t.Errorf("KWD %s: (%+v, %v), want captured %v", tc.value, res, err, tc.want)
		}
	}
}

// TestWebhooks: forged, misdirected and ignored notifications, and the
// re-fetch that makes what PayPal says now win over what the event says.
func TestWebhooks(t *testing.T) {
	s := newStandIn(t)
	c := s.connector(t, s.WebhookID())

	t.Run("ApprovedEventCaptures", func(t *testing.T) {
		res, err := c.Charge(t.Context(), chargeReq(money.Amount{Minor: 2500, Currency: "USD"}))
		if err != nil {
			t.Fatal(err)
		}
		s.complete(t, res, true) // the shopper approves and never comes back to sakk
		w := s.webhook(t, res.Reference, "CHECKOUT.ORDER.APPROVED", s.WebhookID())
		n, err := c.ParseWebhook(t.Context(), w)
		if err != nil || n.Outcome != gateway.Approved || n.Reference != res.Reference || !strings.HasPrefix(n.EventID, "WH-") {
			t.Fatalf("ParseWebhook = (%+v, %v), want approved (captured by the re-fetch)", n, err)
		}
		if len(s.requests(http.MethodPost, "/v2/checkout/orders/"+res.Reference+"/capture")) != 1 {
			t.Error("the webhook did not lead to one capture")
		}
		// A replay of the same delivery verifies again and answers the
		// same: nothing new happens.
		if n2, err := c.ParseWebhook(t.Context(), w); err != nil || n2 != n {
			t.Errorf("replay: (%+v, %v), want %+v", n2, err, n)
		}
	})

	t.Run("EventSaysMoreThanPayPal", func(t *testing.T) {
		res, err := c.Charge(t.Context(), chargeReq(money.Amount{Minor: 2500, Currency: "USD"}))
		if err != nil {
			t.Fatal(err)
		}
		w := s.webhook(t, res.Reference, "CHECKOUT.ORDER.COMPLETED", s.WebhookID())
		n, err := c.ParseWebhook(t.Context(), w)
		if err != nil || n.Outcome != gateway.ActionRequired {
			t.Errorf("ParseWebhook of an order never approved = (%+v, %v), want action_required: the re-fetch decides", n, err)
		}
	})

	res := approve(t, s, c, chargeReq(money.Amount{Minor: 2500, Currency: "USD"}))
	good := s.webhook(t, res.Reference, "PAYMENT.CAPTURE.COMPLETED", s.WebhookID())
	forged := func(change func(w *gateway.Webhook)) gateway.Webhook {
		w := gateway.Webhook{Header: good.Header.Clone(), Body: bytes.Clone(good.Body)}
		change(&w)
		return w
	}
	for name, w := range map[string]gateway.Webhook{
		"body changed": forged(func(w *gateway.Webhook) {
			w.Body = bytes.Replace(w.Body, []byte(`"COMPLETED"`), []byte(`"PENDING"`), 1)
		}),
		"space appended":      forged(func(w *gateway.Webhook) { w.Body = append(w.Body, ' ') }),
		"signature replaced":  forged(func(w *gateway.Webhook) { w.Header.Set(paypal.HeaderTransmissionSig, "bm90IGEgc2lnbmF0dXJl") }),
		"no signature":        forged(func(w *gateway.Webhook) { w.Header.Del(paypal.HeaderTransmissionSig) }),
		"signed for another":  s.webhook(t, res.Reference, "PAYMENT.CAPTURE.COMPLETED", "OTHERWEBHOOK1"),
		"not JSON":            forged(func(w *gateway.Webhook) { w.Body = []byte("event") }),
		"transmission forged": forged(func(w *gateway.Webhook) { w.Header.Set(paypal.HeaderTransmissionID, "abc-forged") }),
	} {
		if n, err := c.ParseWebhook(t.Context(), w); pay.KindOf(err) != pay.Unauthenticated {
			t.Errorf("%s: ParseWebhook = (%+v, %v), want unauthenticated", name, n, err)
		}
	}
	ignored := s.webhook(t, res.Reference, "PAYMENT.CAPTURE.COMPLETED", s.WebhookID())
	ignored.Body = bytes.Replace(ignored.Body, []byte("PAYMENT.CAPTURE.COMPLETED"), []byte("BILLING.PLAN.CREATED"), 1)
	// Re-signed as PayPal would sign an event of that type.
	ignored = resign(s, ignored)
	if _, err := c.ParseWebhook(t.Context(), ignored); pay.CodeOf(err) != paypal.CodeEventIgnored {
		t.Errorf("ParseWebhook of an event type sakk ignores: %v, want %s", err, paypal.CodeEventIgnored)
	}

	noID, err := paypal.New(paypal.Config{ClientID: s.ClientID(), ClientSecret: s.ClientSecret(), BaseURL: s.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noID.ParseWebhook(t.Context(), good); pay.KindOf(err) != pay.Unauthenticated {
		t.Errorf("ParseWebhook without a WebhookID: %v, want unauthenticated", err)
	}
}

// resign signs w's body again under a new transmission.
func resign(s standIn, w gateway.Webhook) gateway.Webhook {
	return s.Deliver(s.WebhookID(), w.Body)
}

// TestStandInValidates proves the stand-in's check can fail: requests
// that break PayPal's documents are caught.
func TestStandInValidates(t *testing.T) {
	s := newStandIn(t)
	c := s.connector(t, "")
	// A valid call first, for a token.
	if _, err := c.Charge(t.Context(), chargeReq(money.Amount{Minor: 1000, Currency: "USD"})); err != nil {
		t.Fatal(err)
	}
	tok := s.Token()
	for name, body := range map[string]string{
		"intent in lower case": `{"intent":"capture","purchase_units":[{"amount":{"currency_code":"USD","value":"10.00"}}]}`,
		"amount as a number":   `{"intent":"CAPTURE","purchase_units":[{"amount":{"currency_code":"USD","value":10.00}}]}`,
		"decimal comma":        `{"intent":"CAPTURE","purchase_units":[{"amount":{"currency_code":"USD","value":"10,00"}}]}`,
		"no purchase units":    `{"intent":"CAPTURE","purchase_units":[]}`,
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL()+"/v2/checkout/orders", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if rej := s.TakeRejected(); resp.StatusCode != http.StatusBadRequest || len(rej) != 1 {
			t.Errorf("%s: %s, rejections %q; want 400 and one rejection", name, resp.Status, rej)
		}
	}
	// Without a token.
	resp, err := http.Get(s.URL() + "/v2/checkout/orders/5O190127TN364715T")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if rej := s.TakeRejected(); len(rej) != 1 {
		t.Errorf("GET without a token: rejections %q, want one", rej)
	}
}
