package myfatoorah_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/gatewaytest"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

func chargeRequest(t *testing.T, s *standIn, cur money.Currency, minor int64) gateway.ChargeRequest {
	t.Helper()
	tok, _ := s.tokenFor(gatewaytest.Approve)
	pid := pay.NewID(pay.PrefixPayment)
	return gateway.ChargeRequest{
		IdempotencyKey: "sakk_" + pid, PaymentID: pid, SessionID: pay.NewID(pay.PrefixSession),
		Amount: money.Amount{Minor: minor, Currency: cur}, Method: "card", PaymentToken: tok,
		ReturnURL: "https://sakk.test/api/v1/payments/callback/sess_x?lang=en",
		Customer:  gateway.Customer{Email: "shopper@example.com"},
	}
}

// TestLostAnswers checks the unknown-outcome rule where it matters most
// for a gateway without idempotency keys: ExecutePayment acts, its answer
// is lost (timeout, 5xx, cut body, a proxy's page), Charge reports an
// unknown outcome, never a decline, and the retry with the same key finds
// the invoice by CustomerReference instead of creating a second one.
func TestLostAnswers(t *testing.T) {
	for _, kind := range []string{"timeout", "500", "cut", "garbage"} {
		t.Run(kind, func(t *testing.T) {
			s := newStandIn(t, "KWD")
			c := s.connector(t, "", &http.Client{Timeout: 300 * time.Millisecond})
			req := chargeRequest(t, s, "KWD", 12345)
			s.fault("/v2/ExecutePayment", kind)
			res, err := c.Charge(t.Context(), req)
			if err == nil || gateway.ChargeOutcome(res, err) != gateway.Unknown {
				t.Fatalf("Charge with a lost answer = %+v, %v; want an error read as unknown", res, err)
			}
			if s.charges() != 1 {
				t.Fatalf("the stand-in made %d invoices, want 1 (it acted before losing the answer)", s.charges())
			}
			again, err := c.Charge(t.Context(), req)
			if err != nil {
				t.Fatalf("Charge again: %v", err)
			}
			if s.charges() != 1 {
				t.Errorf("the retry made another invoice: %d in all, want 1", s.charges())
			}
			if again.Reference == "" || (again.Outcome != gateway.Pending && again.Outcome != gateway.ActionRequired) {
				t.Errorf("Charge again = %+v, want the first invoice, not yet paid", again)
			}
			if n := len(s.requests("/v2/ExecutePayment")); n != 1 {
				t.Errorf("ExecutePayment was sent %d times, want once: it is never retried", n)
			}
		})
	}
}

// TestReadsRetried checks that reads are retried after a lost answer and
// that a Fetch which never gets one is unknown, not NotFound.
func TestReadsRetried(t *testing.T) {
	s := newStandIn(t, "KWD")
	c := s.connector(t, "", &http.Client{Timeout: 300 * time.Millisecond})
	req := chargeRequest(t, s, "KWD", 17990)
	res, err := c.Charge(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	s.complete(t, res, true)
	for _, kind := range []string{"timeout", "500", "cut", "garbage"} {
		s.fault("/v2/GetPaymentStatus", kind)
		got, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: res.Reference})
		if err != nil || got.Outcome != gateway.Approved || got.Captured != req.Amount {
			t.Errorf("Fetch after one %s: %+v, %v; want approved %v (retried)", kind, got, err, req.Amount)
		}
	}
	for range 3 { // more faults than the connector retries
		s.fault("/v2/GetPaymentStatus", "500")
	}
	got, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: res.Reference})
	if err == nil || pay.KindOf(err) == pay.NotFound || pay.KindOf(err) != pay.Unavailable {
		t.Errorf("Fetch with no answer = %+v, %v; want an Unavailable error", got, err)
	}

	// A refund whose answer is lost is not repeated blindly: the retry
	// finds it by ExternalIdentifier.
	s.fault("/v2/MakeRefund", "500")
	rreq := gateway.RefundRequest{IdempotencyKey: "sakk_" + pay.NewID("ref"), PaymentReference: res.Reference, Amount: money.Amount{Minor: 10, Currency: "KWD"}}
	if r, err := c.Refund(t.Context(), rreq); err == nil {
		t.Fatalf("Refund with a lost answer = %+v, want an error", r)
	}
	r, err := c.Refund(t.Context(), rreq)
	if err != nil || r.Reference == "" {
		t.Fatalf("Refund again: %+v, %v", r, err)
	}
	if n := len(s.requests("/v2/MakeRefund")); n != 1 {
		t.Errorf("MakeRefund was sent %d times, want once", n)
	}
}

// TestRequests checks what the stand-in saw: the documented fields, the
// amounts as exact decimals, the return URLs and references.
func TestRequests(t *testing.T) {
	for _, c := range []struct {
		cur   money.Currency
		minor int64
		want  string
	}{{"KWD", 12345, "12.345"}, {"BHD", 1, "0.001"}, {"OMR", 17990, "17.990"}, {"JOD", 100000, "100.000"}, {"SAR", 1799, "17.99"}} {
		s := newStandIn(t, c.cur)
		conn := s.connector(t, "", nil)
		req := chargeRequest(t, s, c.cur, c.minor)
		res, err := conn.Charge(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		ex := s.requests("/v2/ExecutePayment")
		if len(ex) != 1 {
			t.Fatalf("%d ExecutePayment requests", len(ex))
		}
		b := ex[0].Body
		if got := b["InvoiceValue"]; got == nil || jsonText(got) != c.want {
			t.Errorf("%s: InvoiceValue %v, want %s", c.cur, got, c.want)
		}
		if b["DisplayCurrencyIso"] != string(c.cur) || b["CustomerReference"] != req.IdempotencyKey || b["UserDefinedField"] != req.PaymentID {
			t.Errorf("%s: ExecutePayment body %v", c.cur, b)
		}
		if b["CallBackUrl"] != "https://sakk.test/api/v1/payments/callback/sess_x?lang=en&outcome=success" ||
			b["ErrorUrl"] != "https://sakk.test/api/v1/payments/callback/sess_x?lang=en&outcome=cancel" {
			t.Errorf("%s: CallBackUrl %v ErrorUrl %v", c.cur, b["CallBackUrl"], b["ErrorUrl"])
		}
		s.complete(t, res, true)
		got, err := conn.Fetch(t.Context(), gateway.FetchRequest{Reference: res.Reference})
		if err != nil || got.Captured != req.Amount {
			t.Errorf("%s: Fetch = %+v, %v; want captured exactly %v", c.cur, got, err, req.Amount)
		}
		if _, err := conn.Refund(t.Context(), gateway.RefundRequest{IdempotencyKey: "sakk_ref_1", PaymentReference: res.Reference, Amount: req.Amount}); err != nil {
			t.Fatal(err)
		}
		rb := s.requests("/v2/MakeRefund")[0].Body
		if jsonText(rb["Amount"]) != c.want || rb["ServiceChargeOnCustomer"] != false || rb["KeyType"] != "InvoiceId" || rb["Key"] != res.Reference || rb["ExternalIdentifier"] != "sakk_ref_1" {
			t.Errorf("%s: MakeRefund body %v", c.cur, rb)
		}
	}
}

// TestCurrencyRefused checks that a currency other than the account's
// base currency, zero-decimal ones included, is refused before anything
// is sent.
func TestCurrencyRefused(t *testing.T) {
	s := newStandIn(t, "KWD")
	c := s.connector(t, "", nil)
	for _, cur := range []money.Currency{"JPY", "USD", "SAR"} {
		req := chargeRequest(t, s, cur, 1234)
		if _, err := c.Charge(t.Context(), req); pay.CodeOf(err) != gateway.CodeCurrencyNotSupported {
			t.Errorf("Charge in %s: %v, want %s", cur, err, gateway.CodeCurrencyNotSupported)
		}
	}
	if n := len(s.requests("/v2/InitiatePayment")) + len(s.requests("/v2/ExecutePayment")); n != 0 {
		t.Errorf("%d requests sent for refused currencies", n)
	}
}

// jsonText is the literal of a recorded JSON number ("" for anything
// else): the recorder keeps numbers as json.Number, digits as sent.
func jsonText(v any) string {
	n, _ := v.(json.Number)
	return string(n)
}
