package sandbox_test

import (
	"crypto/rand"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/sandbox"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/testclock"
)

// start is the test clock's first reading.
var start = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

// env is a simulator served as the HTTP layer serves it: the challenge
// handler mounted at its pattern on a ServeMux, on a real loopback server
// whose URL is the simulator's PublicURL.
type env struct {
	sim   *sandbox.Simulator
	srv   *httptest.Server
	clock *testclock.Clock
	key   []byte
}

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

// newEnv starts a simulator with key (a fresh one when nil) and options
// changed by opts.
func newEnv(t *testing.T, key []byte, opts ...func(*sandbox.Options)) *env {
	t.Helper()
	if key == nil {
		key = newKey(t)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := testclock.New(start)
	o := sandbox.Options{PublicURL: srv.URL, Key: key, Now: c.Now}
	for _, f := range opts {
		f(&o)
	}
	sim, err := sandbox.New(o)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(sandbox.ChallengePattern, sim.ChallengeHandler())
	return &env{sim: sim, srv: srv, clock: c, key: key}
}

func (e *env) token(t *testing.T, number string) string {
	t.Helper()
	tok, err := e.sim.Tokenize(sandbox.Card{Number: number, ExpMonth: 12, ExpYear: 2030, CVC: "123"})
	if err != nil {
		t.Fatalf("Tokenize(%s): %v", number, err)
	}
	return tok
}

// noRedirects is a browser that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirects.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func post(t *testing.T, u string, form url.Values) *http.Response {
	t.Helper()
	resp, err := noRedirects.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)

// complete answers the challenge at res.RedirectURL as a browser does:
// load the page, submit its form with the chosen button, and check that
// the answer sends the browser back to the return URL.
func (e *env) complete(t *testing.T, res gateway.ChargeResult, pass bool) {
	t.Helper()
	resp, body := get(t, res.RedirectURL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET challenge page: %s\n%s", resp.Status, body)
	}
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	action := "fail"
	if pass {
		action = "complete"
	}
	if !strings.Contains(body, `value="`+action+`"`) {
		t.Fatalf("challenge page has no %q button:\n%s", action, body)
	}
	form.Set("action", action)
	// The form has no action attribute: it posts to the page's own URL.
	resp = post(t, res.RedirectURL, form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST challenge: %s, want 303", resp.Status)
	}
	loc := resp.Header.Get("Location")
	ret := form.Get("return")
	if ret == "" || !strings.HasPrefix(loc, strings.SplitN(ret, "?", 2)[0]) {
		t.Fatalf("POST challenge redirected to %q, want the return URL %q", loc, ret)
	}
}

func usd(minor int64) money.Amount { return money.Amount{Minor: minor, Currency: "USD"} }

// chargeReq is a charge of amount with token under a fresh key.
func chargeReq(amount money.Amount, token string) gateway.ChargeRequest {
	k := make([]byte, 12)
	rand.Read(k)
	return gateway.ChargeRequest{
		IdempotencyKey: "key_" + strings.ToLower(strings.TrimRight(base32(k), "=")),
		PaymentID:      "pay_test",
		Amount:         amount,
		Method:         "card",
		PaymentToken:   token,
		ReturnURL:      "https://shop.example/api/v1/payments/callback/sess_1",
	}
}

func base32(b []byte) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	var s strings.Builder
	for _, c := range b {
		s.WriteByte(alphabet[c%32])
	}
	return s.String()
}
