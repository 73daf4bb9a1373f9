package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/ratelimit"
	"github.com/sakkhq/sakk/internal/textrule"
	"github.com/sakkhq/sakk/internal/token"
)

// The Checkout API (SURFACES.md §1): a merchant's backend opens sessions
// with its secret key in X-API-Key and verifies transactions. Its field
// names, codes and error body are the contract its integrations were
// written against.

// maxBody bounds every JSON request body. A session of MaxItems long
// items fits well within it.
const maxBody = 1 << 20

// checkoutError writes the surface's error body,
// {"error":{"code":"INVALID_AMOUNT","message":"..."}}, with what the
// AlyaPay shop plugins read beside it (docs/compat.md): the message at the
// top level (WooCommerce), and for errors with one of the vendor's
// numeric business codes, {"key", "code", "parameters"} (Magento,
// PrestaShop). Clients of the seed read error.code and are unaffected.
func (a *api) checkoutError(w http.ResponseWriter, r *http.Request, err error) {
	status, code := statusOf(err), checkoutCode(err)
	msg := pay.MessageOf(err)
	if status == http.StatusInternalServerError || msg == "" {
		a.log.ErrorContext(r.Context(), "checkout api", "err", err)
		msg = "internal error"
	}
	body := checkoutErrorBody{Error: checkoutErrorOut{Code: code, Message: msg, Field: fieldOf(err)}, Message: msg}
	if n, ok := businessCodes[pay.CodeOf(err)]; ok {
		body.Key, body.Code, body.Parameters = code, n, map[string]string{}
	}
	writeJSON(w, status, body)
}

type checkoutErrorBody struct {
	Error      checkoutErrorOut  `json:"error"`
	Message    string            `json:"message"`
	Key        string            `json:"key,omitempty"`
	Code       int               `json:"code,omitempty"`
	Parameters map[string]string `json:"parameters,omitempty"`
}

type checkoutErrorOut struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"` // on INVALID_TEXT: the field at fault
}

// checkoutCode spells an error's code the way the Checkout API does.
func checkoutCode(err error) string {
	switch code := pay.CodeOf(err); code {
	case "invalid_key":
		return "INVALID_API_KEY"
	case "invalid_token":
		return "INVALID_SESSION_TOKEN"
	case "":
		if pay.KindOf(err) == pay.Internal {
			return "INTERNAL_ERROR"
		}
		return strings.ToUpper(pay.KindOf(err).String())
	default:
		return strings.ToUpper(code)
	}
}

// sessionIn is the body of POST /api/v1/public/sessions and of
// session-intents. Fields stay raw until each is checked for its own type,
// so a wrong type gets that field's own error code.
type sessionIn struct {
	Total                json.RawMessage `json:"total"`
	Currency             json.RawMessage `json:"currency"`
	Items                json.RawMessage `json:"items"`
	VendorReference      string          `json:"vendor_reference"`
	VendorReferenceCamel string          `json:"vendorReference"`
	Metadata             json.RawMessage `json:"metadata"`
	ReturnURL            string          `json:"return_url"`
	CancelURL            string          `json:"cancel_url"`
	RedirectURL          string          `json:"redirect_url"`
	CustomerPhone        string          `json:"customer_phone"`
	CustomerEmail        string          `json:"customer_email"`
}

type itemIn struct {
	ID       json.RawMessage `json:"id"`
	Name     json.RawMessage `json:"name"`
	Price    json.RawMessage `json:"price"`
	Quantity json.RawMessage `json:"quantity"`
}

func invalid(code, format string, args ...any) error {
	return pay.Errorf(pay.Invalid, code, format, args...)
}

// readJSON decodes a bounded JSON body into dst, numbers kept as text,
// and checks its every string against the text rule. It answers the raw
// bytes too, for idempotency hashing.
func readJSON(w http.ResponseWriter, r *http.Request, dst any) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &pay.Error{Kind: pay.Invalid, Code: "request_too_large", Message: fmt.Sprintf("the request body is larger than %d bytes", maxBody)}
	}
	if err != nil {
		return nil, invalid("invalid_request", "cannot read the request body")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return nil, invalid("invalid_request", "the body is not a valid JSON object: %v", jsonProblem(err))
	}
	if dec.More() {
		return nil, invalid("invalid_request", "the body holds more than one JSON value")
	}
	// The one place every JSON body meets the text rule (textrule.go).
	if p := textrule.JSON(body, bodyText); p != nil {
		return nil, textError(p)
	}
	return body, nil
}

// jsonProblem describes a decoding error without echoing Go types.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Sprintf("field %q has the wrong type", typeErr.Field)
	}
	return err.Error()
}

// jsonString reads a JSON string.
func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	raw = bytes.TrimSpace(raw)
	return s, len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil
}

// jsonNumber reads a JSON number as its exact text. The body was already
// decoded once, so a raw token starting like a number is a valid one.
func jsonNumber(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	return string(raw), len(raw) > 0 && (raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9')
}

// jsonDecimal reads an amount sent as a string ("1799.00") or a number
// (1799): integrations differ, and both are parsed exactly.
func jsonDecimal(raw json.RawMessage) (string, bool) {
	if s, ok := jsonString(raw); ok {
		return s, true
	}
	return jsonNumber(raw)
}

// parseSession turns the wire body into a checkout request, with the
// Checkout API's codes for each kind of mistake.
func parseSession(in sessionIn) (checkout.NewSession, error) {
	var req checkout.NewSession
	code, ok := jsonString(in.Currency)
	if !ok || code == "" {
		return req, invalid(checkout.CodeInvalidCurrency, "currency is required: an ISO 4217 code such as MAD")
	}
	cur := money.Currency(code)
	if _, known := money.Lookup(code); !known {
		return req, invalid(checkout.CodeInvalidCurrency, "%q is not a supported currency code", code)
	}
	total, ok := jsonDecimal(in.Total)
	if !ok {
		return req, invalid(checkout.CodeInvalidAmount, `total is required, as a decimal string such as "1799.00"`)
	}
	amount, err := money.Parse(total, cur)
	if err != nil {
		return req, invalid(checkout.CodeInvalidAmount, "total: %v", strings.TrimPrefix(err.Error(), "money: "))
	}
	if !amount.IsPositive() {
		return req, invalid(checkout.CodeInvalidAmount, "total must be greater than 0")
	}
	items, err := parseItems(in.Items, cur)
	if err != nil {
		return req, err
	}
	var metadata []byte
	if m := bytes.TrimSpace(in.Metadata); len(m) > 0 && string(m) != "null" {
		if m[0] != '{' {
			return req, invalid("invalid_metadata", "metadata must be a JSON object")
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, m); err != nil {
			return req, invalid("invalid_metadata", "metadata must be a JSON object")
		}
		metadata = compact.Bytes()
	}
	vendorRef := in.VendorReference
	if vendorRef == "" {
		vendorRef = in.VendorReferenceCamel
	}
	return checkout.NewSession{
		Currency: cur, Total: amount, Items: items, VendorReference: vendorRef, Metadata: metadata,
		ReturnURL: in.ReturnURL, CancelURL: in.CancelURL, RedirectURL: in.RedirectURL,
		CustomerEmail: in.CustomerEmail, CustomerPhone: in.CustomerPhone,
	}, nil
}

func parseItems(raw json.RawMessage, cur money.Currency) ([]pay.Item, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		return nil, invalid(checkout.CodeInvalidItems, "items is required: a non-empty array of {id, name, price, quantity}")
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, invalid(checkout.CodeInvalidItems, "items must be an array of objects")
	}
	if len(list) == 0 {
		return nil, invalid(checkout.CodeInvalidItems, "items must hold at least one item")
	}
	if len(list) > checkout.MaxItems {
		return nil, invalid(checkout.CodeInvalidItems, "items may hold at most %d items", checkout.MaxItems)
	}
	items := make([]pay.Item, len(list))
	for i, el := range list {
		bad := func(format string, args ...any) error {
			return invalid(checkout.CodeInvalidItems, "items[%d]: %s", i, fmt.Sprintf(format, args...))
		}
		var in itemIn
		if el = bytes.TrimSpace(el); len(el) == 0 || el[0] != '{' || json.Unmarshal(el, &in) != nil {
			return nil, bad("must be an object {id, name, price, quantity}")
		}
		id, ok := jsonDecimal(in.ID)
		if !ok {
			return nil, bad("id is required, as a string")
		}
		name, ok := jsonString(in.Name)
		if !ok {
			return nil, bad("name is required, as a string")
		}
		price, ok := jsonDecimal(in.Price)
		if !ok {
			return nil, bad("price is required, as a number such as 1799 or 12.50")
		}
		unit, err := money.Parse(price, cur)
		if err != nil {
			return nil, bad("price: %s", strings.TrimPrefix(err.Error(), "money: "))
		}
		qtyText, ok := jsonNumber(in.Quantity)
		if !ok {
			return nil, bad("quantity is required, as a whole number")
		}
		qty, err := strconv.ParseInt(qtyText, 10, 64)
		if err != nil || qty < 1 || qty > checkout.MaxQuantity {
			return nil, bad("quantity must be a whole number from 1 to %d, not %s", checkout.MaxQuantity, qtyText)
		}
		items[i] = pay.Item{Reference: id, Name: name, UnitPrice: unit, Quantity: qty}
	}
	return items, nil
}

// createSession is POST /api/v1/public/sessions.
func (a *api) createSession(w http.ResponseWriter, r *http.Request) {
	a.openSession(w, r, nil, func(o checkout.Opened) any {
		return sessionOut{Token: o.Token, ExpiresIn: int(checkout.SessionTTL / time.Second), SessionID: o.Session.ID}
	})
}

// sessionOut is the answer to POST /api/v1/public/sessions. (Structs,
// not maps, on the hot paths: encoding a map sorts its keys by reflection
// on every request.)
type sessionOut struct {
	Token     string `json:"session_token"`
	ExpiresIn int    `json:"expires_in"`
	SessionID string `json:"session_id"`
}

// createSessionIntent is POST /api/v1/public/session-intents: the hosted
// redirect flow, where the shop sends the buyer to checkout_url.
func (a *api) createSessionIntent(w http.ResponseWriter, r *http.Request) {
	a.openSession(w, r, a.intentRules, func(o checkout.Opened) any {
		return map[string]any{
			"payment_intent_id": o.Session.ID,
			"checkout_token":    o.Token,
			"checkout_url":      o.CheckoutURL,
			"expires_in":        int(o.Session.ExpiresAt.Sub(o.Session.CreatedAt) / time.Second),
		}
	})
}

// openSession serves both session routes; rules, when set, adjusts the
// body and vets the request for one of them (intentRules).
func (a *api) openSession(w http.ResponseWriter, r *http.Request, rules func(*http.Request, *sessionIn) func(*checkout.NewSession) error, shape func(checkout.Opened) any) {
	key, err := a.secretKey(r)
	if err != nil {
		a.checkoutError(w, r, err)
		return
	}
	if !a.allow(w, r, key) {
		return
	}
	var in sessionIn
	body, err := readJSON(w, r, &in)
	if err != nil {
		a.checkoutError(w, r, err)
		return
	}
	var vet func(*checkout.NewSession) error
	if rules != nil {
		vet = rules(r, &in)
	}
	req, err := parseSession(in)
	req.ApplicationID, req.Environment = key.ApplicationID, key.Environment
	if err == nil && vet != nil {
		err = vet(&req)
	}
	if err != nil {
		a.checkoutError(w, r, err)
		return
	}
	idem, err := idempotency(r, body)
	if err != nil {
		a.checkoutError(w, r, err)
		return
	}
	resp, err := a.checkout.OpenSession(r.Context(), req, idem, func(o checkout.Opened) (checkout.Response, error) {
		b, err := json.Marshal(shape(o))
		return checkout.Response{Status: http.StatusOK, Body: b}, err
	})
	if err != nil {
		a.checkoutError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.Status)
	w.Write(resp.Body)
}

// secretKey authenticates the X-API-Key header.
func (a *api) secretKey(r *http.Request) (pay.APIKey, error) {
	text := r.Header.Get("X-API-Key")
	if text == "" {
		return pay.APIKey{}, pay.Errorf(pay.Unauthenticated, "invalid_key", "X-API-Key is missing")
	}
	return a.merchant.Authenticate(r.Context(), text, pay.SecretKey)
}

// allow applies the key's rate limit, writing the RateLimit-* headers,
// and answers 429 when it is spent.
func (a *api) allow(w http.ResponseWriter, r *http.Request, key pay.APIKey) bool {
	return a.allowIn(w, r, key, "checkout:")
}

// allowIn is allow over the key's allowance in one bucket: "checkout:"
// for sessions, "partner:" for the partner surface's writes.
func (a *api) allowIn(w http.ResponseWriter, r *http.Request, key pay.APIKey, bucket string) bool {
	limit := a.rateLimit
	if app, err := a.checkout.Application(r.Context(), key.ApplicationID); err == nil && app.RateLimit > 0 {
		limit = app.RateLimit
	}
	d, err := a.limiter.Allow(r.Context(), bucket+key.ID, limit, a.rateWindow)
	if err != nil {
		// Fail closed: a request we cannot count is one we cannot allow.
		a.checkoutError(w, r, fmt.Errorf("rate limit: %w", err))
		return false
	}
	ratelimit.SetHeaders(w.Header(), d)
	if !d.Allowed {
		a.checkoutError(w, r, pay.Errorf(pay.RateLimited, "rate_limit_exceeded",
			"too many requests: at most %d per %v for this key", d.Limit, a.rateWindow))
	}
	return d.Allowed
}

// transactionStatus is GET /api/v1/public/transactions/{transaction_id}/status,
// with the session token of step 1 (X-Session-Token) or the secret key.
func (a *api) transactionStatus(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("transaction_id")
	var appID, onlySession string
	var env pay.Environment
	if tok := r.Header.Get("X-Session-Token"); tok != "" || r.Header.Get("X-API-Key") == "" {
		if tok == "" {
			a.checkoutError(w, r, pay.Errorf(pay.Unauthenticated, "invalid_token", "X-Session-Token is missing"))
			return
		}
		c, err := a.tokens.Verify(r.Context(), tok, token.TypeSession)
		if err != nil {
			a.checkoutError(w, r, err)
			return
		}
		appID, env, onlySession = c.ApplicationID, c.Environment, c.SessionID
	} else {
		key, err := a.secretKey(r)
		if err != nil {
			a.checkoutError(w, r, err)
			return
		}
		appID, env = key.ApplicationID, key.Environment
	}
	t, err := a.checkout.Transaction(r.Context(), appID, env, id, onlySession)
	if pay.KindOf(err) == pay.NotFound && onlySession == "" && a.partner != nil {
		// A partner transaction, read with the key (partnerapi.go).
		if v, perr := a.partner.Transaction(r.Context(), appID, env, id); perr == nil {
			writeJSON(w, http.StatusOK, partnerStatus(v))
			return
		}
	}
	if err != nil {
		a.checkoutError(w, r, err)
		return
	}
	amount, status, created, updated := t.Session.Amount, checkoutStatus(t), t.Session.CreatedAt, t.Session.UpdatedAt
	if t.Payment != nil {
		amount, created, updated = t.Payment.Amount, t.Payment.CreatedAt, t.Payment.UpdatedAt
	}
	writeJSON(w, http.StatusOK, statusOut{
		Amount:          json.RawMessage(money.Format(amount)),
		CreatedAt:       created.UTC().Format(checkoutTimeLayout),
		Currency:        string(amount.Currency),
		CustomerPhone:   t.Session.Customer.Phone,
		MerchantName:    t.MerchantName,
		PaymentIntentID: t.Session.ID,
		Status:          status,
		StoreName:       t.StoreName,
		TransactionID:   t.ID(),
		UpdatedAt:       updated.UTC().Format(checkoutTimeLayout),
	})
}

// statusOut is the answer to a transaction status read.
type statusOut struct {
	Amount          json.RawMessage `json:"amount"` // a JSON number with the currency's decimals: 1799.00
	CreatedAt       string          `json:"created_at"`
	Currency        string          `json:"currency"`
	CustomerPhone   string          `json:"customer_phone"`
	MerchantName    string          `json:"merchant_name"`
	PaymentIntentID string          `json:"payment_intent_id"`
	Status          string          `json:"status"`
	StoreName       string          `json:"store_name"`
	TransactionID   string          `json:"transaction_id"`
	UpdatedAt       string          `json:"updated_at"`
}

// checkoutTimeLayout is the seed's "12/10/25 16:28:21": dd/MM/yy HH:mm:ss, UTC.
const checkoutTimeLayout = "02/01/06 15:04:05"

// checkoutStatus maps sakk's statuses to the Checkout API's. APPROVED is
// the only one that means "ship"; REFUNDED is sakk's extension.
func checkoutStatus(t checkout.Transaction) string {
	if t.Payment != nil {
		switch t.Payment.Status {
		case pay.PaymentCompleted:
			return "APPROVED"
		case pay.PaymentRefunded:
			return "REFUNDED"
		case pay.PaymentFailed, pay.PaymentCancelled, pay.PaymentExpired:
			return "CANCELED"
		}
		return "PENDING"
	}
	switch t.Session.Status {
	case pay.SessionCompleted:
		return "APPROVED"
	case pay.SessionRefunded:
		return "REFUNDED"
	case pay.SessionCancelled, pay.SessionExpired:
		return "CANCELED"
	}
	return "PENDING"
}
