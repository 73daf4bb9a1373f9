// Package paypal is sakk's gateway.Connector for PayPal, over PayPal's
// Orders v2 and Payments v2 REST APIs. Every PayPal payment is approved
// off-site: Charge creates an order (intent CAPTURE) and answers
// ActionRequired with PayPal's payer-action link; the shopper approves at
// PayPal and comes back to sakk's callback (ReturnURL with outcome=success,
// or outcome=cancel when they cancel); Fetch reads the order and, once the
// shopper approved it, captures it. Whether the shopper paid is decided by
// the capture's status (COMPLETED, PENDING, DECLINED, FAILED), never by the
// order's. Refund refunds the capture; ParseWebhook has PayPal verify the
// notification, then re-reads the order.
//
// The connector speaks to PayPal with net/http and encoding/json: PayPal
// maintains no Go client, and the calls are few.
//
// # Authentication
//
// Calls carry an OAuth2 access token from the client-credentials grant
// (POST /v1/oauth2/token, HTTP Basic with the REST app's client id and
// secret). One token is cached per Connector until shortly before the
// expires_in PayPal gives it, and shared by concurrent calls: one call
// fetches it while the others wait. A 401 on an API call drops the token
// and the call is sent again once with a fresh one.
//
// # Idempotency
//
// Every POST that changes money carries PayPal-Request-Id, which PayPal
// stores (six hours by default, per its OpenAPI documents) and answers
// repeats of with the first request's result, current status included:
//
//	create order  ChargeRequest.IdempotencyKey (from sakk's payment id)
//	capture       "capture-" + the order id (the charge's reference): one
//	              capture per order, however many Fetches race to it
//	refund        RefundRequest.IdempotencyKey (from sakk's refund id)
//
// The calls without a PayPal-Request-Id change no money: reading an order
// (GET, safe to repeat), the token request, and verify-webhook-signature.
// Beyond the request id, PayPal itself captures an order once at most
// (ORDER_ALREADY_CAPTURED), so a capture repeated after the request id
// expired cannot take the money twice either.
//
// Transport errors, 409, 429 and 5xx are retried a few times with backoff,
// always with the same request id; what still fails is gateway.Unavailable,
// an unknown outcome, never a decline (see package gateway).
//
// # Amounts
//
// See amount.go: PayPal's decimal strings in its own currency rules (HUF,
// JPY and TWD in whole units), built and read from integer minor units
// without floats; what PayPal cannot carry exactly is refused with
// CodeAmountNotRepresentable, never rounded. Capabilities.Currencies lists
// the currencies PayPal supports, so sessions in others (KWD, BHD, OMR,
// JOD among them: PayPal takes no 3-decimal currency) are refused when
// they are created; HUF and TWD are left out of it too, since PayPal takes
// them in whole units only (see currencies in amount.go).
//
// # Shoppers who never approve
//
// An order the shopper has not approved stays CREATED or
// PAYER_ACTION_REQUIRED at PayPal, even after they cancel. Fetch answers
// ActionRequired until ApprovalWindow (three hours, the default PayPal
// documents for approving an order) has passed since the order was
// created, and Declined (DeclineApprovalDeclined) after it, so that the
// reconciler settles abandoned attempts. Since only sakk's capture takes
// money, a late approval takes nothing unless sakk captures it.
//
// # Webhooks
//
// PayPal signs each delivery with its certificate (PAYPAL-TRANSMISSION-SIG
// over the transmission id and time, the webhook id and a CRC32 of the
// body). ParseWebhook has PayPal check it, through
// POST /v1/notifications/verify-webhook-signature with the transmission
// headers, Config.WebhookID and the raw body as the event, before reading
// the body; a verification that does not answer SUCCESS is
// Unauthenticated. Because a verified notification may still be a replay
// of an old delivery, the connector then re-reads the order with Fetch and
// answers what PayPal says now, not what the notification said.
package paypal

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/money"
)

// PayPal's REST API bases.
const (
	LiveBaseURL    = "https://api-m.paypal.com"
	SandboxBaseURL = "https://api-m.sandbox.paypal.com"
)

// ApprovalWindow is how long after its creation an order the shopper has
// not approved is still waited for (see the package comment).
const ApprovalWindow = 3 * time.Hour

// Limits and defaults.
const (
	maxResponseBytes = 1 << 20 // an order is a few kB
	maxRequestIDLen  = 108     // PayPal-Request-Id's maxLength in PayPal's OpenAPI documents
	maxOrderIDLen    = 36      // the order id's maxLength in PayPal's OpenAPI documents
	maxCustomIDLen   = 127     // purchase_unit.custom_id's maxLength
	tokenMargin      = 5 * time.Minute
)

// Config configures a Connector: one PayPal REST app, sandbox or live.
type Config struct {
	// ClientID and ClientSecret are the REST app's credentials, exchanged
	// for access tokens. Required; the secret is sent only to PayPal's
	// token endpoint.
	ClientID     string
	ClientSecret string
	// WebhookID is the id PayPal gave the webhook subscribed to sakk's
	// endpoint; verify-webhook-signature needs it. Without it the
	// connector takes no webhooks (Capabilities.Webhooks is false).
	WebhookID string
	// BaseURL is PayPal's API base: LiveBaseURL, SandboxBaseURL, or a
	// stand-in in tests. "" means LiveBaseURL.
	BaseURL string
	// HTTPClient sends the requests; nil means a client with a 30-second
	// timeout. Its Timeout bounds each attempt; the ctx of each call bounds
	// the whole call, retries included.
	HTTPClient *http.Client
	// MaxRetries is how many times a call that got no usable answer is
	// sent again (with the same PayPal-Request-Id); 0 means 2, negative
	// means never.
	MaxRetries int
	// Now returns the current time, for token expiry and the approval
	// window; nil means time.Now.
	Now func() time.Time
}

// Connector is the PayPal gateway.Connector. It is safe for concurrent use.
type Connector struct {
	clientID, clientSecret string
	webhookID              string
	base                   string
	client                 *http.Client
	retries                int
	backoff                time.Duration
	now                    func() time.Time
	caps                   gateway.Capabilities

	// tokenLock is held (a token in the channel) while the cached token
	// is read or fetched, so that concurrent calls share one token
	// request; a channel rather than a mutex so that waiting honours ctx.
	tokenLock chan struct{}
	tokMu     sync.Mutex // guards tok; never held during I/O
	tok       accessToken
}

var _ gateway.Connector = (*Connector)(nil)

// New returns a connector for the app cfg describes. It fails when a
// credential is missing or malformed, or when BaseURL is not an absolute
// http(s) URL.
func New(cfg Config) (*Connector, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" || !gateway.Printable(cfg.ClientID) || !gateway.Printable(cfg.ClientSecret) || len(cfg.ClientID) > 256 || len(cfg.ClientSecret) > 256 {
		return nil, errors.New("paypal: ClientID and ClientSecret are required (the REST app's credentials)")
	}
	if strings.Contains(cfg.ClientID, ":") {
		return nil, errors.New("paypal: ClientID may not contain ':' (HTTP Basic would split it)")
	}
	if cfg.WebhookID != "" && (!alnum(cfg.WebhookID) || len(cfg.WebhookID) > 50) {
		return nil, errors.New("paypal: WebhookID must be the webhook's id as PayPal shows it (letters and digits)")
	}
	h, err := gateway.NewHTTP("paypal", cfg.BaseURL, LiveBaseURL, cfg.HTTPClient, cfg.MaxRetries, cfg.Now)
	if err != nil {
		return nil, err
	}
	c := &Connector{
		clientID:     cfg.ClientID,
		clientSecret: cfg.ClientSecret,
		webhookID:    cfg.WebhookID,
		base:         h.Base,
		client:       h.Client,
		retries:      h.Retries,
		backoff:      gateway.DefaultBackoff,
		now:          h.Now,
		tokenLock:    make(chan struct{}, 1),
	}
	c.caps = gateway.Capabilities{
		Refunds:        true,
		PartialRefunds: true,
		Redirect:       true,
		Webhooks:       c.webhookID != "",
		StatusFetch:    true,
		Currencies:     currencies(),
	}
	return c, nil
}

// alnum reports whether s is non-empty ASCII letters and digits.
func alnum(s string) bool {
	for i := range len(s) {
		b := s[i]
		if (b < '0' || b > '9') && (b < 'a' || b > 'z') && (b < 'A' || b > 'Z') {
			return false
		}
	}
	return s != ""
}

// Name returns "paypal".
func (c *Connector) Name() string { return "paypal" }

// Capabilities: off-site approval for every charge, full and partial
// refunds, status reads, webhooks when a WebhookID is configured, in the
// currencies PayPal supports (see amount.go).
func (c *Connector) Capabilities() gateway.Capabilities {
	caps := c.caps
	caps.Currencies = slices.Clone(caps.Currencies)
	return caps
}

// order is the part of PayPal's order object sakk reads.
type order struct {
	ID            string         `json:"id"`
	Status        string         `json:"status"`
	CreateTime    string         `json:"create_time"`
	Links         []link         `json:"links"`
	PurchaseUnits []purchaseUnit `json:"purchase_units"`
}

type link struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
}

type purchaseUnit struct {
	Amount   *moneyJSON `json:"amount"`
	Payments *struct {
		Captures []capture `json:"captures"`
	} `json:"payments"`
}

// capture is the part of PayPal's capture object sakk reads.
type capture struct {
	ID                string     `json:"id"`
	Status            string     `json:"status"`
	Amount            *moneyJSON `json:"amount"`
	ProcessorResponse *struct {
		ResponseCode string `json:"response_code"`
	} `json:"processor_response"`
}

// refund is the part of PayPal's refund object sakk reads.
type refund struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// Charge creates a PayPal order for req.Amount under req.IdempotencyKey
// and answers ActionRequired with the link where the shopper approves it.
// Method is "paypal" or "card" (the shopper may pay by card on PayPal's
// page); PaymentToken is not used: PayPal takes no token from sakk's page.
func (c *Connector) Charge(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
	const op = "paypal.Charge"
	if err := checkKey(op, req.IdempotencyKey); err != nil {
		return gateway.ChargeResult{}, err
	}
	value, err := paypalAmount(op, req.Amount)
	if err != nil {
		return gateway.ChargeResult{}, err
	}
	if req.Method != "paypal" && req.Method != "card" && req.Method != "" {
		return gateway.ChargeResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, `PayPal takes the methods "paypal" and "card"`, nil)
	}
	ret, cancel, ok := returnURLs(req.ReturnURL)
	if !ok {
		return gateway.ChargeResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "ReturnURL must be an absolute http(s) URL", nil)
	}
	if len(req.PaymentID) > maxCustomIDLen {
		return gateway.ChargeResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "the payment id is too long for PayPal's custom_id", nil)
	}
	unit := map[string]any{
		"amount": moneyJSON{CurrencyCode: string(req.Amount.Currency), Value: value},
	}
	if req.PaymentID != "" {
		unit["reference_id"] = req.PaymentID
		unit["custom_id"] = req.PaymentID
	}
	body, err := json.Marshal(map[string]any{
		"intent":         "CAPTURE",
		"purchase_units": []any{unit},
		"payment_source": map[string]any{"paypal": map[string]any{
			"experience_context": map[string]any{
				"return_url":          ret,
				"cancel_url":          cancel,
				"user_action":         "PAY_NOW",
				"shipping_preference": "NO_SHIPPING",
			},
		}},
	})
	if err != nil {
		return gateway.ChargeResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "the order could not be encoded", err)
	}
	status, resp, err := c.call(ctx, op, http.MethodPost, "/v2/checkout/orders", body, req.IdempotencyKey)
	if err != nil {
		return gateway.ChargeResult{Outcome: gateway.Unknown}, err
	}
	if status != http.StatusOK && status != http.StatusCreated {
		return gateway.ChargeResult{}, failure(op, status, resp)
	}
	var o order
	if err := json.Unmarshal(resp, &o); err != nil || o.ID == "" {
		return gateway.ChargeResult{Outcome: gateway.Unknown}, gateway.Unavailable(op, errors.New("paypal: unreadable order"))
	}
	// A repeated key returns the order as it stands now, which may be
	// approved or captured already: settle reads it as Fetch would.
	return c.settle(ctx, op, o)
}

// returnURLs returns the experience context's return_url and cancel_url:
// ReturnURL with outcome=success and outcome=cancel added to its query.
func returnURLs(s string) (ret, cancel string, ok bool) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", "", false
	}
	with := func(outcome string) string {
		v := *u
		q := v.Query()
		q.Set("outcome", outcome)
		v.RawQuery = q.Encode()
		return v.String()
	}
	return with("success"), with("cancel"), true
}

// checkKey checks a PayPal-Request-Id.
func checkKey(op, key string) error {
	if key == "" || len(key) > maxRequestIDLen || !gateway.Printable(key) {
		return gateway.Invalid(op, gateway.CodeInvalidRequest, "an idempotency key of 1 to 108 visible characters is required", nil)
	}
	return nil
}

// paypalAmount converts a, refusing what PayPal cannot charge.
func paypalAmount(op string, a money.Amount) (string, error) {
	switch {
	case a.Currency.Exponent() < 0:
		return "", gateway.Invalid(op, gateway.CodeCurrencyNotSupported, "unknown currency", nil)
	case !slices.Contains(supported, a.Currency):
		return "", gateway.Invalid(op, gateway.CodeCurrencyNotSupported, "PayPal does not charge in "+string(a.Currency), nil)
	case a.Minor <= 0:
		return "", gateway.Invalid(op, gateway.CodeInvalidRequest, "the amount must be positive", nil)
	}
	v, ok := toPayPal(a)
	if !ok {
		return "", gateway.Invalid(op, gateway.CodeAmountNotRepresentable, "PayPal takes "+string(a.Currency)+" in whole units only; this amount has a fraction", nil)
	}
	return v, nil
}

// Fetch reads the order req.Reference and, when the shopper has approved
// it, captures it.
func (c *Connector) Fetch(ctx context.Context, req gateway.FetchRequest) (gateway.ChargeResult, error) {
	const op = "paypal.Fetch"
	o, err := c.order(ctx, op, req.Reference)
	if err != nil {
		return gateway.ChargeResult{Outcome: gateway.Unknown}, err
	}
	return c.settle(ctx, op, o)
}

// order reads the order ref.
func (c *Connector) order(ctx context.Context, op, ref string) (order, error) {
	if ref == "" {
		return order{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "no charge reference", nil)
	}
	if !orderID(ref) {
		// PayPal's order ids are 1 to 36 upper-case letters and digits
		// (the OpenAPI document's pattern): PayPal cannot have this one.
		return order{}, gateway.NotFound(op, "PayPal has no such order")
	}
	status, body, err := c.call(ctx, op, http.MethodGet, "/v2/checkout/orders/"+url.PathEscape(ref), nil, "")
	if err != nil {
		return order{}, err
	}
	if status != http.StatusOK {
		return order{}, failure(op, status, body)
	}
	var o order
	if err := json.Unmarshal(body, &o); err != nil || o.ID == "" {
		return order{}, gateway.Unavailable(op, errors.New("paypal: unreadable order"))
	}
	return o, nil
}

// orderID reports whether s can be a PayPal order id.
func orderID(s string) bool {
	if len(s) == 0 || len(s) > maxOrderIDLen {
		return false
	}
	for i := range len(s) {
		if b := s[i]; (b < '0' || b > '9') && (b < 'A' || b > 'Z') {
			return false
		}
	}
	return true
}

// settle turns an order into a result, capturing it first when the
// shopper has approved it.
func (c *Connector) settle(ctx context.Context, op string, o order) (gateway.ChargeResult, error) {
	if o.Status != "APPROVED" {
		return c.result(op, o)
	}
	status, body, err := c.call(ctx, op, http.MethodPost, "/v2/checkout/orders/"+url.PathEscape(o.ID)+"/capture", []byte("{}"), captureRequestID(o.ID))
	if err != nil {
		return gateway.ChargeResult{Outcome: gateway.Unknown, Reference: o.ID}, err
	}
	if status == http.StatusOK || status == http.StatusCreated {
		var captured order
		if err := json.Unmarshal(body, &captured); err != nil || captured.ID != o.ID {
			return gateway.ChargeResult{Outcome: gateway.Unknown, Reference: o.ID}, gateway.Unavailable(op, errors.New("paypal: unreadable capture answer"))
		}
		return c.result(op, captured)
	}
	e, _ := parseError(body)
	switch e.issue() {
	case "INSTRUMENT_DECLINED", "TRANSACTION_REFUSED", "PAYER_CANNOT_PAY", "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING", "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED", "PAYEE_BLOCKED_TRANSACTION":
		// The funding the shopper chose was refused; nothing was taken.
		return gateway.ChargeResult{Outcome: gateway.Declined, Reference: o.ID, DeclineCode: gateway.DeclineCard, DeclineMessage: "PayPal declined the payment."}, nil
	case "ORDER_ALREADY_CAPTURED", "ORDER_COMPLETION_IN_PROGRESS":
		// Another capture (a Fetch racing this one, with another request
		// id after the first expired) took it: read what it did.
		again, err := c.order(ctx, op, o.ID)
		if err != nil {
			return gateway.ChargeResult{Outcome: gateway.Unknown, Reference: o.ID}, err
		}
		if again.Status == "APPROVED" {
			return gateway.ChargeResult{Outcome: gateway.Pending, Reference: o.ID}, nil
		}
		return c.result(op, again)
	case "ORDER_EXPIRED", "ORDER_NOT_APPROVED":
		return gateway.ChargeResult{Outcome: gateway.Declined, Reference: o.ID, DeclineCode: gateway.DeclineApprovalDeclined, DeclineMessage: "The payment was not approved at PayPal in time."}, nil
	}
	return gateway.ChargeResult{Outcome: gateway.Unknown, Reference: o.ID}, failure(op, status, body)
}

// captureRequestID is the PayPal-Request-Id of the capture of order id.
func captureRequestID(id string) string { return "capture-" + id }

// result maps an order that needs no capture call to a ChargeResult.
func (c *Connector) result(op string, o order) (gateway.ChargeResult, error) {
	res := gateway.ChargeResult{Reference: o.ID}
	unknown := func(why string) (gateway.ChargeResult, error) {
		return gateway.ChargeResult{Outcome: gateway.Unknown, Reference: o.ID}, gateway.Unavailable(op, errors.New("paypal: "+why))
	}
	switch o.Status {
	case "CREATED", "PAYER_ACTION_REQUIRED":
		if created, err := time.Parse(time.RFC3339, o.CreateTime); err == nil && c.now().Sub(created) > ApprovalWindow {
			res.Outcome = gateway.Declined
			res.DeclineCode = gateway.DeclineApprovalDeclined
			res.DeclineMessage = "The payment was not approved at PayPal."
			return res, nil
		}
		res.Outcome = gateway.ActionRequired
		res.RedirectURL = approveLink(o.Links)
		if res.RedirectURL == "" {
			return unknown("order awaiting approval without a payer-action link")
		}
		return res, nil
	case "SAVED", "APPROVED":
		res.Outcome = gateway.Pending
		return res, nil
	case "VOIDED":
		res.Outcome = gateway.Declined
		res.DeclineCode = gateway.DeclineApprovalDeclined
		res.DeclineMessage = "The payment was canceled at PayPal."
		return res, nil
	case "COMPLETED":
	default:
		return unknown("unknown order status " + strconv.Quote(o.Status))
	}
	cp, ok := lastCapture(o)
	if !ok {
		return unknown("completed order without a capture")
	}
	switch cp.Status {
	case "COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED":
		// A refund is a refund's state; the charge stays captured.
		a, ok := fromPayPal(cp.Amount)
		if !ok || a.Minor <= 0 {
			return unknown("capture with an unreadable amount")
		}
		res.Outcome, res.Captured = gateway.Approved, a
	case "PENDING":
		res.Outcome = gateway.Pending
	case "DECLINED", "FAILED":
		res.Outcome = gateway.Declined
		var code string
		if cp.ProcessorResponse != nil {
			code = cp.ProcessorResponse.ResponseCode
		}
		res.DeclineCode, res.DeclineMessage, res.Retryable = declineFor(code)
	default:
		return unknown("unknown capture status " + strconv.Quote(cp.Status))
	}
	return res, nil
}

// approveLink returns the link the shopper approves the order at:
// "payer-action" for orders created with a payment_source, "approve" for
// the others.
func approveLink(links []link) string {
	for _, rel := range []string{"payer-action", "approve"} {
		for _, l := range links {
			if l.Rel == rel {
				if u, err := url.Parse(l.Href); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
					return l.Href
				}
			}
		}
	}
	return ""
}

// lastCapture returns the order's latest capture: sakk's orders have one
// purchase unit, and PayPal lists its captures oldest first.
func lastCapture(o order) (capture, bool) {
	if len(o.PurchaseUnits) != 1 || o.PurchaseUnits[0].Payments == nil || len(o.PurchaseUnits[0].Payments.Captures) == 0 {
		return capture{}, false
	}
	cs := o.PurchaseUnits[0].Payments.Captures
	return cs[len(cs)-1], true
}

// declineFor maps a card processor's response code (PayPal's
// processor_response.response_code) to the contract's decline codes; a
// decline without one (a PayPal balance or bank refused) is a plain
// decline.
func declineFor(code string) (decline, message string, retryable bool) {
	switch code {
	case "5120":
		return gateway.DeclineInsufficientFunds, "The payment was declined for insufficient funds.", false
	case "5400":
		return gateway.DeclineExpiredCard, "The card has expired.", false
	case "5110", "00N7":
		return gateway.DeclineIncorrectCVC, "The card's security code is incorrect.", false
	case "9100", "1360", "9600":
		// DECLINED_PLEASE_RETRY, BAD_RESPONSE_REVERSAL_REQUIRED,
		// UNRECOGNIZED_RESPONSE_CODE: the processor failed, not the card.
		return gateway.DeclineProcessingError, "The payment could not be processed; try again.", true
	}
	return gateway.DeclineCard, "PayPal declined the payment.", false
}

// Refund refunds req.Amount of the capture of the order
// req.PaymentReference, under req.IdempotencyKey. It reads the order first
// to find the capture, and refuses a refund of an order that captured
// nothing or in another currency than the capture's.
func (c *Connector) Refund(ctx context.Context, req gateway.RefundRequest) (gateway.RefundResult, error) {
	const op = "paypal.Refund"
	if err := checkKey(op, req.IdempotencyKey); err != nil {
		return gateway.RefundResult{}, err
	}
	value, err := paypalAmount(op, req.Amount)
	if err != nil {
		return gateway.RefundResult{}, err
	}
	o, err := c.order(ctx, op, req.PaymentReference)
	if err != nil {
		return gateway.RefundResult{}, err
	}
	cp, ok := lastCapture(o)
	if o.Status != "COMPLETED" || !ok || (cp.Status != "COMPLETED" && cp.Status != "PARTIALLY_REFUNDED" && cp.Status != "REFUNDED") || cp.ID == "" {
		return gateway.RefundResult{}, gateway.Invalid(op, gateway.CodeNotCaptured, "the PayPal order has no completed capture to refund", nil)
	}
	if captured, ok := fromPayPal(cp.Amount); !ok || captured.Currency != req.Amount.Currency {
		return gateway.RefundResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "the refund's currency is not the capture's", nil)
	}
	body, err := json.Marshal(map[string]any{"amount": moneyJSON{CurrencyCode: string(req.Amount.Currency), Value: value}})
	if err != nil {
		return gateway.RefundResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "the refund could not be encoded", err)
	}
	status, resp, err := c.call(ctx, op, http.MethodPost, "/v2/payments/captures/"+url.PathEscape(cp.ID)+"/refund", body, req.IdempotencyKey)
	if err != nil {
		return gateway.RefundResult{}, err
	}
	if status != http.StatusOK && status != http.StatusCreated {
		return gateway.RefundResult{}, refundFailure(op, status, resp)
	}
	var r refund
	if err := json.Unmarshal(resp, &r); err != nil || r.ID == "" {
		return gateway.RefundResult{}, gateway.Unavailable(op, errors.New("paypal: unreadable refund"))
	}
	res := gateway.RefundResult{Reference: r.ID}
	switch r.Status {
	case "COMPLETED":
		res.Status = gateway.RefundSucceeded
	case "PENDING":
		res.Status = gateway.RefundPending
	case "CANCELLED", "FAILED":
		res.Status = gateway.RefundFailed
	default:
		return gateway.RefundResult{}, gateway.Unavailable(op, errors.New("paypal: unknown refund status "+strconv.Quote(r.Status)))
	}
	return res, nil
}
