package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// The merchant API (SURFACES.md §4): sakk's own API for a merchant's
// backend, under /api/merchant/v1, authenticated with the application's
// secret key (X-API-Key, or Authorization: Bearer sk_…) and rate-limited
// per key like the Checkout API. Everything it reads and writes is in the
// key's application and environment; another application's ids answer
// the same 404 as unknown ones. Amounts are decimal strings in the
// payment's currency ("799.00"); times are RFC 3339, UTC. Errors have the
// Public Payment API's body.

// merchantKey authenticates the secret key and counts the request against
// its rate limit; it writes the error and answers false when either fails.
func (a *api) merchantKey(w http.ResponseWriter, r *http.Request) (pay.APIKey, bool) {
	text := r.Header.Get("X-API-Key")
	if text == "" {
		text = bearer(r)
	}
	if text == "" {
		a.paymentError(w, r, unauthenticated("invalid_key", "send the secret key in X-API-Key or as Authorization: Bearer sk_…"))
		return pay.APIKey{}, false
	}
	key, err := a.merchant.Authenticate(r.Context(), text, pay.SecretKey)
	if err != nil {
		a.paymentError(w, r, err)
		return key, false
	}
	return key, a.limit(w, r, "merchant:"+key.ID, a.keyRateLimit(r, key), a.rateWindow)
}

// keyRateLimit is a key's allowance per window: its application's, else
// the installation's.
func (a *api) keyRateLimit(r *http.Request, key pay.APIKey) int {
	if app, err := a.checkout.Application(r.Context(), key.ApplicationID); err == nil && app.RateLimit > 0 {
		return app.RateLimit
	}
	return a.rateLimit
}

// createRefund is POST /api/merchant/v1/payments/{paymentId}/refunds with
// {"amount": "799.00"}, or {} for everything not yet refunded. It answers
// 201 with the refund: succeeded, failed (the gateway refused it), or
// pending (the gateway's answer did not come; sakk settles it later).
func (a *api) createRefund(w http.ResponseWriter, r *http.Request) {
	key, ok := a.merchantKey(w, r)
	if !ok {
		return
	}
	if ref, _, ok := a.refundPayment(w, r, key.ApplicationID, key.Environment); ok {
		writeJSON(w, http.StatusCreated, refundOut(ref))
	}
}

// refundPayment refunds the request's {paymentId} of an application
// environment as its body ({"amount"} or {}) and Idempotency-Key ask. The
// merchant API and the management API both refund through it, so the
// two read a refund request alike. replayed is true when the refund is
// an earlier request's, answered again for its Idempotency-Key. It writes
// the error and answers ok false when the refund is refused.
func (a *api) refundPayment(w http.ResponseWriter, r *http.Request, appID string, env pay.Environment) (_ store.Refund, replayed, ok bool) {
	fail := func(err error) (store.Refund, bool, bool) {
		a.paymentError(w, r, err)
		return store.Refund{}, false, false
	}
	var in map[string]json.RawMessage
	body, err := readJSON(w, r, &in)
	if err == nil {
		err = onlyFields(in, "amount")
	}
	if err != nil {
		return fail(err)
	}
	idem, err := idempotency(r, body)
	if err != nil {
		return fail(err)
	}
	id := r.PathValue("paymentId")
	var amount *money.Amount
	if raw := bytes.TrimSpace(in["amount"]); len(raw) > 0 && string(raw) != "null" {
		text, ok := jsonString(raw)
		if !ok {
			return fail(invalid(checkout.CodeInvalidAmount, `amount must be a decimal string in the payment's currency, such as "799.00"`))
		}
		// The amount is read in the payment's currency, so the payment
		// is read first.
		p, err := a.checkout.Payment(r.Context(), appID, env, id)
		if err != nil {
			return fail(err)
		}
		parsed, err := money.Parse(text, p.Amount.Currency)
		if err != nil {
			return fail(invalid(checkout.CodeInvalidAmount, "amount: %s", strings.TrimPrefix(err.Error(), "money: ")))
		}
		amount = &parsed
	}
	ref, replayed, err := a.checkout.RefundOrReplay(r.Context(), appID, env, id, amount, idem)
	if err != nil {
		return fail(err)
	}
	return ref, replayed, true
}

// onlyFields refuses a body with fields other than those named: a typo
// must not turn a partial refund into a full one.
func onlyFields(in map[string]json.RawMessage, names ...string) error {
	for k := range in {
		if !slices.Contains(names, k) {
			return invalid("invalid_request", "unknown field %q", k)
		}
	}
	return nil
}

// merchantPayment is GET /api/merchant/v1/payments/{paymentId}, with its
// refunds.
func (a *api) merchantPayment(w http.ResponseWriter, r *http.Request) {
	if key, ok := a.merchantKey(w, r); ok {
		a.writePayment(w, r, key.ApplicationID, key.Environment)
	}
}

// writePayment answers the request's {paymentId} of an application
// environment, with its refunds: for the merchant API and the management
// API alike.
func (a *api) writePayment(w http.ResponseWriter, r *http.Request, appID string, env pay.Environment) {
	p, refunds, err := a.checkout.Refunds(r.Context(), appID, env, r.PathValue("paymentId"))
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	out := merchantPaymentDetail{merchantPaymentOut: paymentOut(p), Refunds: make([]merchantRefundOut, len(refunds))}
	for i, rf := range refunds {
		out.Refunds[i] = refundOut(rf)
	}
	writeJSON(w, http.StatusOK, out)
}

// merchantPayments is GET /api/merchant/v1/payments.
func (a *api) merchantPayments(w http.ResponseWriter, r *http.Request) {
	serveList(a, w, r, a.checkout.ListPayments, paymentOut)
}

// merchantSessions is GET /api/merchant/v1/sessions.
func (a *api) merchantSessions(w http.ResponseWriter, r *http.Request) {
	serveList(a, w, r, a.checkout.ListSessions, sessionSummaryOut)
}

// serveList answers one page of a listing of the key's application
// environment: the query read from the request, the rows found by list,
// each shaped by out.
func serveList[T, O any](a *api, w http.ResponseWriter, r *http.Request,
	list func(context.Context, checkout.ListQuery) ([]T, string, error), out func(T) O) {
	key, ok := a.merchantKey(w, r)
	if !ok {
		return
	}
	q, err := listQuery(r, key.ApplicationID, key.Environment)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	writePage(a, w, r, q, list, out)
}

// writePage answers the page of a listing q selects.
func writePage[T, O any](a *api, w http.ResponseWriter, r *http.Request, q checkout.ListQuery,
	list func(context.Context, checkout.ListQuery) ([]T, string, error), out func(T) O) {
	rows, next, err := list(r.Context(), q)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	data := make([]O, len(rows))
	for i, row := range rows {
		data[i] = out(row)
	}
	writeJSON(w, http.StatusOK, listOut(data, next))
}

// merchantSession is GET /api/merchant/v1/sessions/{sessionId}, with its
// items and payment attempts.
func (a *api) merchantSession(w http.ResponseWriter, r *http.Request) {
	if key, ok := a.merchantKey(w, r); ok {
		a.writeSession(w, r, key.ApplicationID, key.Environment)
	}
}

// writeSession answers the request's {sessionId} of an application
// environment, with its items and payment attempts: for the merchant API
// and the management API alike.
func (a *api) writeSession(w http.ResponseWriter, r *http.Request, appID string, env pay.Environment) {
	s, ps, err := a.checkout.SessionWithPayments(r.Context(), appID, env, r.PathValue("sessionId"))
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	out := merchantSessionDetail{
		merchantSessionOut: sessionSummaryOut(s),
		Items:              make([]merchantItemOut, len(s.Items)),
		Payments:           make([]merchantPaymentOut, len(ps)),
	}
	for i, it := range s.Items {
		out.Items[i] = merchantItemOut{Reference: it.Reference, Name: it.Name, UnitPrice: money.Format(it.UnitPrice), Quantity: it.Quantity}
	}
	for i, p := range ps {
		out.Payments[i] = paymentOut(p)
	}
	codes, err := a.checkout.SessionCodes(r.Context(), appID, env, s.ID)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	out.Verifications = make([]verificationOut, len(codes))
	for i, c := range codes {
		out.Verifications[i] = verificationOut{ID: c.ID, Channel: c.Channel, Identifier: c.Identifier, Failures: c.Failures, SentAt: rfc3339(c.SentAt)}
		if !c.VerifiedAt.IsZero() {
			out.Verifications[i].VerifiedAt = rfc3339(c.VerifiedAt)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// listQuery reads a listing's filters: status, created_from and
// created_to (RFC 3339; from inclusive, to exclusive), limit (1 to 100,
// default 100) and cursor, in one application environment.
func listQuery(r *http.Request, appID string, env pay.Environment) (checkout.ListQuery, error) {
	v := r.URL.Query()
	q := checkout.ListQuery{ApplicationID: appID, Environment: env, Status: v.Get("status"), Cursor: v.Get("cursor")}
	for name, dst := range map[string]*time.Time{"created_from": &q.From, "created_to": &q.To} {
		if s := v.Get(name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return q, invalid("invalid_date", "%s must be an RFC 3339 time such as 2025-01-31T00:00:00Z", name)
			}
			*dst = t.UTC()
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return q, invalid("invalid_limit", "limit must be from 1 to %d", checkout.MaxPageSize)
		}
		q.Limit = n
	}
	return q, nil
}

// merchantList is one page of a listing.
type merchantList[T any] struct {
	Data       []T     `json:"data"`
	HasMore    bool    `json:"hasMore"`
	NextCursor *string `json:"nextCursor"` // null on the last page
}

func listOut[T any](data []T, next string) merchantList[T] {
	l := merchantList[T]{Data: data, HasMore: next != ""}
	if next != "" {
		l.NextCursor = &next
	}
	return l
}

// rfc3339 is the merchant API's time format: UTC, microseconds.
func rfc3339(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

type merchantRefundOut struct {
	ID               string `json:"id"`
	PaymentID        string `json:"paymentId"`
	SessionID        string `json:"sessionId"`
	Status           string `json:"status"`
	Amount           string `json:"amount"`
	Currency         string `json:"currency"`
	GatewayReference string `json:"gatewayReference,omitempty"`
	FailureCode      string `json:"failureCode,omitempty"`
	FailureMessage   string `json:"failureMessage,omitempty"`
	CreatedAt        string `json:"createdAt"`
	UpdatedAt        string `json:"updatedAt"`
}

func refundOut(r store.Refund) merchantRefundOut {
	return merchantRefundOut{
		ID: r.ID, PaymentID: r.PaymentID, SessionID: r.SessionID, Status: r.Status,
		Amount: money.Format(r.Amount), Currency: string(r.Amount.Currency), GatewayReference: r.GatewayReference,
		FailureCode: r.FailureCode, FailureMessage: r.FailureMessage,
		CreatedAt: rfc3339(r.CreatedAt), UpdatedAt: rfc3339(r.UpdatedAt),
	}
}

type merchantPaymentOut struct {
	ID               string                `json:"id"`
	SessionID        string                `json:"sessionId"`
	Environment      string                `json:"environment"`
	Status           string                `json:"status"`
	Amount           string                `json:"amount"`
	RefundedAmount   string                `json:"refundedAmount"`
	Currency         string                `json:"currency"`
	Gateway          string                `json:"gateway"`
	Method           string                `json:"method"`
	GatewayReference string                `json:"gatewayReference,omitempty"`
	Error            *merchantPaymentError `json:"error,omitempty"`
	CreatedAt        string                `json:"createdAt"`
	UpdatedAt        string                `json:"updatedAt"`
}

type merchantPaymentError struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable"`
}

type merchantPaymentDetail struct {
	merchantPaymentOut
	Refunds []merchantRefundOut `json:"refunds"`
}

func paymentOut(p pay.Payment) merchantPaymentOut {
	out := merchantPaymentOut{
		ID: p.ID, SessionID: p.SessionID, Environment: string(p.Environment), Status: string(p.Status),
		Amount: money.Format(p.Amount), RefundedAmount: money.Format(p.Refunded), Currency: string(p.Amount.Currency),
		Gateway: p.Gateway, Method: p.Method, GatewayReference: p.GatewayReference,
		CreatedAt: rfc3339(p.CreatedAt), UpdatedAt: rfc3339(p.UpdatedAt),
	}
	if p.ErrorCode != "" {
		out.Error = &merchantPaymentError{Code: p.ErrorCode, Message: p.ErrorMessage, Retryable: p.Retryable}
	}
	return out
}

type merchantSessionOut struct {
	ID              string              `json:"id"`
	Environment     string              `json:"environment"`
	Status          string              `json:"status"`
	Amount          string              `json:"amount"`
	Currency        string              `json:"currency"`
	VendorReference string              `json:"vendorReference"`
	Customer        merchantCustomerOut `json:"customer"`
	Gateway         string              `json:"gateway"`
	Metadata        json.RawMessage     `json:"metadata,omitempty"`
	ExpiresAt       string              `json:"expiresAt"`
	CreatedAt       string              `json:"createdAt"`
	UpdatedAt       string              `json:"updatedAt"`
}

type merchantCustomerOut struct {
	Email              string `json:"email"`
	Phone              string `json:"phone"`
	VerifiedIdentifier string `json:"verifiedIdentifier"`
	VerifiedChannel    string `json:"verifiedChannel"`
	Locked             bool   `json:"locked"`
}

type merchantItemOut struct {
	Reference string `json:"reference"`
	Name      string `json:"name"`
	UnitPrice string `json:"unitPrice"`
	Quantity  int64  `json:"quantity"`
}

type merchantSessionDetail struct {
	merchantSessionOut
	Items         []merchantItemOut    `json:"items"`
	Payments      []merchantPaymentOut `json:"payments"`
	Verifications []verificationOut    `json:"verifications"`
}

// verificationOut is one code sent for a session.
type verificationOut struct {
	ID         string `json:"id"`
	Channel    string `json:"channel"`
	Identifier string `json:"identifier"`
	Failures   int    `json:"failedAttempts"`
	VerifiedAt string `json:"verifiedAt,omitempty"`
	SentAt     string `json:"sentAt"`
}

func sessionSummaryOut(s pay.Session) merchantSessionOut {
	c := s.Customer
	return merchantSessionOut{
		ID: s.ID, Environment: string(s.Environment), Status: string(s.Status),
		Amount: money.Format(s.Amount), Currency: string(s.Amount.Currency), VendorReference: s.VendorReference,
		Customer: merchantCustomerOut{Email: c.Email, Phone: c.Phone, VerifiedIdentifier: c.VerifiedIdentifier,
			VerifiedChannel: c.VerifiedChannel, Locked: c.Locked},
		Gateway: s.Gateway, Metadata: s.Metadata,
		ExpiresAt: rfc3339(s.ExpiresAt), CreatedAt: rfc3339(s.CreatedAt), UpdatedAt: rfc3339(s.UpdatedAt),
	}
}
