package pay

import "slices"

// SessionStatus is where a payment session stands. The strings are part of
// the Public Payment API contract (spec/SURFACES.md §2): spell them exactly.
type SessionStatus string

const (
	SessionInit           SessionStatus = "init"            // opened, no payment attempt yet
	SessionPending        SessionStatus = "pending"         // an attempt is with the gateway, outcome unknown
	SessionRequiresAction SessionStatus = "requires_action" // the shopper must act: 3-D Secure or an off-site approval
	SessionCompleted      SessionStatus = "completed"       // paid
	SessionFailed         SessionStatus = "failed"          // the last attempt was declined or errored; may be retried
	SessionCancelled      SessionStatus = "cancelled"       // abandoned by the shopper or cancelled by the merchant
	SessionExpired        SessionStatus = "expired"         // its lifetime ran out before it was paid
	SessionRefunded       SessionStatus = "refunded"        // paid, then refunded in full
)

// sessionTransitions is the only place that says which session status may
// follow which. A status missing from a row cannot follow it; a status that
// is not a key is not a session status at all. No status follows itself: a
// repeated notification is a no-op, which callers detect before asking.
//
// A session's status follows its current payment attempt. Callers must not
// move a session on an event of an attempt that is no longer its current
// one: after failed → pending (a retry), a late "failed" of the old attempt
// would otherwise pass this table and overwrite the new attempt's state.
var sessionTransitions = map[SessionStatus][]SessionStatus{
	// Nothing has been charged yet: the first attempt may land in any
	// state, or the session may be cancelled or run out of time unpaid.
	SessionInit: {SessionPending, SessionRequiresAction, SessionCompleted, SessionFailed, SessionCancelled, SessionExpired},
	// The gateway has the attempt: it settles, asks the shopper to act, or
	// the session is cancelled or expires while it waits.
	SessionPending: {SessionRequiresAction, SessionCompleted, SessionFailed, SessionCancelled, SessionExpired},
	// The shopper is at 3-D Secure or off-site: back to pending while the
	// gateway settles, or straight to an outcome.
	SessionRequiresAction: {SessionPending, SessionCompleted, SessionFailed, SessionCancelled, SessionExpired},
	// Decided: a declined attempt does not end the session. While it has
	// not expired the shopper may pay again with a NEW attempt, which takes
	// the session anywhere a first attempt could. The declined attempt
	// itself stays failed forever (see paymentTransitions).
	SessionFailed: {SessionPending, SessionRequiresAction, SessionCompleted, SessionCancelled, SessionExpired},
	// Paid at most once: the only way on is a full refund. A partial
	// refund leaves the session completed.
	SessionCompleted: {SessionRefunded},
	// Ends: no late or out-of-order event may overwrite them.
	SessionCancelled: nil,
	SessionExpired:   nil,
	SessionRefunded:  nil,
}

// Valid reports whether s is one of the session statuses above.
func (s SessionStatus) Valid() bool {
	_, ok := sessionTransitions[s]
	return ok
}

// CanBecome reports whether a session in status s may move to next. It is
// false when next == s, and false when either status is not valid.
func (s SessionStatus) CanBecome(next SessionStatus) bool {
	return slices.Contains(sessionTransitions[s], next)
}

// Final reports whether the session's outcome is settled: completed,
// cancelled, expired or refunded. Completed is final although a full refund
// may still follow it: the session will never be charged again.
//
// Failed is not final for a session, only for the attempt that failed: the
// shopper may retry with a new attempt until the session expires, so
// Final is false and Retryable true. Neither a final nor a failed session
// has an attempt in flight; only a failed one accepts a new attempt.
func (s SessionStatus) Final() bool {
	switch s {
	case SessionCompleted, SessionCancelled, SessionExpired, SessionRefunded:
		return true
	}
	return false
}

// Retryable reports whether the session's last attempt failed and the
// shopper may start a new one. It is true for failed only.
func (s SessionStatus) Retryable() bool {
	return s == SessionFailed
}

// ParseSessionStatus returns the session status spelled exactly s (no case
// folding, no trimming), or an Invalid error.
func ParseSessionStatus(s string) (SessionStatus, error) {
	st := SessionStatus(s)
	if !st.Valid() {
		err := Errorf(Invalid, "", "unknown session status %q", s)
		err.Op = "pay.ParseSessionStatus"
		return "", err
	}
	return st, nil
}

// PaymentStatus is where one payment stands. A payment is one attempt to
// charge a session through one gateway; a session may have several.
type PaymentStatus string

const (
	PaymentPending        PaymentStatus = "pending"         // sent to the gateway, outcome unknown
	PaymentRequiresAction PaymentStatus = "requires_action" // waiting for 3-D Secure or an off-site approval
	PaymentCompleted      PaymentStatus = "completed"       // charged
	PaymentFailed         PaymentStatus = "failed"          // declined or errored
	PaymentCancelled      PaymentStatus = "cancelled"       // abandoned before an outcome
	PaymentExpired        PaymentStatus = "expired"         // no outcome before the session expired
	PaymentRefunded       PaymentStatus = "refunded"        // charged, then refunded in full
)

// paymentTransitions is the only place that says which payment status may
// follow which. Same reading as sessionTransitions; there is no "init": a
// payment is created when it is sent to the gateway.
var paymentTransitions = map[PaymentStatus][]PaymentStatus{
	// Sent to the gateway: it settles, asks the shopper to act, or the
	// attempt is abandoned or runs out of time.
	PaymentPending: {PaymentRequiresAction, PaymentCompleted, PaymentFailed, PaymentCancelled, PaymentExpired},
	// The shopper is at 3-D Secure or off-site: back to pending while the
	// gateway settles, or straight to an outcome.
	PaymentRequiresAction: {PaymentPending, PaymentCompleted, PaymentFailed, PaymentCancelled, PaymentExpired},
	// Charged: only a full refund moves it; a partial refund leaves it
	// completed (the refunded sum is tracked by the refunds, not here).
	PaymentCompleted: {PaymentRefunded},
	// An attempt's failure is forever: a retry is a new payment, so a late
	// approval can never turn a declined attempt into a second charge.
	PaymentFailed: nil,
	// Ends: no late or out-of-order event may overwrite them.
	PaymentCancelled: nil,
	PaymentExpired:   nil,
	PaymentRefunded:  nil,
}

// Valid reports whether s is one of the payment statuses above.
func (s PaymentStatus) Valid() bool {
	_, ok := paymentTransitions[s]
	return ok
}

// CanBecome reports whether a payment in status s may move to next. It is
// false when next == s, and false when either status is not valid.
func (s PaymentStatus) CanBecome(next PaymentStatus) bool {
	return slices.Contains(paymentTransitions[s], next)
}

// Final reports whether the attempt's outcome is settled: completed,
// failed, cancelled, expired or refunded. Completed is final for the charge
// outcome; only refunded may follow it.
func (s PaymentStatus) Final() bool {
	switch s {
	case PaymentCompleted, PaymentFailed, PaymentCancelled, PaymentExpired, PaymentRefunded:
		return true
	}
	return false
}

// ParsePaymentStatus returns the payment status spelled exactly s (no case
// folding, no trimming), or an Invalid error.
func ParsePaymentStatus(s string) (PaymentStatus, error) {
	st := PaymentStatus(s)
	if !st.Valid() {
		err := Errorf(Invalid, "", "unknown payment status %q", s)
		err.Op = "pay.ParsePaymentStatus"
		return "", err
	}
	return st, nil
}
