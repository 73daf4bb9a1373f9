package hostedpage_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/demo"
	"github.com/sakkhq/sakk/internal/gateway/sandbox"
	"github.com/sakkhq/sakk/internal/hostedpage"
	"github.com/sakkhq/sakk/internal/httpapi"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/otp"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/ratelimit"
	"github.com/sakkhq/sakk/internal/routing"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/token"
	"github.com/sakkhq/sakk/internal/vault"
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

// server is a real sakk HTTP server on loopback, wired as `sakk serve`
// wires it (sandbox simulator, one-time codes), over a fresh store.
type server struct {
	t        testing.TB
	url      string
	store    *store.Store
	checkout *checkout.Service
	tokens   *token.Ring
	clock    *clock
	app      merchant.CreatedApplication
	merchant *merchant.Service
	accounts *routing.Registry
}

// serverOptions change newServer's wiring for a test.
type serverOptions struct {
	gateways   routing.BaseURLs         // stand-ins the gateways' connectors call; nil: the gateways themselves
	senders    otp.Senders              // of one-time codes; none: sandbox test identifiers only
	tokenizers hostedpage.TokenizerURLs // stand-ins for the gateways' browser tokenizers
}

func newServer(t testing.TB, engine store.Engine) *server {
	t.Helper()
	return newServerWith(t, engine, serverOptions{})
}

// newServerWith is newServer with merchants' gateway accounts (through
// routing.Builtin(o.gateways)), o's code senders and tokenizers.
func newServerWith(t testing.TB, engine store.Engine, o serverOptions) *server {
	t.Helper()
	st := storetest.Open(t, engine)
	clk := &clock{now: time.Now().UTC().Truncate(time.Microsecond)}
	box, err := vault.New(vault.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	ring := token.NewRing(st, box, clk.Now, token.Options{})
	ms := merchant.New(st, box, clk.Now)
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)

	sim, err := sandbox.New(sandbox.Options{PublicURL: srv.URL, Key: box.Derive("sandbox gateway", 32), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	codes, err := otp.New(st, o.senders, box.Derive("otp codes", 32), clk.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	co := checkout.New(st, ring, clk.Now, srv.URL)
	accounts := routing.New(st, box, sim, routing.Builtin(o.gateways), clk.Now)
	co.UsePaymentFlow(checkout.PaymentFlow{Gateways: checkout.Gateways{Sandbox: sim, Accounts: accounts}, OTP: codes, Sealer: box})
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("SAKK_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	app, err := ms.CreateApplication(t.Context(), merchant.NewApplication{
		Name: "Atlas Store", MerchantName: "Atlas Goods", Environment: pay.Sandbox,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = httpapi.New(httpapi.Deps{
		Demo:          demo.New(demo.Keys{ApplicationID: app.Application.ID, SecretKey: app.Keys.Secret, WebhookSecret: "whsec_test"}, srv.URL, log),
		Logger:        log,
		Ready:         st.Ready,
		Checkout:      co,
		Accounts:      accounts,
		Merchant:      ms,
		Tokens:        ring,
		Limiter:       ratelimit.New(st, clk.Now),
		RateLimit:     1000,
		RateWindow:    15 * time.Minute,
		Now:           clk.Now,
		TokenizerURLs: o.tokenizers,
	})
	return &server{t: t, url: srv.URL, store: st, checkout: co, tokens: ring, clock: clk, app: app, merchant: ms, accounts: accounts}
}

// response is one HTTP answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (s *server) do(method, path string, header map[string]string, body string) response {
	s.t.Helper()
	req, err := http.NewRequestWithContext(s.t.Context(), method, s.url+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
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

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("not JSON (%d): %s", r.status, r.body)
	}
	return m
}

// item is one line of a Checkout API session.
type item struct {
	ID       string      `json:"id"`
	Name     string      `json:"name"`
	Price    json.Number `json:"price"`
	Quantity int         `json:"quantity"`
}

// newSession opens a session through the Checkout API (POST
// /api/v1/public/sessions) with the merchant's secret key, and returns
// its session token and id.
func (s *server) newSession(total string, items []item, extra map[string]any) (string, string) {
	s.t.Helper()
	body := map[string]any{"total": total, "currency": "MAD", "items": items}
	for k, v := range extra {
		body[k] = v
	}
	b, err := json.Marshal(body)
	if err != nil {
		s.t.Fatal(err)
	}
	r := s.do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": s.app.Keys.Secret}, string(b))
	if r.status != http.StatusOK {
		s.t.Fatalf("create session: %d %s", r.status, r.body)
	}
	m := r.json(s.t)
	return m["session_token"].(string), m["session_id"].(string)
}

// defaultSession is a two-line session of 1,899.00 MAD.
func (s *server) defaultSession(extra map[string]any) (string, string) {
	s.t.Helper()
	return s.newSession("1899.00", []item{
		{ID: "HP-1", Name: "Wireless Headphones", Price: "1799", Quantity: 1},
		{ID: "MUG-2", Name: "Ceramic Mug", Price: "50.00", Quantity: 2},
	}, extra)
}

// session reads a session's row.
func (s *server) session(id string) pay.Session {
	s.t.Helper()
	sess, err := s.store.Session(s.t.Context(), s.app.Application.ID, pay.Sandbox, id)
	if err != nil {
		s.t.Fatal(err)
	}
	return sess
}

// setStatus moves a session along its transition table, as the expiry
// job or the merchant would.
func (s *server) setStatus(id string, from, to pay.SessionStatus) {
	s.t.Helper()
	err := s.store.WithTx(s.t.Context(), func(tx *store.Tx) error {
		return tx.SetSessionStatus(s.t.Context(), id, from, to, s.clock.Now())
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// pageData extracts the JSON the page's script reads.
func pageData(t testing.TB, html []byte) map[string]any {
	t.Helper()
	const open = `<script type="application/json" id="sakk-data">`
	i := bytes.Index(html, []byte(open))
	if i < 0 {
		t.Fatalf("no page data in:\n%s", html)
	}
	rest := html[i+len(open):]
	j := bytes.Index(rest, []byte("</script>"))
	var m map[string]any
	if err := json.Unmarshal(rest[:j], &m); err != nil {
		t.Fatalf("page data: %v: %s", err, rest[:j])
	}
	return m
}
