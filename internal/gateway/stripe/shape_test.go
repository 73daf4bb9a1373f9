package stripe_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/stripe"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

func chargeReq(amount money.Amount, pm string) gateway.ChargeRequest {
	return gateway.ChargeRequest{
		IdempotencyKey: "pay_" + randomHex(10),
		PaymentID:      "pay_" + randomHex(8),
		SessionID:      "sess_" + randomHex(8),
		Amount:         amount,
		Method:         "card",
		PaymentToken:   pm,
		ReturnURL:      "https://shop.example/api/v1/payments/callback/sess_1",
		Metadata:       map[string]string{"order": "A-17"},
	}
}

// TestStripeMockAcceptsRequests sends the connector's requests straight to
// stripe-mock, with no layer in between: stripe-mock validates every
// parameter against Stripe's OpenAPI document and answers 400 to anything
// else, which the connector would report as an Invalid error.
func TestStripeMockAcceptsRequests(t *testing.T) {
	base := needMock(t)
	c, err := stripe.New(stripe.Config{SecretKey: "sk_test_" + randomHex(8), BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []money.Amount{{Minor: 1799, Currency: "USD"}, {Minor: 1234, Currency: "JPY"}, {Minor: 12340, Currency: "KWD"}, {Minor: 1234, Currency: "ISK"}} {
		res, err := c.Charge(t.Context(), chargeReq(a, pmApprove))
		if err != nil {
			t.Errorf("Charge(%v) against stripe-mock: %v", a, err)
			continue
		}
		if res.Reference == "" {
			t.Errorf("Charge(%v): no reference", a)
			continue
		}
		if _, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: res.Reference}); err != nil {
			t.Errorf("Fetch(%s) against stripe-mock: %v", res.Reference, err)
		}
	}

	// The control: stripe-mock does refuse a request Stripe would refuse,
	// so the checks above can fail.
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/payment_intents", strings.NewReader("amount=12.5&currency=usd&confirm=maybe"))
	req.Header.Set("Authorization", "Bearer sk_test_x")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("stripe-mock answered %s to a malformed PaymentIntent, want 400", resp.Status)
	}
}

// TestRequestShape checks the exact requests Charge, Fetch and Refund
// send, as the recording layer saw them (and stripe-mock accepted them).
func TestRequestShape(t *testing.T) {
	s := newStandIn(t)
	c := s.connector(t, "")
	req := chargeReq(money.Amount{Minor: 17990, Currency: "USD"}, pmApprove)
	res, err := c.Charge(t.Context(), req)
	if err != nil || res.Outcome != gateway.Approved {
		t.Fatalf("Charge = (%+v, %v)", res, err)
	}
	posts := s.requests(http.MethodPost, "/v1/payment_intents")
	if len(posts) != 1 {
		t.Fatalf("%d POST /v1/payment_intents, want 1", len(posts))
	}
	p := posts[0]
	want := url.Values{
		"amount":                    {"17990"},
		"currency":                  {"usd"},
		"payment_method":            {pmApprove},
		"payment_method_types[]":    {"card"},
		"confirm":                   {"true"},
		"return_url":                {req.ReturnURL},
		"metadata[order]":           {"A-17"},
		"metadata[sakk_payment_id]": {req.PaymentID},
		"metadata[sakk_session_id]": {req.SessionID},
	}
	if p.Form.Encode() != want.Encode() {
		t.Errorf("charge form:\n got %s\nwant %s", p.Form.Encode(), want.Encode())
	}
	if got := p.Header.Get("Idempotency-Key"); got != req.IdempotencyKey {
		t.Errorf("Idempotency-Key %q, want the request's %q", got, req.IdempotencyKey)
	}
	if !strings.HasPrefix(p.Header.Get("Authorization"), "Bearer sk_test_") || p.Header.Get("Stripe-Version") == "" {
		t.Errorf("headers: Authorization %q, Stripe-Version %q", p.Header.Get("Authorization"), p.Header.Get("Stripe-Version"))
	}

	if _, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: res.Reference}); err != nil {
		t.Fatal(err)
	}
	if gets := s.requests(http.MethodGet, "/v1/payment_intents/"+res.Reference); len(gets) != 1 || gets[0].Header.Get("Idempotency-Key") != "" {
		t.Errorf("Fetch: %d GETs of the PaymentIntent (want 1, without an Idempotency-Key)", len(gets))
	}

	rkey := "ref_" + randomHex(8)
	if _, err := c.Refund(t.Context(), gateway.RefundRequest{IdempotencyKey: rkey, PaymentReference: res.Reference, Amount: money.Amount{Minor: 500, Currency: "USD"}}); err != nil {
		t.Fatal(err)
	}
	refunds := s.requests(http.MethodPost, "/v1/refunds")
	if len(refunds) != 1 {
		t.Fatalf("%d POST /v1/refunds, want 1", len(refunds))
	}
	if got, want := refunds[0].Form.Encode(), (url.Values{"payment_intent": {res.Reference}, "amount": {"500"}}).Encode(); got != want {
		t.Errorf("refund form %s, want %s", got, want)
	}
	if got := refunds[0].Header.Get("Idempotency-Key"); got != rkey {
		t.Errorf("refund Idempotency-Key %q, want %q", got, rkey)
	}
}

// TestCurrencyAmounts charges zero-, two- and three-decimal currencies and
// checks the amount Stripe receives (outgoing) and the amounts the
// connector reads back (Charge, Fetch), to the unit; then a refund's.
func TestCurrencyAmounts(t *testing.T) {
	s := newStandIn(t)
	c := s.connector(t, "")
	cases := []struct {
		amount       money.Amount
		sent, refund string
	}{
		{money.Amount{Minor: 1799, Currency: "USD"}, "1799", "1"},
		{money.Amount{Minor: 1234, Currency: "JPY"}, "1234", "1"},
		{money.Amount{Minor: 990, Currency: "CLP"}, "990", "1"},
		{money.Amount{Minor: 5000, Currency: "UGX"}, "5000", "1"},
		{money.Amount{Minor: 1234, Currency: "ISK"}, "123400", "100"},
		{money.Amount{Minor: 12340, Currency: "KWD"}, "12340", "10"},
		{money.Amount{Minor: 1000, Currency: "BHD"}, "1000", "10"},
		{money.Amount{Minor: 99990, Currency: "OMR"}, "99990", "10"},
		{money.Amount{Minor: 20, Currency: "JOD"}, "20", "10"},
		{money.Amount{Minor: 5550, Currency: "TND"}, "5550", "10"},
	}
	for _, tc := range cases {
		t.Run(string(tc.amount.Currency), func(t *testing.T) {
			before := len(s.requests(http.MethodPost, "/v1/payment_intents"))
			res, err := c.Charge(t.Context(), chargeReq(tc.amount, pmApprove))
			if err != nil || res.Outcome != gateway.Approved || res.Captured != tc.amount {
				t.Fatalf("Charge(%v) = (%+v, %v), want approved, captured exactly", tc.amount, res, err)
			}
			posts := s.requests(http.MethodPost, "/v1/payment_intents")
			if len(posts) != before+1 {
				t.Fatalf("%d new POSTs, want 1", len(posts)-before)
			}
			p := posts[len(posts)-1]
			if p.Form.Get("amount") != tc.sent || p.Form.Get("currency") != strings.ToLower(string(tc.amount.Currency)) {
				t.Errorf("sent amount=%s currency=%s, want %s %s", p.Form.Get("amount"), p.Form.Get("currency"), tc.sent, strings.ToLower(string(tc.amount.Currency)))
			}
			got, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: res.Reference})
			if err != nil || got.Captured != tc.amount {
				t.Errorf("Fetch = (%+v, %v), want captured %v", got, err, tc.amount)
			}
			unit := money.Amount{Minor: 1, Currency: tc.amount.Currency}
			if tc.amount.Currency.Exponent() == 3 {
				unit.Minor = 10
			}
			if _, err := c.Refund(t.Context(), gateway.RefundRequest{IdempotencyKey: "ref_" + randomHex(8), PaymentReference: res.Reference, Amount: unit}); err != nil {
				t.Fatalf("Refund(%v): %v", unit, err)
			}
			refunds := s.requests(http.MethodPost, "/v1/refunds")
			if r := refunds[len(refunds)-1]; r.Form.Get("amount") != tc.refund {
				t.Errorf("refund of %v sent amount=%s, want %s", unit, r.Form.Get("amount"), tc.refund)
			}
		})
	}

	// What Stripe cannot carry is refused before anything is sent.
	refused := []struct {
		amount money.Amount
		code   string
	}{
		{money.Amount{Minor: 12345, Currency: "KWD"}, gateway.CodeAmountNotRepresentable},
		{money.Amount{Minor: 1001, Currency: "BHD"}, gateway.CodeAmountNotRepresentable},
		{money.Amount{Minor: 1200, Currency: "MGA"}, gateway.CodeCurrencyNotSupported},
		{money.Amount{Minor: 1000, Currency: "IQD"}, gateway.CodeCurrencyNotSupported},
		{money.Amount{Minor: 1000, Currency: "ZZZ"}, gateway.CodeCurrencyNotSupported},
	}
	before := len(s.requests(http.MethodPost, "/v1/payment_intents"))
	for _, r := range refused {
		res, err := c.Charge(t.Context(), chargeReq(r.amount, pmApprove))
		if pay.KindOf(err) != pay.Invalid || pay.CodeOf(err) != r.code {
			t.Errorf("Charge(%v) = (%+v, %v), want Invalid %s", r.amount, res, err, r.code)
		}
	}
	if n := len(s.requests(http.MethodPost, "/v1/payment_intents")) - before; n != 0 {
		t.Errorf("refused amounts sent %d requests to Stripe, want 0", n)
	}
	// A refund Stripe cannot carry is refused too.
	res, err := c.Charge(t.Context(), chargeReq(money.Amount{Minor: 12340, Currency: "KWD"}, pmApprove))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Refund(t.Context(), gateway.RefundRequest{IdempotencyKey: "ref_" + randomHex(8), PaymentReference: res.Reference, Amount: money.Amount{Minor: 5, Currency: "KWD"}}); pay.CodeOf(err) != gateway.CodeAmountNotRepresentable {
		t.Errorf("Refund of 5 KWD thousandths: %v, want %s", err, gateway.CodeAmountNotRepresentable)
	}
	if _, err := c.Refund(t.Context(), gateway.RefundRequest{IdempotencyKey: "ref_" + randomHex(8), PaymentReference: res.Reference, Amount: money.Amount{Minor: 10, Currency: "BHD"}}); pay.KindOf(err) != pay.Invalid {
		t.Errorf("Refund in another currency than the charge's: %v, want Invalid", err)
	}
}

// TestThreeDSecureFlow follows a 3-D Secure charge as checkout does: the
// redirect to the issuer, the callback's Fetch, and a webhook saying the
// same; then a repeat of the charge with its key returns the same
// PaymentIntent, now approved.
func TestThreeDSecureFlow(t *testing.T) {
	s := newStandIn(t)
	secret := "whsec_" + randomHex(24)
	c := s.connector(t, secret)
	req := chargeReq(money.Amount{Minor: 12340, Currency: "KWD"}, pm3DS)
	first, err := c.Charge(t.Context(), req)
	if err != nil || first.Outcome != gateway.ActionRequired || !strings.HasPrefix(first.RedirectURL, s.URL()+"/3ds/") {
		t.Fatalf("Charge = (%+v, %v), want action_required with the issuer's link", first, err)
	}
	if got, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: first.Reference}); err != nil || got.Outcome != gateway.ActionRequired {
		t.Fatalf("Fetch before the challenge = (%+v, %v)", got, err)
	}
	s.complete(t, first, true)
	got, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: first.Reference})
	if err != nil || got.Outcome != gateway.Approved || got.Captured != req.Amount {
		t.Fatalf("Fetch after the challenge = (%+v, %v), want approved %v", got, err, req.Amount)
	}
	n, err := c.ParseWebhook(t.Context(), s.webhook(t, secret, first.Reference, "payment_intent.succeeded", time.Now()))
	if err != nil || n.Reference != first.Reference || n.Outcome != gateway.Approved {
		t.Fatalf("ParseWebhook = (%+v, %v)", n, err)
	}
	again, err := c.Charge(t.Context(), req)
	if err != nil || again.Reference != first.Reference {
		t.Fatalf("the charge repeated with its key = (%+v, %v), want reference %s", again, err, first.Reference)
	}
	if s.charges() != 1 {
		t.Errorf("%d PaymentIntents created, want 1", s.charges())
	}
	// A webhook signed with another secret changes nothing.
	forged := s.webhook(t, "whsec_"+randomHex(24), first.Reference, "payment_intent.payment_failed", time.Now())
	if n, err := c.ParseWebhook(t.Context(), forged); pay.KindOf(err) != pay.Unauthenticated {
		t.Errorf("forged webhook = (%+v, %v), want Unauthenticated", n, err)
	}
}

// TestStandInCatchesRejections proves the recording layer's check can
// fail: a request stripe-mock refuses is recorded as rejected.
func TestStandInCatchesRejections(t *testing.T) {
	s := newStandIn(t)
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/v1/payment_intents", strings.NewReader("amount=twelve&currency=usd"))
	req.Header.Set("Authorization", "Bearer sk_test_x")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	n := len(s.TakeRejected()) // the rejection was wanted here
	if resp.StatusCode != http.StatusBadRequest || n != 1 {
		t.Errorf("a malformed request: %s, %d rejections recorded; want 400 and 1", resp.Status, n)
	}
}
