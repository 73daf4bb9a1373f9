package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/otp"
	"github.com/sakkhq/sakk/internal/otp/smtpsink"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/routing"
	"github.com/sakkhq/sakk/internal/store"
)

// The end-to-end flows of the gateways through sakk's public API share
// these helpers.

// liveFlow is the shopper's and the merchant's side of a live payment
// through sakk's public API: a live application taking cur, whose gateway
// accounts point at stand-ins, and one-time codes that really go out by
// email to an SMTP server on loopback (live never takes the sandbox's
// test identifiers).
type liveFlow struct {
	*server
	sink *smtpsink.Sink
	app  string // application id
	keys merchant.Keys
	mail int       // messages received so far
	logs *liveLogs // what the HTTP layer logged
}

// liveLogs keeps the HTTP layer's log lines; safe for concurrent writes.
type liveLogs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *liveLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *liveLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// logsWithout checks that the HTTP layer logged want and none of secrets
// (credentials, signatures, notification bodies).
func (f *liveFlow) logsWithout(t *testing.T, want string, secrets ...string) {
	t.Helper()
	logs := f.logs.String()
	if !strings.Contains(logs, want) {
		t.Errorf("the log lacks %q:\n%s", want, logs)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("the log shows %q:\n%s", s, logs)
		}
	}
}

func newLiveFlow(t *testing.T, engine store.Engine, base routing.BaseURLs, cur money.Currency) *liveFlow {
	t.Helper()
	sink := smtpsink.Start(t)
	sender, err := otp.NewSMTPSender(otp.SMTPConfig{Host: "127.0.0.1", Port: sink.Port, From: "Shop <no-reply@shop.test>", StartTLS: otp.StartTLSOff})
	if err != nil {
		t.Fatal(err)
	}
	logs := &liveLogs{}
	s := newServer(t, engine, serverOptions{Senders: otp.Senders{Email: sender}, Gateways: base, Logs: logs})
	app := s.NewApp("Live Shop", pay.Live)
	// The application takes cur, as `sakk apps set --currencies` sets it,
	// before its first session (its settings are cached).
	err = s.Store.WithTx(t.Context(), func(tx *store.Tx) error {
		return tx.SetApplicationLimits(t.Context(), app.Application.ID, []money.Currency{cur}, app.Application.RateLimit)
	})
	if err != nil {
		t.Fatal(err)
	}
	return &liveFlow{server: s, sink: sink, app: app.Application.ID, keys: app.Keys, logs: logs}
}

// session opens a Checkout API session for total in cur and returns its
// token and id.
func (f *liveFlow) session(t *testing.T, total, cur string) (string, string) {
	t.Helper()
	body := fmt.Sprintf(`{"total":%q,"currency":%q,"items":[{"id":"SKU-1","name":"Lamp","price":%s,"quantity":1}],"return_url":"https://shop.example.com/done"}`, total, cur, total)
	r := f.Do("POST", "/api/v1/public/sessions", keyHeader(f.keys), body, true)
	if r.Status != 200 {
		t.Fatalf("checkout session: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	return str(m, "session_token"), str(m, "session_id")
}

// verify runs the one-time code by email for the session, reading the
// code from the mail, and returns the verification token.
func (f *liveFlow) verify(t *testing.T, sessTok, email string) string {
	t.Helper()
	sdk := f.backendToken(t, f.keys)
	if r := f.requestCode(t, sdk, email, sessTok, ""); r.Status != 200 {
		t.Fatalf("verification request: %d %s", r.Status, r.Body)
	}
	f.mail++
	code, to, _ := f.sink.Code(t, f.mail)
	if !strings.Contains(to, email) {
		t.Errorf("code sent to %q, want %s", to, email)
	}
	r := f.verifyCode(t, sdk, email, sessTok, code)
	if r.Status != 200 || str(r.JSON(t), "verificationToken") == "" {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	return str(r.JSON(t), "verificationToken")
}

// refundKeyed is a merchant API refund with an Idempotency-Key.
func (f *liveFlow) refundKeyed(t *testing.T, paymentID, body, key string) map[string]any {
	t.Helper()
	r := f.refund(f.keys, paymentID, body, map[string]string{"Idempotency-Key": key})
	if r.Status != 201 {
		t.Fatalf("refund %s: %d %s", body, r.Status, r.Body)
	}
	return r.JSON(t)
}

// payment is the merchant API's view of a payment.
func (f *liveFlow) payment(t *testing.T, id string) map[string]any {
	t.Helper()
	r := f.Do("GET", merchantBase+"/payments/"+id, keyHeader(f.keys), "", true)
	if r.Status != 200 {
		t.Fatalf("payment %s: %d %s", id, r.Status, r.Body)
	}
	return r.JSON(t)
}

// notify posts a gateway's notification to sakk's inbound route.
func (f *liveFlow) notify(path string, header http.Header, body []byte) response {
	h := map[string]string{}
	for k := range header {
		h[k] = header.Get(k)
	}
	return f.Do("POST", path, h, string(body), true)
}

// callback follows the gateway's redirect of the shopper's browser back to
// sakk and returns the page's state.
func (f *liveFlow) callback(t *testing.T, back *url.URL) string {
	t.Helper()
	if got := back.Scheme + "://" + back.Host; got != f.URL {
		t.Fatalf("the gateway sent the shopper to %s, not to sakk (%s)", back, f.URL)
	}
	r := f.Do("GET", back.RequestURI(), nil, "", true)
	m := pageState.FindStringSubmatch(string(r.Body))
	if r.Status != 200 || m == nil {
		t.Fatalf("callback page: %d %s", r.Status, r.Body)
	}
	return m[1]
}

// events counts the session's events of type typ.
func (f *liveFlow) events(t *testing.T, sessID, typ string) int {
	t.Helper()
	return len(mustEvents(t, f.Store, sessID, typ))
}

// wantRequests reports a difference between the requests a stand-in saw
// and those the flow should have made.
func wantRequests(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the gateway saw:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// txStatus is the Checkout API's status of a transaction.
func (f *liveFlow) txStatus(t *testing.T, id string) string {
	t.Helper()
	r := f.Do("GET", "/api/v1/public/transactions/"+id+"/status", keyHeader(f.keys), "", true)
	if r.Status != 200 {
		t.Fatalf("transaction status: %d %s", r.Status, r.Body)
	}
	return str(r.JSON(t), "status")
}

// requestJSON decodes a recorded request body, numbers as sent.
func requestJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("request body %s: %v", b, err)
	}
	return m
}
