package sandbox_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/sandbox"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

func TestNew(t *testing.T) {
	key := make([]byte, 32)
	cases := []struct {
		name string
		o    sandbox.Options
		ok   bool
	}{
		{"good", sandbox.Options{PublicURL: "https://pay.example.com", Key: key}, true},
		{"trailing slash and path", sandbox.Options{PublicURL: "http://localhost:8080/sakk/", Key: key}, true},
		{"no URL", sandbox.Options{Key: key}, false},
		{"relative URL", sandbox.Options{PublicURL: "/api", Key: key}, false},
		{"other scheme", sandbox.Options{PublicURL: "ftp://pay.example.com", Key: key}, false},
		{"query", sandbox.Options{PublicURL: "https://pay.example.com/?a=b", Key: key}, false},
		{"no key", sandbox.Options{PublicURL: "https://pay.example.com"}, false},
		{"short key", sandbox.Options{PublicURL: "https://pay.example.com", Key: key[:31]}, false},
	}
	for _, c := range cases {
		_, err := sandbox.New(c.o)
		if (err == nil) != c.ok {
			t.Errorf("%s: New error %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

// TestChallengeURL: the link starts with PublicURL (trailing slash
// dropped) and the challenge path, then the reference.
func TestChallengeURL(t *testing.T) {
	sim, err := sandbox.New(sandbox.Options{PublicURL: "https://pay.example.com/", Key: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := sim.Tokenize(sandbox.Card{Number: sandbox.CardThreeDSecure, ExpMonth: 12, ExpYear: time.Now().Year() + 1, CVC: "123"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.Connector("stripe").Charge(t.Context(), chargeReq(usd(500), tok))
	if err != nil {
		t.Fatal(err)
	}
	want := "https://pay.example.com/api/v1/sandbox/3ds/" + res.Reference + "?return="
	if !strings.HasPrefix(res.RedirectURL, want) {
		t.Errorf("RedirectURL = %q, want it to start with %q", res.RedirectURL, want)
	}
	u, _ := url.Parse(res.RedirectURL)
	if got := u.Query().Get("return"); got != "https://shop.example/api/v1/payments/callback/sess_1" {
		t.Errorf("return = %q", got)
	}
	if !strings.HasPrefix(res.Reference, "sbx_") {
		t.Errorf("Reference = %q, want an sbx_ prefix", res.Reference)
	}
}

// TestCards: each test card's outcome, under a card gateway name.
func TestCards(t *testing.T) {
	e := newEnv(t, nil)
	c := e.sim.Connector("moyasar")
	cases := []struct {
		number    string
		outcome   gateway.Outcome
		code      string
		retryable bool
	}{
		{sandbox.CardApproved, gateway.Approved, "", false},
		{"5555555555554444", gateway.Approved, "", false}, // any other valid number
		{sandbox.CardDeclined, gateway.Declined, gateway.DeclineCard, false},
		{sandbox.CardInsufficientFunds, gateway.Declined, gateway.DeclineInsufficientFunds, false},
		{sandbox.CardProcessingError, gateway.Declined, gateway.DeclineProcessingError, true},
		{sandbox.CardThreeDSecure, gateway.ActionRequired, "", false},
	}
	for _, tc := range cases {
		amount := usd(4321)
		res, err := c.Charge(t.Context(), chargeReq(amount, e.token(t, tc.number)))
		if err != nil {
			t.Errorf("card …%s: %v", tc.number[12:], err)
			continue
		}
		if res.Outcome != tc.outcome || res.DeclineCode != tc.code || res.Retryable != tc.retryable {
			t.Errorf("card …%s: %+v, want %s %q retryable=%v", tc.number[12:], res, tc.outcome, tc.code, tc.retryable)
		}
		wantCaptured := money.Amount{}
		if tc.outcome == gateway.Approved {
			wantCaptured = amount
		}
		if res.Captured != wantCaptured {
			t.Errorf("card …%s: Captured %v, want %v", tc.number[12:], res.Captured, wantCaptured)
		}
		if (res.RedirectURL != "") != (tc.outcome == gateway.ActionRequired) {
			t.Errorf("card …%s: RedirectURL %q with outcome %s", tc.number[12:], res.RedirectURL, res.Outcome)
		}
	}
}

// TestOffSite: under "paypal" and "myfatoorah" every charge waits for an
// approval page; without a token an approved page means approved, with a
// card token the card's behaviour follows the approval.
func TestOffSite(t *testing.T) {
	e := newEnv(t, nil)
	for _, name := range []string{"paypal", "myfatoorah"} {
		c := e.sim.Connector(name)
		if caps := c.Capabilities(); !caps.Redirect || caps.ThreeDSecure {
			t.Errorf("%s: Capabilities %+v, want Redirect and no ThreeDSecure", name, caps)
		}
		for _, tc := range []struct {
			token string
			want  gateway.Outcome
			code  string
		}{
			{"", gateway.Approved, ""},
			{e.token(t, sandbox.CardApproved), gateway.Approved, ""},
			{e.token(t, sandbox.CardThreeDSecure), gateway.Approved, ""},
			{e.token(t, sandbox.CardInsufficientFunds), gateway.Declined, gateway.DeclineInsufficientFunds},
		} {
			req := chargeReq(usd(2500), tc.token)
			req.Method = name
			res, err := c.Charge(t.Context(), req)
			if err != nil || res.Outcome != gateway.ActionRequired {
				t.Fatalf("%s: Charge = (%+v, %v), want action_required", name, res, err)
			}
			_, page := get(t, res.RedirectURL)
			if !strings.Contains(page, "Approve payment") {
				t.Errorf("%s: the approval page lacks its button:\n%s", name, page)
			}
			e.complete(t, res, true)
			got, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: res.Reference})
			if err != nil || got.Outcome != tc.want || got.DeclineCode != tc.code {
				t.Errorf("%s: after approval Fetch = (%+v, %v), want %s %q", name, got, err, tc.want, tc.code)
			}
		}
	}
}

func TestChargeRefuses(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.token(t, sandbox.CardApproved)
	threeDS := e.token(t, sandbox.CardThreeDSecure)
	cases := []struct {
		name string
		conn string
		edit func(*gateway.ChargeRequest)
		code string
	}{
		{"no token on a card gateway", "stripe", func(r *gateway.ChargeRequest) { r.PaymentToken = "" }, gateway.CodeInvalidPaymentToken},
		{"not a card", "stripe", func(r *gateway.ChargeRequest) { r.Method = "paypal" }, gateway.CodeInvalidRequest},
		{"3-D Secure without a return URL", "stripe", func(r *gateway.ChargeRequest) { r.PaymentToken, r.ReturnURL = threeDS, "" }, gateway.CodeInvalidRequest},
		{"3-D Secure with a relative return URL", "stripe", func(r *gateway.ChargeRequest) { r.PaymentToken, r.ReturnURL = threeDS, "/callback" }, gateway.CodeInvalidRequest},
		{"3-D Secure with a javascript: return URL", "stripe", func(r *gateway.ChargeRequest) { r.PaymentToken, r.ReturnURL = threeDS, "javascript:alert(1)" }, gateway.CodeInvalidRequest},
		{"off-site without a return URL", "paypal", func(r *gateway.ChargeRequest) { r.ReturnURL = "" }, gateway.CodeInvalidRequest},
		{"idempotency key too long", "stripe", func(r *gateway.ChargeRequest) { r.IdempotencyKey = strings.Repeat("k", 256) }, gateway.CodeInvalidRequest},
		{"lower-case currency", "stripe", func(r *gateway.ChargeRequest) { r.Amount.Currency = "usd" }, gateway.CodeCurrencyNotSupported},
		{"empty name", "", func(*gateway.ChargeRequest) {}, gateway.CodeInvalidRequest},
		{"upper-case name", "Stripe", func(*gateway.ChargeRequest) {}, gateway.CodeInvalidRequest},
		{"long name", strings.Repeat("a", 33), func(*gateway.ChargeRequest) {}, gateway.CodeInvalidRequest},
	}
	for _, c := range cases {
		req := chargeReq(usd(1000), tok)
		c.edit(&req)
		res, err := e.sim.Connector(c.conn).Charge(t.Context(), req)
		if pay.KindOf(err) != pay.Invalid || pay.CodeOf(err) != c.code {
			t.Errorf("%s: Charge = (%+v, %v), want invalid %q", c.name, res, err, c.code)
		}
	}
}

// TestIdempotencyKeyReused: the same key with another request is refused,
// and the refusal reads as Unknown, not as a decline: the key already
// names a charge.
func TestIdempotencyKeyReused(t *testing.T) {
	e := newEnv(t, nil)
	c := e.sim.Connector("stripe")
	req := chargeReq(usd(1000), e.token(t, sandbox.CardApproved))
	first, err := c.Charge(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	other := req
	other.Amount = usd(2000)
	res, err := c.Charge(t.Context(), other)
	if pay.CodeOf(err) != gateway.CodeIdempotencyKeyReused {
		t.Errorf("same key, other amount: (%+v, %v), want %s", res, err, gateway.CodeIdempotencyKeyReused)
	}
	if o := gateway.ChargeOutcome(res, err); o != gateway.Unknown {
		t.Errorf("ChargeOutcome of a reused key = %q, want unknown", o)
	}
	// The same key under another gateway name is another charge.
	if res, err := e.sim.Connector("moyasar").Charge(t.Context(), req); err != nil || res.Reference == first.Reference {
		t.Errorf("same key under another name: (%+v, %v), want a new charge", res, err)
	}
}

// TestStateWithoutMemory: a second instance with the same key (or this one
// after a restart) answers from the reference alone.
func TestStateWithoutMemory(t *testing.T) {
	a := newEnv(t, nil)
	b := newEnv(t, a.key)
	ca, cb := a.sim.Connector("stripe"), b.sim.Connector("stripe")
	for _, tc := range []struct {
		number string
		want   gateway.Outcome
	}{
		{sandbox.CardApproved, gateway.Approved},
		{sandbox.CardDeclined, gateway.Declined},
		{sandbox.CardThreeDSecure, gateway.ActionRequired}, // the answer to a challenge is per process
	} {
		req := chargeReq(usd(990), a.token(t, tc.number))
		first, err := ca.Charge(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := cb.Fetch(t.Context(), gateway.FetchRequest{Reference: first.Reference})
		if err != nil || got.Outcome != tc.want || got.Reference != first.Reference {
			t.Errorf("…%s: Fetch on B = (%+v, %v), want %s", tc.number[12:], got, err, tc.want)
		}
		// The repeated charge on B finds the same charge: no second one.
		again, err := cb.Charge(t.Context(), req)
		// (The instances' PublicURLs differ in this test: compare the rest.)
		if err != nil || again.Reference != first.Reference || pathOf(again.RedirectURL) != pathOf(first.RedirectURL) {
			t.Errorf("…%s: repeated Charge on B = (%+v, %v), want %+v", tc.number[12:], again, err, first)
		}
	}
	// Refunds count on B from B's first sight of the charge.
	first, _ := ca.Charge(t.Context(), chargeReq(usd(990), a.token(t, sandbox.CardApproved)))
	if _, err := cb.Refund(t.Context(), gateway.RefundRequest{IdempotencyKey: "r1", PaymentReference: first.Reference, Amount: usd(990)}); err != nil {
		t.Errorf("refund on B: %v", err)
	}
	if _, err := cb.Refund(t.Context(), gateway.RefundRequest{IdempotencyKey: "r2", PaymentReference: first.Reference, Amount: usd(1)}); pay.CodeOf(err) != gateway.CodeRefundExceedsCaptured {
		t.Errorf("second refund on B: %v, want %s", err, gateway.CodeRefundExceedsCaptured)
	}
}

// TestChallengeOnAnotherInstance: the page and the answer work on an
// instance that did not make the charge; Fetch there sees the answer.
func TestChallengeOnAnotherInstance(t *testing.T) {
	a := newEnv(t, nil)
	b := newEnv(t, a.key)
	res, err := a.sim.Connector("stripe").Charge(t.Context(), chargeReq(usd(990), a.token(t, sandbox.CardThreeDSecure)))
	if err != nil {
		t.Fatal(err)
	}
	// The link names A's server; send the same path and query to B.
	u, _ := url.Parse(res.RedirectURL)
	res.RedirectURL = b.srv.URL + u.RequestURI()
	b.complete(t, res, true)
	got, err := b.sim.Connector("stripe").Fetch(t.Context(), gateway.FetchRequest{Reference: res.Reference})
	if err != nil || got.Outcome != gateway.Approved {
		t.Errorf("Fetch on B after B's challenge = (%+v, %v), want approved", got, err)
	}
}

func TestFetchAndRefundOfOtherGatewayName(t *testing.T) {
	e := newEnv(t, nil)
	res, err := e.sim.Connector("stripe").Charge(t.Context(), chargeReq(usd(990), e.token(t, sandbox.CardApproved)))
	if err != nil {
		t.Fatal(err)
	}
	other := e.sim.Connector("moyasar")
	if _, err := other.Fetch(t.Context(), gateway.FetchRequest{Reference: res.Reference}); pay.KindOf(err) != pay.NotFound {
		t.Errorf("Fetch of a stripe charge as moyasar: %v, want not found", err)
	}
	if _, err := other.Refund(t.Context(), gateway.RefundRequest{IdempotencyKey: "k", PaymentReference: res.Reference, Amount: usd(1)}); pay.KindOf(err) != pay.NotFound {
		t.Errorf("Refund of a stripe charge as moyasar: %v, want not found", err)
	}
	// A reference from a simulator with another key is unknown too.
	if _, err := newEnv(t, nil).sim.Connector("stripe").Fetch(t.Context(), gateway.FetchRequest{Reference: res.Reference}); pay.KindOf(err) != pay.NotFound {
		t.Errorf("Fetch with another key: %v, want not found", err)
	}
}

func TestRefundRules(t *testing.T) {
	e := newEnv(t, nil)
	c := e.sim.Connector("stripe")
	charge := func(number string, amount money.Amount) gateway.ChargeResult {
		t.Helper()
		res, err := c.Charge(t.Context(), chargeReq(amount, e.token(t, number)))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	refund := func(ref, key string, a money.Amount) (gateway.RefundResult, error) {
		return c.Refund(t.Context(), gateway.RefundRequest{IdempotencyKey: key, PaymentReference: ref, Amount: a})
	}

	pending := charge(sandbox.CardThreeDSecure, usd(1000))
	if _, err := refund(pending.Reference, "k1", usd(1)); pay.CodeOf(err) != gateway.CodeNotCaptured {
		t.Errorf("refund before 3-D Secure: %v, want %s", err, gateway.CodeNotCaptured)
	}

	ok := charge(sandbox.CardApproved, usd(1000))
	if _, err := refund(ok.Reference, "k2", money.Amount{Minor: 1, Currency: "EUR"}); pay.KindOf(err) != pay.Invalid {
		t.Errorf("refund in another currency: %v, want invalid", err)
	}
	if _, err := refund(ok.Reference, "", usd(1)); pay.KindOf(err) != pay.Invalid {
		t.Errorf("refund without a key: %v, want invalid", err)
	}
	if _, err := refund(ok.Reference, "k3", usd(0)); pay.KindOf(err) != pay.Invalid {
		t.Errorf("refund of zero: %v, want invalid", err)
	}
	r, err := refund(ok.Reference, "k4", usd(400))
	if err != nil || !strings.HasPrefix(r.Reference, "re_sbx_") || r.Status != gateway.RefundSucceeded {
		t.Errorf("refund: (%+v, %v), want re_sbx_… succeeded", r, err)
	}
	if _, err := refund(ok.Reference, "k4", usd(500)); pay.CodeOf(err) != gateway.CodeIdempotencyKeyReused {
		t.Errorf("refund key reused with another amount: %v, want %s", err, gateway.CodeIdempotencyKeyReused)
	}
	_, err = refund(ok.Reference, "k5", usd(601))
	if pay.CodeOf(err) != gateway.CodeRefundExceedsCaptured || !strings.Contains(pay.MessageOf(err), "6.00 USD") {
		t.Errorf("over-refund: %v, want %s naming the 6.00 USD left", err, gateway.CodeRefundExceedsCaptured)
	}

	// At most 100 refunds per charge bound the memory of one charge.
	many := charge(sandbox.CardApproved, usd(1000))
	for i := range 100 {
		if _, err := refund(many.Reference, fmt.Sprint("m", i), usd(1)); err != nil {
			t.Fatalf("refund %d: %v", i, err)
		}
	}
	if _, err := refund(many.Reference, "m100", usd(1)); pay.KindOf(err) != pay.Invalid {
		t.Errorf("refund 101: %v, want invalid", err)
	}
}

// TestMemoryBound: the simulator holds at most MaxCharges charges, for at
// most ChargeTTL; a forgotten 3-D Secure charge reads ActionRequired.
func TestMemoryBound(t *testing.T) {
	e := newEnv(t, nil, func(o *sandbox.Options) { o.MaxCharges = 3; o.ChargeTTL = time.Hour })
	c := e.sim.Connector("stripe")
	threeDS, err := c.Charge(t.Context(), chargeReq(usd(100), e.token(t, sandbox.CardThreeDSecure)))
	if err != nil {
		t.Fatal(err)
	}
	e.complete(t, threeDS, true)
	for range 10 {
		if _, err := c.Charge(t.Context(), chargeReq(usd(100), e.token(t, sandbox.CardApproved))); err != nil {
			t.Fatal(err)
		}
		if n := e.sim.HeldCharges(); n > 3 {
			t.Fatalf("holds %d charges, want at most 3", n)
		}
	}
	got, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: threeDS.Reference})
	if err != nil || got.Outcome != gateway.ActionRequired {
		t.Errorf("Fetch of an evicted 3-D Secure charge = (%+v, %v), want action_required", got, err)
	}

	// TTL: a remembered answer is forgotten after ChargeTTL.
	e2 := newEnv(t, nil, func(o *sandbox.Options) { o.ChargeTTL = time.Hour })
	c2 := e2.sim.Connector("stripe")
	res, _ := c2.Charge(t.Context(), chargeReq(usd(100), e2.token(t, sandbox.CardThreeDSecure)))
	e2.complete(t, res, true)
	e2.clock.Advance(59 * time.Minute)
	if got, _ := c2.Fetch(t.Context(), gateway.FetchRequest{Reference: res.Reference}); got.Outcome != gateway.Approved {
		t.Errorf("before the TTL: %s, want approved", got.Outcome)
	}
	e2.clock.Advance(time.Minute)
	if got, _ := c2.Fetch(t.Context(), gateway.FetchRequest{Reference: res.Reference}); got.Outcome != gateway.ActionRequired {
		t.Errorf("at the TTL: %s, want action_required", got.Outcome)
	}
}

func TestParseWebhookRefuses(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.sim.Connector("stripe").ParseWebhook(t.Context(), gateway.Webhook{Body: []byte(`{}`)})
	if pay.KindOf(err) != pay.Invalid {
		t.Errorf("ParseWebhook: %v, want invalid", err)
	}
}

// TestConcurrentUse exercises the simulator from many goroutines, for
// the race detector.
func TestConcurrentUse(t *testing.T) {
	e := newEnv(t, nil, func(o *sandbox.Options) { o.MaxCharges = 16 })
	c := e.sim.Connector("stripe")
	tok := e.token(t, sandbox.CardApproved)
	done := make(chan struct{})
	for g := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 50 {
				req := chargeReq(usd(100), tok)
				req.IdempotencyKey = fmt.Sprint("k", g, "-", i%10)
				res, err := c.Charge(t.Context(), req)
				if err != nil && pay.CodeOf(err) != gateway.CodeIdempotencyKeyReused {
					t.Error(err)
					return
				}
				if err == nil {
					c.Fetch(t.Context(), gateway.FetchRequest{Reference: res.Reference})
					c.Refund(t.Context(), gateway.RefundRequest{IdempotencyKey: fmt.Sprint("r", i), PaymentReference: res.Reference, Amount: usd(1)})
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
	if n := e.sim.HeldCharges(); n > 16 {
		t.Errorf("holds %d charges, want at most 16", n)
	}
}

// pathOf returns u without its scheme and host.
func pathOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.RequestURI()
}
