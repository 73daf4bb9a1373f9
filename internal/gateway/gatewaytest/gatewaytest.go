// Package gatewaytest is the conformance suite every gateway.Connector
// passes: the sandbox simulator against itself, each real connector
// against a local stand-in of its gateway. Run checks what checkout relies
// on whatever the gateway: outcomes and decline codes, 3-D Secure and
// off-site approval, idempotent charges and refunds, exact amounts in 0-,
// 2- and 3-decimal currencies, and that an answer which never came is
// never read as a decline or an approval.
//
// A connector's test builds a Harness (how to get a token for each card
// behaviour from the stand-in, how to answer a challenge as a browser
// would) and calls Run:
//
//	func TestConformance(t *testing.T) {
//		gatewaytest.Run(t, gatewaytest.Harness{Connector: c, Token: ..., Complete: ...})
//	}
package gatewaytest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// Behaviour is how a test card makes the gateway answer.
type Behaviour int

const (
	Approve           Behaviour = iota + 1 // approved (after the off-site approval, for a Redirect gateway)
	Decline                                // declined, gateway.DeclineCard
	InsufficientFunds                      // declined, gateway.DeclineInsufficientFunds
	ThreeDSecure                           // ActionRequired: a 3-D Secure challenge, then approved or declined
	ProcessingError                        // declined, gateway.DeclineProcessingError, retryable
)

func (b Behaviour) String() string {
	switch b {
	case Approve:
		return "approve"
	case Decline:
		return "decline"
	case InsufficientFunds:
		return "insufficient funds"
	case ThreeDSecure:
		return "3-D Secure"
	case ProcessingError:
		return "processing error"
	}
	return fmt.Sprintf("Behaviour(%d)", int(b))
}

// Harness is what the suite needs from a connector's test. The suite runs
// its checks one after another, never in parallel, except where it
// charges concurrently on purpose.
type Harness struct {
	// Connector is the connector under test. Required.
	Connector gateway.Connector

	// Token returns a ChargeRequest.PaymentToken that makes the gateway
	// behave as b, fresh for each call. ok false means the stand-in cannot
	// produce b; the checks that need it are skipped. The token may be ""
	// where the connector needs none. Required.
	Token func(t *testing.T, b Behaviour) (token string, ok bool)

	// Complete answers the action an ActionRequired result asks for, as
	// the shopper's browser would at res.RedirectURL: pass the 3-D Secure
	// challenge or approve off-site (pass true), or fail it (false).
	// Required when Capabilities has ThreeDSecure or Redirect.
	Complete func(t *testing.T, res gateway.ChargeResult, pass bool)

	// Charges, when set, returns how many charges the gateway has made so
	// far, so that the suite can prove a repeated idempotency key charges
	// once. Without it the suite compares references only.
	Charges func() int

	// Webhook returns a notification, signed as the gateway signs, saying
	// that the charge res.Reference is now at outcome o. Required when
	// Capabilities has Webhooks.
	Webhook func(t *testing.T, res gateway.ChargeResult, o gateway.Outcome) gateway.Webhook

	// Method is ChargeRequest.Method; "" means "card".
	Method string

	// ReturnURL is ChargeRequest.ReturnURL; "" means a sakk callback URL
	// on a test host.
	ReturnURL string
}

// Run checks h.Connector against the contract of package gateway, each
// check a subtest named after what it proves.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Connector == nil || h.Token == nil {
		t.Fatal("gatewaytest: Harness needs Connector and Token")
	}
	if h.Method == "" {
		h.Method = "card"
	}
	if h.ReturnURL == "" {
		h.ReturnURL = "https://sakk.test/api/v1/payments/callback/sess_gatewaytest"
	}
	s := &suite{h: h, caps: h.Connector.Capabilities()}
	t.Run("Capabilities", s.capabilities)
	t.Run("Approve", s.approve)
	t.Run("Decline", func(t *testing.T) { s.declined(t, Decline, gateway.DeclineCard, false) })
	t.Run("InsufficientFunds", func(t *testing.T) { s.declined(t, InsufficientFunds, gateway.DeclineInsufficientFunds, false) })
	t.Run("ProcessingError", func(t *testing.T) { s.declined(t, ProcessingError, gateway.DeclineProcessingError, true) })
	t.Run("ThreeDSecure", s.threeDSecure)
	t.Run("OffSiteNotApproved", s.offSiteNotApproved)
	t.Run("Idempotency", s.idempotency)
	t.Run("ConcurrentIdempotency", s.concurrentIdempotency)
	t.Run("Refunds", s.refunds)
	t.Run("Currencies", s.currencies)
	t.Run("InvalidRequests", s.invalidRequests)
	t.Run("UnknownReference", s.unknownReference)
	t.Run("NoAnswerIsUnknown", s.noAnswer)
	t.Run("Webhooks", s.webhooks)
}

type suite struct {
	h    Harness
	caps gateway.Capabilities
}

// Default amounts. 17990 is a multiple of ten, so that a gateway which
// charges 3-decimal currencies only in multiples of ten (Stripe) can
// carry it in any currency.
const defaultMinor = 17990

// currency is the currency of the checks that do not vary it.
func (s *suite) currency() money.Currency {
	if len(s.caps.Currencies) > 0 {
		return s.caps.Currencies[0]
	}
	return "USD"
}

func (s *suite) amount() money.Amount {
	return money.Amount{Minor: defaultMinor, Currency: s.currency()}
}

// request returns a charge request for behaviour b with a fresh
// idempotency key, or skips the test when the harness cannot produce b.
func (s *suite) request(t *testing.T, b Behaviour, amount money.Amount) gateway.ChargeRequest {
	t.Helper()
	tok, ok := s.h.Token(t, b)
	if !ok {
		t.Skipf("the harness cannot produce the %s behaviour", b)
	}
	return gateway.ChargeRequest{
		IdempotencyKey: newKey(),
		PaymentID:      pay.NewID(pay.PrefixPayment),
		SessionID:      pay.NewID(pay.PrefixSession),
		Amount:         amount,
		Method:         s.h.Method,
		PaymentToken:   tok,
		ReturnURL:      s.h.ReturnURL,
		Customer:       gateway.Customer{Email: "shopper@example.com", Phone: "+212600000000"},
		ClientIP:       "192.0.2.10",
		UserAgent:      "gatewaytest",
		Metadata:       map[string]string{"suite": "gatewaytest"},
	}
}

func newKey() string { return pay.NewID("gwtest") }

// charge sends req and fails the test on an error.
func (s *suite) charge(t *testing.T, req gateway.ChargeRequest) gateway.ChargeResult {
	t.Helper()
	res, err := s.h.Connector.Charge(t.Context(), req)
	if err != nil {
		t.Fatalf("Charge(%s): %v", req.Amount, err)
	}
	if res.Reference == "" {
		t.Fatalf("Charge(%s) = %+v: no Reference", req.Amount, res)
	}
	return res
}

// fetch reads ref and fails the test on an error.
func (s *suite) fetch(t *testing.T, ref string) gateway.ChargeResult {
	t.Helper()
	res, err := s.h.Connector.Fetch(t.Context(), gateway.FetchRequest{Reference: ref})
	if err != nil {
		t.Fatalf("Fetch(%s): %v", ref, err)
	}
	return res
}

// settle takes a charge's first answer to its outcome: it answers the
// challenge an ActionRequired result asks for (pass or fail), then reads
// the charge until it is no longer Pending.
func (s *suite) settle(t *testing.T, res gateway.ChargeResult, pass bool) gateway.ChargeResult {
	t.Helper()
	if res.Outcome == gateway.ActionRequired {
		s.checkAction(t, res)
		s.h.Complete(t, res, pass)
		res = s.fetch(t, res.Reference)
	}
	for i := 0; res.Outcome == gateway.Pending && i < 50; i++ {
		time.Sleep(20 * time.Millisecond)
		res = s.fetch(t, res.Reference)
	}
	return res
}

// checkAction checks an ActionRequired result: a connector that declares
// it, a harness that can answer it, and a link to send the browser to.
func (s *suite) checkAction(t *testing.T, res gateway.ChargeResult) {
	t.Helper()
	if !s.caps.ThreeDSecure && !s.caps.Redirect {
		t.Fatalf("Charge answered ActionRequired, but Capabilities declares neither ThreeDSecure nor Redirect")
	}
	if s.h.Complete == nil {
		t.Fatalf("Charge answered ActionRequired, and Harness.Complete is nil")
	}
	if u, err := url.Parse(res.RedirectURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		t.Fatalf("ActionRequired with RedirectURL %q: want an absolute http(s) URL", res.RedirectURL)
	}
}

func (s *suite) capabilities(t *testing.T) {
	c := s.caps
	if s.h.Connector.Name() == "" {
		t.Error("Name() is empty")
	}
	for _, cur := range c.Currencies {
		if cur.Exponent() < 0 {
			t.Errorf("Capabilities.Currencies has %q, which the money package does not know", cur)
		}
	}
	if c.Currencies != nil && len(c.Currencies) == 0 {
		t.Error("Capabilities.Currencies is empty but not nil: the connector could charge nothing")
	}
	if c.PartialRefunds && !c.Refunds {
		t.Error("Capabilities has PartialRefunds without Refunds")
	}
	if (c.ThreeDSecure || c.Redirect) && s.h.Complete == nil {
		t.Error("Capabilities has ThreeDSecure or Redirect, and Harness.Complete is nil")
	}
	if c.Webhooks && s.h.Webhook == nil {
		t.Error("Capabilities has Webhooks, and Harness.Webhook is nil")
	}
}

func (s *suite) approve(t *testing.T) {
	amount := s.amount()
	first := s.charge(t, s.request(t, Approve, amount))
	if first.Outcome == gateway.ActionRequired && !s.caps.Redirect {
		t.Fatalf("a card that needs no authentication got ActionRequired from a connector without Redirect")
	}
	res := s.settle(t, first, true)
	if res.Outcome != gateway.Approved {
		t.Fatalf("approve: Outcome %q (%s %s), want approved", res.Outcome, res.DeclineCode, res.DeclineMessage)
	}
	if res.Reference != first.Reference {
		t.Errorf("approve: Fetch says Reference %q, Charge said %q", res.Reference, first.Reference)
	}
	if res.Captured != amount {
		t.Errorf("approve: Captured %v, want exactly %v", res.Captured, amount)
	}
	if res.DeclineCode != "" || res.Retryable {
		t.Errorf("approve: DeclineCode %q, Retryable %v on an approved charge", res.DeclineCode, res.Retryable)
	}
	if s.caps.StatusFetch {
		got := s.fetch(t, first.Reference)
		if got.Outcome != gateway.Approved || got.Captured != amount {
			t.Errorf("approve: Fetch = %q captured %v, want approved captured %v", got.Outcome, got.Captured, amount)
		}
	}
}

func (s *suite) declined(t *testing.T, b Behaviour, code string, retryable bool) {
	first := s.charge(t, s.request(t, b, s.amount()))
	res := s.settle(t, first, true)
	if res.Outcome != gateway.Declined {
		t.Fatalf("%s: Outcome %q, want declined", b, res.Outcome)
	}
	if res.DeclineCode != code {
		t.Errorf("%s: DeclineCode %q, want %q", b, res.DeclineCode, code)
	}
	if res.DeclineMessage == "" {
		t.Errorf("%s: no DeclineMessage for the shopper", b)
	}
	if res.Retryable != retryable {
		t.Errorf("%s: Retryable %v, want %v", b, res.Retryable, retryable)
	}
	if !res.Captured.IsZero() {
		t.Errorf("%s: Captured %v on a declined charge", b, res.Captured)
	}
	if s.caps.StatusFetch {
		if got := s.fetch(t, first.Reference); got.Outcome != gateway.Declined || got.DeclineCode != code {
			t.Errorf("%s: Fetch = %q %q, want declined %q", b, got.Outcome, got.DeclineCode, code)
		}
	}
}

func (s *suite) threeDSecure(t *testing.T) {
	if !s.caps.ThreeDSecure {
		t.Skip("Capabilities.ThreeDSecure is false")
	}
	for _, pass := range []bool{true, false} {
		t.Run(fmt.Sprintf("pass=%v", pass), func(t *testing.T) {
			amount := s.amount()
			first := s.charge(t, s.request(t, ThreeDSecure, amount))
			if first.Outcome != gateway.ActionRequired {
				t.Fatalf("3-D Secure card: Outcome %q, want action_required", first.Outcome)
			}
			s.checkAction(t, first)
			if s.caps.StatusFetch {
				if got := s.fetch(t, first.Reference); got.Outcome != gateway.ActionRequired {
					t.Errorf("Fetch before the challenge: Outcome %q, want action_required", got.Outcome)
				}
			}
			res := s.settle(t, first, pass)
			switch {
			case pass && (res.Outcome != gateway.Approved || res.Captured != amount):
				t.Errorf("after passing the challenge: Outcome %q captured %v, want approved %v", res.Outcome, res.Captured, amount)
			case !pass && res.Outcome != gateway.Declined:
				t.Errorf("after failing the challenge: Outcome %q, want declined", res.Outcome)
			case !pass && (res.DeclineCode == "" || !res.Captured.IsZero()):
				t.Errorf("after failing the challenge: DeclineCode %q, Captured %v; want a code and nothing captured", res.DeclineCode, res.Captured)
			}
		})
	}
}

func (s *suite) offSiteNotApproved(t *testing.T) {
	if !s.caps.Redirect {
		t.Skip("Capabilities.Redirect is false")
	}
	first := s.charge(t, s.request(t, Approve, s.amount()))
	if first.Outcome != gateway.ActionRequired {
		t.Fatalf("off-site gateway: Outcome %q, want action_required before the shopper approves", first.Outcome)
	}
	res := s.settle(t, first, false)
	if res.Outcome != gateway.Declined || !res.Captured.IsZero() {
		t.Errorf("after the shopper declined off-site: Outcome %q captured %v, want declined, nothing captured", res.Outcome, res.Captured)
	}
}

func (s *suite) idempotency(t *testing.T) {
	req := s.request(t, Approve, s.amount())
	var before int
	if s.h.Charges != nil {
		before = s.h.Charges()
	}
	r1 := s.charge(t, req)
	r2 := s.charge(t, req)
	if r1.Reference != r2.Reference || r1.Outcome != r2.Outcome {
		t.Errorf("idempotency: the same key charged twice gave %q (%s) then %q (%s), want the same reference and outcome", r1.Reference, r1.Outcome, r2.Reference, r2.Outcome)
	}
	if s.h.Charges != nil {
		if n := s.h.Charges() - before; n != 1 {
			t.Errorf("idempotency: the same key charged twice made %d charges at the gateway, want 1", n)
		}
	}
	// After the charge is settled, the key still names it.
	s.settle(t, r1, true)
	if r3 := s.charge(t, req); r3.Reference != r1.Reference {
		t.Errorf("idempotency: after settling, the same key gave reference %q, want %q", r3.Reference, r1.Reference)
	}
	other := req
	other.IdempotencyKey = newKey()
	if r4 := s.charge(t, other); r4.Reference == r1.Reference {
		t.Errorf("idempotency: a different key gave the same reference %q", r4.Reference)
	}
}

func (s *suite) concurrentIdempotency(t *testing.T) {
	req := s.request(t, Approve, s.amount())
	var before int
	if s.h.Charges != nil {
		before = s.h.Charges()
	}
	const n = 8
	var wg sync.WaitGroup
	results := make([]gateway.ChargeResult, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { results[i], errs[i] = s.h.Connector.Charge(t.Context(), req) })
	}
	wg.Wait()
	var refs []string
	for i := range n {
		// A gateway may refuse a request while another with its key is in
		// flight (Stripe answers 409); what it may not do is charge twice.
		if errs[i] == nil && !slices.Contains(refs, results[i].Reference) {
			refs = append(refs, results[i].Reference)
		}
	}
	if len(refs) != 1 {
		t.Errorf("idempotency: %d concurrent charges with one key gave references %q (errors %v), want exactly one reference", n, refs, errors.Join(errs...))
	}
	if s.h.Charges != nil {
		if made := s.h.Charges() - before; made != 1 {
			t.Errorf("idempotency: %d concurrent charges with one key made %d charges at the gateway, want 1", n, made)
		}
	}
}

// approved charges amount and takes it to Approved.
func (s *suite) approved(t *testing.T, amount money.Amount) gateway.ChargeResult {
	t.Helper()
	res := s.settle(t, s.charge(t, s.request(t, Approve, amount)), true)
	if res.Outcome != gateway.Approved {
		t.Fatalf("approve %v: Outcome %q, want approved", amount, res.Outcome)
	}
	return res
}

func (s *suite) refund(t *testing.T, ref, key string, amount money.Amount) (gateway.RefundResult, error) {
	t.Helper()
	return s.h.Connector.Refund(t.Context(), gateway.RefundRequest{IdempotencyKey: key, PaymentReference: ref, Amount: amount})
}

// mustRefund refunds and fails the test on an error or an odd result.
func (s *suite) mustRefund(t *testing.T, ref, key string, amount money.Amount) gateway.RefundResult {
	t.Helper()
	res, err := s.refund(t, ref, key, amount)
	if err != nil {
		t.Fatalf("Refund(%v): %v", amount, err)
	}
	if res.Reference == "" || (res.Status != gateway.RefundSucceeded && res.Status != gateway.RefundPending) {
		t.Fatalf("Refund(%v) = %+v: want a reference and status succeeded or pending", amount, res)
	}
	return res
}

// refused checks that a refund of amount is refused as Invalid.
func (s *suite) refused(t *testing.T, what, ref string, amount money.Amount) {
	t.Helper()
	res, err := s.refund(t, ref, newKey(), amount)
	if err == nil {
		t.Errorf("%s: Refund(%v) = %+v, want an Invalid error (over-refund)", what, amount, res)
	} else if k := pay.KindOf(err); k != pay.Invalid {
		t.Errorf("%s: Refund(%v) error kind %v (%v), want invalid", what, amount, k, err)
	}
}

func minor(a money.Amount, m int64) money.Amount { return money.Amount{Minor: m, Currency: a.Currency} }

func (s *suite) refunds(t *testing.T) {
	if !s.caps.Refunds {
		t.Skip("Capabilities.Refunds is false")
	}
	amount := s.amount()
	t.Run("Full", func(t *testing.T) {
		ch := s.approved(t, amount)
		s.mustRefund(t, ch.Reference, newKey(), amount)
		s.refused(t, "after a full refund", ch.Reference, minor(amount, 1))
	})
	t.Run("Partial", func(t *testing.T) {
		if !s.caps.PartialRefunds {
			t.Skip("Capabilities.PartialRefunds is false")
		}
		ch := s.approved(t, amount)
		third := amount.Minor / 3
		for _, part := range []int64{third, third, amount.Minor - 2*third} {
			s.mustRefund(t, ch.Reference, newKey(), minor(amount, part))
		}
		s.refused(t, "after partial refunds summing to the amount", ch.Reference, minor(amount, 1))
	})
	t.Run("OverRefund", func(t *testing.T) {
		ch := s.approved(t, amount)
		s.refused(t, "more than captured", ch.Reference, minor(amount, amount.Minor+1))
		// The refused refund counted for nothing.
		s.mustRefund(t, ch.Reference, newKey(), amount)
	})
	t.Run("Idempotent", func(t *testing.T) {
		if !s.caps.PartialRefunds {
			t.Skip("Capabilities.PartialRefunds is false")
		}
		ch := s.approved(t, amount)
		half := minor(amount, amount.Minor/2)
		key := newKey()
		r1 := s.mustRefund(t, ch.Reference, key, half)
		r2 := s.mustRefund(t, ch.Reference, key, half)
		if r1.Reference != r2.Reference {
			t.Errorf("a refund repeated with its key gave %q then %q, want the same refund", r1.Reference, r2.Reference)
		}
		// The repeat counted once: the other half is still refundable.
		s.mustRefund(t, ch.Reference, newKey(), minor(amount, amount.Minor-half.Minor))
		s.refused(t, "after refunding everything", ch.Reference, minor(amount, 1))
	})
	t.Run("DeclinedCharge", func(t *testing.T) {
		ch := s.settle(t, s.charge(t, s.request(t, Decline, amount)), true)
		res, err := s.refund(t, ch.Reference, newKey(), amount)
		if err == nil {
			t.Errorf("refund of a declined charge = %+v, want an error", res)
		} else if k := pay.KindOf(err); k != pay.Invalid && k != pay.NotFound {
			t.Errorf("refund of a declined charge: error kind %v (%v), want invalid or not found", k, err)
		}
	})
}

// exactAmounts lists, per currency exponent, amounts whose every digit
// matters, and a fallback for a gateway that cannot carry the last digit:
// a 3-decimal amount that is not a multiple of ten may be refused (never
// rounded), and then the multiple of ten must work.
var exactAmounts = []struct {
	exponent int
	minor    []int64
	fallback int64
}{
	{0, []int64{1234}, 0},
	{2, []int64{1799, 100001}, 0},
	{3, []int64{12345}, 12340},
}

// defaultCurrencies are tried, per exponent, for a connector that takes
// every currency.
var defaultCurrencies = map[int][]money.Currency{
	0: {"JPY"},
	2: {"USD", "MAD"},
	3: {"KWD", "BHD"},
}

func (s *suite) currencies(t *testing.T) {
	for _, e := range exactAmounts {
		var curs []money.Currency
		if s.caps.Currencies == nil {
			curs = defaultCurrencies[e.exponent]
		} else {
			for _, c := range s.caps.Currencies {
				if c.Exponent() == e.exponent {
					curs = append(curs, c)
				}
			}
		}
		t.Run(fmt.Sprintf("exponent=%d", e.exponent), func(t *testing.T) {
			if len(curs) == 0 {
				t.Skipf("the connector takes no currency with %d decimals", e.exponent)
			}
			for _, cur := range curs {
				for _, m := range e.minor {
					s.exact(t, money.Amount{Minor: m, Currency: cur}, e.fallback)
				}
			}
		})
	}
	t.Run("Unsupported", func(t *testing.T) {
		if s.caps.Currencies == nil {
			t.Skip("the connector takes every currency")
		}
		for _, info := range money.Currencies() {
			if !s.caps.Supports(info.Code) {
				req := s.request(t, Approve, money.Amount{Minor: defaultMinor, Currency: info.Code})
				res, err := s.h.Connector.Charge(t.Context(), req)
				if pay.KindOf(err) != pay.Invalid {
					t.Errorf("Charge in %s, which Capabilities leaves out: (%+v, %v), want an Invalid error", info.Code, res, err)
				}
				return
			}
		}
	})
}

// exact charges amount and checks that it comes back to the minor unit,
// in Charge, Fetch and a one-unit refund. A gateway may refuse an amount
// it cannot carry with an Invalid error; then fallback (when not zero)
// must go through.
func (s *suite) exact(t *testing.T, amount money.Amount, fallback int64) {
	t.Helper()
	res, err := s.h.Connector.Charge(t.Context(), s.request(t, Approve, amount))
	if err != nil {
		if pay.KindOf(err) != pay.Invalid || fallback == 0 {
			t.Errorf("Charge(%v): %v", amount, err)
			return
		}
		t.Logf("Charge(%v) refused as not representable (%v); trying %d minor units", amount, err, fallback)
		amount.Minor = fallback
		res = s.charge(t, s.request(t, Approve, amount))
	}
	res = s.settle(t, res, true)
	if res.Outcome != gateway.Approved || res.Captured != amount {
		t.Errorf("Charge(%v): Outcome %q Captured %v, want approved and exactly the amount", amount, res.Outcome, res.Captured)
		return
	}
	if s.caps.StatusFetch {
		if got := s.fetch(t, res.Reference); got.Captured != amount {
			t.Errorf("Fetch after Charge(%v): Captured %v, want exactly the amount", amount, got.Captured)
		}
	}
	if s.caps.PartialRefunds {
		unit := minor(amount, 1)
		if amount.Currency.Exponent() == 3 && amount.Minor%10 == 0 {
			unit.Minor = 10 // the smallest amount a gateway with Stripe's rule takes
		}
		s.mustRefund(t, res.Reference, newKey(), unit)
	}
}

func (s *suite) invalidRequests(t *testing.T) {
	base := s.request(t, Approve, s.amount())
	cases := []struct {
		name   string
		change func(*gateway.ChargeRequest)
	}{
		{"zero amount", func(r *gateway.ChargeRequest) { r.Amount.Minor = 0 }},
		{"negative amount", func(r *gateway.ChargeRequest) { r.Amount.Minor = -defaultMinor }},
		{"unknown currency", func(r *gateway.ChargeRequest) { r.Amount.Currency = "ZZZ" }},
		{"no idempotency key", func(r *gateway.ChargeRequest) { r.IdempotencyKey = "" }},
	}
	for _, c := range cases {
		req := base
		req.IdempotencyKey = newKey()
		c.change(&req)
		res, err := s.h.Connector.Charge(t.Context(), req)
		if k := pay.KindOf(err); k != pay.Invalid {
			t.Errorf("Charge with %s = (%+v, %v): want an Invalid error", c.name, res, err)
		}
		if res.Outcome == gateway.Approved {
			t.Errorf("Charge with %s: Approved", c.name)
		}
	}
}

func (s *suite) unknownReference(t *testing.T) {
	ref := "unknown_" + newKey()
	if res, err := s.h.Connector.Fetch(t.Context(), gateway.FetchRequest{Reference: ref}); pay.KindOf(err) != pay.NotFound {
		t.Errorf("Fetch(%q) = (%+v, %v), want a NotFound error", ref, res, err)
	}
	if s.caps.Refunds {
		amount := s.amount()
		if res, err := s.refund(t, ref, newKey(), amount); err == nil {
			t.Errorf("Refund of unknown charge %q = %+v, want an error", ref, res)
		}
	}
}

// noAnswer checks the rule that an answer which never came (a canceled
// or timed-out request) is an error read as Unknown: never Approved, and
// never an Invalid refusal that would fail a payment the card may have
// paid. Then the same request with a live context must go through, as the
// reconciler's retry does; and Fetch and Refund of that real charge fail
// the same way, with no NotFound that would make the reconciler give up
// and no refund counted.
func (s *suite) noAnswer(t *testing.T) {
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel2 := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel2()
	contexts := []struct {
		name string
		ctx  context.Context
	}{{"canceled", canceled}, {"deadline exceeded", expired}}

	amount := s.amount()
	req := s.request(t, Approve, amount)
	for _, c := range contexts {
		res, err := s.h.Connector.Charge(c.ctx, req)
		if err == nil || res.Outcome == gateway.Approved {
			t.Errorf("Charge with a %s context = (%+v, %v): want an error and no approval", c.name, res, err)
		}
		if o := gateway.ChargeOutcome(res, err); o != gateway.Unknown {
			t.Errorf("Charge with a %s context reads as %q (error %v), want unknown: a lost answer is never a decline", c.name, o, err)
		}
	}
	res := s.settle(t, s.charge(t, req), true)
	if res.Outcome != gateway.Approved {
		t.Fatalf("the same request again with a live context: Outcome %q, want approved", res.Outcome)
	}
	for _, c := range contexts {
		if got, err := s.h.Connector.Fetch(c.ctx, gateway.FetchRequest{Reference: res.Reference}); err == nil || pay.KindOf(err) == pay.NotFound {
			t.Errorf("Fetch with a %s context = (%+v, %v): want an error that is not NotFound", c.name, got, err)
		}
		if s.caps.Refunds {
			if got, err := s.h.Connector.Refund(c.ctx, gateway.RefundRequest{IdempotencyKey: newKey(), PaymentReference: res.Reference, Amount: amount}); err == nil {
				t.Errorf("Refund with a %s context = %+v: want an error", c.name, got)
			}
		}
	}
	if s.caps.Refunds {
		s.mustRefund(t, res.Reference, newKey(), amount) // nothing was refunded above
	}
}

func (s *suite) webhooks(t *testing.T) {
	wc := s.h.Connector
	if !s.caps.Webhooks {
		// Whatever arrives in the connector's name is forged.
		body := []byte(`{"id":"evt_1","type":"payment.succeeded","reference":"x","status":"approved"}`)
		if n, err := wc.ParseWebhook(t.Context(), gateway.Webhook{Header: map[string][]string{"Content-Type": {"application/json"}}, Body: body}); err == nil {
			t.Errorf("ParseWebhook on a connector without Webhooks = %+v, want an error", n)
		}
		return
	}
	if s.h.Webhook == nil {
		t.Fatal("Capabilities has Webhooks, and Harness.Webhook is nil")
	}
	ch := s.approved(t, s.amount())
	w := s.h.Webhook(t, ch, gateway.Approved)
	n, err := wc.ParseWebhook(t.Context(), w)
	if err != nil {
		t.Fatalf("ParseWebhook of a signed notification: %v", err)
	}
	if n.Reference != ch.Reference || n.Outcome != gateway.Approved || n.EventID == "" {
		t.Errorf("ParseWebhook = %+v, want reference %q, approved, and an event id", n, ch.Reference)
	}
	tampered := gateway.Webhook{Header: w.Header, Body: append(slices.Clip(w.Body), ' ')}
	if n, err := wc.ParseWebhook(t.Context(), tampered); err == nil {
		t.Errorf("ParseWebhook of a body altered after signing = %+v, want an error", n)
	}
	if n, err := wc.ParseWebhook(t.Context(), gateway.Webhook{Header: map[string][]string{}, Body: w.Body}); err == nil {
		t.Errorf("ParseWebhook without the signature headers = %+v, want an error", n)
	}
}
