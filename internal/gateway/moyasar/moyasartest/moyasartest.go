// Package moyasartest is a stand-in for Moyasar's payments API v1,
// written from Moyasar's documentation: stateful, on loopback, for tests
// of the moyasar connector and of sakk's flows through it. It plays both
// Moyasar's servers and the shopper's side of them: the card form's token
// (Token), the 3-D Secure page (ThreeDS, Complete) and the notifications
// Moyasar sends (Webhook); it records every request it receives
// (Requests), so that a test can check exactly what was sent.
//
// Documented behaviour it follows: Basic auth with the key as user name
// (401 authentication_error otherwise), error bodies {type, message,
// errors}, 400 invalid_request_error "Validation Failed" with the fields at
// fault, 201 for a created payment whatever its status (a decline is a
// failed payment, not an HTTP error), the literal statuses, amounts as
// integers in the minor unit, the test cards' outcomes (message and
// response_code), the currencies of the multi-currency guide.
//
// Undocumented behaviour it has to choose, and says so:
//   - which test card needs 3-D Secure: Card3DS here (Moyasar's test mode
//     authenticates every card through its simulator page);
//   - a processing error (response code 96) for CardProcessing;
//   - a repeated given_id: by default a 400 with errors.given_id ("has
//     already been taken"); after SetDupReturnsPayment(true), the first
//     payment.
//   - a partial refund leaves status "paid" (refunded grows); a full one
//     makes it "refunded".
package moyasartest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/money"
)

// Server is a running stand-in: cards (POST /v1/tokens, what Moyasar's
// card form calls with the publishable key), payments (create, fetch,
// update metadata), refunds, and a 3-D Secure page at the payment's
// source.transaction_url that completes or fails the payment and sends the
// shopper to callback_url?id=…&status=…&message=…, as Moyasar does.
type Server struct {
	// URL is the API's base URL (Config.BaseURL of the connector).
	URL string
	// SecretKey, PublishableKey and WebhookSecret are the account's
	// credentials: fresh random keys of the account's mode (sk_test_… or
	// sk_live_…) and the secret token its webhooks carry.
	SecretKey, PublishableKey, WebhookSecret string

	live bool
	srv  *httptest.Server

	mu                sync.Mutex
	dupReturnsPayment bool
	payments          map[string]*payment
	order             []string
	tokens            map[string]string // token id → card number
	created           int               // payments created
	refundPosts       int               // refunds applied
	reqs              []Request
	// dropRefund, when set, is applied to the next refund POST: "before"
	// drops the connection without refunding, "after" refunds and then
	// drops the connection (the answer is lost).
	dropRefund string
}

type payment struct {
	id, status, currency, callbackURL, description, token, card string
	amount, refunded                                            int64
	message, responseCode                                       string
	threeDS                                                     bool
	metadata                                                    map[string]any
	created, updated                                            time.Time
}

// Request is one request as the stand-in received it: Basic auth user and
// password, headers and the raw body.
type Request struct {
	Method, Path string
	User, Pass   string
	Header       http.Header
	Body         []byte
}

// Documented test cards (Moyasar's "Test Cards" page), plus the stand-in's
// own choices for 3-D Secure and a processing error.
const (
	CardApprove      = "4111111111111111" // paid, APPROVED, 00
	CardInsufficient = "4123120001090000" // failed, INSUFFICIENT FUNDS, 51
	CardDecline      = "4123120001090109" // failed, DECLINED, 05
	CardExpired      = "4201322267774310" // failed, DECLINED: EXPIRED CARD, 54
	Card3DS          = "5421080101000000" // stand-in: initiated with a transaction_url
	CardProcessing   = "4000000000000096" // stand-in: failed, SYSTEM ERROR, 96
)

var enabledCurrencies = []string{"SAR", "AED", "BHD", "KWD", "QAR", "USD"}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Start runs a stand-in for an account in test mode (sk_test_… keys),
// closed when the test ends.
func Start(t testing.TB) *Server { return start(t, false) }

// StartLive runs a stand-in for an account in live mode: sk_live_… keys,
// and notifications that say "live": true.
func StartLive(t testing.TB) *Server { return start(t, true) }

func start(t testing.TB, live bool) *Server {
	t.Helper()
	mode := "test_"
	if live {
		mode = "live_"
	}
	s := &Server{
		SecretKey:      "sk_" + mode + randomHex(12),
		PublishableKey: "pk_" + mode + randomHex(12),
		WebhookSecret:  "whs_" + randomHex(16),
		live:           live,
		payments:       map[string]*payment{},
		tokens:         map[string]string{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// SetDupReturnsPayment chooses how a repeated given_id is answered: with
// the first payment (true) or a 400 "has already been taken" (false, the
// default).
func (s *Server) SetDupReturnsPayment(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dupReturnsPayment = v
}

// DropNextRefund makes the next refund POST lose its answer: "before"
// drops the connection without refunding, "after" refunds and then drops
// the connection.
func (s *Server) DropNextRefund(when string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropRefund = when
}

// Payment is a payment's state at the stand-in.
type Payment struct {
	Status           string
	Amount, Refunded int64 // in the currency's minor unit, as Moyasar counts
	Currency         string
	Metadata         map[string]any
}

// Payment returns the payment id's state; ok is false when there is none.
func (s *Server) Payment(id string) (p Payment, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sp := s.payments[id]
	if sp == nil {
		return Payment{}, false
	}
	md := map[string]any{}
	for k, v := range sp.metadata {
		md[k] = v
	}
	return Payment{Status: sp.status, Amount: sp.amount, Refunded: sp.refunded, Currency: sp.currency, Metadata: md}, true
}

// Charges is how many payments were created: the proof that a repeated
// key charges once.
func (s *Server) Charges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.created
}

// Refunds is how many refunds were applied.
func (s *Server) Refunds() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refundPosts
}

// Requests returns the recorded requests with method and path; both ""
// returns them all, in the order received.
func (s *Server) Requests(method, path string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.reqs {
		if (method == "" && path == "") || (r.Method == method && r.Path == path) {
			out = append(out, r)
		}
	}
	return out
}

// RequestCount is how many requests the stand-in has received.
func (s *Server) RequestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func apiErr(w http.ResponseWriter, status int, typ, msg string, errs map[string][]string) {
	var e any
	if errs != nil {
		e = errs
	}
	writeJSON(w, status, map[string]any{"type": typ, "message": msg, "errors": e})
}

func validation(w http.ResponseWriter, errs map[string][]string) {
	apiErr(w, http.StatusBadRequest, "invalid_request_error", "Validation Failed", errs)
}

// serve is the whole API: every request is recorded, then answered.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	user, pass, _ := r.BasicAuth()
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, User: user, Pass: pass, Header: r.Header.Clone(), Body: body})
	s.mu.Unlock()

	p := r.URL.Path
	if r.Method == http.MethodGet && strings.HasPrefix(p, "/3ds/") {
		s.challenge(w, r, strings.TrimPrefix(p, "/3ds/"))
		return
	}
	key := s.SecretKey
	if r.Method == http.MethodPost && p == "/v1/tokens" {
		key = s.PublishableKey
	}
	if user != key && !(r.Method == http.MethodPost && p == "/v1/payments" && user == s.PublishableKey) {
		apiErr(w, http.StatusUnauthorized, "authentication_error", "Invalid authorization credentials", nil)
		return
	}
	if pass != "" {
		apiErr(w, http.StatusUnauthorized, "authentication_error", "Invalid authorization credentials", nil)
		return
	}
	if r.Method != http.MethodGet && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		validation(w, map[string][]string{"body": {"must be JSON"}})
		return
	}
	rest, isPayment := strings.CutPrefix(p, "/v1/payments/")
	switch {
	case r.Method == http.MethodPost && p == "/v1/tokens":
		s.createToken(w, body)
	case r.Method == http.MethodPost && p == "/v1/payments":
		s.create(w, body)
	case isPayment && r.Method == http.MethodGet && !strings.Contains(rest, "/"):
		s.fetch(w, rest)
	case isPayment && r.Method == http.MethodPut && !strings.Contains(rest, "/"):
		s.update(w, rest, body)
	case isPayment && r.Method == http.MethodPost && strings.HasSuffix(rest, "/refund"):
		s.refund(w, strings.TrimSuffix(rest, "/refund"), body)
	default:
		apiErr(w, http.StatusNotFound, "invalid_request_error", "Object not found", nil)
	}
}

// decodeStrict reads a JSON body into v, refusing unknown fields and
// fractional amounts (v uses json.Number).
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	return dec.Decode(v)
}

// createToken is POST /v1/tokens: Moyasar's card form turning a card into
// a token, with the publishable key.
func (s *Server) createToken(w http.ResponseWriter, body []byte) {
	var in struct {
		Name, Number, Month, Year, CVC, CallbackURL string
		SaveOnly                                    bool `json:"save_only"`
	}
	if err := json.Unmarshal(body, &in); err != nil || len(in.Number) < 12 || len(strings.Fields(in.Name)) < 2 {
		validation(w, map[string][]string{"number": {"is invalid"}})
		return
	}
	id := "token_" + randomHex(14)
	s.mu.Lock()
	s.tokens[id] = in.Number
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"id": id, "status": "active", "brand": "visa", "funding": "credit", "country": "SA",
		"month": in.Month, "year": in.Year, "name": in.Name, "last_four": in.Number[len(in.Number)-4:],
		"metadata": nil, "message": nil, "verification_url": nil,
		"created_at": time.Now().UTC().Format(time.RFC3339), "updated_at": time.Now().UTC().Format(time.RFC3339),
	})
}

type createIn struct {
	GivenID     string         `json:"given_id"`
	Amount      json.Number    `json:"amount"`
	Currency    string         `json:"currency"`
	Description string         `json:"description"`
	CallbackURL string         `json:"callback_url"`
	Metadata    map[string]any `json:"metadata"`
	Source      struct {
		Type   string `json:"type"`
		Token  string `json:"token"`
		ThreeD *bool  `json:"3ds"`
		Manual bool   `json:"manual"`
	} `json:"source"`
}

// create is POST /v1/payments with a token source.
func (s *Server) create(w http.ResponseWriter, body []byte) {
	var in createIn
	if err := decodeStrict(body, &in); err != nil {
		validation(w, map[string][]string{"body": {err.Error()}})
		return
	}
	errs := map[string][]string{}
	amount, err := in.Amount.Int64()
	if err != nil || amount <= 0 {
		errs["amount"] = []string{"must be an integer greater than 0"}
	}
	if !slices.Contains(enabledCurrencies, in.Currency) {
		errs["currency"] = []string{"is not supported"}
	}
	if u, err := url.Parse(in.CallbackURL); err != nil || u.Host == "" {
		errs["callback_url"] = []string{"is required for this source"}
	}
	if in.GivenID != "" && !uuidRE.MatchString(in.GivenID) {
		errs["given_id"] = []string{"is not a valid UUID"}
	}
	if in.Source.Type != "token" {
		errs["source.type"] = []string{"is not supported here"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	card, ok := s.tokens[in.Source.Token]
	if !ok && in.Source.Type == "token" {
		errs["source.token"] = []string{"is invalid"}
	}
	if prev := s.payments[in.GivenID]; in.GivenID != "" && prev != nil {
		if s.dupReturnsPayment {
			writeJSON(w, http.StatusCreated, s.render(prev))
		} else {
			validation(w, map[string][]string{"given_id": {"has already been taken"}})
		}
		return
	}
	if len(errs) > 0 {
		validation(w, errs)
		return
	}
	id := in.GivenID
	if id == "" {
		id = newUUID()
	}
	now := time.Now().UTC()
	p := &payment{id: id, amount: amount, currency: in.Currency, callbackURL: in.CallbackURL, description: in.Description,
		token: in.Source.Token, card: card, metadata: in.Metadata, created: now, updated: now,
		threeDS: in.Source.ThreeD == nil || *in.Source.ThreeD}
	switch card {
	case CardApprove:
		p.status, p.message, p.responseCode = "paid", "APPROVED", "00"
	case CardInsufficient:
		p.status, p.message, p.responseCode = "failed", "INSUFFICIENT FUNDS", "51"
	case CardDecline:
		p.status, p.message, p.responseCode = "failed", "DECLINED", "05"
	case CardExpired:
		p.status, p.message, p.responseCode = "failed", "DECLINED: EXPIRED CARD", "54"
	case CardProcessing:
		p.status, p.message, p.responseCode = "failed", "SYSTEM ERROR", "96"
	case Card3DS:
		if p.threeDS {
			p.status = "initiated"
		} else {
			p.status, p.message = "failed", "3-D Secure transaction attempt failed (Not Enrolled)"
		}
	default: // "Using any card that is not listed below will result in a failed payment."
		p.status, p.message, p.responseCode = "failed", "UNSPECIFIED FAILURE", "99"
	}
	s.payments[id] = p
	s.order = append(s.order, id)
	s.created++
	writeJSON(w, http.StatusCreated, s.render(p))
}

// format writes minor units of cur as Moyasar's *_format fields do.
func format(minor int64, cur string) string {
	return money.Amount{Minor: minor, Currency: money.Currency(cur)}.String()
}

// render is the payment object as Moyasar's API shows it. s.mu is held.
func (s *Server) render(p *payment) map[string]any {
	var msg, code, txURL any
	if p.message != "" {
		msg = p.message
	}
	if p.responseCode != "" {
		code = p.responseCode
	}
	if p.status == "initiated" {
		txURL = s.URL + "/3ds/" + p.id
	}
	var refundedAt any
	if p.refunded > 0 {
		refundedAt = p.updated.Format(time.RFC3339Nano)
	}
	return map[string]any{
		"id": p.id, "status": p.status, "amount": p.amount, "fee": 0, "currency": p.currency,
		"refunded": p.refunded, "refunded_at": refundedAt, "captured": 0, "captured_at": nil, "voided_at": nil,
		"description": p.description, "amount_format": format(p.amount, p.currency), "fee_format": format(0, p.currency),
		"refunded_format": format(p.refunded, p.currency), "captured_format": format(0, p.currency),
		"invoice_id": nil, "ip": "127.0.0.1", "callback_url": p.callbackURL,
		"created_at": p.created.Format(time.RFC3339Nano), "updated_at": p.updated.Format(time.RFC3339Nano),
		"metadata": p.metadata,
		"source": map[string]any{
			"type": "creditcard", "company": "visa", "name": "Test Shopper",
			"number": p.card[:4] + "-XXXX-XXXX-" + p.card[len(p.card)-4:], "gateway_id": "moyasar_cc_" + p.id[:8],
			"reference_number": nil, "token": p.token, "message": msg, "transaction_url": txURL, "response_code": code,
		},
	}
}

// fetch is GET /v1/payments/{id}.
func (s *Server) fetch(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[id]
	if p == nil {
		apiErr(w, http.StatusNotFound, "invalid_request_error", "Object not found", nil)
		return
	}
	writeJSON(w, http.StatusOK, s.render(p))
}

// update is PUT /v1/payments/{id}: description and metadata.
func (s *Server) update(w http.ResponseWriter, id string, body []byte) {
	var in struct {
		Description *string        `json:"description"`
		Metadata    map[string]any `json:"metadata"`
	}
	if err := decodeStrict(body, &in); err != nil {
		validation(w, map[string][]string{"body": {err.Error()}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[id]
	if p == nil {
		apiErr(w, http.StatusNotFound, "invalid_request_error", "Object not found", nil)
		return
	}
	if in.Description != nil {
		p.description = *in.Description
	}
	if in.Metadata != nil {
		p.metadata = in.Metadata
	}
	p.updated = time.Now().UTC()
	writeJSON(w, http.StatusOK, s.render(p))
}

// refund is POST /v1/payments/{id}/refund: the amount (all that is left
// when absent) is added to refunded.
func (s *Server) refund(w http.ResponseWriter, id string, body []byte) {
	var in struct {
		Amount *json.Number `json:"amount"`
	}
	if err := decodeStrict(body, &in); err != nil {
		validation(w, map[string][]string{"body": {err.Error()}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[id]
	if p == nil {
		apiErr(w, http.StatusNotFound, "invalid_request_error", "Object not found", nil)
		return
	}
	drop := s.dropRefund
	s.dropRefund = ""
	if drop == "before" {
		hangUp(w)
		return
	}
	if p.status != "paid" && p.status != "captured" && p.status != "refunded" {
		apiErr(w, http.StatusBadRequest, "invalid_request_error", "Payment is not refundable", nil)
		return
	}
	amount := p.amount - p.refunded
	if in.Amount != nil {
		a, err := in.Amount.Int64()
		if err != nil || a <= 0 {
			validation(w, map[string][]string{"amount": {"must be an integer greater than 0"}})
			return
		}
		amount = a
	}
	if amount > p.amount-p.refunded || amount <= 0 {
		validation(w, map[string][]string{"amount": {"exceeds the refundable amount"}})
		return
	}
	p.refunded += amount
	s.refundPosts++
	if p.refunded == p.amount {
		p.status = "refunded"
	}
	p.updated = time.Now().UTC()
	if drop == "after" {
		hangUp(w)
		return
	}
	writeJSON(w, http.StatusOK, s.render(p))
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
	}
}

// challenge is the 3-D Secure page transaction_url links to: the shopper
// completes or fails it (?action=complete|fail), and is sent to the
// callback_url with the payment's id, status and message, as Moyasar does.
func (s *Server) challenge(w http.ResponseWriter, r *http.Request, id string) {
	action := r.URL.Query().Get("action")
	s.mu.Lock()
	p := s.payments[id]
	if p == nil || p.status != "initiated" || (action != "complete" && action != "fail") {
		s.mu.Unlock()
		http.Error(w, "no challenge", http.StatusNotFound)
		return
	}
	if action == "complete" {
		p.status, p.message, p.responseCode = "paid", "APPROVED", "00"
	} else {
		p.status, p.message = "failed", "3-D Secure transaction attempt failed (Authentication Failed)"
	}
	p.updated = time.Now().UTC()
	cb, status, msg := p.callbackURL, p.status, p.message
	s.mu.Unlock()
	u, _ := url.Parse(cb)
	q := u.Query()
	q.Set("id", id)
	q.Set("status", status)
	q.Set("message", msg)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// Token makes a card token as Moyasar's card form does in the shopper's
// browser: POST /v1/tokens with the publishable key.
func (s *Server) Token(t testing.TB, card string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"name": "Test Shopper", "number": card, "month": "12", "year": "2035", "cvc": "123", "callback_url": "https://sakk.test/cb"})
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1/tokens", bytes.NewReader(body))
	req.SetBasicAuth(s.PublishableKey, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusCreated || tok.ID == "" {
		t.Fatalf("POST /v1/tokens: %s %v", resp.Status, err)
	}
	return tok.ID
}

// noRedirects is a browser that shows redirects instead of following them.
var noRedirects = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// ThreeDS answers the 3-D Secure page at redirectURL (a payment's
// source.transaction_url) as the shopper's browser would, passing (pass)
// or failing the challenge, and returns where the page sends the browser:
// the payment's callback_url with id, status and message.
func (s *Server) ThreeDS(t testing.TB, redirectURL string, pass bool) *url.URL {
	t.Helper()
	action := "fail"
	if pass {
		action = "complete"
	}
	resp, err := noRedirects.Get(redirectURL + "?action=" + action)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("3-D Secure page answered %s to %q, want a redirect to the callback", resp.Status, resp.Header.Get("Location"))
	}
	return loc
}

// Complete answers the 3-D Secure page at res.RedirectURL as the
// shopper's browser would, and checks that it is sent back to the
// callback URL with the payment's id.
func (s *Server) Complete(t *testing.T, res gateway.ChargeResult, pass bool) {
	t.Helper()
	if loc := s.ThreeDS(t, res.RedirectURL, pass); loc.Query().Get("id") != res.Reference {
		t.Fatalf("3-D Secure page sent the shopper to %q, want the callback with id=%s", loc, res.Reference)
	}
}

// Webhook returns a Moyasar notification of type typ ("payment_paid",
// "payment_failed", …) about the payment ref, as Moyasar would deliver it:
// the payment as the API shows it now, with secret (the endpoint's secret
// token, s.WebhookSecret, or another to forge one) in the body, and the
// account's mode in "live".
func (s *Server) Webhook(t testing.TB, secret, ref, typ string) gateway.Webhook {
	t.Helper()
	s.mu.Lock()
	p := s.payments[ref]
	var obj map[string]any
	if p != nil {
		obj = s.render(p)
	}
	s.mu.Unlock()
	if obj == nil {
		obj = map[string]any{"id": ref}
	}
	body, err := json.Marshal(map[string]any{
		"id": newUUID(), "type": typ, "created_at": time.Now().UTC().Format(time.RFC3339Nano),
		"secret_token": secret, "account_name": "sakk test", "live": s.live, "data": obj,
	})
	if err != nil {
		t.Fatal(err)
	}
	return gateway.Webhook{Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
}
