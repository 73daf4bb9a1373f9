// Package gateway is the contract between sakk and a payment gateway: one
// Connector per gateway (sandbox, stripe, paypal, moyasar, myfatoorah), each
// answering the same request and response structs and declaring what it can
// do in Capabilities, so that checkout never branches on a gateway's name.
//
// The contract's one hard rule is about answers that never came. A charge
// whose request may have reached the gateway but whose answer was lost (a
// timeout, a dropped connection, a 5xx, a body that does not parse, a
// context canceled while waiting) has an unknown outcome: the card may have
// been charged. It is never read as a decline. The attempt stays pending
// and the reconciler settles it later with Fetch, or, when no reference came
// back, by sending the same ChargeRequest again: every connector makes that
// safe with the IdempotencyKey, so the repeat returns the first charge
// instead of making a second one. ChargeOutcome applies the rule.
//
// Errors are sakk's one error type, *pay.Error, built with the functions
// below. Callers branch on pay.KindOf: Invalid means the gateway (or the
// connector, before sending) refused the request and nothing happened;
// NotFound means the gateway has no such charge; everything else means the
// outcome is unknown.
//
// Connectors import only this package, money, pay and the standard library
// (or the gateway's own maintained Go client). They are registered by the
// code that wires sakk together, never by init().
package gateway

import (
	"context"
	"net/http"
	"slices"

	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// Connector charges, refunds and looks up payments at one gateway. Its
// methods are safe for concurrent use; they do I/O, so each takes a ctx and
// honours its cancellation.
type Connector interface {
	// Name is the gateway's name as sessions and routing spell it:
	// "stripe", "paypal", "moyasar", "myfatoorah" (the sandbox answers
	// under each of them).
	Name() string

	// Capabilities says what this connector supports. It does no I/O and
	// returns the same value every time.
	Capabilities() Capabilities

	// Charge asks the gateway to take req.Amount. A decline is a result
	// (Outcome Declined), not an error. An error of kind Invalid means
	// nothing was charged; any other error means the outcome is unknown
	// (see the package comment and ChargeOutcome). Repeating a request with
	// the same IdempotencyKey returns the first charge's reference and
	// never charges again.
	Charge(ctx context.Context, req ChargeRequest) (ChargeResult, error)

	// Fetch reads where a charge stands now, by the reference Charge
	// returned: for confirm, for the callback after 3-D Secure or an
	// off-site approval, and for the reconciler. An error of kind
	// NotFound means the gateway has no such charge; any other error
	// leaves the state unknown, to be asked again later.
	Fetch(ctx context.Context, req FetchRequest) (ChargeResult, error)

	// Refund returns part or all of an approved charge. The refunds of a
	// charge never total more than it captured: a refund that would go
	// beyond is refused with an Invalid error. Repeating a request with the
	// same IdempotencyKey returns the first refund and never refunds twice.
	Refund(ctx context.Context, req RefundRequest) (RefundResult, error)

	// ParseWebhook verifies an inbound notification exactly as it arrived
	// (raw body and headers, before any parsing) with the gateway's own
	// signature scheme, and only then reads it. A notification that fails
	// verification is an error (kind Unauthenticated) and nothing of its
	// body may be used. A Notification is a hint, not a verdict: where the
	// gateway's signature is weak, the connector re-reads the charge with
	// Fetch before answering, and callers still move a payment only along
	// its transition table.
	ParseWebhook(ctx context.Context, w Webhook) (Notification, error)
}

// Capabilities declares what a connector supports, so that routing and
// checkout decide from data rather than from gateway names.
type Capabilities struct {
	Refunds        bool // Refund works at all
	PartialRefunds bool // a refund may be less than the remaining captured amount
	ThreeDSecure   bool // Charge may answer ActionRequired for card authentication
	Redirect       bool // the shopper approves every charge off-site (PayPal, MyFatoorah): Charge answers ActionRequired
	Webhooks       bool // the gateway sends notifications that ParseWebhook reads
	StatusFetch    bool // Fetch asks the gateway (when false, Fetch can only repeat what sakk already knows)

	// Currencies the gateway can charge in; nil means every currency the
	// money package knows. Sessions in another currency must be refused
	// when they are created, not when the shopper pays.
	Currencies []money.Currency
}

// Supports reports whether the connector can charge in c: c is a currency
// the money package knows and, when Currencies is set, one of them.
func (c Capabilities) Supports(cur money.Currency) bool {
	if cur.Exponent() < 0 {
		return false
	}
	return c.Currencies == nil || slices.Contains(c.Currencies, cur)
}

// ChargeRequest asks for one charge: one payment attempt of sakk.
type ChargeRequest struct {
	// IdempotencyKey is derived from sakk's payment id, so every retry of
	// one attempt (by the client, by checkout, by the reconciler) carries
	// the same key and the gateway charges at most once. Required.
	IdempotencyKey string
	PaymentID      string       // sakk's payment id ("pay_…"), sent to the gateway as its reference where it takes one
	SessionID      string       // sakk's session id ("sess_…"), for the gateway's dashboard
	Amount         money.Amount // exact; a connector refuses (Invalid) what its gateway cannot represent, never rounds
	Method         string       // "card", or the wallet/off-site method the gateway offers
	// PaymentToken is the token the gateway's own browser tokenizer made
	// from the card (tempPaymentToken of the process body): raw card
	// numbers never reach sakk's API. Empty for off-site methods.
	PaymentToken string
	// ReturnURL is where the shopper's browser comes back after 3-D
	// Secure or an off-site approval: sakk's
	// /api/v1/payments/callback/{sessionToken}. The callback re-reads the
	// charge with Fetch; nothing the browser brings back is trusted.
	ReturnURL string
	Customer  Customer
	ClientIP  string            // the shopper's, for the gateway's fraud checks
	UserAgent string            // the shopper's browser, for 3-D Secure
	Metadata  map[string]string // passed on where the gateway keeps metadata
}

// Customer is who pays, as verified by sakk.
type Customer struct {
	Email string
	Phone string
}

// Outcome is where a charge stands, as the gateway tells it.
type Outcome string

const (
	// Approved: the amount is captured.
	Approved Outcome = "approved"
	// Declined: the gateway refused the charge; nothing was taken.
	// DeclineCode and Retryable say why and whether trying again with the
	// same payment details may succeed.
	Declined Outcome = "declined"
	// ActionRequired: the shopper must act first, at RedirectURL (3-D
	// Secure, or an off-site approval); Fetch tells the result afterwards.
	ActionRequired Outcome = "action_required"
	// Pending: the gateway took the charge and has not decided yet.
	Pending Outcome = "pending"
	// Unknown: no answer came (timeout, lost connection). The card may
	// have been charged: the reconciler finds out; it is NEVER a failure.
	Unknown Outcome = "unknown"
)

// Final reports whether o can no longer change: Approved or Declined.
// (An approved charge may still be refunded; that is a refund's state,
// not the charge's.)
func (o Outcome) Final() bool { return o == Approved || o == Declined }

// ChargeResult is a gateway's answer about one charge, from Charge or Fetch.
type ChargeResult struct {
	Outcome        Outcome
	Reference      string       // the gateway's id of the charge; what Fetch and Refund take
	RedirectURL    string       // where to send the shopper, for ActionRequired
	DeclineCode    string       // for Declined: one of the Decline* codes where the gateway's reason maps to one, else the gateway's own code
	DeclineMessage string       // for Declined: safe to show the shopper
	Retryable      bool         // for Declined: the same payment details may succeed on a new attempt (a processing error, not a refusal)
	Captured       money.Amount // for Approved: what was taken, exactly; zero otherwise
}

// Decline codes connectors map their gateway's reasons to, so that the
// process response's error.code reads the same whatever the gateway.
const (
	DeclineCard                 = "card_declined"
	DeclineInsufficientFunds    = "insufficient_funds"
	DeclineProcessingError      = "processing_error" // retryable
	DeclineAuthenticationFailed = "authentication_failed"
	DeclineApprovalDeclined     = "approval_declined" // the shopper did not approve off-site
	DeclineExpiredCard          = "expired_card"
	DeclineIncorrectCVC         = "incorrect_cvc"
)

// FetchRequest names the charge to read.
type FetchRequest struct {
	Reference string // ChargeResult.Reference
}

// RefundRequest asks to return part or all of an approved charge.
type RefundRequest struct {
	IdempotencyKey   string // derived from sakk's refund id; required
	PaymentReference string // the charge's ChargeResult.Reference
	Amount           money.Amount
}

// RefundStatus is where a refund stands.
type RefundStatus string

const (
	RefundSucceeded RefundStatus = "succeeded"
	RefundPending   RefundStatus = "pending" // the gateway took it and will settle it later
	RefundFailed    RefundStatus = "failed"
)

// RefundResult is a gateway's answer about one refund.
type RefundResult struct {
	Reference string // the gateway's id of the refund
	Status    RefundStatus
}

// Webhook is an inbound notification exactly as it arrived: the body is
// the raw bytes (already size-limited by the HTTP layer), because
// signatures are computed over bytes, not over re-encoded JSON.
type Webhook struct {
	Header http.Header
	Body   []byte
}

// Notification is what a verified webhook says.
type Notification struct {
	Reference string  // the charge it is about
	Outcome   Outcome // the charge's state according to the notification
	EventID   string  // the gateway's event id, for de-duplicating deliveries
}

// Error codes connectors put in the errors they return (pay.Error.Code),
// so that logs and surfaces can tell the reasons apart.
const (
	CodeInvalidRequest         = "invalid_request"          // Invalid: the request is malformed or breaks the gateway's rules
	CodeInvalidPaymentToken    = "invalid_payment_token"    // Invalid: the token is unknown, forged, expired or from another account
	CodeCurrencyNotSupported   = "currency_not_supported"   // Invalid: the gateway does not charge in this currency
	CodeAmountNotRepresentable = "amount_not_representable" // Invalid: the gateway cannot carry this exact amount (refused, never rounded)
	CodeIdempotencyKeyReused   = "idempotency_key_reused"   // Invalid: the key was used before with a different request
	CodeNotCaptured            = "charge_not_captured"      // Invalid: refund of a charge that is not approved
	CodeRefundExceedsCaptured  = "refund_exceeds_captured"  // Invalid: refunds would total more than was captured
	CodeChargeNotFound         = "charge_not_found"         // NotFound: no such charge at the gateway
	CodeInvalidSignature       = "invalid_signature"        // Unauthenticated: a webhook failed verification
	CodeUnavailable            = "gateway_unavailable"      // Unavailable: no answer; the outcome is unknown
)

// Invalid returns the error for a request the gateway refused as invalid,
// or the connector refused before sending: nothing was charged or
// refunded, and sending it again unchanged will fail again. op names the
// operation for logs ("stripe.Charge"); message is safe to show callers;
// cause (may be nil) is for logs only.
func Invalid(op, code, message string, cause error) error {
	return &pay.Error{Kind: pay.Invalid, Code: code, Message: message, Op: op, Err: cause}
}

// Unavailable returns the error for a gateway that could not be reached or
// did not answer in time, or answered something unreadable: the outcome is
// unknown, and the charge may have happened.
func Unavailable(op string, cause error) error {
	return &pay.Error{Kind: pay.Unavailable, Code: CodeUnavailable, Message: "the payment gateway did not answer; try again later", Op: op, Err: cause}
}

// NotFound returns the error for a reference the gateway does not know.
// Connectors use it only when the gateway says so, never for a lost
// answer: the reconciler may give up on a charge the gateway does not know.
func NotFound(op, message string) error {
	return &pay.Error{Kind: pay.NotFound, Code: CodeChargeNotFound, Message: message, Op: op}
}

// Unauthenticated returns the error for a webhook whose signature does not
// verify; nothing of its body may be used.
func Unauthenticated(op, message string, cause error) error {
	return &pay.Error{Kind: pay.Unauthenticated, Code: CodeInvalidSignature, Message: message, Op: op, Err: cause}
}

// ChargeOutcome reads a Charge's answer by the contract: with no error, the
// result's Outcome; with an Invalid error, Declined (the request was
// refused before anything was taken); with any other error, Unknown, which
// the caller must leave to the reconciler and never count as a failure.
//
// One Invalid error is Unknown too: CodeIdempotencyKeyReused says the key
// already names a charge, which may well have been approved.
func ChargeOutcome(res ChargeResult, err error) Outcome {
	switch {
	case err == nil && res.Outcome != "":
		return res.Outcome
	case err == nil:
		return Unknown // a connector bug, but one that must not fail a payment that may have been charged
	case pay.KindOf(err) == pay.Invalid && pay.CodeOf(err) != CodeIdempotencyKeyReused:
		return Declined
	}
	return Unknown
}
