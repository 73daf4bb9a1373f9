// Package stripetest is a stand-in for Stripe for sakk's tests: Stripe's
// own mock server, stripe-mock, behind a thin recording layer that keeps
// the state stripe-mock does not (it is stateless). The connector's tests
// and the end-to-end tests of the HTTP surface share it; it is test code
// and nothing else imports it.
package stripetest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/stripe"
)

// Stripe's documented test PaymentMethods, which make test mode behave as
// their names say; the hosted page's Stripe.js would make a PaymentMethod
// of a test card, and these are what those cards become. The stand-in
// reads them the same way.
const (
	PMApprove      = "pm_card_visa"
	PMDecline      = "pm_card_chargeDeclined"
	PMInsufficient = "pm_card_chargeDeclinedInsufficientFunds"
	PMProcessing   = "pm_card_chargeDeclinedProcessingError"
	PM3DS          = "pm_card_threeDSecure2Required"
)

// APIVersion is the Stripe API version of stripe-mock's document, which
// events the stand-in makes carry.
const APIVersion = "2026-08-26.dahlia"

// StandIn is stripe-mock behind a thin recording layer. The layer
// forwards every request to stripe-mock (so every request the connector
// sends is validated against Stripe's OpenAPI document), records the
// request, and adjusts the status, amounts, next_action and
// last_payment_error of the answer to what Stripe's test mode does for the
// scenario: the test PaymentMethod chosen, the shopper's answer to 3-D
// Secure, the refunds made so far, and Idempotency-Key replays (Stripe
// keeps the first answer of a key; a key in flight gets 409; a key reused
// with other parameters gets an idempotency_error). Anything stripe-mock
// rejects is recorded and fails the test that started the stand-in.
type StandIn struct {
	mock string
	srv  *httptest.Server

	mu       sync.Mutex
	intents  map[string]*intent
	keys     map[string]stored
	inflight map[string]bool
	reqs     []Request
	rejected []string
	created  int
}

type intent struct {
	id, currency, returnURL    string
	amount, received, refunded int64
	status                     string
	lastErr                    map[string]any
}

type stored struct {
	fingerprint string
	status      int
	body        []byte
}

// ownRead marks the stand-in's own reads (to write an event), which are
// not recorded: Requests lists what others sent.
const ownRead = "X-Stand-In-Own-Read"

// Request is one request as the stand-in received it.
type Request struct {
	Method, Path string
	Form         url.Values // the form-encoded body
	Header       http.Header
}

// Start starts a stand-in in front of the shared stripe-mock (see
// MockURL); it stops with the test, and fails the test if stripe-mock
// rejected any request sent to it.
func Start(t testing.TB) *StandIn {
	t.Helper()
	s := &StandIn{
		mock:     MockURL(t),
		intents:  map[string]*intent{},
		keys:     map[string]stored{},
		inflight: map[string]bool{},
	}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	t.Cleanup(func() {
		for _, r := range s.TakeRejected() {
			t.Errorf("stripe-mock rejected a request sent to the stand-in: %s", r)
		}
	})
	return s
}

// URL is the stand-in's base URL: a connector's BaseURL.
func (s *StandIn) URL() string { return s.srv.URL }

// Charges is how many PaymentIntents were created.
func (s *StandIn) Charges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.created
}

// Requests returns every request received so far, in order.
func (s *StandIn) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// RequestsTo returns the requests received so far to method and path.
func (s *StandIn) RequestsTo(method, path string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Method == method && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// TakeRejected returns and forgets the requests stripe-mock rejected so
// far, for tests that send invalid requests on purpose.
func (s *StandIn) TakeRejected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.rejected
	s.rejected = nil
	return out
}

// ServeHTTP answers as Stripe would.
func (s *StandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	form, _ := url.ParseQuery(string(body))
	if r.Header.Get(ownRead) == "" {
		s.mu.Lock()
		s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, Form: form, Header: r.Header.Clone()})
		s.mu.Unlock()
	}

	var status int
	var out []byte
	switch p := r.URL.Path; {
	case r.Method == http.MethodPost && p == "/v1/payment_intents":
		status, out = s.idempotent(w, r, body, form, s.create)
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/v1/payment_intents/"):
		status, out = s.get(r, strings.TrimPrefix(p, "/v1/payment_intents/"))
	case r.Method == http.MethodPost && p == "/v1/refunds":
		status, out = s.idempotent(w, r, body, form, s.refund)
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/3ds/"):
		s.challenge(w, r, strings.TrimPrefix(p, "/3ds/"))
		return
	default:
		status, out = s.forward(r, body)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(out)
}

// forward sends the request to stripe-mock and returns its answer; an
// answer other than 200 is a rejection, recorded.
func (s *StandIn) forward(r *http.Request, body []byte) (int, []byte) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, s.mock+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return s.reject(r, 0, []byte(err.Error()))
	}
	for _, h := range []string{"Authorization", "Content-Type", "Stripe-Version", "Idempotency-Key"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return s.reject(r, 0, []byte(err.Error()))
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return s.reject(r, resp.StatusCode, out)
	}
	return resp.StatusCode, out
}

func (s *StandIn) reject(r *http.Request, status int, body []byte) (int, []byte) {
	s.mu.Lock()
	s.rejected = append(s.rejected, fmt.Sprintf("%s %s: %d %s", r.Method, r.URL.Path, status, body))
	s.mu.Unlock()
	if status == 0 {
		status = http.StatusBadGateway
	}
	return status, body
}

// idempotent applies Stripe's Idempotency-Key rules around handle.
func (s *StandIn) idempotent(w http.ResponseWriter, r *http.Request, body []byte, form url.Values, handle func(*http.Request, []byte, url.Values) (int, []byte)) (int, []byte) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return handle(r, body, form)
	}
	fp := r.URL.Path + "?" + form.Encode() // Encode sorts by key
	s.mu.Lock()
	if s.inflight[key] {
		s.mu.Unlock()
		return http.StatusConflict, errorBody(map[string]any{"type": "invalid_request_error", "code": "idempotency_key_in_use",
			"message": "There is currently another in-progress request using this idempotency key. Try again later."})
	}
	if st, ok := s.keys[key]; ok {
		s.mu.Unlock()
		if st.fingerprint != fp {
			return http.StatusBadRequest, errorBody(map[string]any{"type": "idempotency_error",
				"message": "Keys for idempotent requests can only be used with the same parameters they were first used with."})
		}
		w.Header().Set("Idempotent-Replayed", "true")
		return st.status, st.body
	}
	s.inflight[key] = true
	s.mu.Unlock()

	status, out := handle(r, body, form)

	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, key)
	if status == http.StatusOK || status == http.StatusPaymentRequired {
		s.keys[key] = stored{fingerprint: fp, status: status, body: out}
	}
	return status, out
}

func errorBody(e map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"error": e})
	return b
}

func cardError(code, declineCode, message string) map[string]any {
	e := map[string]any{"type": "card_error", "code": code, "message": message}
	if declineCode != "" {
		e["decline_code"] = declineCode
	}
	return e
}

// create handles POST /v1/payment_intents (create and confirm).
func (s *StandIn) create(r *http.Request, body []byte, form url.Values) (int, []byte) {
	status, out := s.forward(r, body)
	if status != http.StatusOK {
		return status, out
	}
	var pi map[string]any
	if err := json.Unmarshal(out, &pi); err != nil {
		return s.reject(r, status, out)
	}
	amount, _ := strconv.ParseInt(form.Get("amount"), 10, 64)
	in := &intent{id: pi["id"].(string), amount: amount, currency: form.Get("currency"), returnURL: form.Get("return_url")}
	switch pm := form.Get("payment_method"); pm {
	case PMApprove:
		in.status, in.received = "succeeded", amount
	case PM3DS:
		in.status = "requires_action"
	case PMDecline:
		in.status, in.lastErr = "requires_payment_method", cardError("card_declined", "generic_decline", "Your card was declined.")
	case PMInsufficient:
		in.status, in.lastErr = "requires_payment_method", cardError("card_declined", "insufficient_funds", "Your card has insufficient funds.")
	case PMProcessing:
		in.status, in.lastErr = "requires_payment_method", cardError("processing_error", "", "An error occurred while processing your card. Try again in a little bit.")
	default:
		return http.StatusBadRequest, errorBody(map[string]any{"type": "invalid_request_error", "code": "resource_missing", "param": "payment_method",
			"message": fmt.Sprintf("No such PaymentMethod: '%s'", pm)})
	}
	s.mu.Lock()
	s.intents[in.id] = in
	s.created++
	obj := s.render(pi, in)
	s.mu.Unlock()
	if in.lastErr != nil {
		e := maps.Clone(in.lastErr)
		e["payment_intent"] = obj
		return http.StatusPaymentRequired, errorBody(e)
	}
	b, _ := json.Marshal(obj)
	return http.StatusOK, b
}

// render sets stripe-mock's fixture PaymentIntent to in's state. s.mu is
// held.
func (s *StandIn) render(pi map[string]any, in *intent) map[string]any {
	obj := maps.Clone(pi)
	obj["id"] = in.id
	obj["amount"] = in.amount
	obj["currency"] = in.currency
	obj["status"] = in.status
	obj["amount_received"] = in.received
	obj["cancellation_reason"] = nil
	obj["next_action"] = nil
	obj["last_payment_error"] = nil
	if in.status == "requires_action" {
		obj["next_action"] = map[string]any{"type": "redirect_to_url", "redirect_to_url": map[string]any{
			"url": s.srv.URL + "/3ds/" + in.id, "return_url": in.returnURL}}
	}
	if in.lastErr != nil {
		obj["last_payment_error"] = in.lastErr
	}
	return obj
}

// get handles GET /v1/payment_intents/{id}.
func (s *StandIn) get(r *http.Request, id string) (int, []byte) {
	status, out := s.forward(r, nil)
	if status != http.StatusOK {
		return status, out
	}
	var pi map[string]any
	if err := json.Unmarshal(out, &pi); err != nil {
		return s.reject(r, status, out)
	}
	s.mu.Lock()
	in := s.intents[id]
	var obj map[string]any
	if in != nil {
		obj = s.render(pi, in)
	}
	s.mu.Unlock()
	if in == nil {
		return http.StatusNotFound, errorBody(map[string]any{"type": "invalid_request_error", "code": "resource_missing", "param": "intent",
			"message": fmt.Sprintf("No such payment_intent: '%s'", id)})
	}
	b, _ := json.Marshal(obj)
	return http.StatusOK, b
}

// challenge is the 3-D Secure page next_action links to: the shopper
// completes or fails it (?action=complete|fail), and is sent back to the
// return_url as Stripe sends them.
func (s *StandIn) challenge(w http.ResponseWriter, r *http.Request, id string) {
	action := r.URL.Query().Get("action")
	s.mu.Lock()
	in := s.intents[id]
	if in == nil || in.status != "requires_action" || (action != "complete" && action != "fail") {
		s.mu.Unlock()
		http.Error(w, "no challenge", http.StatusNotFound)
		return
	}
	redirect := "succeeded"
	if action == "complete" {
		in.status, in.received = "succeeded", in.amount
	} else {
		redirect = "failed"
		in.status, in.lastErr = "requires_payment_method", map[string]any{"type": "invalid_request_error", "code": "payment_intent_authentication_failure",
			"message": "We are unable to authenticate your payment method. Please choose a different payment method and try again."}
	}
	ret := in.returnURL
	s.mu.Unlock()
	u, _ := url.Parse(ret)
	q := u.Query()
	q.Set("payment_intent", id)
	q.Set("redirect_status", redirect)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// refund handles POST /v1/refunds, refusing what Stripe refuses.
func (s *StandIn) refund(r *http.Request, body []byte, form url.Values) (int, []byte) {
	status, out := s.forward(r, body)
	if status != http.StatusOK {
		return status, out
	}
	var re map[string]any
	if err := json.Unmarshal(out, &re); err != nil {
		return s.reject(r, status, out)
	}
	id := form.Get("payment_intent")
	amount, _ := strconv.ParseInt(form.Get("amount"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.intents[id]
	invalid := func(e map[string]any) (int, []byte) {
		e["type"] = "invalid_request_error"
		return http.StatusBadRequest, errorBody(e)
	}
	switch {
	case in == nil:
		return invalid(map[string]any{"code": "resource_missing", "param": "payment_intent", "message": fmt.Sprintf("No such payment_intent: '%s'", id)})
	case in.status != "succeeded":
		return invalid(map[string]any{"message": fmt.Sprintf("This PaymentIntent (%s) does not have a successful charge to refund.", id)})
	case in.refunded == in.received:
		return invalid(map[string]any{"code": "charge_already_refunded", "message": "Charge for " + id + " has already been refunded."})
	case in.refunded+amount > in.received:
		return invalid(map[string]any{"param": "amount", "message": fmt.Sprintf("Refund amount (%d) is greater than unrefunded amount on charge (%d)", amount, in.received-in.refunded)})
	}
	in.refunded += amount
	re["amount"] = amount
	re["currency"] = in.currency
	re["payment_intent"] = id
	re["status"] = "succeeded"
	b, _ := json.Marshal(re)
	return http.StatusOK, b
}

// noRedirects is a browser that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}

// ThreeDSecure answers the 3-D Secure challenge at redirectURL (a
// next_action link) as the shopper's browser would, passing or failing
// it, and returns where Stripe sends the browser back: the return_url
// with payment_intent and redirect_status added.
func (s *StandIn) ThreeDSecure(t testing.TB, redirectURL string, pass bool) *url.URL {
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
	if resp.StatusCode != http.StatusFound || err != nil || !loc.IsAbs() {
		t.Fatalf("3-D Secure page answered %s to %q, want a redirect to the return URL", resp.Status, resp.Header.Get("Location"))
	}
	return loc
}

// Event returns the body of a Stripe event of type typ about the
// PaymentIntent ref, with the object as the API shows it now, as Stripe
// would deliver it.
func (s *StandIn) Event(t testing.TB, ref, typ string, at time.Time) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/v1/payment_intents/"+ref, nil)
	req.Header.Set("Authorization", "Bearer sk_test_webhook")
	req.Header.Set(ownRead, "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var obj map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&obj); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", ref, resp.Status, err)
	}
	body, _ := json.Marshal(map[string]any{
		"id": "evt_" + RandomHex(12), "object": "event", "type": typ, "created": at.Unix(),
		"livemode": false, "pending_webhooks": 1, "api_version": APIVersion,
		"data": map[string]any{"object": obj},
	})
	return body
}

// Webhook returns a Stripe event about the PaymentIntent ref, as Stripe
// would deliver it: the object as the API shows it now, signed with
// secret at time at.
func (s *StandIn) Webhook(t testing.TB, secret, ref, typ string, at time.Time) gateway.Webhook {
	t.Helper()
	body := s.Event(t, ref, typ, at)
	return gateway.Webhook{Header: http.Header{stripe.SignatureHeader: {Sign(secret, at, body)}, "Content-Type": {"application/json"}}, Body: body}
}

// Sign returns the Stripe-Signature header of body as Stripe's webhook
// documentation describes it, written here independently of the
// connector: the signed payload is the timestamp in Unix seconds, a
// period, and the raw body; the signature is its HMAC-SHA256 keyed with
// the endpoint secret, in lower-case hex; the header is
// "t=<timestamp>,v1=<signature>".
func Sign(secret string, at time.Time, body []byte) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	return "t=" + ts + ",v1=" + V1(secret, ts, body)
}

// V1 is the v1 signature of body at timestamp ts (Unix seconds, as text).
func V1(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + string(body)))
	return hex.EncodeToString(m.Sum(nil))
}

// RandomHex returns n random bytes in hex: test keys and ids.
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
