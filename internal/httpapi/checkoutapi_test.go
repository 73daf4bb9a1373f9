package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/sakkhq/sakk/docs"
	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/gateway/sandbox"
	"github.com/sakkhq/sakk/internal/httpapi"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/otp"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/ratelimit"
	"github.com/sakkhq/sakk/internal/routing"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/token"
	"github.com/sakkhq/sakk/internal/vault"
	"github.com/sakkhq/sakk/internal/webhook"
)

// clock is a settable clock shared by every part of one test server.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// server is sakk's real HTTP surface over a real store, driven through a
// client that validates every exchange against docs/openapi.yaml.
type server struct {
	t        testing.TB
	url      string
	store    *store.Store
	merchant *merchant.Service
	clock    *clock
	client   *http.Client
	contract *contract
	accounts *routing.Registry
	webhooks *webhook.Dispatcher
	team     *account.Service
}

type serverOptions struct {
	rateLimit int
	opts      store.Options    // zero: a fresh database of the engine
	senders   otp.Senders      // of one-time codes; none: sandbox test identifiers only
	gateways  routing.BaseURLs // stand-ins the gateways' connectors call; nil: the gateways themselves
	logs      io.Writer        // the HTTP layer's log lines (safe for concurrent writes); nil: discarded
	mailer    otp.Sender       // invites and password resets; nil: none
}

func newServer(t testing.TB, engine store.Engine, o serverOptions) *server {
	t.Helper()
	if o.opts == (store.Options{}) {
		o.opts = storetest.Options(t, engine)
	}
	st, err := store.Open(t.Context(), o.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if o.rateLimit == 0 {
		o.rateLimit = 1000
	}
	clk := &clock{now: time.Now().UTC().Truncate(time.Microsecond)}
	box, err := vault.New(testVaultKey)
	if err != nil {
		t.Fatal(err)
	}
	ring := token.NewRing(st, box, clk.Now, token.Options{})
	ms := merchant.New(st, box, clk.Now)
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	co := checkout.New(st, ring, clk.Now, srv.URL)
	sim, err := sandbox.New(sandbox.Options{PublicURL: srv.URL, Key: randomKey(t), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	codes, err := otp.New(st, o.senders, randomKey(t), clk.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	accounts := routing.New(st, box, sim, routing.Builtin(o.gateways), clk.Now)
	co.UsePaymentFlow(checkout.PaymentFlow{Gateways: checkout.Gateways{Sandbox: sim, Accounts: accounts}, OTP: codes, Sealer: box})
	logger := slog.New(slog.DiscardHandler)
	if o.logs != nil {
		logger = slog.New(slog.NewTextHandler(o.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	dispatcher := webhook.New(st, box, webhook.Options{Logger: logger, Now: clk.Now})
	// Cheap password hashes and no slow-down keep sign-in tests fast; the
	// rules are the production ones.
	team := account.New(st, box, clk.Now, account.Options{Mailer: o.mailer, PublicURL: srv.URL,
		Hashing: account.Hashing{Time: 1, Memory: 64, Threads: 1}, Slowdown: time.Microsecond})
	srv.Config.Handler = httpapi.New(httpapi.Deps{
		Account:    team,
		PublicURL:  srv.URL,
		Logger:     logger,
		Ready:      st.Ready,
		Checkout:   co,
		Accounts:   accounts,
		Webhooks:   dispatcher,
		Merchant:   ms,
		Tokens:     ring,
		Limiter:    ratelimit.New(st, clk.Now),
		RateLimit:  o.rateLimit,
		RateWindow: 15 * time.Minute,
	})
	c := loadContract(t)
	return &server{t: t, url: srv.URL, store: st, merchant: ms, clock: clk, contract: c, accounts: accounts, webhooks: dispatcher, team: team,
		client: &http.Client{Transport: c.transport(t), Timeout: 30 * time.Second}}
}

// randomKey is 32 fresh random bytes.
func randomKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// testVaultKey is one installation key shared by servers of one test, so
// that two "instances" on one database agree.
var testVaultKey = vault.NewKey()

// contract validates exchanges against the OpenAPI document.
type contract struct {
	router routers.Router
}

var (
	contractOnce sync.Once
	contractDoc  *openapi3.T
	contractErr  error
)

func loadContract(t testing.TB) *contract {
	t.Helper()
	contractOnce.Do(func() {
		loader := openapi3.NewLoader()
		contractDoc, contractErr = loader.LoadFromData(docs.OpenAPI)
		if contractErr == nil {
			contractErr = contractDoc.Validate(loader.Context)
		}
	})
	if contractErr != nil {
		t.Fatalf("docs/openapi.yaml: %v", contractErr)
	}
	router, err := gorillamux.NewRouter(contractDoc)
	if err != nil {
		t.Fatal(err)
	}
	return &contract{router: router}
}

// invalidRequest marks a request the test sends knowing it breaks the
// contract (to see it refused); its response is still checked.
type invalidRequestKey struct{}

func markInvalid(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), invalidRequestKey{}, true))
}

type validatingTransport struct {
	t        testing.TB
	contract *contract
}

func (c *contract) transport(t testing.TB) http.RoundTripper { return validatingTransport{t, c} }

func (v validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	route, params, err := v.contract.router.FindRoute(req)
	if err != nil {
		v.t.Errorf("contract: %s %s is not in docs/openapi.yaml: %v", req.Method, req.URL.Path, err)
		return http.DefaultTransport.RoundTrip(req)
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if invalid, _ := req.Context().Value(invalidRequestKey{}).(bool); !invalid {
		if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
			v.t.Errorf("contract: request %s %s breaks docs/openapi.yaml: %v", req.Method, req.URL.Path, err)
		}
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		v.t.Errorf("contract: response %d to %s %s breaks docs/openapi.yaml: %v\n%s", resp.StatusCode, req.Method, req.URL.Path, err, body)
	}
	return resp, nil
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("response %d is not a JSON object: %v\n%s", r.status, err, r.body)
	}
	return m
}

// errorCode reads the Checkout API's {"error":{"code"}}.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	code, _ := e["code"].(string)
	if msg, _ := e["message"].(string); code == "" || msg == "" {
		t.Errorf("error body lacks a code or message: %s", r.body)
	}
	return code
}

func (s *server) do(method, path string, header map[string]string, body string, valid bool) response {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(s.t.Context(), method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if !valid {
		req = markInvalid(req)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// newApp creates an application and returns its keys in env.
func (s *server) newApp(name string, env pay.Environment) merchant.CreatedApplication {
	s.t.Helper()
	app, err := s.merchant.CreateApplication(s.t.Context(), merchant.NewApplication{Name: name, Environment: env})
	if err != nil {
		s.t.Fatal(err)
	}
	return app
}

const seedBody = `{
  "total": "1799.00",
  "currency": "MAD",
  "items": [
    {"id": "PRODUCT_123", "name": "Wireless Headphones", "price": 1799, "quantity": 1}
  ]
}`

func sessionCount(t *testing.T, st *store.Store) int {
	t.Helper()
	n, err := st.CountSessions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateSessionAsDocumented(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.newApp("Your Store", pay.Sandbox)
			r := s.do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": app.Keys.Secret}, seedBody, true)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			m := r.json(t)
			tok, _ := m["session_token"].(string)
			id, _ := m["session_id"].(string)
			if m["expires_in"] != json.Number("3600") || !strings.HasPrefix(id, "sess_") {
				t.Errorf("body %s", r.body)
			}
			// The token is a JWS whose header names its key, like the seed's
			// eyJraWQiOiJzZXNzaW9uLTIwMjUtMDEi… = {"kid":"session-2025-01"…
			header := decodeJWTHeader(t, tok)
			if kid, _ := header["kid"].(string); !strings.HasPrefix(kid, "session-"+s.clock.Now().Format("2006-01")) {
				t.Errorf("token header %v: want kid session-YYYY-MM", header)
			}
			sess, err := s.store.Session(t.Context(), app.Application.ID, pay.Sandbox, id)
			if err != nil {
				t.Fatal(err)
			}
			want := money.New(179900, "MAD")
			if sess.Amount != want || len(sess.Items) != 1 || sess.Items[0].UnitPrice != want || sess.Items[0].Quantity != 1 ||
				sess.Items[0].Reference != "PRODUCT_123" || sess.Status != pay.SessionInit {
				t.Errorf("stored session %+v", sess)
			}
			if got := r.header.Get("RateLimit-Limit"); got != "1000" {
				t.Errorf("RateLimit-Limit = %q", got)
			}
		})
	}
}

func decodeJWTHeader(t *testing.T, tok string) map[string]any {
	t.Helper()
	part, _, ok := strings.Cut(tok, ".")
	if !ok {
		t.Fatalf("%q is not a JWS", tok)
	}
	var header map[string]any
	raw, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil || json.Unmarshal(raw, &header) != nil {
		t.Fatalf("token header %q: %v", part, err)
	}
	return header
}

// Every documented error, and every kind of bad input, is a clear 4xx in
// the surface's own shape, and stores nothing.
func TestCreateSessionRefusals(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.newApp("Shop", pay.Sandbox)
			key := map[string]string{"X-API-Key": app.Keys.Secret}
			items := `[{"id":"A","name":"Lamp","price":12.5,"quantity":2}]`
			body := func(total, currency, items string) string {
				return fmt.Sprintf(`{"total":%s,"currency":%s,"items":%s}`, total, currency, items)
			}
			manyItems := "[" + strings.Repeat(`{"id":"A","name":"Lamp","price":1,"quantity":1},`, 10_000) + `{"id":"A","name":"Lamp","price":1,"quantity":1}]`
			cases := []struct {
				name   string
				header map[string]string
				body   string
				status int
				code   string
			}{
				{"no key", nil, body(`"25.00"`, `"MAD"`, items), 401, "INVALID_API_KEY"},
				{"unknown key", map[string]string{"X-API-Key": "sk_test_" + strings.Repeat("x", 32)}, body(`"25.00"`, `"MAD"`, items), 401, "INVALID_API_KEY"},
				{"public key as secret", map[string]string{"X-API-Key": app.Keys.Public}, body(`"25.00"`, `"MAD"`, items), 401, "INVALID_API_KEY"},
				{"zero total", key, body(`"0.00"`, `"MAD"`, `[{"id":"A","name":"Free","price":0,"quantity":1}]`), 400, "INVALID_AMOUNT"},
				{"negative total", key, body(`"-25.00"`, `"MAD"`, items), 400, "INVALID_AMOUNT"},
				{"total with exponent", key, body(`"2.5e1"`, `"MAD"`, items), 400, "INVALID_AMOUNT"},
				{"total NaN", key, body(`"NaN"`, `"MAD"`, items), 400, "INVALID_AMOUNT"},
				{"total empty", key, body(`""`, `"MAD"`, items), 400, "INVALID_AMOUNT"},
				{"total missing", key, `{"currency":"MAD","items":` + items + `}`, 400, "INVALID_AMOUNT"},
				{"total an object", key, body(`{}`, `"MAD"`, items), 400, "INVALID_AMOUNT"},
				{"total too precise", key, body(`"25.001"`, `"MAD"`, items), 400, "INVALID_AMOUNT"},
				{"total 30 digits", key, body(`"123456789012345678901234567890"`, `"MAD"`, items), 400, "INVALID_AMOUNT"},
				{"unknown currency", key, body(`"25.00"`, `"XYZ"`, items), 400, "INVALID_CURRENCY"},
				{"lower-case currency", key, body(`"25.00"`, `"mad"`, items), 400, "INVALID_CURRENCY"},
				{"currency not enabled", key, body(`"25.00"`, `"USD"`, items), 400, "INVALID_CURRENCY"},
				{"currency a number", key, body(`"25.00"`, `504`, items), 400, "INVALID_CURRENCY"},
				{"items missing", key, `{"total":"25.00","currency":"MAD"}`, 400, "INVALID_ITEMS"},
				{"items empty", key, body(`"25.00"`, `"MAD"`, `[]`), 400, "INVALID_ITEMS"},
				{"items an object", key, body(`"25.00"`, `"MAD"`, `{"id":"A"}`), 400, "INVALID_ITEMS"},
				{"item a string", key, body(`"25.00"`, `"MAD"`, `["A"]`), 400, "INVALID_ITEMS"},
				{"item without name", key, body(`"25.00"`, `"MAD"`, `[{"id":"A","price":12.5,"quantity":2}]`), 400, "INVALID_ITEMS"},
				{"item without id", key, body(`"25.00"`, `"MAD"`, `[{"name":"Lamp","price":12.5,"quantity":2}]`), 400, "INVALID_ITEMS"},
				{"negative quantity", key, body(`"-25.00"`, `"MAD"`, `[{"id":"A","name":"Lamp","price":12.5,"quantity":-2}]`), 400, "INVALID_AMOUNT"},
				{"negative quantity, positive total", key, body(`"25.00"`, `"MAD"`, `[{"id":"A","name":"Lamp","price":12.5,"quantity":-2}]`), 400, "INVALID_ITEMS"},
				{"fractional quantity", key, body(`"25.00"`, `"MAD"`, `[{"id":"A","name":"Lamp","price":10,"quantity":2.5}]`), 400, "INVALID_ITEMS"},
				{"zero quantity", key, body(`"25.00"`, `"MAD"`, `[{"id":"A","name":"Lamp","price":12.5,"quantity":0}]`), 400, "INVALID_ITEMS"},
				{"quantity a string", key, body(`"25.00"`, `"MAD"`, `[{"id":"A","name":"Lamp","price":12.5,"quantity":"2"}]`), 400, "INVALID_ITEMS"},
				{"price too precise", key, body(`"25.00"`, `"MAD"`, `[{"id":"A","name":"Lamp","price":12.505,"quantity":2}]`), 400, "INVALID_ITEMS"},
				{"price with exponent", key, body(`"25.00"`, `"MAD"`, `[{"id":"A","name":"Lamp","price":1.25e1,"quantity":2}]`), 400, "INVALID_ITEMS"},
				{"huge price", key, body(`"25.00"`, `"MAD"`, `[{"id":"A","name":"Lamp","price":99999999999999999999999,"quantity":2}]`), 400, "INVALID_ITEMS"},
				{"sum overflows", key, body(`"25.00"`, `"MAD"`, `[{"id":"A","name":"Lamp","price":90000000000000000,"quantity":1000}]`), 400, "INVALID_ITEMS"},
				{"negative price", key, body(`"25.00"`, `"MAD"`, `[{"id":"A","name":"Lamp","price":-12.5,"quantity":2}]`), 400, "INVALID_ITEMS"},
				{"10 000 items", key, body(`"10001.00"`, `"MAD"`, manyItems), 400, "INVALID_ITEMS"},
				{"mismatch", key, body(`"25.01"`, `"MAD"`, items), 400, "AMOUNT_MISMATCH"},
				{"mismatch by float error", key, body(`"0.30"`, `"MAD"`, `[{"id":"A","name":"x","price":0.1,"quantity":1},{"id":"B","name":"y","price":0.2,"quantity":1}]`), 200, ""},
				{"malformed JSON", key, `{"total": "25.00",`, 400, "INVALID_REQUEST"},
				{"not an object", key, `[1,2]`, 400, "INVALID_REQUEST"},
				{"two objects", key, body(`"25.00"`, `"MAD"`, items) + `{}`, 400, "INVALID_REQUEST"},
				{"10 MB body", key, `{"total":"25.00","currency":"MAD","items":` + items + `,"metadata":{"x":"` + strings.Repeat("a", 10<<20) + `"}}`, 413, "REQUEST_TOO_LARGE"},
				{"redirect_url not verified", key, `{"total":"25.00","currency":"MAD","items":` + items + `,"redirect_url":"https://evil.example.com/"}`, 400, "INVALID_URL"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					before := sessionCount(t, s.store)
					r := s.do("POST", "/api/v1/public/sessions", c.header, c.body, c.status == 200)
					if r.status != c.status {
						t.Fatalf("status %d, want %d: %.300s", r.status, c.status, r.body)
					}
					if c.status == 200 {
						return
					}
					if code := r.errorCode(t); code != c.code {
						t.Errorf("code %s, want %s: %.300s", code, c.code, r.body)
					}
					if after := sessionCount(t, s.store); after != before {
						t.Errorf("a refused request stored a session (%d → %d)", before, after)
					}
				})
			}
		})
	}
}

// Amounts are exact in 0-, 2- and 3-decimal currencies.
func TestCreateSessionCurrencies(t *testing.T) {
	s := newServer(t, store.SQLite, serverOptions{})
	app := s.newApp("Gulf Shop", pay.Sandbox)
	err := s.store.WithTx(t.Context(), func(tx *store.Tx) error {
		return tx.SetApplicationLimits(t.Context(), app.Application.ID, []money.Currency{"KWD", "JPY"}, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		body   string
		status int
		minor  int64
	}{
		{`{"total":"12.345","currency":"KWD","items":[{"id":"A","name":"x","price":4.115,"quantity":3}]}`, 200, 12345},
		{`{"total":"1799","currency":"JPY","items":[{"id":"A","name":"x","price":1799,"quantity":1}]}`, 200, 1799},
		{`{"total":"1799.5","currency":"JPY","items":[{"id":"A","name":"x","price":1799.5,"quantity":1}]}`, 400, 0},
		{`{"total":"12.3456","currency":"KWD","items":[{"id":"A","name":"x","price":12.3456,"quantity":1}]}`, 400, 0},
	} {
		r := s.do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": app.Keys.Secret}, c.body, c.status == 200)
		if r.status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.body, r.status, c.status, r.body)
			continue
		}
		if c.status != 200 {
			continue
		}
		id, _ := r.json(t)["session_id"].(string)
		sess, err := s.store.Session(t.Context(), app.Application.ID, pay.Sandbox, id)
		if err != nil || sess.Amount.Minor != c.minor {
			t.Errorf("%s: stored %v, %v; want %d minor units", c.body, sess.Amount, err, c.minor)
		}
	}
}

func TestIdempotencyKey(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.newApp("Shop", pay.Sandbox)
			h := map[string]string{"X-API-Key": app.Keys.Secret, "Idempotency-Key": "order-1001"}
			first := s.do("POST", "/api/v1/public/sessions", h, seedBody, true)
			again := s.do("POST", "/api/v1/public/sessions", h, seedBody, true)
			if first.status != 200 || again.status != 200 || !bytes.Equal(first.body, again.body) {
				t.Fatalf("replay differs:\n%d %s\n%d %s", first.status, first.body, again.status, again.body)
			}
			other := strings.Replace(seedBody, "Wireless", "Wired", 1)
			if r := s.do("POST", "/api/v1/public/sessions", h, other, true); r.status != 422 || r.errorCode(t) != "IDEMPOTENCY_KEY_REUSED" {
				t.Errorf("same key, other body: %d %s", r.status, r.body)
			}
			if n := sessionCount(t, s.store); n != 1 {
				t.Errorf("%d sessions stored, want 1", n)
			}
			// Concurrent retries with one new key open one session between them.
			h["Idempotency-Key"] = "order-1002"
			bodies := make([]string, 8)
			var wg sync.WaitGroup
			for i := range bodies {
				wg.Go(func() {
					r := s.do("POST", "/api/v1/public/sessions", h, seedBody, true)
					if r.status != 200 {
						t.Errorf("concurrent retry: %d %s", r.status, r.body)
					}
					bodies[i] = string(r.body)
				})
			}
			wg.Wait()
			for _, b := range bodies {
				if b != bodies[0] {
					t.Fatalf("concurrent retries got different answers:\n%s\n%s", bodies[0], b)
				}
			}
			if n := sessionCount(t, s.store); n != 2 {
				t.Errorf("%d sessions stored, want 2", n)
			}
			// After 24 hours the key may be used afresh.
			s.clock.Advance(checkout.IdempotencyTTL + time.Minute)
			if r := s.do("POST", "/api/v1/public/sessions", h, other, true); r.status != 200 {
				t.Errorf("key reused after its 24 h: %d %s", r.status, r.body)
			}
		})
	}
}

// The 101st request of a burst is refused, on one instance and on two
// sharing one PostgreSQL database.
func TestRateLimit(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			opts := storetest.Options(t, engine)
			servers := []*server{newServer(t, engine, serverOptions{rateLimit: 100, opts: opts})}
			if engine == store.Postgres {
				servers = append(servers, newServer(t, engine, serverOptions{rateLimit: 100, opts: opts}))
			}
			app := servers[0].newApp("Shop", pay.Sandbox)
			var ok, limited atomic.Int32
			var wg sync.WaitGroup
			for i := range 100 {
				wg.Go(func() {
					r := servers[i%len(servers)].do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": app.Keys.Secret}, seedBody, true)
					switch r.status {
					case 200:
						ok.Add(1)
					case 429:
						limited.Add(1)
					default:
						t.Errorf("burst: %d %s", r.status, r.body)
					}
				})
			}
			wg.Wait()
			if ok.Load() != 100 || limited.Load() != 0 {
				t.Fatalf("burst of 100: %d ok, %d limited", ok.Load(), limited.Load())
			}
			for _, s := range servers {
				r := s.do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": app.Keys.Secret}, seedBody, true)
				if r.status != 429 || r.errorCode(t) != "RATE_LIMIT_EXCEEDED" || r.header.Get("RateLimit-Remaining") != "0" ||
					r.header.Get("Retry-After") == "" {
					t.Errorf("101st: %d %v %s", r.status, r.header, r.body)
				}
			}
			// Another key is not affected; the window's end frees the key.
			other := servers[0].newApp("Other", pay.Sandbox)
			if r := servers[0].do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": other.Keys.Secret}, seedBody, true); r.status != 200 {
				t.Errorf("another key: %d", r.status)
			}
			for _, s := range servers {
				s.clock.Advance(15 * time.Minute)
			}
			if r := servers[0].do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": app.Keys.Secret}, seedBody, true); r.status != 200 {
				t.Errorf("next window: %d %s", r.status, r.body)
			}
		})
	}
}

func TestTransactionStatus(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			sandbox := s.newApp("Your Store", pay.Sandbox)
			live, err := s.merchant.IssueKeys(t.Context(), sandbox.Application.ID, pay.Live)
			if err != nil {
				t.Fatal(err)
			}
			other := s.newApp("Another Store", pay.Sandbox)
			open := func(key string) (token, id string) {
				r := s.do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": key}, seedBody, true)
				m := r.json(t)
				return m["session_token"].(string), m["session_id"].(string)
			}
			tok, sessID := open(sandbox.Keys.Secret)
			otherTok, _ := open(other.Keys.Secret)

			// Before any attempt, the session reads PENDING.
			r := s.do("GET", "/api/v1/public/transactions/"+sessID+"/status", map[string]string{"X-Session-Token": tok}, "", true)
			if r.status != 200 || r.json(t)["status"] != "PENDING" {
				t.Fatalf("fresh session: %d %s", r.status, r.body)
			}

			paymentID := addPayment(t, s, sandbox.Application.ID, sessID, pay.PaymentCompleted)
			want := map[string]any{
				"status": "APPROVED", "transaction_id": paymentID, "payment_intent_id": sessID,
				"amount": json.Number("1799.00"), "currency": "MAD", "merchant_name": "Your Store", "store_name": "Your Store",
				"customer_phone": "", "created_at": s.clock.Now().Format("02/01/06 15:04:05"), "updated_at": s.clock.Now().Format("02/01/06 15:04:05"),
			}
			for _, h := range []map[string]string{{"X-Session-Token": tok}, {"X-API-Key": sandbox.Keys.Secret}} {
				r := s.do("GET", "/api/v1/public/transactions/"+paymentID+"/status", h, "", true)
				if r.status != 200 {
					t.Fatalf("%v: %d %s", h, r.status, r.body)
				}
				if !strings.Contains(string(r.body), `"amount":1799.00`) {
					t.Errorf("amount not written with the currency's decimals: %s", r.body)
				}
				got := r.json(t)
				for k, v := range want {
					if got[k] != v {
						t.Errorf("%v: %s = %v, want %v", h, k, got[k], v)
					}
				}
			}
			for _, c := range []struct {
				name   string
				header map[string]string
				id     string
				status int
				code   string
			}{
				{"no credentials", nil, paymentID, 401, "INVALID_SESSION_TOKEN"},
				{"garbage token", map[string]string{"X-Session-Token": "eyJhbGciOiJub25lIn0.e30."}, paymentID, 401, "INVALID_SESSION_TOKEN"},
				{"tampered token", map[string]string{"X-Session-Token": tok[:len(tok)-4] + "AAAA"}, paymentID, 401, "INVALID_SESSION_TOKEN"},
				{"bad key", map[string]string{"X-API-Key": "sk_test_nope"}, paymentID, 401, "INVALID_API_KEY"},
				{"unknown id", map[string]string{"X-Session-Token": tok}, "pay_unknown", 404, "TRANSACTION_NOT_FOUND"},
				{"other application's token", map[string]string{"X-Session-Token": otherTok}, paymentID, 404, "TRANSACTION_NOT_FOUND"},
				{"other application's key", map[string]string{"X-API-Key": other.Keys.Secret}, paymentID, 404, "TRANSACTION_NOT_FOUND"},
				{"live key, sandbox transaction", map[string]string{"X-API-Key": live.Secret}, paymentID, 404, "TRANSACTION_NOT_FOUND"},
				{"live key, sandbox session", map[string]string{"X-API-Key": live.Secret}, sessID, 404, "TRANSACTION_NOT_FOUND"},
			} {
				t.Run(c.name, func(t *testing.T) {
					r := s.do("GET", "/api/v1/public/transactions/"+c.id+"/status", c.header, "", true)
					if r.status != c.status || r.errorCode(t) != c.code {
						t.Errorf("%d %s, want %d %s", r.status, r.body, c.status, c.code)
					}
				})
			}
			s.clock.Advance(checkout.SessionTTL + 2*time.Minute)
			r = s.do("GET", "/api/v1/public/transactions/"+paymentID+"/status", map[string]string{"X-Session-Token": tok}, "", true)
			if r.status != 401 || r.errorCode(t) != "INVALID_SESSION_TOKEN" {
				t.Errorf("expired token: %d %s", r.status, r.body)
			}
			if r := s.do("GET", "/api/v1/public/transactions/"+paymentID+"/status", map[string]string{"X-API-Key": sandbox.Keys.Secret}, "", true); r.status != 200 {
				t.Errorf("the key still reads it after the token expired: %d", r.status)
			}
		})
	}
}

func addPayment(t testing.TB, s *server, appID, sessionID string, status pay.PaymentStatus) string {
	t.Helper()
	now := s.clock.Now()
	p := pay.Payment{ID: pay.NewID(pay.PrefixPayment), SessionID: sessionID, ApplicationID: appID, Environment: pay.Sandbox,
		Gateway: "sandbox", Status: status, Amount: money.New(179900, "MAD"), Refunded: money.New(0, "MAD"), CreatedAt: now, UpdatedAt: now}
	if err := s.store.WithTx(t.Context(), func(tx *store.Tx) error { return tx.CreatePayment(t.Context(), p) }); err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func TestSessionIntents(t *testing.T) {
	s := newServer(t, store.SQLite, serverOptions{})
	app := s.newApp("Shop", pay.Sandbox)
	if _, err := s.merchant.AddDomain(t.Context(), app.Application.ID, "shop.example.com", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.merchant.AddDomain(t.Context(), app.Application.ID, "unverified.example.com", false); err != nil {
		t.Fatal(err)
	}
	key := map[string]string{"X-API-Key": app.Keys.Secret}
	body := func(redirect string) string {
		return `{"currency":"MAD","total":"1799.00","vendorReference":"wc-1001","items":[{"id":"1","name":"Headphones","price":1799,"quantity":1}]` +
			redirect + `}`
	}
	r := s.do("POST", "/api/v1/public/session-intents", key, body(`,"redirect_url":"https://shop.example.com/return?order=1001"`), true)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	m := r.json(t)
	id, _ := m["payment_intent_id"].(string)
	if !strings.HasPrefix(m["checkout_url"].(string), s.url+"/checkout/") || m["checkout_token"] == "" {
		t.Errorf("intent %s", r.body)
	}
	sess, err := s.store.Session(t.Context(), app.Application.ID, pay.Sandbox, id)
	if err != nil || sess.VendorReference != "wc-1001" || sess.ReturnURL != "https://shop.example.com/return?order=1001" {
		t.Errorf("stored %+v, %v", sess, err)
	}
	for _, bad := range []string{
		"javascript:alert(1)", "https://evil.example.com/", "https://unverified.example.com/", "//shop.example.com/x",
		"https://shop.example.com.evil.com/", "https://user:pw@shop.example.com/", "ftp://shop.example.com/",
	} {
		r := s.do("POST", "/api/v1/public/session-intents", key, body(`,"redirect_url":`+jsonQuote(bad)), false)
		if r.status != 400 || r.errorCode(t) != "INVALID_URL" {
			t.Errorf("redirect_url %s: %d %s", bad, r.status, r.body)
		}
	}
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestJWKSAndOpenAPIAreServed(t *testing.T) {
	s := newServer(t, store.SQLite, serverOptions{})
	app := s.newApp("Shop", pay.Sandbox)
	s.do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": app.Keys.Secret}, seedBody, true)
	r := s.do("GET", "/.well-known/jwks.json", nil, "", true)
	if r.status != 200 || !strings.Contains(string(r.body), `"kty":"OKP"`) {
		t.Errorf("jwks: %d %s", r.status, r.body)
	}
	r = s.do("GET", "/openapi.yaml", nil, "", true)
	if r.status != 200 || !bytes.Equal(r.body, docs.OpenAPI) {
		t.Errorf("openapi.yaml: %d", r.status)
	}
}
