package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sakkhq/sakk/docs"
	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/testserver"
)

// server is the one test server (internal/testserver) with this
// package's helpers as its methods: member, login, pat, paidSession, …
type server struct{ *testserver.Server }

// serverOptions and response are the test server's.
type (
	serverOptions = testserver.Options
	response      = testserver.Response
)

func newServer(t testing.TB, engine store.Engine, o serverOptions) *server {
	t.Helper()
	return &server{testserver.New(t, engine, o)}
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
			app := s.NewApp("Your Store", pay.Sandbox)
			r := s.Do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": app.Keys.Secret}, seedBody, true)
			if r.Status != http.StatusOK {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			m := r.JSON(t)
			tok, _ := m["session_token"].(string)
			id, _ := m["session_id"].(string)
			if m["expires_in"] != json.Number("3600") || !strings.HasPrefix(id, "sess_") {
				t.Errorf("body %s", r.Body)
			}
			// The token is a JWS whose header names its key, like the seed's
			// eyJraWQiOiJzZXNzaW9uLTIwMjUtMDEi… = {"kid":"session-2025-01"…
			header := decodeJWTHeader(t, tok)
			if kid, _ := header["kid"].(string); !strings.HasPrefix(kid, "session-"+s.Clock.Now().Format("2006-01")) {
				t.Errorf("token header %v: want kid session-YYYY-MM", header)
			}
			sess, err := s.Store.Session(t.Context(), app.Application.ID, pay.Sandbox, id)
			if err != nil {
				t.Fatal(err)
			}
			want := money.New(179900, "MAD")
			if sess.Amount != want || len(sess.Items) != 1 || sess.Items[0].UnitPrice != want || sess.Items[0].Quantity != 1 ||
				sess.Items[0].Reference != "PRODUCT_123" || sess.Status != pay.SessionInit {
				t.Errorf("stored session %+v", sess)
			}
			if got := r.Header.Get("RateLimit-Limit"); got != "1000" {
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
			app := s.NewApp("Shop", pay.Sandbox)
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
				// Limits count characters, as the documented maxLength does:
				// 255 Arabic letters are 510 bytes.
				{"item name of 255 Arabic letters", key, body(`"12.50"`, `"MAD"`, `[{"id":"A","name":"`+strings.Repeat("م", 255)+`","price":12.5,"quantity":1}]`), 200, ""},
				{"item name of 256 Arabic letters", key, body(`"12.50"`, `"MAD"`, `[{"id":"A","name":"`+strings.Repeat("م", 256)+`","price":12.5,"quantity":1}]`), 400, "INVALID_TEXT"},
				{"redirect_url not verified", key, `{"total":"25.00","currency":"MAD","items":` + items + `,"redirect_url":"https://evil.example.com/"}`, 400, "INVALID_URL"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					before := sessionCount(t, s.Store)
					r := s.Do("POST", "/api/v1/public/sessions", c.header, c.body, c.status == 200)
					if r.Status != c.status {
						t.Fatalf("status %d, want %d: %.300s", r.Status, c.status, r.Body)
					}
					if c.status == 200 {
						return
					}
					if code := r.ErrorCode(t); code != c.code {
						t.Errorf("code %s, want %s: %.300s", code, c.code, r.Body)
					}
					if after := sessionCount(t, s.Store); after != before {
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
	app := s.NewApp("Gulf Shop", pay.Sandbox)
	err := s.Store.WithTx(t.Context(), func(tx *store.Tx) error {
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
		r := s.Do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": app.Keys.Secret}, c.body, c.status == 200)
		if r.Status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.body, r.Status, c.status, r.Body)
			continue
		}
		if c.status != 200 {
			continue
		}
		id, _ := r.JSON(t)["session_id"].(string)
		sess, err := s.Store.Session(t.Context(), app.Application.ID, pay.Sandbox, id)
		if err != nil || sess.Amount.Minor != c.minor {
			t.Errorf("%s: stored %v, %v; want %d minor units", c.body, sess.Amount, err, c.minor)
		}
	}
}

func TestIdempotencyKey(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.NewApp("Shop", pay.Sandbox)
			h := map[string]string{"X-API-Key": app.Keys.Secret, "Idempotency-Key": "order-1001"}
			first := s.Do("POST", "/api/v1/public/sessions", h, seedBody, true)
			again := s.Do("POST", "/api/v1/public/sessions", h, seedBody, true)
			if first.Status != 200 || again.Status != 200 || !bytes.Equal(first.Body, again.Body) {
				t.Fatalf("replay differs:\n%d %s\n%d %s", first.Status, first.Body, again.Status, again.Body)
			}
			other := strings.Replace(seedBody, "Wireless", "Wired", 1)
			if r := s.Do("POST", "/api/v1/public/sessions", h, other, true); r.Status != 422 || r.ErrorCode(t) != "IDEMPOTENCY_KEY_REUSED" {
				t.Errorf("same key, other body: %d %s", r.Status, r.Body)
			}
			if n := sessionCount(t, s.Store); n != 1 {
				t.Errorf("%d sessions stored, want 1", n)
			}
			// Concurrent retries with one new key open one session between them.
			h["Idempotency-Key"] = "order-1002"
			bodies := make([]string, 8)
			var wg sync.WaitGroup
			for i := range bodies {
				wg.Go(func() {
					r := s.Do("POST", "/api/v1/public/sessions", h, seedBody, true)
					if r.Status != 200 {
						t.Errorf("concurrent retry: %d %s", r.Status, r.Body)
					}
					bodies[i] = string(r.Body)
				})
			}
			wg.Wait()
			for _, b := range bodies {
				if b != bodies[0] {
					t.Fatalf("concurrent retries got different answers:\n%s\n%s", bodies[0], b)
				}
			}
			if n := sessionCount(t, s.Store); n != 2 {
				t.Errorf("%d sessions stored, want 2", n)
			}
			// After 24 hours the key may be used afresh.
			s.Clock.Advance(checkout.IdempotencyTTL + time.Minute)
			if r := s.Do("POST", "/api/v1/public/sessions", h, other, true); r.Status != 200 {
				t.Errorf("key reused after its 24 h: %d %s", r.Status, r.Body)
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
			servers := []*server{newServer(t, engine, serverOptions{RateLimit: 100, Store: opts})}
			if engine == store.Postgres {
				servers = append(servers, newServer(t, engine, serverOptions{RateLimit: 100, Store: opts}))
			}
			app := servers[0].NewApp("Shop", pay.Sandbox)
			var ok, limited atomic.Int32
			var wg sync.WaitGroup
			for i := range 100 {
				wg.Go(func() {
					r := servers[i%len(servers)].Do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": app.Keys.Secret}, seedBody, true)
					switch r.Status {
					case 200:
						ok.Add(1)
					case 429:
						limited.Add(1)
					default:
						t.Errorf("burst: %d %s", r.Status, r.Body)
					}
				})
			}
			wg.Wait()
			if ok.Load() != 100 || limited.Load() != 0 {
				t.Fatalf("burst of 100: %d ok, %d limited", ok.Load(), limited.Load())
			}
			for _, s := range servers {
				r := s.Do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": app.Keys.Secret}, seedBody, true)
				if r.Status != 429 || r.ErrorCode(t) != "RATE_LIMIT_EXCEEDED" || r.Header.Get("RateLimit-Remaining") != "0" ||
					r.Header.Get("Retry-After") == "" {
					t.Errorf("101st: %d %v %s", r.Status, r.Header, r.Body)
				}
			}
			// Another key is not affected; the window's end frees the key.
			other := servers[0].NewApp("Other", pay.Sandbox)
			if r := servers[0].Do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": other.Keys.Secret}, seedBody, true); r.Status != 200 {
				t.Errorf("another key: %d", r.Status)
			}
			for _, s := range servers {
				s.Clock.Advance(15 * time.Minute)
			}
			if r := servers[0].Do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": app.Keys.Secret}, seedBody, true); r.Status != 200 {
				t.Errorf("next window: %d %s", r.Status, r.Body)
			}
		})
	}
}

func TestTransactionStatus(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			sandbox := s.NewApp("Your Store", pay.Sandbox)
			live, err := s.Merchant.IssueKeys(t.Context(), sandbox.Application.ID, pay.Live)
			if err != nil {
				t.Fatal(err)
			}
			other := s.NewApp("Another Store", pay.Sandbox)
			open := func(key string) (token, id string) {
				r := s.Do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": key}, seedBody, true)
				m := r.JSON(t)
				return m["session_token"].(string), m["session_id"].(string)
			}
			tok, sessID := open(sandbox.Keys.Secret)
			otherTok, _ := open(other.Keys.Secret)

			// Before any attempt, the session reads PENDING.
			r := s.Do("GET", "/api/v1/public/transactions/"+sessID+"/status", map[string]string{"X-Session-Token": tok}, "", true)
			if r.Status != 200 || r.JSON(t)["status"] != "PENDING" {
				t.Fatalf("fresh session: %d %s", r.Status, r.Body)
			}

			paymentID := addPayment(t, s, sandbox.Application.ID, sessID, pay.PaymentCompleted)
			want := map[string]any{
				"status": "APPROVED", "transaction_id": paymentID, "payment_intent_id": sessID,
				"amount": json.Number("1799.00"), "currency": "MAD", "merchant_name": "Your Store", "store_name": "Your Store",
				"customer_phone": "", "created_at": s.Clock.Now().Format("02/01/06 15:04:05"), "updated_at": s.Clock.Now().Format("02/01/06 15:04:05"),
			}
			for _, h := range []map[string]string{{"X-Session-Token": tok}, {"X-API-Key": sandbox.Keys.Secret}} {
				r := s.Do("GET", "/api/v1/public/transactions/"+paymentID+"/status", h, "", true)
				if r.Status != 200 {
					t.Fatalf("%v: %d %s", h, r.Status, r.Body)
				}
				if !strings.Contains(string(r.Body), `"amount":1799.00`) {
					t.Errorf("amount not written with the currency's decimals: %s", r.Body)
				}
				got := r.JSON(t)
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
					r := s.Do("GET", "/api/v1/public/transactions/"+c.id+"/status", c.header, "", true)
					if r.Status != c.status || r.ErrorCode(t) != c.code {
						t.Errorf("%d %s, want %d %s", r.Status, r.Body, c.status, c.code)
					}
				})
			}
			s.Clock.Advance(checkout.SessionTTL + 2*time.Minute)
			r = s.Do("GET", "/api/v1/public/transactions/"+paymentID+"/status", map[string]string{"X-Session-Token": tok}, "", true)
			if r.Status != 401 || r.ErrorCode(t) != "INVALID_SESSION_TOKEN" {
				t.Errorf("expired token: %d %s", r.Status, r.Body)
			}
			if r := s.Do("GET", "/api/v1/public/transactions/"+paymentID+"/status", map[string]string{"X-API-Key": sandbox.Keys.Secret}, "", true); r.Status != 200 {
				t.Errorf("the key still reads it after the token expired: %d", r.Status)
			}
		})
	}
}

func addPayment(t testing.TB, s *server, appID, sessionID string, status pay.PaymentStatus) string {
	t.Helper()
	now := s.Clock.Now()
	p := pay.Payment{ID: pay.NewID(pay.PrefixPayment), SessionID: sessionID, ApplicationID: appID, Environment: pay.Sandbox,
		Gateway: "sandbox", Status: status, Amount: money.New(179900, "MAD"), Refunded: money.New(0, "MAD"), CreatedAt: now, UpdatedAt: now}
	if err := s.Store.WithTx(t.Context(), func(tx *store.Tx) error { return tx.CreatePayment(t.Context(), p) }); err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func TestSessionIntents(t *testing.T) {
	s := newServer(t, store.SQLite, serverOptions{})
	app := s.NewApp("Shop", pay.Sandbox)
	if _, err := s.Merchant.AddDomain(t.Context(), app.Application.ID, "shop.example.com", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Merchant.AddDomain(t.Context(), app.Application.ID, "unverified.example.com", false); err != nil {
		t.Fatal(err)
	}
	key := map[string]string{"X-API-Key": app.Keys.Secret}
	body := func(redirect string) string {
		return `{"currency":"MAD","total":"1799.00","vendorReference":"wc-1001","items":[{"id":"1","name":"Headphones","price":1799,"quantity":1}]` +
			redirect + `}`
	}
	r := s.Do("POST", "/api/v1/public/session-intents", key, body(`,"redirect_url":"https://shop.example.com/return?order=1001"`), true)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	id, _ := m["payment_intent_id"].(string)
	if !strings.HasPrefix(m["checkout_url"].(string), s.URL+"/checkout/") || m["checkout_token"] == "" {
		t.Errorf("intent %s", r.Body)
	}
	sess, err := s.Store.Session(t.Context(), app.Application.ID, pay.Sandbox, id)
	if err != nil || sess.VendorReference != "wc-1001" || sess.ReturnURL != "https://shop.example.com/return?order=1001" {
		t.Errorf("stored %+v, %v", sess, err)
	}
	for _, bad := range []string{
		"javascript:alert(1)", "https://evil.example.com/", "https://unverified.example.com/", "//shop.example.com/x",
		"https://shop.example.com.evil.com/", "https://user:pw@shop.example.com/", "ftp://shop.example.com/",
	} {
		r := s.Do("POST", "/api/v1/public/session-intents", key, body(`,"redirect_url":`+jsonQuote(bad)), false)
		if r.Status != 400 || r.ErrorCode(t) != "INVALID_URL" {
			t.Errorf("redirect_url %s: %d %s", bad, r.Status, r.Body)
		}
	}
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestJWKSAndOpenAPIAreServed(t *testing.T) {
	s := newServer(t, store.SQLite, serverOptions{})
	app := s.NewApp("Shop", pay.Sandbox)
	s.Do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": app.Keys.Secret}, seedBody, true)
	// Tokens are HS256: the JWKS lists only EdDSA keys of earlier
	// versions, and this store has none.
	r := s.Do("GET", "/.well-known/jwks.json", nil, "", true)
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/jwk-set+json" || string(r.Body) != `{"keys":[]}` {
		t.Errorf("jwks: %d %s %s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	r = s.Do("GET", "/openapi.yaml", nil, "", true)
	if r.Status != 200 || !bytes.Equal(r.Body, docs.OpenAPI) {
		t.Errorf("openapi.yaml: %d", r.Status)
	}
}
