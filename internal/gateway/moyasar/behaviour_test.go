package moyasar_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/moyasar"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// TestCreateRequestShape: the payment creation request is what Moyasar's
// API reference documents: Basic auth with the secret key and an empty
// password, JSON, a token source, given_id, amount in the minor unit,
// callback_url the return URL.
func TestCreateRequestShape(t *testing.T) {
	s := newStandIn(t)
	c := s.connector(t)
	req := chargeReq(money.Amount{Minor: 12345, Currency: "KWD"}, s.token(t, cardApprove))
	req.Metadata = map[string]string{"order": "42"}
	res, err := c.Charge(t.Context(), req)
	if err != nil || res.Outcome != gateway.Approved || res.Captured != req.Amount {
		t.Fatalf("Charge = (%+v, %v), want approved 12.345 KWD", res, err)
	}
	posts := s.requests(http.MethodPost, "/v1/payments")
	if len(posts) != 1 {
		t.Fatalf("%d POST /v1/payments, want 1", len(posts))
	}
	r := posts[0]
	if r.User != s.secretKey || r.Pass != "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Errorf("auth %q:%q, Content-Type %q; want the secret key, no password, JSON", r.User, r.Pass, r.Header.Get("Content-Type"))
	}
	var body map[string]any
	dec := json.NewDecoder(strings.NewReader(string(r.Body)))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		t.Fatal(err)
	}
	src, _ := body["source"].(map[string]any)
	md, _ := body["metadata"].(map[string]any)
	switch {
	case body["given_id"] != moyasar.GivenID(req.IdempotencyKey) || res.Reference != body["given_id"]:
		t.Errorf("given_id %v, reference %q; want %s for both", body["given_id"], res.Reference, moyasar.GivenID(req.IdempotencyKey))
	case body["amount"] != json.Number("12345") || body["currency"] != "KWD":
		t.Errorf("amount %v %v, want 12345 KWD (fils)", body["amount"], body["currency"])
	case body["callback_url"] != req.ReturnURL:
		t.Errorf("callback_url %v, want %s", body["callback_url"], req.ReturnURL)
	case src["type"] != "token" || src["token"] != req.PaymentToken || src["3ds"] != true || src["manual"] != false:
		t.Errorf("source %v, want a token source with 3ds true and manual false", src)
	case md["sakk_payment_id"] != req.PaymentID || md["sakk_session_id"] != req.SessionID || md["order"] != "42":
		t.Errorf("metadata %v, want sakk's ids and the request's metadata", md)
	}
}

// TestGivenIDReturnsFirstPayment: if Moyasar answers a repeated given_id
// with the first payment (the other reading of its idempotency guide),
// the repeat gives the same charge, and a repeat for another amount is
// CodeIdempotencyKeyReused, which ChargeOutcome reads as unknown.
func TestGivenIDReturnsFirstPayment(t *testing.T) {
	for _, dup := range []bool{true, false} {
		s := newStandIn(t)
		s.SetDupReturnsPayment(dup)
		c := s.connector(t)
		req := chargeReq(money.Amount{Minor: 5000, Currency: "SAR"}, s.token(t, cardApprove))
		r1, err1 := c.Charge(t.Context(), req)
		r2, err2 := c.Charge(t.Context(), req)
		if err1 != nil || err2 != nil || r1.Reference != r2.Reference || r2.Outcome != gateway.Approved || s.charges() != 1 {
			t.Errorf("dup=%v: repeat gave (%+v, %v) then (%+v, %v) with %d payments, want one approved payment", dup, r1, err1, r2, err2, s.charges())
		}
		other := req
		other.Amount.Minor = 6000
		res, err := c.Charge(t.Context(), other)
		if pay.CodeOf(err) != gateway.CodeIdempotencyKeyReused || gateway.ChargeOutcome(res, err) != gateway.Unknown {
			t.Errorf("dup=%v: same key, other amount = (%+v, %v), want %s read as unknown", dup, res, err, gateway.CodeIdempotencyKeyReused)
		}
	}
}

// TestDeclineCodes: the documented test cards' failures map to the
// contract's decline codes.
func TestDeclineCodes(t *testing.T) {
	s := newStandIn(t)
	c := s.connector(t)
	cases := []struct {
		card, code string
		retryable  bool
	}{
		{cardDecline, gateway.DeclineCard, false},
		{cardInsufficient, gateway.DeclineInsufficientFunds, false},
		{cardExpired, gateway.DeclineExpiredCard, false},
		{cardProcessing, gateway.DeclineProcessingError, true},
		{"4000000000000002", gateway.DeclineCard, false}, // unlisted card: UNSPECIFIED FAILURE, 99
	}
	for _, tc := range cases {
		res, err := c.Charge(t.Context(), chargeReq(money.Amount{Minor: 1000, Currency: "SAR"}, s.token(t, tc.card)))
		if err != nil || res.Outcome != gateway.Declined || res.DeclineCode != tc.code || res.Retryable != tc.retryable || res.DeclineMessage == "" || res.Reference == "" {
			t.Errorf("card %s: (%+v, %v), want declined %s retryable %v", tc.card, res, err, tc.code, tc.retryable)
		}
	}
}

// TestRefundAnswerLost: a refund whose answer was lost is not made twice
// when repeated with its key; one that never reached Moyasar is made by
// the repeat. Either way the refunded total counts it once.
func TestRefundAnswerLost(t *testing.T) {
	for _, drop := range []string{"after", "before"} {
		t.Run(drop, func(t *testing.T) {
			s := newStandIn(t)
			c := s.connector(t)
			amount := money.Amount{Minor: 10000, Currency: "SAR"}
			ch, err := c.Charge(t.Context(), chargeReq(amount, s.token(t, cardApprove)))
			if err != nil || ch.Outcome != gateway.Approved {
				t.Fatalf("Charge: (%+v, %v)", ch, err)
			}
			s.DropNextRefund(drop)
			rreq := gateway.RefundRequest{IdempotencyKey: pay.NewID(pay.PrefixRefund), PaymentReference: ch.Reference, Amount: money.Amount{Minor: 4000, Currency: "SAR"}}
			if _, err := c.Refund(t.Context(), rreq); pay.KindOf(err) != pay.Unavailable {
				t.Fatalf("Refund with the answer lost: %v, want unavailable", err)
			}
			r2, err := c.Refund(t.Context(), rreq)
			if err != nil || r2.Status != gateway.RefundSucceeded || r2.Reference == "" {
				t.Fatalf("repeat: (%+v, %v), want succeeded", r2, err)
			}
			r3, err := c.Refund(t.Context(), rreq)
			if err != nil || r3 != r2 {
				t.Errorf("second repeat: (%+v, %v), want %+v", r3, err, r2)
			}
			if n := s.refunds(); n != 1 {
				t.Errorf("%d refunds made at Moyasar, want 1", n)
			}
			p, _ := s.Payment(ch.Reference)
			refunded := p.Refunded
			entry := p.Metadata[moyasar.RefundKey(rreq.IdempotencyKey)]
			if refunded != 4000 || entry != "4000:4000" {
				t.Errorf("refunded %d, ledger entry %v; want 4000 and \"4000:4000\"", refunded, entry)
			}
			// The same key for another amount is refused.
			other := rreq
			other.Amount.Minor = 100
			if _, err := c.Refund(t.Context(), other); pay.CodeOf(err) != gateway.CodeIdempotencyKeyReused {
				t.Errorf("same key, other amount: %v, want %s", err, gateway.CodeIdempotencyKeyReused)
			}
			// The sakk metadata written at creation survives the ledger.
			p, _ = s.Payment(ch.Reference)
			_, kept := p.Metadata["sakk_payment_id"]
			if !kept {
				t.Error("the ledger update dropped the payment's metadata")
			}
		})
	}
}

// TestThreeDSecureCallback: the 3-D Secure link is the payment's
// source.transaction_url, and the page sends the shopper to the
// ReturnURL with the payment id, which Fetch then reads.
func TestThreeDSecureCallback(t *testing.T) {
	s := newStandIn(t)
	c := s.connector(t)
	req := chargeReq(money.Amount{Minor: 2500, Currency: "BHD"}, s.token(t, card3DS))
	res, err := c.Charge(t.Context(), req)
	if err != nil || res.Outcome != gateway.ActionRequired || !strings.HasPrefix(res.RedirectURL, s.URL+"/3ds/") {
		t.Fatalf("Charge = (%+v, %v), want action_required at the transaction_url", res, err)
	}
	resp, err := noRedirects.Get(res.RedirectURL + "?action=complete")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, req.ReturnURL+"?") || !strings.Contains(loc, "id="+res.Reference) {
		t.Errorf("3-D Secure page sent the shopper to %q, want %s?id=%s…", loc, req.ReturnURL, res.Reference)
	}
	got, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: res.Reference})
	if err != nil || got.Outcome != gateway.Approved || got.Captured != req.Amount {
		t.Errorf("Fetch after 3-D Secure = (%+v, %v), want approved 2.500 BHD", got, err)
	}
}
