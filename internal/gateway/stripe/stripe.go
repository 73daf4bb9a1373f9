// Package stripe is sakk's gateway.Connector for Stripe, over Stripe's
// PaymentIntents API: the hosted page turns the card into a PaymentMethod
// with Stripe.js (raw card numbers never reach sakk), Charge creates and
// confirms a PaymentIntent with it, 3-D Secure comes back as a
// next_action.redirect_to_url that sends the shopper to the card issuer and
// then to sakk's callback, Fetch reads the PaymentIntent, Refund creates a
// Refund on it, and ParseWebhook verifies Stripe-Signature.
//
// # Plain net/http, not stripe-go
//
// The connector speaks to Stripe with net/http and encoding/json rather
// than the official stripe-go client: it needs three endpoints (create a
// PaymentIntent, read one, create a Refund) and one signature check, the
// form encoding Stripe takes is a few lines, and the things that matter
// most here stay in sakk's hands and in one screen of code: the timeout of
// each call, which failures are retried (only with the same
// Idempotency-Key), and that every answer that never came is reported as
// an unknown outcome, never as a decline (see package gateway). stripe-go
// would add a large dependency that follows Stripe's API version and its
// own retry policy, and would still need that mapping around it.
//
// # Requests
//
// Every POST carries an Idempotency-Key: the ChargeRequest's (derived
// from sakk's payment id) or the RefundRequest's (from sakk's refund id),
// so that a retry, by this package or by the reconciler, returns Stripe's
// first answer and never charges or refunds twice. Transport errors, 409
// (a request with the same key in flight), 429 and 5xx are retried a few
// times with backoff, honouring Stripe-Should-Retry; what still fails is
// gateway.Unavailable, an unknown outcome. Requests pin Stripe-Version
// (apiVersion) so that the objects read are those the code was written for.
//
// # Amounts
//
// sakk's amounts are ISO 4217 minor units; Stripe's are its own (see
// amount.go): zero-decimal currencies in whole units, three-decimal ones in
// thousandths ending in 0, ISK in hundredths of whole krónur. An amount
// Stripe cannot carry exactly is refused with CodeAmountNotRepresentable,
// never rounded; amounts Stripe sends back are converted the same way,
// exactly.
//
// # Webhooks
//
// ParseWebhook checks Stripe-Signature (HMAC-SHA256 with the endpoint's
// signing secret over "timestamp.body", timestamp within five minutes)
// before reading anything of the body. It does not re-fetch the
// PaymentIntent: Stripe's signature is strong (a per-endpoint secret,
// over the exact bytes and a timestamp), so a verified event is Stripe's
// word, and callers still move a payment only along its transition table.
// Replays inside the tolerance carry the same event id, for callers to
// de-duplicate.
package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/money"
)

// DefaultBaseURL is Stripe's API.
const DefaultBaseURL = "https://api.stripe.com"

// apiVersion is the Stripe API version every request pins; it is the
// version of the OpenAPI document stripe-mock v0.203.0 validates against.
const apiVersion = "2026-08-26.dahlia"

// Limits and defaults.
const (
	maxResponseBytes = 1 << 20 // a PaymentIntent is a few kB; more is not Stripe
	maxIdemKeyLen    = 255     // Stripe's limit on Idempotency-Key
	maxReferenceLen  = 255
)

// Config configures a Connector: one Stripe account, in test or live mode.
type Config struct {
	// SecretKey authenticates sakk to Stripe: "sk_test_…"/"sk_live_…", or
	// a restricted key "rk_…" allowed to write PaymentIntents and Refunds.
	// Required; never sent anywhere but Stripe.
	SecretKey string
	// PublishableKey ("pk_test_…"/"pk_live_…") is what the hosted page
	// gives Stripe.js; the connector never uses it, it only checks that its
	// mode matches SecretKey's and hands it out (PublishableKey method).
	PublishableKey string
	// WebhookSecret is the signing secret ("whsec_…") of the webhook
	// endpoint configured at Stripe. Without it the connector takes no
	// webhooks (Capabilities.Webhooks is false).
	WebhookSecret string
	// BaseURL is Stripe's API base; "" means DefaultBaseURL. Tests point
	// it at stripe-mock.
	BaseURL string
	// HTTPClient sends the requests; nil means a client with a 30-second
	// timeout. Its Timeout bounds each attempt; the ctx of each call bounds
	// the whole call, retries included.
	HTTPClient *http.Client
	// MaxRetries is how many times a call that got no usable answer is
	// sent again (with the same Idempotency-Key); 0 means 2, negative
	// means never.
	MaxRetries int
	// Now returns the current time, for the webhook timestamp check; nil
	// means time.Now.
	Now func() time.Time
}

// Connector is the Stripe gateway.Connector. It is safe for concurrent use.
type Connector struct {
	secretKey      string
	publishableKey string
	webhookSecret  []byte
	base           string
	client         *http.Client
	retries        int
	backoff        time.Duration
	now            func() time.Time
	caps           gateway.Capabilities
}

var _ gateway.Connector = (*Connector)(nil)

// New returns a connector for the account cfg describes. It fails when a
// key is missing or malformed, when the secret and publishable keys are of
// different modes (test and live), or when BaseURL is not an absolute
// http(s) URL.
func New(cfg Config) (*Connector, error) {
	mode, ok := keyMode(cfg.SecretKey, "sk_", "rk_")
	if !ok {
		return nil, errors.New("stripe: SecretKey must be a Stripe secret key (sk_test_…, sk_live_…) or restricted key (rk_…)")
	}
	if cfg.PublishableKey != "" {
		pm, ok := keyMode(cfg.PublishableKey, "pk_")
		if !ok {
			return nil, errors.New("stripe: PublishableKey must be a Stripe publishable key (pk_test_… or pk_live_…)")
		}
		if pm != mode {
			return nil, errors.New("stripe: SecretKey and PublishableKey are from different modes (test and live)")
		}
	}
	if cfg.WebhookSecret != "" && (!strings.HasPrefix(cfg.WebhookSecret, "whsec_") || !gateway.Printable(cfg.WebhookSecret)) {
		return nil, errors.New("stripe: WebhookSecret must be a webhook signing secret (whsec_…)")
	}
	h, err := gateway.NewHTTP("stripe", cfg.BaseURL, DefaultBaseURL, cfg.HTTPClient, cfg.MaxRetries, cfg.Now)
	if err != nil {
		return nil, err
	}
	c := &Connector{
		secretKey:      cfg.SecretKey,
		publishableKey: cfg.PublishableKey,
		base:           h.Base,
		client:         h.Client,
		retries:        h.Retries,
		backoff:        gateway.DefaultBackoff,
		now:            h.Now,
	}
	if cfg.WebhookSecret != "" {
		c.webhookSecret = []byte(cfg.WebhookSecret)
	}
	c.caps = gateway.Capabilities{
		Refunds:        true,
		PartialRefunds: true,
		ThreeDSecure:   true,
		Webhooks:       c.webhookSecret != nil,
		StatusFetch:    true,
		Currencies:     currencies(),
	}
	return c, nil
}

// keyMode returns "test" or "live" for a key "<prefix>test_…" or
// "<prefix>live_…" with one of the prefixes.
func keyMode(key string, prefixes ...string) (string, bool) {
	if len(key) > 255 || !gateway.Printable(key) {
		return "", false
	}
	for _, p := range prefixes {
		rest, ok := strings.CutPrefix(key, p)
		if !ok {
			continue
		}
		for _, mode := range []string{"test", "live"} {
			if r, ok := strings.CutPrefix(rest, mode+"_"); ok && r != "" {
				return mode, true
			}
		}
	}
	return "", false
}

// Name returns "stripe".
func (c *Connector) Name() string { return "stripe" }

// PublishableKey returns the key the hosted page gives Stripe.js; it is
// safe to show browsers. It may be "".
func (c *Connector) PublishableKey() string { return c.publishableKey }

// Capabilities: card charges with 3-D Secure, full and partial refunds,
// status reads, webhooks when a signing secret is configured, in Stripe's
// presentment currencies (see amount.go).
func (c *Connector) Capabilities() gateway.Capabilities {
	caps := c.caps
	caps.Currencies = slices.Clone(caps.Currencies)
	return caps
}

// paymentIntent is the part of Stripe's PaymentIntent object sakk reads.
type paymentIntent struct {
	ID             string `json:"id"`
	Object         string `json:"object"`
	Amount         int64  `json:"amount"`
	AmountReceived int64  `json:"amount_received"`
	Currency       string `json:"currency"`
	Status         string `json:"status"`
	NextAction     *struct {
		Type          string `json:"type"`
		RedirectToURL *struct {
			URL string `json:"url"`
		} `json:"redirect_to_url"`
	} `json:"next_action"`
	LastPaymentError   *apiError `json:"last_payment_error"`
	CancellationReason string    `json:"cancellation_reason"`
}

// refund is the part of Stripe's Refund object sakk reads.
type refund struct {
	ID     string `json:"id"`
	Object string `json:"object"`
	Status string `json:"status"`
}

// Charge creates and confirms a PaymentIntent for req.Amount with the
// PaymentMethod Stripe.js made (req.PaymentToken), under
// req.IdempotencyKey. Stripe answers succeeded (Approved), requires_action
// with a redirect for 3-D Secure (ActionRequired), processing (Pending), or
// a card error (Declined, with the PaymentIntent's id as Reference).
func (c *Connector) Charge(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
	const op = "stripe.Charge"
	if err := checkKey(op, req.IdempotencyKey); err != nil {
		return gateway.ChargeResult{}, err
	}
	amount, err := c.stripeAmount(op, req.Amount)
	if err != nil {
		return gateway.ChargeResult{}, err
	}
	if req.Method != "card" {
		return gateway.ChargeResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, `Stripe charges cards only: use method "card"`, nil)
	}
	if req.PaymentToken == "" || len(req.PaymentToken) > maxReferenceLen || !gateway.Printable(req.PaymentToken) {
		return gateway.ChargeResult{}, gateway.Invalid(op, gateway.CodeInvalidPaymentToken, "a card payment needs a PaymentMethod from Stripe.js", nil)
	}
	if u, err := url.Parse(req.ReturnURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		// Without return_url Stripe would answer 3-D Secure with an action
		// only Stripe.js can run (use_stripe_sdk), not a link.
		return gateway.ChargeResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "ReturnURL must be an absolute http(s) URL", nil)
	}
	form := url.Values{}
	form.Set("amount", strconv.FormatInt(amount, 10))
	form.Set("currency", strings.ToLower(string(req.Amount.Currency)))
	form.Set("payment_method", req.PaymentToken)
	form.Set("payment_method_types[]", "card")
	form.Set("confirm", "true")
	form.Set("return_url", req.ReturnURL)
	for k, v := range req.Metadata {
		if k == "" || strings.ContainsAny(k, "[]") {
			// Brackets would change the shape of Stripe's form encoding.
			return gateway.ChargeResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "metadata keys may not be empty or contain brackets", nil)
		}
		form.Set("metadata["+k+"]", v)
	}
	if req.PaymentID != "" {
		form.Set("metadata[sakk_payment_id]", req.PaymentID)
	}
	if req.SessionID != "" {
		form.Set("metadata[sakk_session_id]", req.SessionID)
	}

	status, body, err := c.call(ctx, op, http.MethodPost, "/v1/payment_intents", form, req.IdempotencyKey)
	if err != nil {
		return gateway.ChargeResult{Outcome: gateway.Unknown}, err
	}
	switch {
	case status == http.StatusOK:
		var pi paymentIntent
		if err := decode(body, &pi); err != nil || pi.Object != "payment_intent" || pi.ID == "" {
			return gateway.ChargeResult{Outcome: gateway.Unknown}, gateway.Unavailable(op, errors.New("stripe: unreadable PaymentIntent"))
		}
		return c.result(op, pi)
	case status == http.StatusPaymentRequired:
		// A card error: the PaymentIntent exists, in
		// requires_payment_method, with the decline as last_payment_error.
		e, ok := parseError(body)
		if !ok {
			return gateway.ChargeResult{Outcome: gateway.Unknown}, gateway.Unavailable(op, errors.New("stripe: 402 without a readable error"))
		}
		if e.PaymentIntent != nil && e.PaymentIntent.ID != "" {
			pi := *e.PaymentIntent
			if pi.LastPaymentError == nil {
				pi.LastPaymentError = e
			}
			if pi.Status == "" {
				pi.Status = "requires_payment_method"
			}
			return c.result(op, pi)
		}
		return declined("", e), nil
	}
	return gateway.ChargeResult{}, c.failure(op, status, body)
}

// Fetch reads the PaymentIntent req.Reference.
func (c *Connector) Fetch(ctx context.Context, req gateway.FetchRequest) (gateway.ChargeResult, error) {
	const op = "stripe.Fetch"
	pi, err := c.intent(ctx, op, req.Reference)
	if err != nil {
		return gateway.ChargeResult{Outcome: gateway.Unknown}, err
	}
	return c.result(op, pi)
}

// intent reads the PaymentIntent ref.
func (c *Connector) intent(ctx context.Context, op, ref string) (paymentIntent, error) {
	if ref == "" || len(ref) > maxReferenceLen || !gateway.Printable(ref) {
		return paymentIntent{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "no valid charge reference", nil)
	}
	status, body, err := c.call(ctx, op, http.MethodGet, "/v1/payment_intents/"+url.PathEscape(ref), nil, "")
	if err != nil {
		return paymentIntent{}, err
	}
	if status != http.StatusOK {
		return paymentIntent{}, c.failure(op, status, body)
	}
	var pi paymentIntent
	if err := decode(body, &pi); err != nil || pi.Object != "payment_intent" || pi.ID == "" {
		return paymentIntent{}, gateway.Unavailable(op, errors.New("stripe: unreadable PaymentIntent"))
	}
	return pi, nil
}

// Refund refunds req.Amount of the PaymentIntent req.PaymentReference,
// under req.IdempotencyKey. It first reads the PaymentIntent, so that a
// refund in another currency than the charge's (Stripe would read the
// amount in the charge's) or of a charge that took nothing is refused
// before anything is sent; Stripe itself refuses refunds beyond what is
// left (CodeRefundExceedsCaptured).
func (c *Connector) Refund(ctx context.Context, req gateway.RefundRequest) (gateway.RefundResult, error) {
	const op = "stripe.Refund"
	if err := checkKey(op, req.IdempotencyKey); err != nil {
		return gateway.RefundResult{}, err
	}
	amount, err := c.stripeAmount(op, req.Amount)
	if err != nil {
		return gateway.RefundResult{}, err
	}
	pi, err := c.intent(ctx, op, req.PaymentReference)
	if err != nil {
		return gateway.RefundResult{}, err
	}
	if !strings.EqualFold(pi.Currency, string(req.Amount.Currency)) {
		return gateway.RefundResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "the refund's currency is not the charge's", nil)
	}
	if pi.Status != "succeeded" || pi.AmountReceived <= 0 {
		return gateway.RefundResult{}, gateway.Invalid(op, gateway.CodeNotCaptured, "the charge took no money to refund", nil)
	}
	if amount > pi.AmountReceived {
		return gateway.RefundResult{}, gateway.Invalid(op, gateway.CodeRefundExceedsCaptured, "the refund is more than the charge captured", nil)
	}
	form := url.Values{}
	form.Set("payment_intent", pi.ID)
	form.Set("amount", strconv.FormatInt(amount, 10))
	status, body, err := c.call(ctx, op, http.MethodPost, "/v1/refunds", form, req.IdempotencyKey)
	if err != nil {
		return gateway.RefundResult{}, err
	}
	if status != http.StatusOK {
		return gateway.RefundResult{}, c.refundFailure(op, status, body)
	}
	var r refund
	if err := decode(body, &r); err != nil || r.Object != "refund" || r.ID == "" {
		return gateway.RefundResult{}, gateway.Unavailable(op, errors.New("stripe: unreadable Refund"))
	}
	res := gateway.RefundResult{Reference: r.ID}
	switch r.Status {
	case "succeeded":
		res.Status = gateway.RefundSucceeded
	case "failed", "canceled":
		res.Status = gateway.RefundFailed
	default: // pending, requires_action: Stripe settles it later
		res.Status = gateway.RefundPending
	}
	return res, nil
}

// checkKey refuses a missing or over-long idempotency key.
func checkKey(op, key string) error {
	if key == "" || len(key) > maxIdemKeyLen || !gateway.Printable(key) {
		return gateway.Invalid(op, gateway.CodeInvalidRequest, "an idempotency key of 1 to 255 visible characters is required", nil)
	}
	return nil
}

// stripeAmount checks a and converts it to Stripe's integer amount.
func (c *Connector) stripeAmount(op string, a money.Amount) (int64, error) {
	if !c.caps.Supports(a.Currency) {
		return 0, gateway.Invalid(op, gateway.CodeCurrencyNotSupported, "Stripe does not charge in "+string(a.Currency), nil)
	}
	if a.Minor <= 0 {
		return 0, gateway.Invalid(op, gateway.CodeInvalidRequest, "the amount must be positive", nil)
	}
	v, ok := toStripe(a)
	if !ok {
		return 0, gateway.Invalid(op, gateway.CodeAmountNotRepresentable, "Stripe cannot carry the amount "+a.String()+" exactly", nil)
	}
	return v, nil
}

// result turns a PaymentIntent into the contract's ChargeResult.
func (c *Connector) result(op string, pi paymentIntent) (gateway.ChargeResult, error) {
	res := gateway.ChargeResult{Reference: pi.ID}
	switch pi.Status {
	case "succeeded":
		got, ok := fromStripe(pi.AmountReceived, pi.Currency)
		if !ok || got.Minor <= 0 {
			// Approved, but for an amount sakk cannot read: leave it to
			// the reconciler rather than record a wrong amount.
			return gateway.ChargeResult{Outcome: gateway.Unknown, Reference: pi.ID}, gateway.Unavailable(op, errors.New("stripe: succeeded PaymentIntent with unreadable amount_received "+strconv.FormatInt(pi.AmountReceived, 10)+" "+pi.Currency))
		}
		res.Outcome = gateway.Approved
		res.Captured = got
	case "requires_action":
		if pi.NextAction != nil && pi.NextAction.Type == "redirect_to_url" && pi.NextAction.RedirectToURL != nil && validLink(pi.NextAction.RedirectToURL.URL) {
			res.Outcome = gateway.ActionRequired
			res.RedirectURL = pi.NextAction.RedirectToURL.URL
		} else {
			// An action sakk cannot send a browser to (return_url is
			// always sent, so Stripe should not ask for one): the charge
			// waits, and the reconciler reads it later.
			res.Outcome = gateway.Pending
		}
	case "processing", "requires_capture", "requires_confirmation":
		res.Outcome = gateway.Pending
	case "requires_payment_method":
		// The attempt failed (a decline, or 3-D Secure failed): sakk
		// never confirms the PaymentIntent again, so this is final.
		return declined(pi.ID, pi.LastPaymentError), nil
	case "canceled":
		reason := pi.CancellationReason
		if reason == "" {
			reason = "canceled"
		}
		res.Outcome = gateway.Declined
		res.DeclineCode = reason
		res.DeclineMessage = "The payment was canceled."
	default:
		return gateway.ChargeResult{Outcome: gateway.Unknown, Reference: pi.ID}, gateway.Unavailable(op, errors.New("stripe: unknown PaymentIntent status "+strconv.Quote(pi.Status)))
	}
	return res, nil
}

// validLink reports whether s is an absolute http(s) URL.
func validLink(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// declined maps Stripe's reason for a failed attempt to the contract's
// decline codes, keeping Stripe's own code where none fits.
func declined(ref string, e *apiError) gateway.ChargeResult {
	res := gateway.ChargeResult{Outcome: gateway.Declined, Reference: ref, DeclineCode: gateway.DeclineCard}
	if e == nil {
		res.DeclineMessage = "The card was declined."
		return res
	}
	reason := e.DeclineCode
	if reason == "" || e.Code != "card_declined" {
		reason = e.Code
	}
	switch reason {
	case "insufficient_funds":
		res.DeclineCode = gateway.DeclineInsufficientFunds
	case "expired_card":
		res.DeclineCode = gateway.DeclineExpiredCard
	case "incorrect_cvc", "invalid_cvc":
		res.DeclineCode = gateway.DeclineIncorrectCVC
	case "processing_error", "try_again_later", "reenter_transaction", "issuer_not_available":
		res.DeclineCode = gateway.DeclineProcessingError
		res.Retryable = true
	case "payment_intent_authentication_failure", "authentication_required", "authentication_not_handled":
		res.DeclineCode = gateway.DeclineAuthenticationFailed
	case "", "card_declined", "generic_decline", "do_not_honor":
		res.DeclineCode = gateway.DeclineCard
	default:
		if e.Type == "card_error" || e.Code == "card_declined" {
			res.DeclineCode = gateway.DeclineCard
		} else {
			res.DeclineCode = reason
		}
	}
	// Stripe's card error messages are written for shoppers; others are
	// for developers and are replaced.
	res.DeclineMessage = e.Message
	if e.Type != "card_error" || res.DeclineMessage == "" {
		switch res.DeclineCode {
		case gateway.DeclineAuthenticationFailed:
			res.DeclineMessage = "The card could not be authenticated."
		case gateway.DeclineProcessingError:
			res.DeclineMessage = "The card could not be charged; try again."
		default:
			res.DeclineMessage = "The card was declined."
		}
	}
	return res
}

// decode reads a JSON object; numbers that do not fit their field fail.
func decode(body []byte, v any) error {
	return json.Unmarshal(body, v)
}
