// Package myfatoorah is sakk's gateway.Connector for MyFatoorah, over its
// v2 REST API (Bearer token, JSON bodies, every answer in the envelope
// {IsSuccess, Message, ValidationErrors, Data}). Every MyFatoorah charge is
// off-site: Charge lists the account's payment methods (POST
// /v2/InitiatePayment), creates an invoice for the chosen one (POST
// /v2/ExecutePayment) and answers ActionRequired with its PaymentURL; the
// shopper pays on MyFatoorah's or the card network's page and comes back to
// ChargeRequest.ReturnURL with outcome=success (CallBackUrl) or
// outcome=cancel (ErrorUrl); Fetch reads the invoice (POST
// /v2/GetPaymentStatus, KeyType "InvoiceId"); Refund asks for a refund
// (POST /v2/MakeRefund); ParseWebhook verifies MyFatoorah-Signature and
// then re-reads the invoice.
//
// Plain net/http: MyFatoorah maintains no Go client, and the connector
// needs six endpoints.
//
// # References and statuses
//
// A charge's Reference is MyFatoorah's InvoiceId. GetPaymentStatus
// answers with InvoiceStatus "Pending", "Paid" or "Canceled" and the
// invoice's InvoiceTransactions, each with a TransactionStatus spelt, in
// MyFatoorah's documentation and answers, "InProgress", "Succss" (sic: not
// "Success"), "Failed", "Canceled" or "Authorize". The invoice is "Paid"
// once one transaction is "Succss" (Approved, captured InvoiceValue); a
// "Pending" invoice is read from its latest transaction: none yet is
// ActionRequired (the shopper has not paid), "InProgress" and "Authorize"
// are Pending, "Failed" is Declined (its ErrorCode mapped to the
// contract's decline codes) and "Canceled" is Declined with
// DeclineApprovalDeclined; a "Canceled" invoice is Declined too. Any other
// spelling is not guessed at: it is an unknown outcome, left to the
// reconciler. (Webhooks spell the transaction statuses in capitals:
// "SUCCESS", "FAILED", "CANCELED", "AUTHORIZE"; the connector never acts
// on them, see below.)
//
// # No idempotency keys: how a charge is never made twice
//
// MyFatoorah accepts no idempotency key on any call, so the connector
// makes repeats safe itself:
//
//   - ExecutePayment carries the ChargeRequest's IdempotencyKey (derived
//     from sakk's payment id, "sakk_pay_…") as the invoice's
//     CustomerReference, and the payment id itself as UserDefinedField.
//   - Before creating an invoice, Charge looks the key up with
//     GetPaymentStatus (KeyType "CustomerReference"). If an earlier
//     attempt created one (in this process, in a process that has since
//     restarted, or in a request whose answer was lost), Charge answers
//     with that invoice and creates nothing.
//   - ExecutePayment and MakeRefund are never retried by the connector: a
//     lost answer is gateway.Unavailable (an unknown outcome), and the next
//     Charge with the same key finds the invoice by the lookup above.
//     Only the reads (InitiatePayment, GetPaymentStatus, GetRefundStatus)
//     are retried after a timeout, 5xx, 429 or unreadable body.
//   - Within one process, calls with the same key are serialised, so
//     concurrent repeats see the first one's invoice.
//
// Refunds are made safe the same way: MakeRefund carries the
// RefundRequest's IdempotencyKey as ExternalIdentifier, and Refund first
// lists the invoice's refunds (POST /v2/GetRefundStatus, KeyType
// "InvoiceId") and answers with the one that carries the key, if any.
// MyFatoorah's own advice is that the merchant must not send a refund
// twice; refunds of one charge are serialised within the process, and
// across processes sakk's own refund rows are the guard.
//
// # Currencies and amounts
//
// A MyFatoorah account belongs to one country and has that country's base
// currency (KWD in Kuwait, SAR in Saudi Arabia, …). MyFatoorah can show an
// invoice in another currency, converting at its own rate, and refunds are
// always in the base currency; since sakk must know exactly what was
// captured and refunded, the connector charges only in the account's base
// currency (Capabilities.Currencies has exactly that one), and sessions in
// other currencies are refused when they are created. Amounts are JSON
// numbers in major units with the currency's decimals, rendered from and
// parsed back to integer minor units on digits (amount.go); an amount
// MyFatoorah answers with more non-zero decimals than the currency has is
// an unknown outcome, never rounded.
//
// # Webhooks
//
// ParseWebhook verifies MyFatoorah-Signature (webhook.go) before using
// anything of the body. MyFatoorah's signature covers some fields of the
// Data object, not the raw bytes, and carries no timestamp, so a verified
// notification is a hint: the connector re-reads the invoice with
// GetPaymentStatus and answers with what MyFatoorah says now.
package myfatoorah

import (
	"cmp"
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
	"github.com/sakkhq/sakk/internal/pay"
)

// Limits and defaults.
const (
	maxResponseBytes = 1 << 20 // an invoice with its transactions is a few kB
	maxKeyLen        = 100     // idempotency keys become CustomerReference / ExternalIdentifier
	maxReferenceLen  = 100
	maxURLLen        = 254 // MyFatoorah's limit on CallBackUrl and ErrorUrl
	maxRemembered    = 4096
)

// country is one MyFatoorah country: its base currency and API hosts, as
// MyFatoorah's own libraries list them (mf-config.json).
type country struct {
	currency   money.Currency
	live, test string
}

// testBaseURL is MyFatoorah's test environment, for every country.
const testBaseURL = "https://apitest.myfatoorah.com"

var countries = map[string]country{
	"KWT": {"KWD", "https://api.myfatoorah.com", testBaseURL},
	"SAU": {"SAR", "https://api-sa.myfatoorah.com", testBaseURL},
	"ARE": {"AED", "https://api.myfatoorah.com", testBaseURL},
	"QAT": {"QAR", "https://api-qa.myfatoorah.com", testBaseURL},
	"BHR": {"BHD", "https://api.myfatoorah.com", testBaseURL},
	"OMN": {"OMR", "https://api.myfatoorah.com", testBaseURL},
	"JOR": {"JOD", "https://api.myfatoorah.com", testBaseURL},
	"EGY": {"EGP", "https://api-eg.myfatoorah.com", testBaseURL},
}

// Config configures a Connector: one MyFatoorah account.
type Config struct {
	// Token is the account's API token, sent as "Authorization: Bearer
	// <Token>". Required; never sent anywhere but MyFatoorah.
	Token string
	// Country is the account's country as MyFatoorah names it: "KWT",
	// "SAU", "ARE", "QAT", "BHR", "OMN", "JOR" or "EGY". It decides the
	// base currency, the only one the connector charges in, and the API
	// host. Required.
	Country string
	// Test selects MyFatoorah's test environment when BaseURL is "".
	Test bool
	// WebhookSecret is the webhook secret key of the account's webhook
	// settings. Without it the connector takes no webhooks
	// (Capabilities.Webhooks is false).
	WebhookSecret string
	// BaseURL is the API base; "" means the country's live or test host.
	// Tests point it at a stand-in.
	BaseURL string
	// HTTPClient sends the requests; nil means a client with a 30-second
	// timeout. Its Timeout bounds each attempt; the ctx of each call bounds
	// the whole call, retries included.
	HTTPClient *http.Client
	// MaxRetries is how many times a read that got no usable answer is
	// sent again; 0 means 2, negative means never. Writes are never
	// repeated (see the package comment).
	MaxRetries int
	// Now returns the current time; nil means time.Now. (MyFatoorah's
	// webhooks carry no timestamp to check; Now is kept for symmetry with
	// the other connectors and for future use by tests.)
	Now func() time.Time
}

// Connector is the MyFatoorah gateway.Connector. It is safe for
// concurrent use.
type Connector struct {
	token         string
	currency      money.Currency
	webhookSecret []byte
	base          string
	client        *http.Client
	retries       int
	backoff       time.Duration
	now           func() time.Time
	caps          gateway.Capabilities

	mu    sync.Mutex
	locks map[string]*keyLock
	byKey map[string]*attempt // idempotency key -> invoice it created
	urls  map[string]string   // invoice id -> PaymentURL, while remembered
	order []string            // keys of byKey, oldest first, to bound memory
}

// keyLock serialises calls with one key within the process.
type keyLock struct {
	mu    sync.Mutex
	users int
}

// attempt is what one idempotency key created.
type attempt struct {
	amount    money.Amount
	invoiceID string
}

var _ gateway.Connector = (*Connector)(nil)

// New returns a connector for the account cfg describes. It fails when the
// token or country is missing or malformed, or when BaseURL is not an
// absolute http(s) URL.
func New(cfg Config) (*Connector, error) {
	if cfg.Token == "" || !gateway.Printable(cfg.Token) {
		return nil, errors.New("myfatoorah: Token must be the account's API token")
	}
	ct, ok := countries[cfg.Country]
	if !ok {
		return nil, errors.New("myfatoorah: Country must be one of KWT, SAU, ARE, QAT, BHR, OMN, JOR, EGY")
	}
	base := cfg.BaseURL
	if base == "" {
		base = ct.live
		if cfg.Test {
			base = ct.test
		}
	}
	h, err := gateway.NewHTTP("myfatoorah", base, "", cfg.HTTPClient, cfg.MaxRetries, cfg.Now)
	if err != nil {
		return nil, err
	}
	c := &Connector{
		token:    cfg.Token,
		currency: ct.currency,
		base:     h.Base,
		client:   h.Client,
		retries:  h.Retries,
		backoff:  gateway.DefaultBackoff,
		now:      h.Now,
		locks:    map[string]*keyLock{},
		byKey:    map[string]*attempt{},
		urls:     map[string]string{},
	}
	if cfg.WebhookSecret != "" {
		c.webhookSecret = []byte(cfg.WebhookSecret)
	}
	c.caps = gateway.Capabilities{
		Refunds:        true,
		PartialRefunds: true,
		Redirect:       true,
		Webhooks:       c.webhookSecret != nil,
		StatusFetch:    true,
		Currencies:     []money.Currency{ct.currency},
	}
	return c, nil
}

// Name returns "myfatoorah".
func (c *Connector) Name() string { return "myfatoorah" }

// Capabilities: off-site charges (every charge answers ActionRequired),
// full and partial refunds, status reads, webhooks when a secret is
// configured, in the account's base currency only.
func (c *Connector) Capabilities() gateway.Capabilities {
	caps := c.caps
	caps.Currencies = slices.Clone(caps.Currencies)
	return caps
}

// invoice is the part of GetPaymentStatus's Data sakk reads.
type invoice struct {
	InvoiceID           json.Number   `json:"InvoiceId"`
	InvoiceStatus       string        `json:"InvoiceStatus"` // "Pending", "Paid", "Canceled"
	CustomerReference   string        `json:"CustomerReference"`
	UserDefinedField    string        `json:"UserDefinedField"`
	InvoiceValue        json.Number   `json:"InvoiceValue"`
	InvoiceTransactions []transaction `json:"InvoiceTransactions"`
}

// transaction is one payment attempt on an invoice.
type transaction struct {
	TransactionDate   string `json:"TransactionDate"`
	PaymentID         string `json:"PaymentId"`
	TransactionStatus string `json:"TransactionStatus"` // "InProgress", "Succss", "Failed", "Canceled", "Authorize"
	Error             string `json:"Error"`
	ErrorCode         string `json:"ErrorCode"`
}

// paymentMethod is one entry of InitiatePayment's PaymentMethods.
type paymentMethod struct {
	PaymentMethodID   json.Number `json:"PaymentMethodId"`
	PaymentMethodEn   string      `json:"PaymentMethodEn"`
	PaymentMethodCode string      `json:"PaymentMethodCode"`
	CurrencyIso       string      `json:"CurrencyIso"`
}

// executed is ExecutePayment's Data.
type executed struct {
	InvoiceID  json.Number `json:"InvoiceId"`
	PaymentURL string      `json:"PaymentURL"`
}

// methodCodes maps ChargeRequest.Method to MyFatoorah's PaymentMethodCode
// where the two differ; other methods are taken as codes ("kn" for KNET,
// "md" for mada, …).
var methodCodes = map[string]string{"card": "vm"} // VISA/MASTER

// Charge creates a MyFatoorah invoice for req.Amount with the payment
// method the shopper chose (req.PaymentToken, a PaymentMethodId that
// InitiatePayment offered) or, without one, the method req.Method names
// ("card" is VISA/MASTER), and answers ActionRequired with the invoice's
// PaymentURL. A repeat of req.IdempotencyKey answers with the invoice the
// key already created, read afresh, and creates nothing.
func (c *Connector) Charge(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
	const op = "myfatoorah.Charge"
	if err := checkKey(op, req.IdempotencyKey); err != nil {
		return gateway.ChargeResult{}, err
	}
	value, err := c.decimal(op, req.Amount)
	if err != nil {
		return gateway.ChargeResult{}, err
	}
	if req.PaymentToken != "" && !isDigits(req.PaymentToken) {
		return gateway.ChargeResult{}, gateway.Invalid(op, gateway.CodeInvalidPaymentToken, "the payment token must be a MyFatoorah PaymentMethodId", nil)
	}
	code := req.Method
	if m, ok := methodCodes[code]; ok {
		code = m
	}
	if req.PaymentToken == "" && (code == "" || !gateway.Printable(code)) {
		return gateway.ChargeResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "a payment method is required", nil)
	}
	callback, errorURL, err := returnURLs(req.ReturnURL)
	if err != nil {
		return gateway.ChargeResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, err.Error(), nil)
	}

	unlock := c.lock("charge\x00" + req.IdempotencyKey)
	defer unlock()

	if at := c.remembered(req.IdempotencyKey); at != nil {
		if at.amount != req.Amount {
			return gateway.ChargeResult{Outcome: gateway.Unknown}, gateway.Invalid(op, gateway.CodeIdempotencyKeyReused, "this idempotency key was used with a different amount", nil)
		}
		return c.fetch(ctx, op, at.invoiceID)
	}
	// An earlier attempt with this key may have created an invoice whose
	// answer was lost, or before this process started: find it first.
	inv, found, err := c.lookup(ctx, op, req.IdempotencyKey)
	if err != nil {
		return gateway.ChargeResult{Outcome: gateway.Unknown}, err
	}
	if found {
		got, ok := fromDecimal(inv.InvoiceValue, c.currency)
		if !ok || got != req.Amount {
			return gateway.ChargeResult{Outcome: gateway.Unknown}, gateway.Invalid(op, gateway.CodeIdempotencyKeyReused, "this idempotency key already names an invoice for another amount", nil)
		}
		c.remember(req.IdempotencyKey, &attempt{amount: req.Amount, invoiceID: inv.InvoiceID.String()}, "")
		return c.result(op, inv)
	}

	methodID, err := c.method(ctx, op, value, req.PaymentToken, code)
	if err != nil {
		return gateway.ChargeResult{}, err
	}
	body := map[string]any{
		"PaymentMethodId":    methodID,
		"InvoiceValue":       value,
		"DisplayCurrencyIso": string(c.currency),
		"CallBackUrl":        callback,
		"ErrorUrl":           errorURL,
		"CustomerReference":  req.IdempotencyKey,
		"Language":           "en",
	}
	if req.PaymentID != "" {
		body["UserDefinedField"] = req.PaymentID
	}
	if req.Customer.Email != "" {
		body["CustomerEmail"] = req.Customer.Email
	}
	a, err := c.call(ctx, op, "/v2/ExecutePayment", body, false)
	if err != nil {
		return gateway.ChargeResult{Outcome: gateway.Unknown}, err
	}
	if !a.ok() {
		if a.refused() {
			// Refused with its reasons: no invoice was created.
			return gateway.ChargeResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "MyFatoorah refused the payment", a.cause())
		}
		return gateway.ChargeResult{Outcome: gateway.Unknown}, failure(op, a)
	}
	var ex executed
	if err := decodeData(a, &ex); err != nil || !isDigits(ex.InvoiceID.String()) || !validLink(ex.PaymentURL) {
		// The invoice may exist: the next Charge finds it by the lookup.
		return gateway.ChargeResult{Outcome: gateway.Unknown}, gateway.Unavailable(op, errors.New("myfatoorah: unreadable ExecutePayment answer"))
	}
	id := ex.InvoiceID.String()
	c.remember(req.IdempotencyKey, &attempt{amount: req.Amount, invoiceID: id}, ex.PaymentURL)
	return gateway.ChargeResult{Outcome: gateway.ActionRequired, Reference: id, RedirectURL: ex.PaymentURL}, nil
}

// method asks InitiatePayment for the methods the account offers for the
// amount and returns the PaymentMethodId to execute: token's, when the
// shopper chose one, else the one whose PaymentMethodCode is code.
func (c *Connector) method(ctx context.Context, op string, value json.Number, token, code string) (json.Number, error) {
	a, err := c.call(ctx, op, "/v2/InitiatePayment", map[string]any{"InvoiceAmount": value, "CurrencyIso": string(c.currency)}, true)
	if err != nil {
		return "", err
	}
	if !a.ok() {
		return "", failure(op, a)
	}
	var data struct {
		PaymentMethods []paymentMethod `json:"PaymentMethods"`
	}
	if err := decodeData(a, &data); err != nil {
		return "", gateway.Unavailable(op, errors.New("myfatoorah: unreadable InitiatePayment answer"))
	}
	for _, m := range data.PaymentMethods {
		switch {
		case token != "" && m.PaymentMethodID.String() == token:
			return m.PaymentMethodID, nil
		case token == "" && strings.EqualFold(m.PaymentMethodCode, code):
			return m.PaymentMethodID, nil
		}
	}
	if token != "" {
		return "", gateway.Invalid(op, gateway.CodeInvalidPaymentToken, "the chosen payment method is not offered for this payment", nil)
	}
	return "", gateway.Invalid(op, gateway.CodeInvalidRequest, "the merchant's MyFatoorah account does not offer the payment method "+strconv.Quote(code), nil)
}

// Fetch reads the invoice req.Reference with GetPaymentStatus.
func (c *Connector) Fetch(ctx context.Context, req gateway.FetchRequest) (gateway.ChargeResult, error) {
	const op = "myfatoorah.Fetch"
	if err := checkReference(op, req.Reference); err != nil {
		return gateway.ChargeResult{}, err
	}
	return c.fetch(ctx, op, req.Reference)
}

func (c *Connector) fetch(ctx context.Context, op, id string) (gateway.ChargeResult, error) {
	inv, err := c.status(ctx, op, "InvoiceId", id)
	if err != nil {
		return gateway.ChargeResult{Outcome: gateway.Unknown}, err
	}
	return c.result(op, inv)
}

// status reads one invoice by key. MyFatoorah's refusal of a lookup
// (IsSuccess false with a 4xx) means it has no such invoice: NotFound.
func (c *Connector) status(ctx context.Context, op, keyType, key string) (invoice, error) {
	a, err := c.call(ctx, op, "/v2/GetPaymentStatus", map[string]string{"Key": key, "KeyType": keyType}, true)
	if err != nil {
		return invoice{}, err
	}
	if !a.ok() {
		if a.refused() {
			return invoice{}, gateway.NotFound(op, "MyFatoorah has no such invoice")
		}
		return invoice{}, failure(op, a)
	}
	var inv invoice
	if err := decodeData(a, &inv); err != nil || !isDigits(inv.InvoiceID.String()) {
		return invoice{}, gateway.Unavailable(op, errors.New("myfatoorah: unreadable GetPaymentStatus answer"))
	}
	if keyType == "InvoiceId" && inv.InvoiceID.String() != key {
		return invoice{}, gateway.Unavailable(op, errors.New("myfatoorah: GetPaymentStatus answered about another invoice"))
	}
	return inv, nil
}

// lookup finds the invoice an idempotency key created, by its
// CustomerReference.
func (c *Connector) lookup(ctx context.Context, op, key string) (invoice, bool, error) {
	inv, err := c.status(ctx, op, "CustomerReference", key)
	switch {
	case err == nil && inv.CustomerReference != key:
		return invoice{}, false, gateway.Unavailable(op, errors.New("myfatoorah: GetPaymentStatus by CustomerReference answered about another invoice"))
	case err == nil:
		return inv, true, nil
	case pay.KindOf(err) == pay.NotFound:
		return invoice{}, false, nil
	}
	return invoice{}, false, err
}

// result turns an invoice into the contract's ChargeResult.
func (c *Connector) result(op string, inv invoice) (gateway.ChargeResult, error) {
	id := inv.InvoiceID.String()
	res := gateway.ChargeResult{Reference: id}
	switch inv.InvoiceStatus {
	case "Paid":
		got, ok := fromDecimal(inv.InvoiceValue, c.currency)
		if !ok || got.Minor <= 0 {
			// Paid, but for an amount sakk cannot read exactly: leave it
			// to the reconciler rather than record a wrong amount.
			return gateway.ChargeResult{Outcome: gateway.Unknown, Reference: id}, gateway.Unavailable(op, errors.New("myfatoorah: paid invoice with unreadable InvoiceValue "+strconv.Quote(inv.InvoiceValue.String())))
		}
		res.Outcome = gateway.Approved
		res.Captured = got
		return res, nil
	case "Canceled":
		res.Outcome = gateway.Declined
		res.DeclineCode = gateway.DeclineApprovalDeclined
		res.DeclineMessage = "The payment was canceled."
		return res, nil
	case "Pending":
	default:
		return gateway.ChargeResult{Outcome: gateway.Unknown, Reference: id}, gateway.Unavailable(op, errors.New("myfatoorah: unknown InvoiceStatus "+strconv.Quote(inv.InvoiceStatus)))
	}
	last, ok := latest(inv.InvoiceTransactions)
	if !ok {
		// Nobody has paid yet: the shopper still has to act at the
		// PaymentURL, when this process remembers it.
		if u := c.paymentURL(id); u != "" {
			res.Outcome = gateway.ActionRequired
			res.RedirectURL = u
		} else {
			res.Outcome = gateway.Pending
		}
		return res, nil
	}
	switch last.TransactionStatus {
	case "InProgress", "Authorize", "Succss":
		// Succss on an invoice that is not yet Paid: MyFatoorah has not
		// finished recording it; read again later.
		res.Outcome = gateway.Pending
	case "Failed":
		return declined(id, last), nil
	case "Canceled":
		res.Outcome = gateway.Declined
		res.DeclineCode = gateway.DeclineApprovalDeclined
		res.DeclineMessage = "The payment was canceled."
	default:
		return gateway.ChargeResult{Outcome: gateway.Unknown, Reference: id}, gateway.Unavailable(op, errors.New("myfatoorah: unknown TransactionStatus "+strconv.Quote(last.TransactionStatus)))
	}
	return res, nil
}

// latest returns the invoice's most recent transaction: MyFatoorah's
// TransactionDate is ISO 8601 without zone, so the text orders as the
// time does; ties keep MyFatoorah's order.
func latest(ts []transaction) (transaction, bool) {
	if len(ts) == 0 {
		return transaction{}, false
	}
	s := slices.Clone(ts)
	slices.SortStableFunc(s, func(a, b transaction) int { return cmp.Compare(a.TransactionDate, b.TransactionDate) })
	return s[len(s)-1], true
}

// declineCodes maps MyFatoorah's transaction ErrorCode to the contract's
// decline codes, with whether a new attempt may succeed. The codes are
// MyFatoorah's "MF0xx" payment error codes; a code not listed is kept as
// MyFatoorah sent it.
var declineCodes = map[string]struct {
	code      string
	retryable bool
}{
	"MF001": {gateway.DeclineAuthenticationFailed, false}, // 3-D Secure authentication failed
	"MF002": {gateway.DeclineCard, false},                 // declined by the issuer
	"MF003": {gateway.DeclineCard, false},                 // blocked by the issuer or for fraud
	"MF004": {gateway.DeclineInsufficientFunds, false},
	"MF005": {gateway.DeclineApprovalDeclined, false}, // the payment session timed out
	"MF006": {gateway.DeclineApprovalDeclined, false}, // canceled by the shopper
	"MF007": {gateway.DeclineExpiredCard, false},
	"MF008": {gateway.DeclineProcessingError, true}, // the issuer did not answer
	"MF009": {gateway.DeclineCard, false},           // denied by risk checks
	"MF010": {gateway.DeclineIncorrectCVC, false},
	"MF020": {gateway.DeclineProcessingError, true}, // unspecified failure
}

// declined maps a failed transaction to a Declined result. MyFatoorah's
// Error text is for the merchant, so the shopper's message is sakk's own.
func declined(id string, t transaction) gateway.ChargeResult {
	res := gateway.ChargeResult{Outcome: gateway.Declined, Reference: id, DeclineCode: gateway.DeclineCard}
	if d, ok := declineCodes[strings.ToUpper(t.ErrorCode)]; ok {
		res.DeclineCode, res.Retryable = d.code, d.retryable
	} else if t.ErrorCode != "" && gateway.Printable(t.ErrorCode) {
		res.DeclineCode = t.ErrorCode
	}
	switch res.DeclineCode {
	case gateway.DeclineInsufficientFunds:
		res.DeclineMessage = "The card has insufficient funds."
	case gateway.DeclineAuthenticationFailed:
		res.DeclineMessage = "The card could not be authenticated."
	case gateway.DeclineProcessingError:
		res.DeclineMessage = "The card could not be charged; try again."
	case gateway.DeclineApprovalDeclined:
		res.DeclineMessage = "The payment was canceled."
	case gateway.DeclineExpiredCard:
		res.DeclineMessage = "The card has expired."
	case gateway.DeclineIncorrectCVC:
		res.DeclineMessage = "The card's security code is incorrect."
	default:
		res.DeclineMessage = "The card was declined."
	}
	return res
}

// refundStatus is one entry of GetRefundStatus's RefundStatusResult.
type refundStatus struct {
	RefundID           json.Number `json:"RefundId"`
	RefundStatus       string      `json:"RefundStatus"` // "Refunded", "Canceled", "Pending"
	InvoiceID          json.Number `json:"InvoiceId"`
	Amount             json.Number `json:"Amount"`
	RefundReference    string      `json:"RefundReference"`
	ExternalIdentifier string      `json:"ExternalIdentifier"`
}

// Refund asks MyFatoorah to refund req.Amount of the invoice
// req.PaymentReference (MakeRefund, KeyType "InvoiceId",
// ServiceChargeOnCustomer false). MyFatoorah's finance team executes
// refund requests later, so a new refund is RefundPending. The invoice
// must be Paid, and the refunds already asked for (all but "Canceled"
// ones) plus this one must not exceed what it captured; a refund that
// already carries req.IdempotencyKey is answered without asking again.
func (c *Connector) Refund(ctx context.Context, req gateway.RefundRequest) (gateway.RefundResult, error) {
	const op = "myfatoorah.Refund"
	if err := checkKey(op, req.IdempotencyKey); err != nil {
		return gateway.RefundResult{}, err
	}
	value, err := c.decimal(op, req.Amount)
	if err != nil {
		return gateway.RefundResult{}, err
	}
	if err := checkReference(op, req.PaymentReference); err != nil {
		return gateway.RefundResult{}, err
	}
	// One refund of a charge at a time in this process, so that the sum
	// below cannot be raced by another refund of the same charge.
	unlock := c.lock("refund\x00" + req.PaymentReference)
	defer unlock()

	inv, err := c.status(ctx, op, "InvoiceId", req.PaymentReference)
	if err != nil {
		return gateway.RefundResult{}, err
	}
	if inv.InvoiceStatus != "Paid" {
		return gateway.RefundResult{}, gateway.Invalid(op, gateway.CodeNotCaptured, "the charge took no money to refund", nil)
	}
	captured, ok := fromDecimal(inv.InvoiceValue, c.currency)
	if !ok {
		return gateway.RefundResult{}, gateway.Unavailable(op, errors.New("myfatoorah: paid invoice with unreadable InvoiceValue"))
	}
	refunds, err := c.refunds(ctx, op, req.PaymentReference)
	if err != nil {
		return gateway.RefundResult{}, err
	}
	var asked int64
	for _, r := range refunds {
		got, ok := fromDecimal(r.Amount, c.currency)
		if !ok {
			return gateway.RefundResult{}, gateway.Unavailable(op, errors.New("myfatoorah: refund with unreadable Amount"))
		}
		if r.ExternalIdentifier == req.IdempotencyKey {
			if got != req.Amount {
				return gateway.RefundResult{}, gateway.Invalid(op, gateway.CodeIdempotencyKeyReused, "this idempotency key was used for a refund of another amount", nil)
			}
			return refundResult(op, r)
		}
		if r.RefundStatus != "Canceled" {
			asked += got.Minor
		}
	}
	if asked+req.Amount.Minor > captured.Minor {
		return gateway.RefundResult{}, gateway.Invalid(op, gateway.CodeRefundExceedsCaptured, "the refund is more than is left to refund", nil)
	}
	body := map[string]any{
		"KeyType":                 "InvoiceId",
		"Key":                     req.PaymentReference,
		"Amount":                  value,
		"ServiceChargeOnCustomer": false,
		"Comment":                 "sakk refund " + req.IdempotencyKey,
		"ExternalIdentifier":      req.IdempotencyKey,
	}
	a, err := c.call(ctx, op, "/v2/MakeRefund", body, false)
	if err != nil {
		return gateway.RefundResult{}, err
	}
	if !a.ok() {
		if a.refused() {
			return gateway.RefundResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "MyFatoorah refused the refund", a.cause())
		}
		return gateway.RefundResult{}, failure(op, a)
	}
	var made struct {
		RefundID json.Number `json:"RefundId"`
	}
	if err := decodeData(a, &made); err != nil || !isDigits(made.RefundID.String()) {
		return gateway.RefundResult{}, gateway.Unavailable(op, errors.New("myfatoorah: unreadable MakeRefund answer"))
	}
	return gateway.RefundResult{Reference: made.RefundID.String(), Status: gateway.RefundPending}, nil
}

// refunds lists the refunds of an invoice. An invoice without refunds may
// be answered with an empty list or refused; both mean none.
func (c *Connector) refunds(ctx context.Context, op, id string) ([]refundStatus, error) {
	a, err := c.call(ctx, op, "/v2/GetRefundStatus", map[string]string{"Key": id, "KeyType": "InvoiceId"}, true)
	if err != nil {
		return nil, err
	}
	if !a.ok() {
		if a.refused() {
			return nil, nil
		}
		return nil, failure(op, a)
	}
	var data struct {
		RefundStatusResult []refundStatus `json:"RefundStatusResult"`
	}
	if err := decodeData(a, &data); err != nil {
		return nil, gateway.Unavailable(op, errors.New("myfatoorah: unreadable GetRefundStatus answer"))
	}
	return data.RefundStatusResult, nil
}

func refundResult(op string, r refundStatus) (gateway.RefundResult, error) {
	res := gateway.RefundResult{Reference: r.RefundID.String()}
	switch r.RefundStatus {
	case "Refunded":
		res.Status = gateway.RefundSucceeded
	case "Pending":
		res.Status = gateway.RefundPending
	case "Canceled":
		res.Status = gateway.RefundFailed
	default:
		return gateway.RefundResult{}, gateway.Unavailable(op, errors.New("myfatoorah: unknown RefundStatus "+strconv.Quote(r.RefundStatus)))
	}
	return res, nil
}

// checkKey refuses a missing or over-long idempotency key.
func checkKey(op, key string) error {
	if key == "" || len(key) > maxKeyLen || !gateway.Printable(key) {
		return gateway.Invalid(op, gateway.CodeInvalidRequest, "an idempotency key of 1 to 100 visible characters is required", nil)
	}
	return nil
}

// checkReference refuses what cannot be a MyFatoorah reference.
func checkReference(op, ref string) error {
	if ref == "" || len(ref) > maxReferenceLen || !gateway.Printable(ref) {
		return gateway.Invalid(op, gateway.CodeInvalidRequest, "no valid charge reference", nil)
	}
	return nil
}

// decimal checks a and renders it as MyFatoorah's amount.
func (c *Connector) decimal(op string, a money.Amount) (json.Number, error) {
	if !c.caps.Supports(a.Currency) {
		return "", gateway.Invalid(op, gateway.CodeCurrencyNotSupported, "this MyFatoorah account charges in "+string(c.currency)+" only", nil)
	}
	if a.Minor <= 0 {
		return "", gateway.Invalid(op, gateway.CodeInvalidRequest, "the amount must be positive", nil)
	}
	v, ok := toDecimal(a)
	if !ok {
		return "", gateway.Invalid(op, gateway.CodeAmountNotRepresentable, "MyFatoorah cannot carry the amount "+a.String()+" exactly", nil)
	}
	return v, nil
}

// returnURLs derives CallBackUrl and ErrorUrl from ChargeRequest.ReturnURL.
func returnURLs(ret string) (callback, errorURL string, err error) {
	u, err := url.Parse(ret)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", "", errors.New("ReturnURL must be an absolute http(s) URL")
	}
	with := func(outcome string) string {
		v := *u
		q := v.Query()
		q.Set("outcome", outcome)
		v.RawQuery = q.Encode()
		return v.String()
	}
	callback, errorURL = with("success"), with("cancel")
	if len(callback) > maxURLLen || len(errorURL) > maxURLLen {
		return "", "", errors.New("ReturnURL is too long for MyFatoorah (254 characters)")
	}
	return callback, errorURL, nil
}

// validLink reports whether s is an absolute http(s) URL.
func validLink(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

func isDigits(s string) bool {
	if s == "" || len(s) > maxReferenceLen {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// lock takes the in-process lock of name and returns its release.
func (c *Connector) lock(name string) func() {
	c.mu.Lock()
	l := c.locks[name]
	if l == nil {
		l = &keyLock{}
		c.locks[name] = l
	}
	l.users++
	c.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		c.mu.Lock()
		if l.users--; l.users == 0 {
			delete(c.locks, name)
		}
		c.mu.Unlock()
	}
}

// remembered returns what key created, if this process remembers it.
func (c *Connector) remembered(key string) *attempt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byKey[key]
}

// remember records what key created (and the PaymentURL, when known), so
// that a repeat needs no lookup and Fetch can send the shopper back to
// the payment page. Memory is bounded: the oldest entries are forgotten,
// after which a repeat falls back to the lookup by CustomerReference.
func (c *Connector) remember(key string, at *attempt, paymentURL string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[key]; !ok {
		c.order = append(c.order, key)
	}
	c.byKey[key] = at
	if paymentURL != "" {
		c.urls[at.invoiceID] = paymentURL
	}
	for len(c.order) > maxRemembered {
		old := c.order[0]
		c.order = c.order[1:]
		if o := c.byKey[old]; o != nil {
			delete(c.urls, o.invoiceID)
		}
		delete(c.byKey, old)
	}
}

// paymentURL returns the remembered PaymentURL of invoice id, or "".
func (c *Connector) paymentURL(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.urls[id]
}
