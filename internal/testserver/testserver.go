// Package testserver is the one sakk that HTTP-level tests run against:
// the real handler of every route (httpapi.New, with the hosted page and
// the management API), wired as `sakk serve` wires it, over a fresh
// store of the engine under test, on loopback, with a clock the test
// sets. Its client checks every request and answer against
// docs/openapi.yaml.
//
// It imports httpapi, so only external test packages (package
// httpapi_test, hostedpage_test, …) may use it: an in-package test of
// httpapi importing it would be an import cycle.
package testserver

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/demo"
	"github.com/sakkhq/sakk/internal/gateway/sandbox"
	"github.com/sakkhq/sakk/internal/hostedpage"
	"github.com/sakkhq/sakk/internal/httpapi"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/otp"
	"github.com/sakkhq/sakk/internal/partner"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/ratelimit"
	"github.com/sakkhq/sakk/internal/routing"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/testclock"
	"github.com/sakkhq/sakk/internal/token"
	"github.com/sakkhq/sakk/internal/vault"
	"github.com/sakkhq/sakk/internal/webhook"
)

// Options change New's wiring for a test; the zero value is a sandbox
// sakk with the simulator, sandbox test identifiers for codes and a
// dispatcher for webhooks.
type Options struct {
	RateLimit  int                      // each key's requests per 15 minutes; 0: 1000
	Store      store.Options            // zero: a fresh database of the engine; the same for two servers of one database
	Senders    otp.Senders              // of one-time codes; none: sandbox test identifiers only
	Gateways   routing.BaseURLs         // stand-ins the gateways' connectors call; nil: the gateways themselves
	Tokenizers hostedpage.TokenizerURLs // stand-ins for the gateways' browser tokenizers
	Logs       io.Writer                // the HTTP layer's log lines (safe for concurrent writes); nil: discarded, or stderr with SAKK_TEST_LOG set
	Mailer     otp.Sender               // invites and password resets; nil: none
	Demo       bool                     // a sandbox application (Server.App) and the demo shop at /demo selling through it
	NoWebhooks bool                     // no dispatcher: the merchant API's webhook sends answer 503
}

// Server is a running test server and the services behind it, for a test
// to arrange what it needs and check what happened.
type Server struct {
	T        testing.TB // the test that started it
	URL      string     // its base URL, http://127.0.0.1:port
	Store    *store.Store
	Clock    *testclock.Clock // shared by every part of the server
	Checkout *checkout.Service
	Merchant *merchant.Service
	Team     *account.Service
	Tokens   *token.Ring
	Accounts *routing.Registry
	Webhooks *webhook.Dispatcher // nil with Options.NoWebhooks
	Partner  *partner.Service    // the AlyaPay partner API's
	// App is the demo shop's sandbox application, with Options.Demo.
	App merchant.CreatedApplication
	// Client sends requests through the contract check (see Do).
	Client   *http.Client
	contract *contract
}

// vaultKey is one installation key shared by the servers of a test
// binary, so that two "instances" on one database agree.
var vaultKey = vault.NewKey()

// New starts a server for t over a fresh store of engine (or o.Store);
// it stops when t ends.
func New(t testing.TB, engine store.Engine, o Options) *Server {
	t.Helper()
	if o.Store == (store.Options{}) {
		o.Store = storetest.Options(t, engine)
	}
	st, err := store.Open(t.Context(), o.Store)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if o.RateLimit == 0 {
		o.RateLimit = 1000
	}
	clk := testclock.New(time.Now().UTC().Truncate(time.Microsecond))
	box, err := vault.New(vaultKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)

	ring := token.NewRing(st, box, clk.Now, token.Options{})
	ms := merchant.New(st, box, clk.Now)
	co := checkout.New(st, ring, clk.Now, srv.URL)
	sim, err := sandbox.New(sandbox.Options{PublicURL: srv.URL, Key: box.Derive("sandbox gateway", 32), Now: clk.Now, Answers: st})
	if err != nil {
		t.Fatal(err)
	}
	codes, err := otp.New(st, o.Senders, box.Derive("otp codes", 32), clk.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	accounts := routing.New(st, box, sim, routing.Builtin(o.Gateways), clk.Now)
	logger := slog.New(slog.DiscardHandler)
	switch {
	case o.Logs != nil:
		logger = slog.New(slog.NewTextHandler(o.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	case os.Getenv("SAKK_TEST_LOG") != "":
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	var dispatcher *webhook.Dispatcher
	flow := checkout.PaymentFlow{Gateways: checkout.Gateways{Sandbox: sim, Accounts: accounts}, OTP: codes, Sealer: box}
	if !o.NoWebhooks {
		dispatcher = webhook.New(st, box, webhook.Options{Logger: logger, Now: clk.Now})
		flow.Committed = dispatcher.Notify // as serve does: a running dispatcher looks at once
	}
	co.UsePaymentFlow(flow)
	// Cheap password hashes and no slow-down keep sign-in tests fast; the
	// rules are the production ones.
	team := account.New(st, box, clk.Now, account.Options{Mailer: o.Mailer, PublicURL: srv.URL,
		Hashing: account.Hashing{Time: 1, Memory: 64, Threads: 1}, Slowdown: time.Microsecond})
	s := &Server{T: t, URL: srv.URL, Store: st, Clock: clk, Checkout: co, Merchant: ms, Team: team, Tokens: ring,
		Accounts: accounts, Webhooks: dispatcher}
	s.Partner = partner.New(st, co, ms, clk.Now)
	deps := httpapi.Deps{
		Partner:       s.Partner,
		Account:       team,
		PublicURL:     srv.URL,
		Logger:        logger,
		Ready:         st.Ready,
		Checkout:      co,
		Accounts:      accounts,
		Webhooks:      dispatcher,
		Merchant:      ms,
		Tokens:        ring,
		Limiter:       ratelimit.New(st, clk.Now),
		RateLimit:     o.RateLimit,
		RateWindow:    15 * time.Minute,
		Now:           clk.Now,
		TokenizerURLs: o.Tokenizers,
	}
	if o.Demo {
		s.App, err = ms.CreateApplication(t.Context(), merchant.NewApplication{Name: "Atlas Store", MerchantName: "Atlas Goods", Environment: pay.Sandbox})
		if err != nil {
			t.Fatal(err)
		}
		deps.Demo = demo.New(demo.Keys{ApplicationID: s.App.Application.ID, SecretKey: s.App.Keys.Secret, WebhookSecret: "whsec_test"}, srv.URL, logger)
	}
	srv.Config.Handler = httpapi.New(deps)
	s.contract = loadContract(t)
	s.Client = &http.Client{Transport: s.contract.transport(t), Timeout: 30 * time.Second}
	return s
}

// NewApp creates an application (of a merchant of its own) and returns
// it with its keys in env.
func (s *Server) NewApp(name string, env pay.Environment) merchant.CreatedApplication {
	s.T.Helper()
	app, err := s.Merchant.CreateApplication(s.T.Context(), merchant.NewApplication{Name: name, Environment: env})
	if err != nil {
		s.T.Fatal(err)
	}
	return app
}

// Response is one HTTP answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends a request (a JSON body when body is not empty) through the
// contract check, following redirects. valid false says the test sends
// it knowing it breaks the contract (to see it refused): only the answer
// is checked then.
func (s *Server) Do(method, path string, header map[string]string, body string, valid bool) Response {
	s.T.Helper()
	req := s.request(method, path, header, body)
	if !valid {
		req = markInvalid(req)
	}
	return s.send(s.Client, req)
}

// Unfollowed is Do for a valid request whose redirect the test reads
// rather than follows (where it leads is HTML outside the contract).
func (s *Server) Unfollowed(method, path string, header map[string]string, body string) Response {
	s.T.Helper()
	c := &http.Client{Transport: s.Client.Transport, Timeout: s.Client.Timeout, CheckRedirect: noRedirects}
	return s.send(c, s.request(method, path, header, body))
}

// Page fetches what the contract does not describe (the hosted page, its
// assets, the SDK): no check, no redirect followed.
func (s *Server) Page(method, path string, header map[string]string, body string) Response {
	s.T.Helper()
	c := &http.Client{Timeout: s.Client.Timeout, CheckRedirect: noRedirects}
	return s.send(c, s.request(method, path, header, body))
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func (s *Server) request(method, path string, header map[string]string, body string) *http.Request {
	s.T.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(s.T.Context(), method, s.URL+path, rd)
	if err != nil {
		s.T.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return req
}

func (s *Server) send(c *http.Client, req *http.Request) Response {
	s.T.Helper()
	resp, err := c.Do(req)
	if err != nil {
		s.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.T.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// JSON decodes the answer as a JSON object, numbers as json.Number.
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("response %d is not a JSON object: %v\n%s", r.Status, err, r.Body)
	}
	return m
}

// ErrorCode reads the Checkout API's error body, {"error":{"code","message"}}.
func (r Response) ErrorCode(t testing.TB) string {
	t.Helper()
	e, _ := r.JSON(t)["error"].(map[string]any)
	code, _ := e["code"].(string)
	if msg, _ := e["message"].(string); code == "" || msg == "" {
		t.Errorf("error body lacks a code or message: %s", r.Body)
	}
	return code
}

// PaymentCode reads the Public Payment API's error body, checking its
// shape: {"success":false,"message","error":{"code","message","details"}}.
func (r Response) PaymentCode(t testing.TB) string {
	t.Helper()
	m := r.JSON(t)
	e, _ := m["error"].(map[string]any)
	code, _ := e["code"].(string)
	if m["success"] != false || m["message"] == "" || e["message"] != m["message"] || code == "" {
		t.Errorf("error body %s", r.Body)
	}
	if _, ok := e["details"]; !ok {
		t.Errorf("error body lacks details: %s", r.Body)
	}
	return code
}
