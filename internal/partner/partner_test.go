package partner

import (
	"testing"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// CheckoutStatus is what the plugins' reconciliation decides by: every
// session and payment status has its partner word.
func TestCheckoutStatus(t *testing.T) {
	for _, c := range []struct {
		session pay.SessionStatus
		payment pay.PaymentStatus // "" for no attempt
		want    pay.PartnerStatus
	}{
		{pay.SessionInit, "", pay.PartnerPending},
		{pay.SessionCompleted, "", pay.PartnerApproved},
		{pay.SessionCancelled, "", pay.PartnerCanceled},
		{pay.SessionExpired, "", pay.PartnerExpired},
		{pay.SessionRefunded, "", "REFUNDED"},
		{pay.SessionPending, pay.PaymentPending, pay.PartnerPending},
		{pay.SessionRequiresAction, pay.PaymentRequiresAction, pay.PartnerPending},
		{pay.SessionCompleted, pay.PaymentCompleted, pay.PartnerApproved},
		{pay.SessionRefunded, pay.PaymentRefunded, "REFUNDED"},
		{pay.SessionFailed, pay.PaymentFailed, pay.PartnerPending}, // may be paid again
		{pay.SessionExpired, pay.PaymentFailed, pay.PartnerExpired},
		{pay.SessionExpired, pay.PaymentExpired, pay.PartnerExpired},
		{pay.SessionCancelled, pay.PaymentCancelled, pay.PartnerCanceled},
	} {
		tr := checkout.Transaction{Session: pay.Session{Status: c.session}}
		if c.payment != "" {
			tr.Payment = &pay.Payment{Status: c.payment}
		}
		if got := CheckoutStatus(tr); got != c.want {
			t.Errorf("session %s, payment %q: %s, want %s", c.session, c.payment, got, c.want)
		}
	}
}

func TestCheckWindow(t *testing.T) {
	for _, c := range []struct {
		total money.Amount
		code  string
	}{
		{money.New(49999, "MAD"), CodeAmountBelowMinimum},
		{money.New(50000, "MAD"), ""},
		{money.New(1500000, "MAD"), ""},
		{money.New(1500001, "MAD"), CodeAmountAboveMaximum},
		{money.New(100, "USD"), ""}, // the window is the vendor's, in MAD
	} {
		if got := pay.CodeOf(CheckWindow(c.total)); got != c.code {
			t.Errorf("%v: %q, want %q", c.total, got, c.code)
		}
	}
}

func TestOrderReference(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		r := newOrderReference()
		if len(r) != 7 || r[0] < 'A' || r[0] > 'Z' || r[1] < 'A' || r[1] > 'Z' {
			t.Fatalf("%q", r)
		}
		for _, d := range r[2:] {
			if d < '0' || d > '9' {
				t.Fatalf("%q", r)
			}
		}
		seen[r] = true
	}
	if len(seen) < 190 {
		t.Errorf("only %d distinct references in 200", len(seen))
	}
}
