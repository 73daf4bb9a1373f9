// Package paypaltest is a stand-in for PayPal for sakk's tests: an
// httptest PayPal for the stateful Orders v2 path whose every request and
// answer is validated against PayPal's own OpenAPI documents (read from
// ../shared/peers/paypal beside the repository). The connector's tests and
// the end-to-end tests of the HTTP surface share it; it is test code and
// nothing else imports it.
package paypaltest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/gatewaytest"
	"github.com/sakkhq/sakk/internal/gateway/paypal"
	"github.com/sakkhq/sakk/internal/money"
)

// StandIn is an httptest PayPal for the stateful path: OAuth2 token,
// create order → the shopper approves (or cancels) on the payer-action
// page → capture → refund, and verify-webhook-signature. Every request
// the connector sends to the REST API is validated against PayPal's own
// OpenAPI documents (route, parameters, headers, body, OAuth2 bearer
// token), and so is every answer the stand-in gives, before it leaves:
// the stand-in cannot drift from PayPal's contract. What fails validation
// is Request and fails the test. The token endpoint is in none of the
// documents; it is checked by hand against PayPal's authentication guide
// (HTTP Basic with client id and secret, grant_type=client_credentials).
//
// The test behaviours of the conformance suite are the funding the next
// shopper approves with (Token sets it): PayPal's approval page is where
// the shopper picks what pays, and the capture reports what that funding
// did (status DECLINED with the card processor's response code).
type StandIn struct {
	srv       *httptest.Server
	routers   []routers.Router
	id        string // client id
	secret    string
	webhookID string // the webhook id PayPal gave sakk's endpoint
	sigKey    []byte // the stand-in's signing key for webhook transmissions

	mu            sync.Mutex
	skew          time.Duration // how far the stand-in's (and the connector's) clock is ahead
	tokens        map[string]time.Time
	tokenRequests int
	orders        map[string]*ppOrder
	captures      map[string]*ppOrder // by capture id
	refunds       map[string]*ppRefund
	requestIDs    map[string]string // PayPal-Request-Id → the resource it made ("order:ID", "refund:ID")
	transmissions map[string]string // transmission id → signature
	next          gatewaytest.Behaviour
	created       int
	reqs          []Request
	rejected      []string
}

type ppOrder struct {
	id, status, created      string
	amount                   money.Amount
	customID, referenceID    string
	returnURL, cancelURL     string
	behaviour                gatewaytest.Behaviour
	captureID, captureStatus string
	responseCode             string
	refunded                 money.Amount
	captureTime              string
}

type ppRefund struct {
	id, captureID string
	amount        money.Amount
}

// Request is one request as the stand-in received it.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

func Start(t testing.TB) *StandIn {
	t.Helper()
	docs := loadSpecs(t)
	s := &StandIn{
		id:            "AS" + randomHex(20),
		secret:        "EK" + randomHex(20),
		webhookID:     strings.ToUpper(randomHex(9)),
		sigKey:        []byte(randomHex(32)),
		tokens:        map[string]time.Time{},
		orders:        map[string]*ppOrder{},
		captures:      map[string]*ppOrder{},
		refunds:       map[string]*ppRefund{},
		requestIDs:    map[string]string{},
		transmissions: map[string]string{},
	}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	for _, doc := range docs {
		// The documents name PayPal's hosts; the stand-in answers on its
		// own. A copy, since the documents are shared by the tests.
		d := *doc
		d.Servers = openapi3.Servers{{URL: s.srv.URL}}
		r, err := gorillamux.NewRouter(&d)
		if err != nil {
			t.Fatal(err)
		}
		s.routers = append(s.routers, r)
	}
	t.Cleanup(func() {
		for _, r := range s.TakeRejected() {
			t.Errorf("PayPal's OpenAPI documents reject: %s", r)
		}
	})
	return s
}

// Now is the stand-in's clock: the real time, moved on by Advance. A
// connector under test may share it (paypal.Config.Now).
func (s *StandIn) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Now().Add(s.skew).UTC()
}

// Advance moves the stand-in's clock on by d.
func (s *StandIn) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skew += d
}

// URL is the stand-in's base URL: a connector's BaseURL.
func (s *StandIn) URL() string { return s.srv.URL }

// ClientID is the REST app's client id the stand-in takes.
func (s *StandIn) ClientID() string { return s.id }

// ClientSecret is the REST app's secret the stand-in takes.
func (s *StandIn) ClientSecret() string { return s.secret }

// WebhookID is the id PayPal gave the merchant's webhook endpoint: the
// one deliveries are signed for.
func (s *StandIn) WebhookID() string { return s.webhookID }

// Charges is how many orders were created.
func (s *StandIn) Charges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.created
}

// TokenRequests is how many access tokens were issued.
func (s *StandIn) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

// Token returns an access token the stand-in takes now, "" when none was
// issued: for tests that send requests of their own.
func (s *StandIn) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().Add(s.skew)
	for tok, exp := range s.tokens {
		if now.Before(exp) {
			return tok
		}
	}
	return ""
}

// RevokeTokens makes every access token issued so far invalid, as PayPal
// may.
func (s *StandIn) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// Requests returns every request received so far, in order.
func (s *StandIn) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// RequestsTo returns the requests received so far whose path starts with
// prefix.
func (s *StandIn) RequestsTo(method, prefix string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Method == method && strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

func (s *StandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	s.mu.Unlock()

	switch {
	case r.URL.Path == "/v1/oauth2/token":
		s.token(w, r, body)
		return
	case r.URL.Path == "/checkoutnow":
		s.approval(w, r)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := s.route(r)
	if err != nil {
		s.reject(r, "no such operation: "+err.Error())
		writeJSON(w, http.StatusNotFound, ppError(404, "", ""))
		return
	}
	in := &openapi3filter.RequestValidationInput{
		Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: s.authenticate, RegexCompiler: compileRegex, MultiError: true},
	}
	if r.URL.Path == "/v1/notifications/verify-webhook-signature" {
		// The document marks every field of the event readOnly (PayPal
		// writes events), yet the operation's whole point is to send one
		// back as received: readOnly cannot apply there.
		in.Options.ExcludeReadOnlyValidations = true
	}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		s.reject(r, "request: "+err.Error())
		if _, ok := errors.AsType[*openapi3filter.SecurityRequirementsError](err); ok {
			writeJSON(w, http.StatusUnauthorized, ppError(401, "", ""))
			return
		}
		writeJSON(w, http.StatusBadRequest, ppError(400, "", ""))
		return
	}
	rec := httptest.NewRecorder()
	s.handle(rec, r, body, params)
	res := rec.Result()
	out := rec.Body.Bytes()
	{
		vin := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
			Options: &openapi3filter.Options{IncludeResponseStatus: true, RegexCompiler: compileRegex, MultiError: true},
		}
		vin.SetBodyBytes(out)
		if err := openapi3filter.ValidateResponse(r.Context(), vin); err != nil {
			s.reject(r, fmt.Sprintf("the stand-in's own %d answer: %v", res.StatusCode, err))
		}
	}
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	w.Write(out)
}

func (s *StandIn) route(r *http.Request) (*routers.Route, map[string]string, error) {
	var last error
	for _, rt := range s.routers {
		route, params, err := rt.FindRoute(r)
		if err == nil {
			return route, params, nil
		}
		last = err
	}
	return nil, nil, last
}

// TakeRejected returns and forgets the rejections so far, for tests that
// send invalid requests on purpose.
func (s *StandIn) TakeRejected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.rejected
	s.rejected = nil
	return out
}

func (s *StandIn) reject(r *http.Request, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejected = append(s.rejected, fmt.Sprintf("%s %s: %s", r.Method, r.URL.Path, why))
}

// authenticate checks the OAuth2 bearer token the documents require.
func (s *StandIn) authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	tok, ok := strings.CutPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ")
	if in.SecurityScheme == nil || in.SecurityScheme.Type != "oauth2" {
		return in.NewError(fmt.Errorf("unexpected security scheme %q", in.SecuritySchemeName))
	}
	s.mu.Lock()
	exp, known := s.tokens[tok]
	now := time.Now().Add(s.skew)
	s.mu.Unlock()
	if !ok || !known || now.After(exp) {
		return in.NewError(fmt.Errorf("no valid bearer token"))
	}
	return nil
}

// token is POST /v1/oauth2/token.
func (s *StandIn) token(w http.ResponseWriter, r *http.Request, body []byte) {
	id, secret, ok := r.BasicAuth()
	form, _ := url.ParseQuery(string(body))
	switch {
	case r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || form.Get("grant_type") != "client_credentials":
		s.reject(r, "token request is not a client-credentials grant")
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"})
		return
	case !ok || id != s.id || secret != s.secret:
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client", "error_description": "Client Authentication failed"})
		return
	}
	tok := "A21AA" + randomHex(24)
	const life = 32400 // what PayPal answers: nine hours
	s.mu.Lock()
	s.tokens[tok] = time.Now().Add(s.skew).Add(life * time.Second)
	s.tokenRequests++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"scope": "https://uri.paypal.com/services/payments/payment", "access_token": tok,
		"token_type": "Bearer", "app_id": "APP-" + randomHex(8), "expires_in": life, "nonce": randomHex(16),
	})
}

// handle answers a validated API request.
func (s *StandIn) handle(w http.ResponseWriter, r *http.Request, body []byte, params map[string]string) {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost && p == "/v2/checkout/orders":
		s.create(w, r, body)
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/v2/checkout/orders/"):
		s.mu.Lock()
		defer s.mu.Unlock()
		o := s.orders[params["id"]]
		if o == nil {
			writeJSON(w, http.StatusNotFound, ppError(404, "INVALID_RESOURCE_ID", "Specified resource ID does not exist. Please check the resource ID and try again."))
			return
		}
		writeJSON(w, http.StatusOK, s.render(o))
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/capture"):
		s.capture(w, r, params["id"])
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/refund"):
		s.refund(w, r, body, params["capture_id"])
	case r.Method == http.MethodPost && p == "/v1/notifications/verify-webhook-signature":
		s.verify(w, body)
	default:
		writeJSON(w, http.StatusNotFound, ppError(404, "", ""))
	}
}

// create is POST /v2/checkout/orders. A PayPal-Request-Id seen before
// answers the order it made, as it stands now.
func (s *StandIn) create(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		Intent        string `json:"intent"`
		PurchaseUnits []struct {
			ReferenceID string `json:"reference_id"`
			CustomID    string `json:"custom_id"`
			Amount      struct {
				CurrencyCode string `json:"currency_code"`
				Value        string `json:"value"`
			} `json:"amount"`
		} `json:"purchase_units"`
		PaymentSource struct {
			PayPal struct {
				ExperienceContext struct {
					ReturnURL string `json:"return_url"`
					CancelURL string `json:"cancel_url"`
				} `json:"experience_context"`
			} `json:"paypal"`
		} `json:"payment_source"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.PurchaseUnits) != 1 || req.Intent != "CAPTURE" {
		writeJSON(w, http.StatusBadRequest, ppError(400, "INVALID_PARAMETER_VALUE", "sakk's stand-in takes one purchase unit with intent CAPTURE"))
		return
	}
	pu := req.PurchaseUnits[0]
	cur := money.Currency(pu.Amount.CurrencyCode)
	amount, err := money.Parse(pu.Amount.Value, cur)
	if err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, ppError(422, "DECIMAL_PRECISION", "If the currency supports decimals, only two decimal place precision is supported."))
		return
	}
	if (cur == "HUF" || cur == "TWD" || cur == "JPY") && strings.Contains(pu.Amount.Value, ".") {
		writeJSON(w, http.StatusUnprocessableEntity, ppError(422, "DECIMALS_NOT_SUPPORTED", "Currency does not support decimals."))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := r.Header.Get("PayPal-Request-Id")
	if ref, ok := s.requestIDs[key]; ok && key != "" {
		writeJSON(w, http.StatusOK, s.render(s.orders[strings.TrimPrefix(ref, "order:")]))
		return
	}
	ctx := req.PaymentSource.PayPal.ExperienceContext
	o := &ppOrder{
		id: strings.ToUpper(randomHex(9))[:17], status: "PAYER_ACTION_REQUIRED",
		created: time.Now().Add(s.skew).UTC().Format(time.RFC3339), amount: amount,
		customID: pu.CustomID, referenceID: pu.ReferenceID, returnURL: ctx.ReturnURL, cancelURL: ctx.CancelURL,
		behaviour: s.next,
	}
	if o.behaviour == 0 {
		o.behaviour = gatewaytest.Approve
	}
	s.next = 0
	s.orders[o.id] = o
	s.created++
	if key != "" {
		s.requestIDs[key] = "order:" + o.id
	}
	writeJSON(w, http.StatusOK, s.render(o))
}

// render is the order as PayPal shows it. s.mu is held.
func (s *StandIn) render(o *ppOrder) map[string]any {
	pu := map[string]any{
		"reference_id": o.referenceID,
		"amount":       map[string]any{"currency_code": string(o.amount.Currency), "value": ppValue(o.amount)},
	}
	if o.customID != "" {
		pu["custom_id"] = o.customID
	}
	if o.captureID != "" {
		c := map[string]any{
			"id": o.captureID, "status": o.captureStatus, "final_capture": true,
			"amount":      map[string]any{"currency_code": string(o.amount.Currency), "value": ppValue(o.amount)},
			"create_time": o.captureTime, "update_time": o.captureTime,
		}
		if o.responseCode != "" {
			c["processor_response"] = map[string]any{"response_code": o.responseCode}
		}
		pu["payments"] = map[string]any{"captures": []any{c}}
	}
	links := []any{map[string]any{"href": s.srv.URL + "/v2/checkout/orders/" + o.id, "rel": "self", "method": "GET"}}
	if o.status == "PAYER_ACTION_REQUIRED" {
		links = append(links, map[string]any{"href": s.srv.URL + "/checkoutnow?token=" + o.id, "rel": "payer-action", "method": "GET"})
	}
	return map[string]any{
		"id": o.id, "intent": "CAPTURE", "status": o.status, "create_time": o.created,
		"payment_source": map[string]any{"paypal": map[string]any{}},
		"purchase_units": []any{pu}, "links": links,
	}
}

// ppValue writes a as PayPal does: whole units for HUF, JPY and TWD.
func ppValue(a money.Amount) string {
	if a.Currency == "HUF" || a.Currency == "TWD" {
		return strconv.FormatInt(a.Minor/100, 10)
	}
	return money.Format(a)
}

// approval is the payer-action page: the shopper approves
// (?action=approve) or cancels (?action=cancel) and is sent back to the
// return or cancel URL with the order id as token, as PayPal sends them.
func (s *StandIn) approval(w http.ResponseWriter, r *http.Request) {
	id, action := r.URL.Query().Get("token"), r.URL.Query().Get("action")
	s.mu.Lock()
	o := s.orders[id]
	if o == nil || o.status != "PAYER_ACTION_REQUIRED" || (action != "approve" && action != "cancel") {
		s.mu.Unlock()
		http.Error(w, "no such approval", http.StatusNotFound)
		return
	}
	back := o.cancelURL
	if action == "approve" {
		o.status, back = "APPROVED", o.returnURL
	}
	s.mu.Unlock()
	u, _ := url.Parse(back)
	q := u.Query()
	q.Set("token", id)
	if action == "approve" {
		q.Set("PayerID", strings.ToUpper(randomHex(7)))
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// capture is POST /v2/checkout/orders/{id}/capture: the funding the
// shopper approved with decides the capture's status.
func (s *StandIn) capture(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := r.Header.Get("PayPal-Request-Id")
	if ref, ok := s.requestIDs[key]; ok && key != "" && ref == "capture:"+id {
		writeJSON(w, http.StatusCreated, s.render(s.orders[id]))
		return
	}
	o := s.orders[id]
	switch {
	case o == nil:
		writeJSON(w, http.StatusNotFound, ppError(404, "INVALID_RESOURCE_ID", "Specified resource ID does not exist. Please check the resource ID and try again."))
		return
	case o.status == "COMPLETED":
		writeJSON(w, http.StatusUnprocessableEntity, ppError(422, "ORDER_ALREADY_CAPTURED", "Order already captured.If 'intent=CAPTURE' only one capture per order is allowed."))
		return
	case o.status != "APPROVED":
		writeJSON(w, http.StatusUnprocessableEntity, ppError(422, "ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment. Please redirect the payer to the 'rel':'approve' url returned as part of the HATEOAS links within the Create Order call or provide a valid `payment_source` in the request."))
		return
	}
	o.status, o.captureID = "COMPLETED", strings.ToUpper(randomHex(9))[:17]
	o.captureTime = time.Now().Add(s.skew).UTC().Format(time.RFC3339)
	switch o.behaviour {
	case gatewaytest.Decline:
		o.captureStatus, o.responseCode = "DECLINED", "0500" // DO_NOT_HONOR
	case gatewaytest.InsufficientFunds:
		o.captureStatus, o.responseCode = "DECLINED", "5120" // INSUFFICIENT_FUNDS
	case gatewaytest.ProcessingError:
		o.captureStatus, o.responseCode = "DECLINED", "9100" // DECLINED_PLEASE_RETRY
	default:
		o.captureStatus = "COMPLETED"
		o.refunded = money.Amount{Currency: o.amount.Currency}
	}
	s.captures[o.captureID] = o
	if key != "" {
		s.requestIDs[key] = "capture:" + id
	}
	writeJSON(w, http.StatusCreated, s.render(o))
}

// refund is POST /v2/payments/captures/{capture_id}/refund.
func (s *StandIn) refund(w http.ResponseWriter, r *http.Request, body []byte, captureID string) {
	var req struct {
		Amount *struct {
			CurrencyCode string `json:"currency_code"`
			Value        string `json:"value"`
		} `json:"amount"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, ppError(400, "MALFORMED_REQUEST_JSON", "The request JSON is not well formed."))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := r.Header.Get("PayPal-Request-Id")
	if ref, ok := s.requestIDs[key]; ok && key != "" {
		writeJSON(w, http.StatusCreated, s.renderRefund(s.refunds[strings.TrimPrefix(ref, "refund:")]))
		return
	}
	o := s.captures[captureID]
	if o == nil {
		writeJSON(w, http.StatusNotFound, ppError(404, "INVALID_RESOURCE_ID", "Specified resource ID does not exist. Please check the resource ID and try again."))
		return
	}
	amount := money.Amount{Minor: o.amount.Minor - o.refunded.Minor, Currency: o.amount.Currency}
	if req.Amount != nil {
		if money.Currency(req.Amount.CurrencyCode) != o.amount.Currency {
			writeJSON(w, http.StatusUnprocessableEntity, ppError(422, "REFUND_CAPTURE_CURRENCY_MISMATCH", "Refund must be in the same currency as the capture"))
			return
		}
		a, err := money.Parse(req.Amount.Value, o.amount.Currency)
		if err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, ppError(422, "DECIMAL_PRECISION", "If the currency supports decimals, only two decimal place precision is supported."))
			return
		}
		amount = a
	}
	switch {
	case o.captureStatus != "COMPLETED" && o.captureStatus != "PARTIALLY_REFUNDED":
		if o.captureStatus == "REFUNDED" {
			writeJSON(w, http.StatusUnprocessableEntity, ppError(422, "CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded"))
			return
		}
		writeJSON(w, http.StatusUnprocessableEntity, ppError(422, "REFUND_NOT_ALLOWED", "Capture cannot be refunded."))
		return
	case amount.Minor > o.amount.Minor-o.refunded.Minor:
		writeJSON(w, http.StatusUnprocessableEntity, ppError(422, "REFUND_AMOUNT_EXCEEDED", "The refund amount must be less than or equal to the capture amount that has not yet been refunded."))
		return
	}
	o.refunded.Minor += amount.Minor
	o.captureStatus = "PARTIALLY_REFUNDED"
	if o.refunded.Minor == o.amount.Minor {
		o.captureStatus = "REFUNDED"
	}
	rf := &ppRefund{id: strings.ToUpper(randomHex(9))[:17], captureID: captureID, amount: amount}
	s.refunds[rf.id] = rf
	if key != "" {
		s.requestIDs[key] = "refund:" + rf.id
	}
	writeJSON(w, http.StatusCreated, s.renderRefund(rf))
}

func (s *StandIn) renderRefund(rf *ppRefund) map[string]any {
	return map[string]any{
		"id": rf.id, "status": "COMPLETED",
		"amount": map[string]any{"currency_code": string(rf.amount.Currency), "value": ppValue(rf.amount)},
		"links": []any{
			map[string]any{"href": s.srv.URL + "/v2/payments/refunds/" + rf.id, "rel": "self", "method": "GET"},
			map[string]any{"href": s.srv.URL + "/v2/payments/captures/" + rf.captureID, "rel": "up", "method": "GET"},
		},
	}
}

// webhookEventKey is how the connector's verify request carries the
// event: as its last member, the delivery's body byte for byte.
const webhookEventKey = `"webhook_event":`

// verify is POST /v1/notifications/verify-webhook-signature. PayPal
// checks the transmission signature against "transmission_id|
// transmission_time|webhook_id|crc32(event)"; the stand-in does the same
// with its own key instead of PayPal's certificate, and takes the event's
// bytes as the connector sent them, so that any byte changed after
// signing fails.
func (s *StandIn) verify(w http.ResponseWriter, body []byte) {
	var req struct {
		TransmissionID   string `json:"transmission_id"`
		TransmissionTime string `json:"transmission_time"`
		TransmissionSig  string `json:"transmission_sig"`
		WebhookID        string `json:"webhook_id"`
	}
	_ = json.Unmarshal(body, &req) // validated against the document already
	i := bytes.LastIndex(body, []byte(webhookEventKey))
	trimmed := bytes.TrimRight(body, " \t\r\n")
	status := "FAILURE"
	if i >= 0 && len(trimmed) > 0 && trimmed[len(trimmed)-1] == '}' {
		event := trimmed[i+len(webhookEventKey) : len(trimmed)-1]
		s.mu.Lock()
		known := s.transmissions[req.TransmissionID]
		s.mu.Unlock()
		if req.WebhookID == s.webhookID && known != "" && hmac.Equal([]byte(req.TransmissionSig), []byte(s.sign(req.TransmissionID, req.TransmissionTime, req.WebhookID, event))) {
			status = "SUCCESS"
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"verification_status": status})
}

func (s *StandIn) sign(id, at, webhookID string, body []byte) string {
	mac := hmac.New(sha256.New, s.sigKey)
	fmt.Fprintf(mac, "%s|%s|%s|%d", id, at, webhookID, crc32.ChecksumIEEE(body))
	return hex.EncodeToString(mac.Sum(nil))
}

// Event returns the body of a PAYMENT.CAPTURE.* (or CHECKOUT.ORDER.*)
// event about the order ref, as PayPal would write it now.
func (s *StandIn) Event(t testing.TB, ref, eventType string) []byte {
	t.Helper()
	s.mu.Lock()
	o := s.orders[ref]
	var resource map[string]any
	if o != nil {
		if strings.HasPrefix(eventType, "CHECKOUT.ORDER.") {
			resource = s.render(o)
		} else {
			resource = map[string]any{
				"id": o.captureID, "status": o.captureStatus,
				"amount":             map[string]any{"currency_code": string(o.amount.Currency), "value": ppValue(o.amount)},
				"supplementary_data": map[string]any{"related_ids": map[string]any{"order_id": o.id}},
			}
		}
	}
	s.mu.Unlock()
	if resource == nil {
		t.Fatalf("no order %q at the stand-in", ref)
	}
	resourceType := "capture"
	if strings.HasPrefix(eventType, "CHECKOUT.ORDER.") {
		resourceType = "checkout-order"
	}
	body, _ := json.Marshal(map[string]any{
		"id": "WH-" + strings.ToUpper(randomHex(12)), "event_version": "1.0", "create_time": s.Now().Format(time.RFC3339),
		"resource_type": resourceType, "resource_version": "2.0", "event_type": eventType,
		"summary": "Payment event", "resource": resource,
	})
	return body
}

// Deliver returns body as PayPal delivers it to the endpoint webhookID: a
// new transmission, signed, with PayPal's transmission headers.
func (s *StandIn) Deliver(webhookID string, body []byte) gateway.Webhook {
	tid := randomHex(8) + "-" + randomHex(4)
	at := s.Now().Format(time.RFC3339)
	sig := s.sign(tid, at, webhookID, body)
	s.mu.Lock()
	s.transmissions[tid] = sig
	s.mu.Unlock()
	h := http.Header{}
	h.Set(paypal.HeaderTransmissionID, tid)
	h.Set(paypal.HeaderTransmissionTime, at)
	h.Set(paypal.HeaderTransmissionSig, sig)
	h.Set(paypal.HeaderCertURL, s.srv.URL+"/v1/notifications/certs/CERT-360caa42-fca2a594-"+randomHex(4))
	h.Set(paypal.HeaderAuthAlgo, "SHA256withRSA")
	h.Set("Content-Type", "application/json")
	return gateway.Webhook{Header: h, Body: body}
}

// Webhook returns a delivery of Event(ref, eventType) signed for webhook
// id webhookID.
func (s *StandIn) Webhook(t testing.TB, ref, eventType, webhookID string) gateway.Webhook {
	t.Helper()
	return s.Deliver(webhookID, s.Event(t, ref, eventType))
}

// noRedirects is a browser that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}

// Approve answers the payer-action page at redirectURL (the order's
// payer-action link) as the shopper's browser would, approving or
// cancelling, and returns where PayPal sends the browser back: the return
// URL (or the cancel URL) with the order id as token.
func (s *StandIn) Approve(t testing.TB, redirectURL string, approve bool) *url.URL {
	t.Helper()
	action := "cancel"
	if approve {
		action = "approve"
	}
	resp, err := noRedirects.Get(redirectURL + "&action=" + action)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !loc.IsAbs() {
		t.Fatalf("approval page answered %s to %q, want a redirect to the return or cancel URL", resp.Status, resp.Header.Get("Location"))
	}
	return loc
}

// SetBehaviour makes the funding the next order's shopper approves with
// behave as b (the capture reports what it did). PayPal runs 3-D Secure
// on its own page, inside the approval: ThreeDSecure is not one; it
// reports false.
func (s *StandIn) SetBehaviour(b gatewaytest.Behaviour) bool {
	if b == gatewaytest.ThreeDSecure {
		return false
	}
	s.mu.Lock()
	s.next = b
	s.mu.Unlock()
	return true
}

// ppError is PayPal's error body for status, with one detail.
func ppError(status int, issue, description string) map[string]any {
	names := map[int][2]string{
		401: {"AUTHENTICATION_FAILURE", "Authentication failed due to missing authorization header, or invalid authentication credentials."},
		400: {"INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema."},
		404: {"RESOURCE_NOT_FOUND", "The specified resource does not exist."},
		422: {"UNPROCESSABLE_ENTITY", "The requested action could not be performed, semantically incorrect, or failed business validation."},
	}
	e := map[string]any{"name": names[status][0], "message": names[status][1], "debug_id": randomHex(7)}
	if issue != "" {
		e["details"] = []any{map[string]any{"issue": issue, "description": description}}
	}
	return e
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
