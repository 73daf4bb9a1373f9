package pay

import (
	"slices"
	"testing"
)

// y and n keep the transition grids below aligned and readable.
const y, n = true, false

// The expected answers are written out here, not derived from the
// production tables, so that changing a rule there fails a test here.

var allSessionStatuses = []SessionStatus{
	SessionInit, SessionPending, SessionRequiresAction, SessionCompleted,
	SessionFailed, SessionCancelled, SessionExpired, SessionRefunded,
}

// wantSession[i][j]: may allSessionStatuses[i] become allSessionStatuses[j]?
var wantSession = [][]bool{
	// to: init, pending, requires_action, completed, failed, cancelled, expired, refunded
	{n, y, y, y, y, y, y, n}, // from init
	{n, n, y, y, y, y, y, n}, // from pending
	{n, y, n, y, y, y, y, n}, // from requires_action
	{n, n, n, n, n, n, n, y}, // from completed
	{n, y, y, y, n, y, y, n}, // from failed
	{n, n, n, n, n, n, n, n}, // from cancelled
	{n, n, n, n, n, n, n, n}, // from expired
	{n, n, n, n, n, n, n, n}, // from refunded
}

var allPaymentStatuses = []PaymentStatus{
	PaymentPending, PaymentRequiresAction, PaymentCompleted, PaymentFailed,
	PaymentCancelled, PaymentExpired, PaymentRefunded,
}

// wantPayment[i][j]: may allPaymentStatuses[i] become allPaymentStatuses[j]?
var wantPayment = [][]bool{
	// to: pending, requires_action, completed, failed, cancelled, expired, refunded
	{n, y, y, y, y, y, n}, // from pending
	{y, n, y, y, y, y, n}, // from requires_action
	{n, n, n, n, n, n, y}, // from completed
	{n, n, n, n, n, n, n}, // from failed
	{n, n, n, n, n, n, n}, // from cancelled
	{n, n, n, n, n, n, n}, // from expired
	{n, n, n, n, n, n, n}, // from refunded
}

func TestSessionCanBecome(t *testing.T) {
	if len(wantSession) != len(allSessionStatuses) {
		t.Fatalf("grid has %d rows for %d statuses", len(wantSession), len(allSessionStatuses))
	}
	for i, from := range allSessionStatuses {
		if len(wantSession[i]) != len(allSessionStatuses) {
			t.Fatalf("grid row %s has %d columns for %d statuses", from, len(wantSession[i]), len(allSessionStatuses))
		}
		for j, to := range allSessionStatuses {
			t.Run(string(from)+"->"+string(to), func(t *testing.T) {
				if got, want := from.CanBecome(to), wantSession[i][j]; got != want {
					t.Errorf("SessionStatus(%q).CanBecome(%q) = %v, want %v", from, to, got, want)
				}
			})
		}
	}
}

func TestPaymentCanBecome(t *testing.T) {
	if len(wantPayment) != len(allPaymentStatuses) {
		t.Fatalf("grid has %d rows for %d statuses", len(wantPayment), len(allPaymentStatuses))
	}
	for i, from := range allPaymentStatuses {
		if len(wantPayment[i]) != len(allPaymentStatuses) {
			t.Fatalf("grid row %s has %d columns for %d statuses", from, len(wantPayment[i]), len(allPaymentStatuses))
		}
		for j, to := range allPaymentStatuses {
			t.Run(string(from)+"->"+string(to), func(t *testing.T) {
				if got, want := from.CanBecome(to), wantPayment[i][j]; got != want {
					t.Errorf("PaymentStatus(%q).CanBecome(%q) = %v, want %v", from, to, got, want)
				}
			})
		}
	}
}

// A status added to a production table without a row and column in the
// grids above would go untested: refuse it.
func TestTransitionTablesCoveredByGrids(t *testing.T) {
	for from, row := range sessionTransitions {
		if !slices.Contains(allSessionStatuses, from) {
			t.Errorf("session status %q is missing from the test grid", from)
		}
		for _, to := range row {
			if !slices.Contains(allSessionStatuses, to) {
				t.Errorf("session status %q (after %q) is missing from the test grid", to, from)
			}
		}
	}
	for from, row := range paymentTransitions {
		if !slices.Contains(allPaymentStatuses, from) {
			t.Errorf("payment status %q is missing from the test grid", from)
		}
		for _, to := range row {
			if !slices.Contains(allPaymentStatuses, to) {
				t.Errorf("payment status %q (after %q) is missing from the test grid", to, from)
			}
		}
	}
}

func TestCanBecomeInvalid(t *testing.T) {
	for _, bad := range []string{"", "bogus", "COMPLETED", " pending"} {
		for _, s := range allSessionStatuses {
			if SessionStatus(bad).CanBecome(s) || s.CanBecome(SessionStatus(bad)) {
				t.Errorf("session transition between %q and %q allowed", bad, s)
			}
		}
		for _, s := range allPaymentStatuses {
			if PaymentStatus(bad).CanBecome(s) || s.CanBecome(PaymentStatus(bad)) {
				t.Errorf("payment transition between %q and %q allowed", bad, s)
			}
		}
	}
	// A payment has no "init": nothing leads there or out of it.
	for _, s := range allPaymentStatuses {
		if PaymentStatus("init").CanBecome(s) || s.CanBecome("init") {
			t.Errorf("payment transition between init and %q allowed", s)
		}
	}
}

func TestSessionFinalRetryable(t *testing.T) {
	tests := []struct {
		s                SessionStatus
		final, retryable bool
	}{
		{SessionInit, false, false},
		{SessionPending, false, false},
		{SessionRequiresAction, false, false},
		{SessionCompleted, true, false},
		{SessionFailed, false, true},
		{SessionCancelled, true, false},
		{SessionExpired, true, false},
		{SessionRefunded, true, false},
		{"bogus", false, false},
	}
	for _, tt := range tests {
		if got := tt.s.Final(); got != tt.final {
			t.Errorf("SessionStatus(%q).Final() = %v, want %v", tt.s, got, tt.final)
		}
		if got := tt.s.Retryable(); got != tt.retryable {
			t.Errorf("SessionStatus(%q).Retryable() = %v, want %v", tt.s, got, tt.retryable)
		}
	}
}

func TestPaymentFinal(t *testing.T) {
	tests := []struct {
		s     PaymentStatus
		final bool
	}{
		{PaymentPending, false},
		{PaymentRequiresAction, false},
		{PaymentCompleted, true},
		{PaymentFailed, true},
		{PaymentCancelled, true},
		{PaymentExpired, true},
		{PaymentRefunded, true},
		{"init", false},
	}
	for _, tt := range tests {
		if got := tt.s.Final(); got != tt.final {
			t.Errorf("PaymentStatus(%q).Final() = %v, want %v", tt.s, got, tt.final)
		}
	}
}

// The invariant "a final status is never overwritten", stated for every
// final status: the one way out of any of them is completed → refunded.
func TestFinalStatusesStayFinal(t *testing.T) {
	for _, from := range allPaymentStatuses {
		if !from.Final() {
			continue
		}
		for _, to := range allPaymentStatuses {
			allowed := from == PaymentCompleted && to == PaymentRefunded
			if got := from.CanBecome(to); got != allowed {
				t.Errorf("final payment %q → %q: CanBecome = %v, want %v", from, to, got, allowed)
			}
		}
	}
	for _, from := range allSessionStatuses {
		if !from.Final() {
			continue
		}
		for _, to := range allSessionStatuses {
			allowed := from == SessionCompleted && to == SessionRefunded
			if got := from.CanBecome(to); got != allowed {
				t.Errorf("final session %q → %q: CanBecome = %v, want %v", from, to, got, allowed)
			}
		}
	}
}

func TestValid(t *testing.T) {
	for _, s := range []string{"init", "pending", "requires_action", "completed", "failed", "cancelled", "expired", "refunded"} {
		if !SessionStatus(s).Valid() {
			t.Errorf("SessionStatus(%q).Valid() = false, want true", s)
		}
	}
	for _, s := range []string{"pending", "requires_action", "completed", "failed", "cancelled", "expired", "refunded"} {
		if !PaymentStatus(s).Valid() {
			t.Errorf("PaymentStatus(%q).Valid() = false, want true", s)
		}
	}
	for _, s := range []string{"", "bogus", "Completed", "canceled", "requires-action", "completed "} {
		if SessionStatus(s).Valid() {
			t.Errorf("SessionStatus(%q).Valid() = true, want false", s)
		}
		if PaymentStatus(s).Valid() {
			t.Errorf("PaymentStatus(%q).Valid() = true, want false", s)
		}
	}
	if PaymentStatus("init").Valid() {
		t.Error(`PaymentStatus("init").Valid() = true, want false`)
	}
}

func TestParseSessionStatus(t *testing.T) {
	for _, want := range allSessionStatuses {
		got, err := ParseSessionStatus(string(want))
		if err != nil || got != want {
			t.Errorf("ParseSessionStatus(%q) = %q, %v; want %q, nil", want, got, err, want)
		}
	}
	for _, s := range []string{"", "bogus", "COMPLETED", "canceled", " init"} {
		got, err := ParseSessionStatus(s)
		if err == nil || got != "" {
			t.Errorf("ParseSessionStatus(%q) = %q, %v; want an error", s, got, err)
		}
		if k := KindOf(err); k != Invalid {
			t.Errorf("ParseSessionStatus(%q): kind %v, want %v", s, k, Invalid)
		}
	}
}

func TestParsePaymentStatus(t *testing.T) {
	for _, want := range allPaymentStatuses {
		got, err := ParsePaymentStatus(string(want))
		if err != nil || got != want {
			t.Errorf("ParsePaymentStatus(%q) = %q, %v; want %q, nil", want, got, err, want)
		}
	}
	for _, s := range []string{"", "init", "bogus", "COMPLETED", "canceled"} {
		got, err := ParsePaymentStatus(s)
		if err == nil || got != "" {
			t.Errorf("ParsePaymentStatus(%q) = %q, %v; want an error", s, got, err)
		}
		if k := KindOf(err); k != Invalid {
			t.Errorf("ParsePaymentStatus(%q): kind %v, want %v", s, k, Invalid)
		}
	}
}
