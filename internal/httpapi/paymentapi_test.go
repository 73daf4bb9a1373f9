package httpapi_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/otp"
	"github.com/sakkhq/sakk/internal/otp/smtpsink"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// The Public Payment API (SURFACES.md §2–3), end to end over HTTP on a
// real store, every exchange validated against docs/openapi.yaml.

// Sandbox test cards (SURFACES.md §3).
const (
	cardApproved   = "4242424242424242"
	cardDeclined   = "4000000000000002"
	cardNoFunds    = "4000000000009995"
	card3DS        = "4000000000003220"
	cardProcessing = "4000000000000119"
)

// paymentServer is a test server with a second, raw handle on its
// database, for counting rows.
type paymentServer struct {
	*server
	db *sql.DB
}

func newPaymentServer(t *testing.T, engine store.Engine, o serverOptions) *paymentServer {
	t.Helper()
	o.Store = storetest.Options(t, engine)
	s := newServer(t, engine, o)
	var db *sql.DB
	var err error
	if o.Store.Database == "" {
		db, err = sql.Open("sqlite", "file:"+filepath.Join(o.Store.DataDir, "sakk.db")+"?_pragma=busy_timeout(10000)")
	} else {
		db, err = sql.Open("pgx", o.Store.Database)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &paymentServer{server: s, db: db}
}

// grant sets an application's permissions, as `sakk apps set
// --permissions` does; call it before the first SDK token of the
// application (its settings are cached for 10 s).
func (s *paymentServer) grant(appID string, perms ...string) {
	s.T.Helper()
	err := s.Store.WithTx(s.T.Context(), func(tx *store.Tx) error {
		return tx.SetApplicationAccess(s.T.Context(), appID, perms, merchant.DefaultModules)
	})
	if err != nil {
		s.T.Fatal(err)
	}
}

func (s *paymentServer) paymentStatuses(sessionID string) []string {
	s.T.Helper()
	rows, err := s.db.QueryContext(s.T.Context(), `SELECT status FROM payments WHERE session_id = $1`, sessionID)
	if err != nil {
		s.T.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var st string
		if err := rows.Scan(&st); err != nil {
			s.T.Fatal(err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		s.T.Fatal(err)
	}
	return out
}

// backendPerms are every permission, as a merchant grants its backend.
var backendPerms = append(append([]string{}, merchant.DefaultPermissions...), "product:create", "customer:create", "customer:select")

func bearerHeader(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok}
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// backendToken is POST /api/v1/auth with the application's keys.
func (s *server) backendToken(t *testing.T, k merchant.Keys) string {
	t.Helper()
	r := s.Do("POST", "/api/v1/auth", map[string]string{"Authorization": "Bearer " + k.Secret, "x-public-key": k.Public}, "", true)
	if r.Status != 200 {
		t.Fatalf("auth: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	if m["success"] != true || m["expiresIn"] != "1h" || str(m, "token") == "" {
		t.Fatalf("auth: %s", r.Body)
	}
	return str(m, "token")
}

// checkoutSession opens a session through the Checkout API (1799.00 MAD)
// and returns its token and id.
func (s *server) checkoutSession(t *testing.T, k merchant.Keys, extra string) (string, string) {
	t.Helper()
	body := strings.TrimSuffix(strings.TrimSpace(seedBody), "}") + extra + "}"
	r := s.Do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": k.Secret}, body, true)
	if r.Status != 200 {
		t.Fatalf("checkout session: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	return str(m, "session_token"), str(m, "session_id")
}

func methodFor(identifier string) string {
	if strings.Contains(identifier, "@") {
		return "email_otp"
	}
	return "mobile_otp"
}

// requestCode asks for a code; session may be "".
func (s *server) requestCode(t *testing.T, sdk, identifier, session, extra string) response {
	t.Helper()
	body := fmt.Sprintf(`{"method":%q,"identifier":%q`, methodFor(identifier), identifier)
	if session != "" {
		body += fmt.Sprintf(`,"sessionToken":%q`, session)
	}
	return s.Do("POST", "/api/v1/checkout/verification/request", bearerHeader(sdk), body+extra+"}", true)
}

func (s *server) verifyCode(t *testing.T, sdk, identifier, session, code string) response {
	t.Helper()
	body := fmt.Sprintf(`{"method":%q,"identifier":%q,"code":%q`, methodFor(identifier), identifier, code)
	if session != "" {
		body += fmt.Sprintf(`,"sessionToken":%q`, session)
	}
	return s.Do("POST", "/api/v1/checkout/verification/verify", bearerHeader(sdk), body+"}", true)
}

// verified runs OTP request and verify for a sandbox test identifier and
// returns the payment verification token.
func (s *server) verified(t *testing.T, sdk, identifier, session string) string {
	t.Helper()
	r := s.requestCode(t, sdk, identifier, session, "")
	if r.Status != 200 {
		t.Fatalf("verification request: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	if m["expiresIn"] != json.Number("600") || !strings.HasPrefix(str(m, "verificationId"), "ver_") {
		t.Errorf("verification request: %s", r.Body)
	}
	r = s.verifyCode(t, sdk, identifier, session, otp.TestCode)
	if r.Status != 200 {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	m = r.JSON(t)
	if m["expiresIn"] != "5m" || m["method"] != methodFor(identifier) || str(m, "verificationToken") == "" {
		t.Errorf("verify: %s", r.Body)
	}
	return str(m, "verificationToken")
}

// cardToken is POST /api/v1/sandbox/tokens for a test card.
func (s *server) cardToken(t *testing.T, number string) string {
	t.Helper()
	r := s.Do("POST", "/api/v1/sandbox/tokens", nil, fmt.Sprintf(`{"number":%q,"expMonth":12,"expYear":2030,"cvc":"123"}`, number), true)
	if r.Status != 200 {
		t.Fatalf("sandbox token: %d %s", r.Status, r.Body)
	}
	return str(r.JSON(t), "token")
}

// process charges session with a card token ("" for none) through gateway.
func (s *server) process(t *testing.T, vtok, session, gateway, method, cardTok string) response {
	t.Helper()
	body := fmt.Sprintf(`{"sessionToken":%q,"method":%q,"gateway":%q,"methodPayload":{"tempPaymentToken":%q}}`, session, method, gateway, cardTok)
	return s.Do("POST", "/api/v1/payments/process", bearerHeader(vtok), body, true)
}

func wantAttempt(t *testing.T, r response, status string) map[string]any {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("process: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	if m["status"] != status {
		t.Fatalf("status %v, want %s: %s", m["status"], status, r.Body)
	}
	return m
}

func TestPaymentHappyPath(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newPaymentServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			sessTok, sessID := s.checkoutSession(t, app.Keys, "")
			sdk := s.backendToken(t, app.Keys)
			vtok := s.verified(t, sdk, "buyer@example.com", sessTok)
			m := wantAttempt(t, s.process(t, vtok, sessTok, "stripe", "card", s.cardToken(t, cardApproved)), "completed")
			paymentID := str(m, "paymentId")
			if m["sessionId"] != sessID || !strings.HasPrefix(paymentID, "pay_") || m["gateway"] != "stripe" || m["error"] != nil {
				t.Errorf("process: %v", m)
			}

			// The Checkout API's transaction is this API's payment.
			r := s.Do("GET", "/api/v1/public/transactions/"+paymentID+"/status", map[string]string{"X-Session-Token": sessTok}, "", true)
			if r.Status != 200 {
				t.Fatalf("status: %d %s", r.Status, r.Body)
			}
			if st := r.JSON(t); st["status"] != "APPROVED" || st["transaction_id"] != paymentID || st["payment_intent_id"] != sessID {
				t.Errorf("status: %s", r.Body)
			}

			// Paying again charges nothing and reports the payment.
			again := wantAttempt(t, s.process(t, vtok, sessTok, "stripe", "card", s.cardToken(t, cardApproved)), "completed")
			if again["paymentId"] != paymentID {
				t.Errorf("second process: %v, want payment %s", again, paymentID)
			}
			if got := s.paymentStatuses(sessID); len(got) != 1 || got[0] != "completed" {
				t.Errorf("payments of the session: %v", got)
			}
			events, err := s.Store.Events(t.Context(), sessID)
			if err != nil {
				t.Fatal(err)
			}
			if n := countEvents(events, "payment.completed"); n != 1 {
				t.Errorf("%d payment.completed events, want 1", n)
			}
			// The customer is the verified identifier.
			r = s.Do("GET", "/api/v1/checkout/session/"+sessTok, bearerHeader(sdk), "", true)
			d := r.JSON(t)
			c, _ := d["customer"].(map[string]any)
			if d["status"] != "completed" || c["verifiedIdentifier"] != "buyer@example.com" || c["verifiedChannel"] != "email" || c["email"] != "buyer@example.com" {
				t.Errorf("session after payment: %s", r.Body)
			}
		})
	}
}

func countEvents(events []pay.Event, typ string) int {
	n := 0
	for _, e := range events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// Each test card ends in its documented status; a failed attempt can be
// retried on the same session.
func TestPaymentDeclinesThenRetry(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newPaymentServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			sessTok, sessID := s.checkoutSession(t, app.Keys, "")
			sdk := s.backendToken(t, app.Keys)
			vtok := s.verified(t, sdk, "+212600000001", sessTok)
			for _, c := range []struct {
				card      string
				code      string
				retryable bool
			}{
				{cardDeclined, "card_declined", false},
				{cardNoFunds, "insufficient_funds", false},
				{cardProcessing, "processing_error", true},
			} {
				s.Clock.Advance(time.Second) // attempts are ordered by time
				m := wantAttempt(t, s.process(t, vtok, sessTok, "moyasar", "card", s.cardToken(t, c.card)), "failed")
				e, _ := m["error"].(map[string]any)
				if e["code"] != c.code || e["retryable"] != c.retryable || str(e, "message") == "" {
					t.Errorf("card %s: error %v, want %s retryable %t", c.card, e, c.code, c.retryable)
				}
				r := s.Do("GET", "/api/v1/checkout/session/"+sessID, bearerHeader(sdk), "", true)
				d := r.JSON(t)
				if de, _ := d["error"].(map[string]any); d["status"] != "failed" || de["code"] != c.code {
					t.Errorf("session after %s: %s", c.code, r.Body)
				}
			}
			s.Clock.Advance(time.Second)
			m := wantAttempt(t, s.process(t, vtok, sessTok, "moyasar", "card", s.cardToken(t, cardApproved)), "completed")
			r := s.Do("GET", "/api/v1/public/transactions/"+sessID+"/status", map[string]string{"X-Session-Token": sessTok}, "", true)
			if st := r.JSON(t); st["status"] != "APPROVED" || st["transaction_id"] != m["paymentId"] {
				t.Errorf("status after retry: %s", r.Body)
			}
			if got := s.paymentStatuses(sessID); len(got) != 4 {
				t.Errorf("payments of the session: %v, want 3 failed and 1 completed", got)
			}
			events, err := s.Store.Events(t.Context(), sessID)
			if err != nil {
				t.Fatal(err)
			}
			if countEvents(events, "payment.failed") != 3 || countEvents(events, "payment.completed") != 1 {
				t.Errorf("events %v", events)
			}
		})
	}
}

var (
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="(return|sig)" value="([^"]*)">`)
	pageState   = regexp.MustCompile(`data-test="result" data-state="([a-z_]+)"`)
)

// answerChallenge opens a redirectUrl's page, then posts the answer as
// its form does; the client follows the 303 to the payment callback,
// whose page state it returns.
func (s *server) answerChallenge(t *testing.T, redirectURL, action string) string {
	t.Helper()
	if !strings.HasPrefix(redirectURL, s.URL+"/") {
		t.Fatalf("redirectUrl %q is not on this server", redirectURL)
	}
	page := s.Do("GET", strings.TrimPrefix(redirectURL, s.URL), nil, "", true)
	if page.Status != 200 || !strings.Contains(page.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("challenge page: %d %s", page.Status, page.Body)
	}
	form := url.Values{"action": {action}}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(page.Body), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("return") == "" || form.Get("sig") == "" {
		t.Fatalf("challenge page has no form: %s", page.Body)
	}
	u, _ := url.Parse(redirectURL)
	req, err := http.NewRequestWithContext(t.Context(), "POST", s.URL+u.Path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Request.URL.Path, "/api/v1/payments/callback/") {
		t.Fatalf("after the challenge: %d at %s: %s", resp.StatusCode, resp.Request.URL, body)
	}
	m := pageState.FindStringSubmatch(string(body))
	if m == nil {
		t.Fatalf("callback page without a result: %s", body)
	}
	return m[1]
}

func TestThreeDSecureAndOffSite(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newPaymentServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			sdk := s.backendToken(t, app.Keys)
			for _, c := range []struct {
				name, gateway, method, card, action string
				state, status, txStatus             string
			}{
				{"3-D Secure passed", "stripe", "card", card3DS, "complete", "paid", "completed", "APPROVED"},
				{"3-D Secure failed", "stripe", "card", card3DS, "fail", "retry", "failed", "CANCELED"},
				{"paypal approved", "paypal", "paypal", "", "complete", "paid", "completed", "APPROVED"},
				{"myfatoorah declined", "myfatoorah", "myfatoorah", "", "fail", "retry", "failed", "CANCELED"},
			} {
				t.Run(c.name, func(t *testing.T) {
					sessTok, sessID := s.checkoutSession(t, app.Keys, `,"return_url":"https://shop.example.com/done"`)
					vtok := s.verified(t, sdk, "buyer@example.com", sessTok)
					tok := ""
					if c.card != "" {
						tok = s.cardToken(t, c.card)
					}
					m := wantAttempt(t, s.process(t, vtok, sessTok, c.gateway, c.method, tok), "requires_action")
					if st := s.answerChallenge(t, str(m, "redirectUrl"), c.action); st != c.state {
						t.Errorf("callback page state %s, want %s", st, c.state)
					}
					r := s.Do("POST", "/api/v1/payments/confirm", bearerHeader(vtok), fmt.Sprintf(`{"sessionToken":%q}`, sessTok), true)
					got := wantAttempt(t, r, c.status)
					if got["paymentId"] != m["paymentId"] || r.Header.Get("Deprecation") != "true" {
						t.Errorf("confirm: %v %v", r.Header, got)
					}
					r = s.Do("GET", "/api/v1/public/transactions/"+sessID+"/status", map[string]string{"X-API-Key": app.Keys.Secret}, "", true)
					if st := r.JSON(t); st["status"] != c.txStatus {
						t.Errorf("transaction status %v, want %s", st["status"], c.txStatus)
					}
					if c.status != "failed" {
						return
					}
					// A failed challenge may be retried on the same session:
					// off-site gateways ask for approval again.
					s.Clock.Advance(time.Second)
					retry := s.process(t, vtok, sessTok, c.gateway, "card", s.cardToken(t, cardApproved))
					if c.card == "" {
						m := wantAttempt(t, retry, "requires_action")
						if st := s.answerChallenge(t, str(m, "redirectUrl"), "complete"); st != "paid" {
							t.Errorf("retry: callback page state %s", st)
						}
					} else {
						wantAttempt(t, retry, "completed")
					}
					r = s.Do("GET", "/api/v1/public/transactions/"+sessID+"/status", map[string]string{"X-Session-Token": sessTok}, "", true)
					if st := r.JSON(t); st["status"] != "APPROVED" {
						t.Errorf("after the retry: %s", r.Body)
					}
				})
			}
			// The callback of an unknown session says so.
			r := s.Do("GET", "/api/v1/payments/callback/sess_unknown?outcome=success", nil, "", true)
			if r.Status != 404 || !strings.Contains(string(r.Body), `data-state="not_found"`) {
				t.Errorf("unknown callback: %d %s", r.Status, r.Body)
			}
		})
	}
}

func TestFrontendTokens(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newPaymentServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			// Even an application granting everything gives browsers none
			// of the backend permissions.
			s.grant(app.Application.ID, backendPerms...)
			if _, err := s.Merchant.AddDomain(t.Context(), app.Application.ID, "shop.example.com", true); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Merchant.AddDomain(t.Context(), app.Application.ID, "pending.example.com", false); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Merchant.AddProduct(t.Context(), merchant.NewProduct{
				ApplicationID: app.Application.ID, StoreCode: "SKU-1024", Title: "Lamp", Price: money.New(12500, "MAD"),
			}); err != nil {
				t.Fatal(err)
			}
			tokenize := func(h map[string]string) response {
				h["x-client-token"] = app.Keys.ClientToken
				return s.Do("POST", "/api/v1/tokenize", h, "", true)
			}
			r := tokenize(map[string]string{"Origin": "https://shop.example.com"})
			if r.Status != 200 {
				t.Fatalf("tokenize: %d %s", r.Status, r.Body)
			}
			m := r.JSON(t)
			front := str(m, "token")
			perms := fmt.Sprint(m["permissions"])
			if strings.Contains(perms, "product:create") || strings.Contains(perms, "customer:") || !strings.Contains(perms, "product:link") {
				t.Errorf("frontend permissions %s", perms)
			}
			if r := tokenize(map[string]string{"Referer": "https://shop.example.com/cart?x=1"}); r.Status != 200 {
				t.Errorf("Referer fallback: %d %s", r.Status, r.Body)
			}
			for name, h := range map[string]map[string]string{
				"unverified origin":  {"Origin": "https://pending.example.com"},
				"unknown origin":     {"Origin": "https://evil.example.com"},
				"look-alike":         {"Origin": "https://shop.example.com.evil.com"},
				"no origin":          {},
				"null origin":        {"Origin": "null"},
				"unverified referer": {"Referer": "https://pending.example.com/"},
			} {
				if r := tokenize(h); r.Status != 403 || r.PaymentCode(t) != "origin_not_allowed" {
					t.Errorf("%s: %d %s", name, r.Status, r.Body)
				}
			}
			if r := s.Do("POST", "/api/v1/tokenize", map[string]string{"x-client-token": "tk_test_nope", "Origin": "https://shop.example.com"}, "", true); r.Status != 401 {
				t.Errorf("unknown client token: %d %s", r.Status, r.Body)
			}

			frontAt := func(origin string) map[string]string {
				h := bearerHeader(front)
				if origin != "" {
					h["Origin"] = origin
				}
				return h
			}
			linked := `{"products":[{"storeCode":"SKU-1024","quantity":2}]}`
			r = s.Do("POST", "/api/v1/checkout/session", frontAt("https://shop.example.com"), linked, true)
			if r.Status != 200 {
				t.Fatalf("frontend session: %d %s", r.Status, r.Body)
			}
			if m := r.JSON(t); m["amount"] != json.Number("250.00") || m["currency"] != "MAD" || m["status"] != "init" {
				t.Errorf("frontend session: %s", r.Body)
			}
			back := s.backendToken(t, app.Keys)
			inline := `{"products":[{"name":"Gift","price":10.50,"quantity":1}]}`
			customer := `{"products":[{"storeCode":"SKU-1024"}],"customer":{"email":"buyer@example.com"}}`
			for _, c := range []struct {
				name, path string
				header     map[string]string
				body       string
				status     int
				code       string
			}{
				{"frontend token from another origin", "/api/v1/checkout/session", frontAt("https://evil.example.com"), linked, 403, "origin_not_allowed"},
				{"frontend inline price", "/api/v1/checkout/session", frontAt("https://shop.example.com"), inline, 403, "permission_denied"},
				{"frontend customer", "/api/v1/checkout/session", frontAt("https://shop.example.com"), customer, 403, "permission_denied"},
				{"frontend on the backend route", "/api/v1/checkout/backend/session", frontAt("https://shop.example.com"), linked, 403, "backend_only"},
				{"backend inline on the web route", "/api/v1/checkout/web/session", bearerHeader(back), inline, 403, "permission_denied"},
				{"backend customer on the web route", "/api/v1/checkout/web/session", bearerHeader(back), customer, 403, "permission_denied"},
				{"backend inline", "/api/v1/checkout/session", bearerHeader(back), inline, 200, ""},
				{"backend customer", "/api/v1/checkout/backend/session", bearerHeader(back), customer, 200, ""},
				{"no token", "/api/v1/checkout/session", nil, linked, 401, "invalid_token"},
				{"secret key as token", "/api/v1/checkout/session", bearerHeader(app.Keys.Secret), linked, 401, ""},
			} {
				t.Run(c.name, func(t *testing.T) {
					r := s.Do("POST", c.path, c.header, c.body, true)
					if r.Status != c.status {
						t.Fatalf("%d %s, want %d", r.Status, r.Body, c.status)
					}
					if c.status != 200 {
						if code := r.PaymentCode(t); c.code != "" && code != c.code {
							t.Errorf("code %s, want %s", code, c.code)
						}
					}
				})
			}
		})
	}
}

// A backend token holds product:create and customer:create only when the
// application grants them; new applications do not.
func TestBackendPermissions(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newPaymentServer(t, engine, serverOptions{})
			plain := s.NewApp("Plain Shop", pay.Sandbox)
			granted := s.NewApp("Granted Shop", pay.Sandbox)
			s.grant(granted.Application.ID, "payment:create_session", "product:create", "customer:select")
			none := s.NewApp("Locked Down", pay.Sandbox)
			s.grant(none.Application.ID)
			inline := `{"products":[{"name":"Gift","price":"10.50","sku":"G-1","currency":"MAD"}],"customer":{"phone":"+212 6 00 00 00 07"}}`
			r := s.Do("POST", "/api/v1/checkout/session", bearerHeader(s.backendToken(t, plain.Keys)), inline, true)
			if r.Status != 403 || r.PaymentCode(t) != "permission_denied" {
				t.Errorf("default permissions: %d %s", r.Status, r.Body)
			}
			r = s.Do("POST", "/api/v1/checkout/session", bearerHeader(s.backendToken(t, granted.Keys)), inline, true)
			if r.Status != 200 {
				t.Fatalf("granted: %d %s", r.Status, r.Body)
			}
			m := r.JSON(t)
			c, _ := m["customer"].(map[string]any)
			if m["amount"] != json.Number("10.50") || c["locked"] != true || c["phone"] != "+212600000007" || c["verifiedChannel"] != "phone" {
				t.Errorf("granted: %s", r.Body)
			}
			r = s.Do("POST", "/api/v1/checkout/session", bearerHeader(s.backendToken(t, none.Keys)), `{"products":[{"storeCode":"X"}]}`, true)
			if r.Status != 403 || r.PaymentCode(t) != "permission_denied" {
				t.Errorf("no permissions: %d %s", r.Status, r.Body)
			}
			sdk := s.backendToken(t, none.Keys)
			if r := s.requestCode(t, sdk, "buyer@example.com", "", ""); r.Status != 403 {
				t.Errorf("OTP without payment:send_otp: %d %s", r.Status, r.Body)
			}
		})
	}
}

func TestLinkedProductsAndCurrencies(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newPaymentServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			s.grant(app.Application.ID, backendPerms...)
			for _, p := range []merchant.NewProduct{
				{ApplicationID: app.Application.ID, StoreCode: "SKU-MAD", Title: "Lamp", Price: money.New(12500, "MAD"), ImageURL: "https://cdn.example.com/lamp.png"},
				{ApplicationID: app.Application.ID, StoreCode: "SKU-USD", Title: "Bulb", Price: money.New(399, "USD")},
			} {
				if _, err := s.Merchant.AddProduct(t.Context(), p); err != nil {
					t.Fatal(err)
				}
			}
			sdk := bearerHeader(s.backendToken(t, app.Keys))
			r := s.Do("POST", "/api/v1/checkout/session", sdk, `{"products":[{"storeCode":"SKU-MAD","quantity":2},{"storeCode":"NOPE-9","quantity":1}]}`, true)
			if r.Status != 404 || r.PaymentCode(t) != "product_not_found" || !strings.Contains(string(r.Body), "NOPE-9") {
				t.Errorf("unknown storeCode: %d %s", r.Status, r.Body)
			}
			for _, body := range []string{
				`{"products":[{"storeCode":"SKU-MAD"},{"storeCode":"SKU-USD"}]}`,
				`{"products":[{"storeCode":"SKU-MAD"},{"name":"Gift","price":1,"currency":"USD"}]}`,
			} {
				if r := s.Do("POST", "/api/v1/checkout/session", sdk, body, true); r.Status != 400 || r.PaymentCode(t) != "invalid_currency" {
					t.Errorf("mixed currencies %s: %d %s", body, r.Status, r.Body)
				}
			}
			r = s.Do("POST", "/api/v1/checkout/session", sdk,
				`{"products":[{"storeCode":"SKU-MAD","quantity":2},{"name":"Gift wrap","price":5,"quantity":1}],"metadata":{"order":"1001"},"returnUrl":"https://shop.example.com/done","gateway":"stripe","locale":"fr"}`, true)
			if r.Status != 200 {
				t.Fatalf("mixed products: %d %s", r.Status, r.Body)
			}
			tok := str(r.JSON(t), "sessionToken")
			if r.JSON(t)["amount"] != json.Number("255.00") {
				t.Errorf("amount: %s", r.Body)
			}
			r = s.Do("GET", "/api/v1/checkout/session/"+tok, sdk, "", true)
			d := r.JSON(t)
			products, _ := d["products"].([]any)
			first, _ := products[0].(map[string]any)
			if d["totalAmount"] != json.Number("255.00") || d["totalTax"] != json.Number("0.00") || d["currency"] != "MAD" || d["gateway"] != "stripe" ||
				d["status"] != "init" || d["applicationName"] != "Atlas Shop" || d["returnUrl"] != "https://shop.example.com/done" ||
				len(products) != 2 || first["sku"] != "SKU-MAD" || first["title"] != "Lamp" || first["price"] != json.Number("125.00") ||
				first["quantity"] != json.Number("2") || first["imageUrl"] != "https://cdn.example.com/lamp.png" || !strings.HasPrefix(str(first, "productId"), "prod") {
				t.Errorf("session details: %s", r.Body)
			}
			if md, _ := d["metadata"].(map[string]any); md["order"] != "1001" {
				t.Errorf("metadata: %s", r.Body)
			}
			if !strings.Contains(string(r.Body), `"totalAmount":255.00`) {
				t.Errorf("amounts not written with the currency's decimals: %s", r.Body)
			}
			// Another application's SDK token does not read it.
			other := s.NewApp("Other Shop", pay.Sandbox)
			if r := s.Do("GET", "/api/v1/checkout/session/"+tok, bearerHeader(s.backendToken(t, other.Keys)), "", true); r.Status != 404 {
				t.Errorf("other application: %d %s", r.Status, r.Body)
			}
		})
	}
}

// A locked customer is pre-verified, and only they can pay.
func TestLockedCustomer(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newPaymentServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			s.grant(app.Application.ID, backendPerms...)
			sdk := s.backendToken(t, app.Keys)
			r := s.Do("POST", "/api/v1/checkout/backend/session", bearerHeader(sdk),
				`{"products":[{"name":"Lamp","price":125,"quantity":1}],"customer":{"email":"Buyer@Example.com"}}`, true)
			if r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			m := r.JSON(t)
			c, _ := m["customer"].(map[string]any)
			if c["locked"] != true || c["verifiedIdentifier"] != "buyer@example.com" || c["verifiedChannel"] != "email" {
				t.Errorf("customer %v", c)
			}
			tok := str(m, "sessionToken")
			// Another identifier cannot even ask for a code for it…
			if r := s.requestCode(t, sdk, "other@example.com", tok, ""); r.Status != 403 || r.PaymentCode(t) != "customer_mismatch" {
				t.Errorf("code for another identifier: %d %s", r.Status, r.Body)
			}
			// …nor pay it with a verification made elsewhere.
			stranger := s.verified(t, sdk, "other@example.com", "")
			if r := s.process(t, stranger, tok, "stripe", "card", s.cardToken(t, cardApproved)); r.Status != 403 || r.PaymentCode(t) != "customer_mismatch" {
				t.Errorf("another identifier pays: %d %s", r.Status, r.Body)
			}
			owner := s.verified(t, sdk, "buyer@example.com", tok)
			wantAttempt(t, s.process(t, owner, tok, "stripe", "card", s.cardToken(t, cardApproved)), "completed")
		})
	}
}

// A verification token is good for its own application environment,
// identifier and session only; an SDK token is not one.
func TestVerificationTokenScope(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newPaymentServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			other := s.NewApp("Other Shop", pay.Sandbox)
			if _, err := s.Merchant.AddDomain(t.Context(), app.Application.ID, "shop.example.com", true); err != nil {
				t.Fatal(err)
			}
			sessTok, _ := s.checkoutSession(t, app.Keys, "")
			secondTok, _ := s.checkoutSession(t, app.Keys, "")
			sdk := s.backendToken(t, app.Keys)
			card := s.cardToken(t, cardApproved)

			foreign := s.verified(t, s.backendToken(t, other.Keys), "buyer@example.com", "")
			if r := s.process(t, foreign, sessTok, "stripe", "card", card); r.Status != 404 || r.PaymentCode(t) != "session_not_found" {
				t.Errorf("another application's verification: %d %s", r.Status, r.Body)
			}
			bound := s.verified(t, sdk, "buyer@example.com", secondTok)
			if r := s.process(t, bound, sessTok, "stripe", "card", card); r.Status != 403 || r.PaymentCode(t) != "verification_mismatch" {
				t.Errorf("verification of another session: %d %s", r.Status, r.Body)
			}
			r := s.Do("POST", "/api/v1/tokenize", map[string]string{"x-client-token": app.Keys.ClientToken, "Origin": "https://shop.example.com"}, "", true)
			front := str(r.JSON(t), "token")
			if r := s.process(t, front, sessTok, "stripe", "card", card); r.Status != 401 || r.PaymentCode(t) != "invalid_token" {
				t.Errorf("frontend SDK token as verification: %d %s", r.Status, r.Body)
			}
			if r := s.process(t, sdk, sessTok, "stripe", "card", card); r.Status != 403 || r.PaymentCode(t) != "verification_required" {
				t.Errorf("backend SDK token on an unlocked session: %d %s", r.Status, r.Body)
			}
			if r := s.process(t, sessTok, sessTok, "stripe", "card", card); r.Status != 401 {
				t.Errorf("session token as verification: %d %s", r.Status, r.Body)
			}
			// A verification token is not an SDK token either.
			if r := s.Do("GET", "/api/v1/checkout/verification/methods", bearerHeader(bound), "", true); r.Status != 401 {
				t.Errorf("verification token as SDK token: %d %s", r.Status, r.Body)
			}
			// It expires after 5 minutes (and the tokens' 30 s leeway).
			fresh := s.verified(t, sdk, "buyer@example.com", sessTok)
			s.Clock.Advance(5*time.Minute + 31*time.Second)
			if r := s.process(t, fresh, sessTok, "stripe", "card", s.cardToken(t, cardApproved)); r.Status != 401 {
				t.Errorf("expired verification: %d %s", r.Status, r.Body)
			}
		})
	}
}

func TestOTPRules(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newPaymentServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			sdk := s.backendToken(t, app.Keys)
			id := "buyer@example.com"
			if r := s.requestCode(t, sdk, id, "", ""); r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			if r := s.verifyCode(t, sdk, id, "", "123456"); r.Status != 400 || r.PaymentCode(t) != "invalid_code" {
				t.Errorf("wrong code: %d %s", r.Status, r.Body)
			}
			if r := s.verifyCode(t, sdk, id, "", otp.TestCode); r.Status != 200 {
				t.Errorf("right code after one wrong try: %d %s", r.Status, r.Body)
			}
			if r := s.verifyCode(t, sdk, id, "", otp.TestCode); r.Status != 400 || r.PaymentCode(t) != "invalid_code" {
				t.Errorf("used code: %d %s", r.Status, r.Body)
			}
			// Five wrong tries burn the code.
			s.requestCode(t, sdk, id, "", "")
			for range otp.MaxAttempts {
				s.verifyCode(t, sdk, id, "", "999999")
			}
			if r := s.verifyCode(t, sdk, id, "", otp.TestCode); r.Status != 400 || r.PaymentCode(t) != "invalid_code" {
				t.Errorf("burned code: %d %s", r.Status, r.Body)
			}
			// Expired after 10 minutes.
			s.requestCode(t, sdk, id, "", "")
			s.Clock.Advance(otp.TTL)
			if r := s.verifyCode(t, sdk, id, "", otp.TestCode); r.Status != 400 || r.PaymentCode(t) != "invalid_code" {
				t.Errorf("expired code: %d %s", r.Status, r.Body)
			}
			for _, bad := range []string{
				`{"method":"fax","identifier":"buyer@example.com"}`,
				`{"method":"email_otp","identifier":"not an email"}`,
				`{"method":"mobile_otp","identifier":"12"}`,
			} {
				if r := s.Do("POST", "/api/v1/checkout/verification/request", bearerHeader(sdk), bad, false); r.Status != 400 {
					t.Errorf("%s: %d %s", bad, r.Status, r.Body)
				}
			}
			r := s.Do("GET", "/api/v1/checkout/verification/methods", bearerHeader(sdk), "", true)
			if got := fmt.Sprint(r.JSON(t)["methods"]); got != "[email_otp mobile_otp]" {
				t.Errorf("methods %s", r.Body)
			}
		})
	}
}

func TestPaymentRateLimits(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newPaymentServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			sdk := s.backendToken(t, app.Keys) // the first of 10 per minute
			for i := range 30 {
				if r := s.requestCode(t, sdk, "buyer@example.com", "", ""); r.Status != 200 || r.Header.Get("RateLimit-Remaining") != fmt.Sprint(29-i) {
					t.Fatalf("request %d: %d %v %s", i+1, r.Status, r.Header, r.Body)
				}
			}
			r := s.requestCode(t, sdk, "buyer@example.com", "", "")
			if r.Status != 429 || r.PaymentCode(t) != "rate_limit_exceeded" || r.Header.Get("RateLimit-Limit") != "30" ||
				r.Header.Get("RateLimit-Remaining") != "0" || r.Header.Get("RateLimit-Reset") == "" || r.Header.Get("Retry-After") == "" {
				t.Errorf("31st request: %d %v %s", r.Status, r.Header, r.Body)
			}
			if r := s.requestCode(t, sdk, "other@example.com", "", ""); r.Status != 200 {
				t.Errorf("another identifier: %d %s", r.Status, r.Body)
			}
			if r := s.verifyCode(t, sdk, "buyer@example.com", "", otp.TestCode); r.Status != 200 {
				t.Errorf("verify is counted apart: %d %s", r.Status, r.Body)
			}
			for i := 2; i <= 10; i++ {
				if r := s.Do("POST", "/api/v1/auth", map[string]string{"Authorization": "Bearer " + app.Keys.Secret, "x-public-key": app.Keys.Public}, "", true); r.Status != 200 {
					t.Fatalf("auth %d: %d %s", i, r.Status, r.Body)
				}
			}
			r = s.Do("POST", "/api/v1/auth", map[string]string{"Authorization": "Bearer " + app.Keys.Secret, "x-public-key": app.Keys.Public}, "", true)
			if r.Status != 429 || r.PaymentCode(t) != "rate_limit_exceeded" || r.Header.Get("RateLimit-Limit") != "10" || r.Header.Get("Retry-After") == "" {
				t.Errorf("11th auth: %d %v %s", r.Status, r.Header, r.Body)
			}
			// Bad keys count too: guessing is limited.
			if r := s.Do("POST", "/api/v1/auth", map[string]string{"Authorization": "Bearer sk_test_guess", "x-public-key": "pk_test_guess"}, "", true); r.Status != 429 {
				t.Errorf("12th auth with bad keys: %d %s", r.Status, r.Body)
			}
			s.Clock.Advance(time.Minute)
			if r := s.Do("POST", "/api/v1/auth", nil, fmt.Sprintf(`{"publicKey":%q}`, app.Keys.Public), true); r.Status != 401 {
				t.Errorf("auth without the secret key, next minute: %d %s", r.Status, r.Body)
			}
			s.Clock.Advance(15 * time.Minute)
			if r := s.requestCode(t, s.backendToken(t, app.Keys), "buyer@example.com", "", ""); r.Status != 200 {
				t.Errorf("next window: %d %s", r.Status, r.Body)
			}
		})
	}
}

func TestAuthRefusals(t *testing.T) {
	s := newPaymentServer(t, store.SQLite, serverOptions{})
	app := s.NewApp("Atlas Shop", pay.Sandbox)
	other := s.NewApp("Other Shop", pay.Sandbox)
	live, err := s.Merchant.IssueKeys(t.Context(), app.Application.ID, pay.Live)
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]map[string]string{
		"no keys":                  {},
		"no public key":            {"Authorization": "Bearer " + app.Keys.Secret},
		"public key as secret":     {"Authorization": "Bearer " + app.Keys.Public, "x-public-key": app.Keys.Public},
		"another app's public":     {"Authorization": "Bearer " + app.Keys.Secret, "x-public-key": other.Keys.Public},
		"live public, test secret": {"Authorization": "Bearer " + app.Keys.Secret, "x-public-key": live.Public},
	} {
		if r := s.Do("POST", "/api/v1/auth", h, "", true); r.Status != 401 {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		} else {
			r.PaymentCode(t)
		}
	}
	r := s.Do("POST", "/api/v1/auth", map[string]string{"Authorization": "Bearer " + live.Secret}, fmt.Sprintf(`{"publicKey":%q}`, live.Public), true)
	if r.Status != 200 || r.JSON(t)["environment"] != "live" {
		t.Errorf("live keys, public key in the body: %d %s", r.Status, r.Body)
	}
}

// Twenty concurrent process calls on one session charge it once.
func TestConcurrentProcess(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newPaymentServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			sessTok, sessID := s.checkoutSession(t, app.Keys, "")
			vtok := s.verified(t, s.backendToken(t, app.Keys), "buyer@example.com", sessTok)
			card := s.cardToken(t, cardApproved)
			ids := make([]string, 20)
			var wg sync.WaitGroup
			for i := range ids {
				wg.Go(func() {
					r := s.process(t, vtok, sessTok, "stripe", "card", card)
					if r.Status != 200 {
						t.Errorf("process: %d %s", r.Status, r.Body)
						return
					}
					m := r.JSON(t)
					if st := m["status"]; st != "completed" && st != "pending" {
						t.Errorf("process: %s", r.Body)
					}
					ids[i] = str(m, "paymentId")
				})
			}
			wg.Wait()
			for _, id := range ids {
				if id != ids[0] || id == "" {
					t.Fatalf("responses name different payments: %v", ids)
				}
			}
			if got := s.paymentStatuses(sessID); len(got) != 1 || got[0] != "completed" {
				t.Errorf("payments of the session: %v, want one completed", got)
			}
			events, err := s.Store.Events(t.Context(), sessID)
			if err != nil {
				t.Fatal(err)
			}
			if n := countEvents(events, "payment.completed"); n != 1 {
				t.Errorf("%d payment.completed events, want 1", n)
			}
		})
	}
}

func TestPaymentCatalogEndpoints(t *testing.T) {
	s := newPaymentServer(t, store.SQLite, serverOptions{})
	r := s.Do("GET", "/api/v1/checkout/sessions/currencies", nil, "", true)
	if r.Status != 200 || !strings.Contains(string(r.Body), `{"code":"MAD","decimals":2,`) || !strings.Contains(string(r.Body), `"code":"KWD","decimals":3`) {
		t.Errorf("currencies: %d %.300s", r.Status, r.Body)
	}
	r = s.Do("GET", "/api/v1/checkout/sessions/gateways", nil, "", true)
	if m := r.JSON(t); r.Status != 200 || fmt.Sprint(m["gateways"]) != "[moyasar myfatoorah paypal stripe]" ||
		fmt.Sprint(m["sandbox"]) != "[moyasar myfatoorah paypal stripe]" || fmt.Sprint(m["live"]) != "[]" {
		t.Errorf("gateways: %d %s", r.Status, r.Body)
	}
	if r := s.Do("GET", "/api/v1/checkout/verification/methods", nil, "", true); r.Status != 401 {
		t.Errorf("methods without a token: %d %s", r.Status, r.Body)
	}
	for _, bad := range []string{"4242424242424241", "not a card"} {
		if r := s.Do("POST", "/api/v1/sandbox/tokens", nil, fmt.Sprintf(`{"number":%q,"expMonth":12,"expYear":2030,"cvc":"123"}`, bad), true); r.Status != 400 {
			t.Errorf("sandbox token of %s: %d %s", bad, r.Status, r.Body)
		}
	}
}

// Codes to real addresses go out over SMTP, in the shopper's language; a
// new request replaces the previous code; a live verification token does
// not pay a sandbox session.
func TestEmailCodeOverSMTP(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			sink := smtpsink.Start(t)
			sender, err := otp.NewSMTPSender(otp.SMTPConfig{Host: "127.0.0.1", Port: sink.Port, From: "Atlas Shop <no-reply@atlas.test>", StartTLS: otp.StartTLSOff})
			if err != nil {
				t.Fatal(err)
			}
			s := newPaymentServer(t, engine, serverOptions{Senders: otp.Senders{Email: sender}})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			live, err := s.Merchant.IssueKeys(t.Context(), app.Application.ID, pay.Live)
			if err != nil {
				t.Fatal(err)
			}
			sdk := s.backendToken(t, app.Keys)
			id := "Buyer@Atlas.test"
			if r := s.requestCode(t, sdk, id, "", `,"locale":"fr"`); r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			first, to, lang := sink.Code(t, 1)
			if !strings.Contains(to, "buyer@atlas.test") || lang != "fr" {
				t.Errorf("message to %q in %q", to, lang)
			}
			if r := s.requestCode(t, sdk, id, "", ""); r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			second, _, _ := sink.Code(t, 2)
			if first != second {
				if r := s.verifyCode(t, sdk, id, "", first); r.Status != 400 || r.PaymentCode(t) != "invalid_code" {
					t.Errorf("replaced code: %d %s", r.Status, r.Body)
				}
			}
			if r := s.verifyCode(t, sdk, id, "", second); r.Status != 200 || r.JSON(t)["identifier"] != "buyer@atlas.test" {
				t.Errorf("current code: %d %s", r.Status, r.Body)
			}

			// Live: a real code, and a token that is useless on the sandbox.
			liveSDK := s.backendToken(t, live)
			if r := s.requestCode(t, liveSDK, id, "", ""); r.Status != 200 {
				t.Fatalf("live: %d %s", r.Status, r.Body)
			}
			code, _, _ := sink.Code(t, 3)
			r := s.verifyCode(t, liveSDK, id, "", code)
			if r.Status != 200 {
				t.Fatalf("live verify: %d %s", r.Status, r.Body)
			}
			liveToken := str(r.JSON(t), "verificationToken")
			if r := s.requestCode(t, liveSDK, "buyer@example.com", "", ""); r.Status != 200 {
				t.Errorf("live test identifier: %d %s", r.Status, r.Body)
			}
			sink.Code(t, 4) // in live, example.com is an address like any other
			if r := s.verifyCode(t, liveSDK, "buyer@example.com", "", otp.TestCode); r.Status != 400 {
				t.Errorf("live accepts the sandbox code: %d %s", r.Status, r.Body)
			}
			sessTok, _ := s.checkoutSession(t, app.Keys, "")
			if r := s.process(t, liveToken, sessTok, "stripe", "card", s.cardToken(t, cardApproved)); r.Status != 404 {
				t.Errorf("live verification on a sandbox session: %d %s", r.Status, r.Body)
			}
		})
	}
}
