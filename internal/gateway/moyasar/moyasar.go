// Package moyasar is sakk's gateway.Connector for Moyasar, the Saudi
// gateway, over its payments API v1 (Basic auth with the account's secret
// key as the user name). The hosted page turns the card into a token with
// Moyasar's own card form (POST /v1/tokens with the publishable key: raw
// card numbers never reach sakk); Charge creates a payment with that token
// (source type "token", callback_url = ChargeRequest.ReturnURL); a payment
// that answers "initiated" with a source.transaction_url waits for 3-D
// Secure at that link, after which Moyasar sends the shopper to the
// callback; Fetch reads GET /v1/payments/{id}; Refund calls POST
// /v1/payments/{id}/refund; ParseWebhook checks the notification's
// secret_token and then re-reads the payment.
//
// It speaks plain net/http and encoding/json: Moyasar maintains no Go
// client, and the three endpoints it needs are a few lines each.
//
// # Statuses
//
// Moyasar's payment statuses, with their literal spellings, read as:
//
//	initiated   ActionRequired when source.transaction_url is set (3-D Secure), else Pending
//	paid        Approved, Captured = amount
//	captured    Approved, Captured = captured (an authorized payment, captured later)
//	refunded    Approved: the charge took the money; refunds are a refund's state
//	authorized  Pending: funds held, not captured (sakk never asks for manual capture)
//	failed      Declined, the reason from source.response_code and source.message
//	voided      Declined ("voided"): the merchant cancelled it before settlement
//	verified    not a charge (card verification while tokenizing): an unknown outcome
//
// # Idempotency and double charges
//
// Moyasar takes no idempotency header. Payment creation is made idempotent
// with its "given_id" field: a client-chosen UUID that becomes the
// payment's id. Charge derives it from ChargeRequest.IdempotencyKey as a
// name-based UUID (version 5, SHA-1, in a namespace of sakk's), so every
// repeat of one attempt (by this package's retries, by checkout, by the
// reconciler) names the same payment. A repeat that Moyasar answers with
// a refusal is looked up by that id before the refusal is believed: if
// the payment exists, its state is the answer (and a payment for another
// amount or currency is CodeIdempotencyKeyReused). Whether Moyasar answers
// a repeated given_id with the first payment or with a 400 is not stated
// in its documentation; both are handled.
//
// Refunds have no idempotency support at Moyasar at all, and no refund
// object: POST /v1/payments/{id}/refund adds to the payment's refunded
// total. Refund makes them safe with a ledger kept in the payment's own
// metadata (PUT /v1/payments/{id}): before refunding it records, under a
// key derived from RefundRequest.IdempotencyKey, the amount and the
// refunded total the refund will bring the payment to; a repeat that finds
// its entry reads the payment's refunded total to tell whether the refund
// happened (return it again) or not (send it now), and never sends it
// twice. The ledger assumes one refund of a payment at a time, which is
// how checkout refunds; refund POSTs are never retried blindly.
//
// # Amounts
//
// Moyasar takes integers in the currency's minor unit: halalas for SAR,
// and, per the fraction table of Moyasar's own SDKs, thousandths (fils)
// for BHD and KWD and hundredths for AED, QAR and USD. Those are the
// currencies Moyasar documents for multi-currency accounts (SAR by
// default; the others once Moyasar enables them), so they are
// Capabilities.Currencies. Conversion is exact in both directions and
// refuses (CodeAmountNotRepresentable) what cannot be carried; amounts
// above 2^53-1 are refused too, since JSON numbers beyond that are not
// exact in every parser on the way.
//
// # Webhooks
//
// Moyasar does not sign its notifications: it puts the endpoint's "secret
// token" (a shared password configured in its dashboard) inside the JSON
// body. ParseWebhook compares it in constant time before using anything
// else of the body, refuses bodies that are not exactly one JSON object
// (duplicate keys, trailing bytes) or not declared as JSON, and then, the
// token being no proof that the rest of the body is Moyasar's, re-reads
// the payment with Fetch: the Notification's reference and outcome are the
// API's, never the body's.
package moyasar

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

// DefaultBaseURL is Moyasar's API.
const DefaultBaseURL = "https://api.moyasar.com"

// Limits and defaults.
const (
	maxResponseBytes = 1 << 20 // a payment is a few kB; more is not Moyasar
	maxKeyLen        = 255
	maxReferenceLen  = 255
	maxMetadata      = 30  // keys passed on from ChargeRequest.Metadata
	maxMetadataLen   = 500 // bytes per key or value passed on
)

// Config configures a Connector: one Moyasar account, in test or live mode.
type Config struct {
	// SecretKey authenticates sakk to Moyasar: "sk_test_…" or "sk_live_…".
	// Required; sent only to Moyasar, as the Basic auth user name.
	SecretKey string
	// PublishableKey ("pk_test_…"/"pk_live_…") is what the hosted page
	// gives Moyasar's card form; the connector never uses it, it only
	// checks that its mode matches SecretKey's and hands it out.
	PublishableKey string
	// WebhookSecret is the "secret token" configured for sakk's webhook
	// endpoint in Moyasar's dashboard. Without it the connector takes no
	// webhooks (Capabilities.Webhooks is false).
	WebhookSecret string
	// BaseURL is Moyasar's API base; "" means DefaultBaseURL. Tests point
	// it at a stand-in.
	BaseURL string
	// HTTPClient sends the requests; nil means a client with a 30-second
	// timeout. Its Timeout bounds each attempt; the ctx of each call bounds
	// the whole call, retries included.
	HTTPClient *http.Client
	// MaxRetries is how many times a call that got no usable answer is
	// sent again (only calls that are safe to repeat: reads, payment
	// creation with its given_id, metadata updates); 0 means 2, negative
	// means never.
	MaxRetries int
	// Now returns the current time; nil means time.Now. (Moyasar's
	// notifications carry no signed timestamp; it is kept for symmetry
	// with the other connectors and for logs.)
	Now func() time.Time
}

// Connector is the Moyasar gateway.Connector. It is safe for concurrent
// use.
type Connector struct {
	secretKey      string
	live           bool // a sk_live_ key: webhooks must say "live": true
	publishableKey string
	webhookSecret  []byte
	base           string
	client         *http.Client
	retries        int
	backoff        time.Duration
	now            func() time.Time
	caps           gateway.Capabilities
	refunding      keyedLock // one Refund per payment at a time, in this process
}

var _ gateway.Connector = (*Connector)(nil)

// New returns a connector for the account cfg describes. It fails when a
// key is missing or malformed, when the secret and publishable keys are of
// different modes (test and live), or when BaseURL is not an absolute
// http(s) URL.
func New(cfg Config) (*Connector, error) {
	mode, ok := keyMode(cfg.SecretKey, "sk_")
	if !ok {
		return nil, errors.New("moyasar: SecretKey must be a Moyasar secret key (sk_test_… or sk_live_…)")
	}
	if cfg.PublishableKey != "" {
		pm, ok := keyMode(cfg.PublishableKey, "pk_")
		if !ok {
			return nil, errors.New("moyasar: PublishableKey must be a Moyasar publishable key (pk_test_… or pk_live_…)")
		}
		if pm != mode {
			return nil, errors.New("moyasar: SecretKey and PublishableKey are from different modes (test and live)")
		}
	}
	if cfg.WebhookSecret != "" && (len(cfg.WebhookSecret) < 8 || len(cfg.WebhookSecret) > 255) {
		return nil, errors.New("moyasar: WebhookSecret must be 8 to 255 bytes")
	}
	h, err := gateway.NewHTTP("moyasar", cfg.BaseURL, DefaultBaseURL, cfg.HTTPClient, cfg.MaxRetries, cfg.Now)
	if err != nil {
		return nil, err
	}
	c := &Connector{
		secretKey:      cfg.SecretKey,
		live:           mode == "live",
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
// "<prefix>live_…".
func keyMode(key, prefix string) (string, bool) {
	if len(key) > maxKeyLen || !gateway.Printable(key) || strings.Contains(key, ":") {
		return "", false
	}
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return "", false
	}
	for _, mode := range []string{"test", "live"} {
		if r, ok := strings.CutPrefix(rest, mode+"_"); ok && r != "" {
			return mode, true
		}
	}
	return "", false
}

// Name returns "moyasar".
func (c *Connector) Name() string { return "moyasar" }

// PublishableKey returns the key the hosted page gives Moyasar's card
// form; it is safe to show browsers. It may be "".
func (c *Connector) PublishableKey() string { return c.publishableKey }

// Capabilities: card charges with 3-D Secure, full and partial refunds,
// status reads, webhooks when a secret token is configured, in the
// currencies Moyasar documents (see amount.go).
func (c *Connector) Capabilities() gateway.Capabilities {
	caps := c.caps
	caps.Currencies = slices.Clone(caps.Currencies)
	return caps
}

// payment is the part of Moyasar's payment object sakk reads. Amounts are
// integers in Moyasar's minor unit; a fractional number fails to decode,
// which makes the answer unreadable rather than rounded.
type payment struct {
	ID       string         `json:"id"`
	Status   string         `json:"status"`
	Amount   int64          `json:"amount"`
	Currency string         `json:"currency"`
	Refunded int64          `json:"refunded"`
	Captured int64          `json:"captured"`
	Metadata map[string]any `json:"metadata"` // values may be strings, numbers or booleans
	Source   struct {
		Type           string `json:"type"`
		Message        string `json:"message"`
		ResponseCode   string `json:"response_code"`
		TransactionURL string `json:"transaction_url"`
	} `json:"source"`
}

// createRequest is the body of POST /v1/payments.
type createRequest struct {
	GivenID     string            `json:"given_id"`
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	Description string            `json:"description,omitempty"`
	CallbackURL string            `json:"callback_url"`
	Source      tokenSource       `json:"source"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// tokenSource is a payment source made from a token of Moyasar's card
// form. 3ds asks Moyasar to authenticate the card where the issuer
// supports it; manual false means purchase (authorize and capture at once).
type tokenSource struct {
	Type   string `json:"type"`
	Token  string `json:"token"`
	ThreeD bool   `json:"3ds"`
	Manual bool   `json:"manual"`
}

// Charge creates a payment of req.Amount with the token Moyasar's card
// form made (req.PaymentToken), under a given_id derived from
// req.IdempotencyKey. Moyasar answers paid (Approved), initiated with a
// transaction_url for 3-D Secure (ActionRequired), or failed (Declined,
// with the payment's id as Reference).
func (c *Connector) Charge(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
	const op = "moyasar.Charge"
	if err := checkKey(op, req.IdempotencyKey); err != nil {
		return gateway.ChargeResult{}, err
	}
	amount, err := c.moyasarAmount(op, req.Amount)
	if err != nil {
		return gateway.ChargeResult{}, err
	}
	if req.Method != "card" {
		return gateway.ChargeResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, `Moyasar charges cards only: use method "card"`, nil)
	}
	if !strings.HasPrefix(req.PaymentToken, "token_") || len(req.PaymentToken) > maxReferenceLen || !gateway.Printable(req.PaymentToken) {
		return gateway.ChargeResult{}, gateway.Invalid(op, gateway.CodeInvalidPaymentToken, "a card payment needs a token (token_…) from Moyasar's card form", nil)
	}
	if !validLink(req.ReturnURL) {
		// Moyasar requires callback_url for token sources: it is where
		// the shopper comes back after 3-D Secure.
		return gateway.ChargeResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "ReturnURL must be an absolute http(s) URL", nil)
	}
	md, err := metadata(op, req)
	if err != nil {
		return gateway.ChargeResult{}, err
	}
	givenID := GivenID(req.IdempotencyKey)
	body := createRequest{
		GivenID:     givenID,
		Amount:      amount,
		Currency:    string(req.Amount.Currency),
		CallbackURL: req.ReturnURL,
		Source:      tokenSource{Type: "token", Token: req.PaymentToken, ThreeD: true},
		Metadata:    md,
	}
	if req.PaymentID != "" {
		body.Description = "sakk " + req.PaymentID
	}
	status, out, err := c.call(ctx, op, http.MethodPost, "/v1/payments", body, true)
	if err != nil {
		return gateway.ChargeResult{Outcome: gateway.Unknown}, err
	}
	switch {
	case status == http.StatusOK || status == http.StatusCreated:
		p, err := decodePayment(out)
		if err != nil {
			return gateway.ChargeResult{Outcome: gateway.Unknown}, gateway.Unavailable(op, err)
		}
		return c.charged(op, req, p)
	case status >= 400 && status < 500:
		// A repeated given_id may be refused rather than answered with the
		// first payment: ask for the payment by that id before believing
		// the refusal.
		p, found, err := c.lookup(ctx, op, givenID)
		if err != nil {
			return gateway.ChargeResult{Outcome: gateway.Unknown}, err
		}
		if found {
			return c.charged(op, req, p)
		}
	}
	return gateway.ChargeResult{}, c.failure(op, status, out)
}

// charged reads a payment Charge created (or found under its given_id):
// one for another amount or currency means the key was reused.
func (c *Connector) charged(op string, req gateway.ChargeRequest, p payment) (gateway.ChargeResult, error) {
	got, ok := fromMoyasar(p.Amount, p.Currency)
	if !ok {
		return gateway.ChargeResult{Outcome: gateway.Unknown, Reference: p.ID}, gateway.Unavailable(op, errors.New("moyasar: payment with unreadable amount "+strconv.FormatInt(p.Amount, 10)+" "+p.Currency))
	}
	if got != req.Amount {
		return gateway.ChargeResult{Outcome: gateway.Unknown, Reference: p.ID}, gateway.Invalid(op, gateway.CodeIdempotencyKeyReused, "this idempotency key names a Moyasar payment for another amount", nil)
	}
	return c.result(op, p)
}

// metadata is what Charge stores in the payment's metadata: sakk's ids and
// the request's metadata, bounded.
func metadata(op string, req gateway.ChargeRequest) (map[string]string, error) {
	if len(req.Metadata) > maxMetadata {
		return nil, gateway.Invalid(op, gateway.CodeInvalidRequest, "too many metadata keys for Moyasar", nil)
	}
	md := make(map[string]string, len(req.Metadata)+2)
	for k, v := range req.Metadata {
		if k == "" || len(k) > maxMetadataLen || len(v) > maxMetadataLen || strings.HasPrefix(k, refundKeyPrefix) {
			return nil, gateway.Invalid(op, gateway.CodeInvalidRequest, "metadata keys must be 1 to 500 bytes, values at most 500, and not start with "+refundKeyPrefix, nil)
		}
		md[k] = v
	}
	if req.PaymentID != "" {
		md["sakk_payment_id"] = req.PaymentID
	}
	if req.SessionID != "" {
		md["sakk_session_id"] = req.SessionID
	}
	if len(md) == 0 {
		return nil, nil
	}
	return md, nil
}

// Fetch reads the payment req.Reference.
func (c *Connector) Fetch(ctx context.Context, req gateway.FetchRequest) (gateway.ChargeResult, error) {
	const op = "moyasar.Fetch"
	p, err := c.payment(ctx, op, req.Reference)
	if err != nil {
		return gateway.ChargeResult{Outcome: gateway.Unknown}, err
	}
	return c.result(op, p)
}

// payment reads the payment ref; an unknown one is NotFound.
func (c *Connector) payment(ctx context.Context, op, ref string) (payment, error) {
	if ref == "" || len(ref) > maxReferenceLen || !gateway.Printable(ref) {
		return payment{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "no valid charge reference", nil)
	}
	p, found, err := c.lookup(ctx, op, ref)
	if err != nil {
		return payment{}, err
	}
	if !found {
		return payment{}, gateway.NotFound(op, "Moyasar has no such payment")
	}
	return p, nil
}

// lookup reads the payment id; found is false when Moyasar answers 404.
func (c *Connector) lookup(ctx context.Context, op, id string) (p payment, found bool, err error) {
	status, out, err := c.call(ctx, op, http.MethodGet, "/v1/payments/"+url.PathEscape(id), nil, true)
	if err != nil {
		return payment{}, false, err
	}
	switch status {
	case http.StatusOK:
		p, err := decodePayment(out)
		if err != nil {
			return payment{}, false, gateway.Unavailable(op, err)
		}
		return p, true, nil
	case http.StatusNotFound:
		return payment{}, false, nil
	}
	return payment{}, false, c.failure(op, status, out)
}

// decodePayment reads a payment object; one without id or status is not.
func decodePayment(body []byte) (payment, error) {
	var p payment
	if err := json.Unmarshal(body, &p); err != nil {
		return payment{}, errors.New("moyasar: unreadable payment: " + err.Error())
	}
	if p.ID == "" || p.Status == "" || p.Currency == "" {
		return payment{}, errors.New("moyasar: answer is not a payment")
	}
	return p, nil
}

// checkKey refuses a missing or over-long idempotency key.
func checkKey(op, key string) error {
	if key == "" || len(key) > maxKeyLen || !gateway.Printable(key) {
		return gateway.Invalid(op, gateway.CodeInvalidRequest, "an idempotency key of 1 to 255 visible characters is required", nil)
	}
	return nil
}

// moyasarAmount checks a and converts it to Moyasar's integer amount.
func (c *Connector) moyasarAmount(op string, a money.Amount) (int64, error) {
	if !c.caps.Supports(a.Currency) {
		return 0, gateway.Invalid(op, gateway.CodeCurrencyNotSupported, "Moyasar does not charge in "+string(a.Currency), nil)
	}
	if a.Minor <= 0 {
		return 0, gateway.Invalid(op, gateway.CodeInvalidRequest, "the amount must be positive", nil)
	}
	v, ok := toMoyasar(a)
	if !ok {
		return 0, gateway.Invalid(op, gateway.CodeAmountNotRepresentable, "Moyasar cannot carry the amount "+a.String()+" exactly", nil)
	}
	return v, nil
}

// result turns a payment into the contract's ChargeResult.
func (c *Connector) result(op string, p payment) (gateway.ChargeResult, error) {
	res := gateway.ChargeResult{Reference: p.ID}
	switch p.Status {
	case "paid", "captured", "refunded":
		taken := p.Amount
		if p.Status == "captured" && p.Captured > 0 {
			taken = p.Captured // a partial capture of an authorization
		}
		got, ok := fromMoyasar(taken, p.Currency)
		if !ok || got.Minor <= 0 {
			// Approved, but for an amount sakk cannot read: leave it to
			// the reconciler rather than record a wrong amount.
			return gateway.ChargeResult{Outcome: gateway.Unknown, Reference: p.ID}, gateway.Unavailable(op, errors.New("moyasar: "+p.Status+" payment with unreadable amount "+strconv.FormatInt(taken, 10)+" "+p.Currency))
		}
		res.Outcome = gateway.Approved
		res.Captured = got
	case "initiated":
		if validLink(p.Source.TransactionURL) {
			res.Outcome = gateway.ActionRequired
			res.RedirectURL = p.Source.TransactionURL
		} else {
			res.Outcome = gateway.Pending
		}
	case "authorized":
		res.Outcome = gateway.Pending
	case "failed":
		return declined(p), nil
	case "voided":
		res.Outcome = gateway.Declined
		res.DeclineCode = "voided"
		res.DeclineMessage = "The payment was cancelled."
	default: // "verified" (a card check, not a charge), or a status added later
		return gateway.ChargeResult{Outcome: gateway.Unknown, Reference: p.ID}, gateway.Unavailable(op, errors.New("moyasar: unexpected payment status "+strconv.Quote(p.Status)))
	}
	return res, nil
}

// validLink reports whether s is an absolute http(s) URL.
func validLink(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// declined maps a failed payment's reason to the contract's decline codes:
// source.response_code is the acquirer's two-digit ISO 8583 code (Moyasar's
// "Gateway Response Codes"), null when the payment never reached the
// acquirer (3-D Secure failed, for one); then source.message says why.
func declined(p payment) gateway.ChargeResult {
	res := gateway.ChargeResult{Outcome: gateway.Declined, Reference: p.ID, DeclineCode: gateway.DeclineCard}
	msg := strings.ToUpper(p.Source.Message)
	switch code := p.Source.ResponseCode; {
	case code == "51" || strings.Contains(msg, "INSUFFICIENT"):
		res.DeclineCode = gateway.DeclineInsufficientFunds
		res.DeclineMessage = "The card has insufficient funds."
	case code == "54" || strings.Contains(msg, "EXPIRED CARD"):
		res.DeclineCode = gateway.DeclineExpiredCard
		res.DeclineMessage = "The card has expired."
	case code == "19" || code == "91" || code == "96":
		// Re-enter transaction, issuer or switch inoperative, system
		// malfunction: the card was not refused.
		res.DeclineCode = gateway.DeclineProcessingError
		res.Retryable = true
		res.DeclineMessage = "The card could not be charged; try again."
	case strings.Contains(msg, "3-D SECURE") || strings.Contains(msg, "3DS") || strings.Contains(msg, "AUTHENTICAT"):
		res.DeclineCode = gateway.DeclineAuthenticationFailed
		res.DeclineMessage = "The card could not be authenticated."
	default:
		res.DeclineMessage = "The card was declined."
	}
	return res
}
