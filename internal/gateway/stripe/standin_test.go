package stripe_test

import (
	"bytes"
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
// their names say. The recording layer reads them the same way.
const (
	pmApprove      = "pm_card_visa"
	pmDecline      = "pm_card_chargeDeclined"
	pmInsufficient = "pm_card_chargeDeclinedInsufficientFunds"
	pmProcessing   = "pm_card_chargeDeclinedProcessingError"
	pm3DS          = "pm_card_threeDSecure2Required"
)

// standIn is stripe-mock behind a thin recording layer. stripe-mock is
// stateless: it validates each request against Stripe's OpenAPI document
// and answers a fixture. The layer forwards every request to it (so every
// request the connector sends is validated), records the request, and
// adjusts the status, amounts, next_action and last_payment_error of the
// answer to what Stripe's test mode does for the scenario: the test
// PaymentMethod chosen, the shopper's answer to 3-D Secure, the refunds
// made so far, and Idempotency-Key replays (Stripe keeps the first answer
// of a key; a key in flight gets 409; a key reused with other parameters
// gets an idempotency_error). Anything stripe-mock rejects is recorded and
// fails the test.
type standIn struct {
	mock string
	srv  *httptest.Server

	mu       sync.Mutex
	intents  map[string]*intent
	keys     map[string]stored
	inflight map[string]bool
	reqs     []recorded
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

// recorded is one request as the layer received it.
type recorded struct {
	Method, Path string
	Form         url.Values
	Header       http.Header
}

func newStandIn(t *testing.T) *standIn {
	t.Helper()
	s := &standIn{
		mock:     needMock(t),
		intents:  map[string]*intent{},
		keys:     map[string]stored{},
		inflight: map[string]bool{},
	}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, r := range s.rejected {
			t.Errorf("stripe-mock rejected a request the connector sent: %s", r)
		}
	})
	return s
}

// connector returns a connector pointed at the layer, with short retry
// waits.
func (s *standIn) connector(t *testing.T, webhookSecret string) *stripe.Connector {
	t.Helper()
	c, err := stripe.New(stripe.Config{
		SecretKey:      "sk_test_" + randomHex(12),
		PublishableKey: "pk_test_" + randomHex(12),
		WebhookSecret:  webhookSecret,
		BaseURL:        s.srv.URL,
		MaxRetries:     4,
	})
	if err != nil {
		t.Fatal(err)
	}
	stripe.SetBackoff(c, 10*time.Millisecond)
	return c
}

// charges is how many PaymentIntents were created: the conformance
// suite's proof that a repeated key charges once.
func (s *standIn) charges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.created
}

// requests returns the recorded requests to path.
func (s *standIn) requests(method, path string) []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []recorded
	for _, r := range s.reqs {
		if r.Method == method && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	form, _ := url.ParseQuery(string(body))
	s.mu.Lock()
	s.reqs = append(s.reqs, recorded{Method: r.Method, Path: r.URL.Path, Form: form, Header: r.Header.Clone()})
	s.mu.Unlock()

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
func (s *standIn) forward(r *http.Request, body []byte) (int, []byte) {
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

func (s *standIn) reject(r *http.Request, status int, body []byte) (int, []byte) {
	s.mu.Lock()
	s.rejected = append(s.rejected, fmt.Sprintf("%s %s: %d %s", r.Method, r.URL.Path, status, body))
	s.mu.Unlock()
	if status == 0 {
		status = http.StatusBadGateway
	}
	return status, body
}

// idempotent applies Stripe's Idempotency-Key rules around handle.
func (s *standIn) idempotent(w http.ResponseWriter, r *http.Request, body []byte, form url.Values, handle func(*http.Request, []byte, url.Values) (int, []byte)) (int, []byte) {
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
func (s *standIn) create(r *http.Request, body []byte, form url.Values) (int, []byte) {
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
	case pmApprove:
		in.status, in.received = "succeeded", amount
	case pm3DS:
		in.status = "requires_action"
	case pmDecline:
		in.status, in.lastErr = "requires_payment_method", cardError("card_declined", "generic_decline", "Your card was declined.")
	case pmInsufficient:
		in.status, in.lastErr = "requires_payment_method", cardError("card_declined", "insufficient_funds", "Your card has insufficient funds.")
	case pmProcessing:
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
func (s *standIn) render(pi map[string]any, in *intent) map[string]any {
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
func (s *standIn) get(r *http.Request, id string) (int, []byte) {
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
func (s *standIn) challenge(w http.ResponseWriter, r *http.Request, id string) {
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
func (s *standIn) refund(r *http.Request, body []byte, form url.Values) (int, []byte) {
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
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// complete answers the 3-D Secure challenge at res.RedirectURL as the
// shopper's browser would, and checks that it is sent back to the return
// URL with the PaymentIntent's id.
func (s *standIn) complete(t *testing.T, res gateway.ChargeResult, pass bool) {
	t.Helper()
	action := "fail"
	if pass {
		action = "complete"
	}
	resp, err := noRedirects.Get(res.RedirectURL + "?action=" + action)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Query().Get("payment_intent") != res.Reference {
		t.Fatalf("3-D Secure page answered %s to %q, want a redirect to the return URL with payment_intent=%s", resp.Status, resp.Header.Get("Location"), res.Reference)
	}
}

// webhook returns a Stripe event about the PaymentIntent ref, as Stripe
// would deliver it: the object as the API shows it now, signed with
// secret at time at.
func (s *standIn) webhook(t *testing.T, secret, ref, typ string, at time.Time) gateway.Webhook {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/v1/payment_intents/"+ref, nil)
	req.Header.Set("Authorization", "Bearer sk_test_webhook")
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
		"id": "evt_" + randomHex(12), "object": "event", "type": typ, "created": at.Unix(),
		"livemode": false, "pending_webhooks": 1, "api_version": "2026-08-26.dahlia",
		"data": map[string]any{"object": obj},
	})
	return gateway.Webhook{Header: http.Header{stripe.SignatureHeader: {signHeader(secret, at, body)}, "Content-Type": {"application/json"}}, Body: body}
}
