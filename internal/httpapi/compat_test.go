package httpapi_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/otp"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// The compatibility suite of the AlyaPay vendor's shop plugins
// (docs/compat.md): WooCommerce (alyapay-tech-org/ap-wp-checkout), Magento 2
// (ap-m2-checkout) and PrestaShop (ap-ps-checkout). Each test plays the
// HTTP requests a plugin makes — its paths, its X-Api-Key header, its
// bodies as PHP's json_encode writes them (floats such as 1799.0) — against
// a real sakk, and checks the fields the plugin reads, the way it reads
// them. The webhook checks re-state each plugin's verifier and processor
// as facts read from its source (timestamp window, signed text, prefix,
// which fields find the order), not sakk's signer. No plugin code is here.

// shopPlugin is one of the vendor's plugins as far as the wire goes.
type shopPlugin struct {
	name string
	// verify is the plugin's webhook signature check.
	verify func(secret, signature, timestamp string, body []byte, now time.Time) bool
	// knownEvent is whether the plugin's processor acts on an event
	// (others are acknowledged and ignored).
	knownEvent func(event string) bool
	// needsVendorReference: the processor fails (500, retried) without
	// data.vendorReference or data.orderReference.
	needsVendorReference bool
}

var shopPlugins = []shopPlugin{
	{name: "woocommerce", verify: verifyWooCommerce, knownEvent: alyaEvent, needsVendorReference: true},
	{name: "magento2", verify: verifyMagento, knownEvent: alyaEvent},
	{name: "prestashop", verify: verifyPrestaShop, knownEvent: alyaEvent},
}

func alyaEvent(e string) bool {
	return e == "transaction.approved" || e == "transaction.cancelled" || e == "transaction.expired"
}

// phpTime reads a timestamp header as the plugins do: digits are epoch
// seconds, anything else an ISO 8601 date.
func phpTime(ts string) (time.Time, bool) {
	if n, err := strconv.ParseInt(ts, 10, 64); err == nil {
		return time.Unix(n, 0), n > 0
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	return t, err == nil && t.Unix() > 0
}

// alyaSignature is the text all three sign: hex(HMAC-SHA256(secret,
// timestamp + "." + body)), or of the body alone without a timestamp,
// compared with the header stripped of "sha256=".
func alyaSignature(secret, signature, timestamp string, body []byte) bool {
	signature = strings.TrimPrefix(signature, "sha256=")
	msg := string(body)
	if timestamp != "" {
		msg = timestamp + "." + msg
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(msg))
	return hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(signature))
}

// WooCommerce: no secret or no signature fails; a timestamp more than 300 s
// away either way fails.
func verifyWooCommerce(secret, signature, timestamp string, body []byte, now time.Time) bool {
	if secret == "" || signature == "" {
		return false
	}
	if timestamp != "" {
		ts, ok := phpTime(timestamp)
		if !ok || now.Sub(ts).Abs() > 300*time.Second {
			return false
		}
	}
	return alyaSignature(secret, signature, timestamp, body)
}

// Magento: no secret accepts everything; otherwise a signature is needed
// and the timestamp's age must be 0 to 300 s (one from the future fails).
func verifyMagento(secret, signature, timestamp string, body []byte, now time.Time) bool {
	if secret == "" {
		return true
	}
	if signature == "" {
		return false
	}
	if timestamp != "" {
		ts, ok := phpTime(timestamp)
		age := now.Truncate(time.Second).Sub(ts.Truncate(time.Second))
		if !ok || age < 0 || age > 300*time.Second {
			return false
		}
	}
	return alyaSignature(secret, signature, timestamp, body)
}

// PrestaShop: as WooCommerce.
func verifyPrestaShop(secret, signature, timestamp string, body []byte, now time.Time) bool {
	return verifyWooCommerce(secret, signature, timestamp, body, now)
}

// pluginHeaders are the headers every plugin request carries.
func pluginHeaders(key string) map[string]string {
	return map[string]string{"X-Api-Key": key, "Content-Type": "application/json"}
}

// pluginIntent is the session-intent body the plugins build: the order's
// lines with tax, shipping as an item "shipping", floats as json_encode
// writes them, the order number as vendorReference.
func pluginIntent(vendorRef string) string {
	return `{"currency":"MAD","total":1799.0,"items":[` +
		`{"id":"SKU-HEADPHONES","name":"Wireless Headphones","price":749.5,"quantity":2},` +
		`{"id":"shipping","name":"Flat rate","price":300.0,"quantity":1}],` +
		`"vendorReference":` + strconv.Quote(vendorRef) + `}`
}

// intent posts a plugin session intent and returns its checkout token.
func (s *server) intent(t *testing.T, key, vendorRef string) (checkoutToken, intentID string) {
	t.Helper()
	r := s.Do("POST", "/api/v1/public/session-intents", pluginHeaders(key), pluginIntent(vendorRef), true)
	if r.Status != 200 {
		t.Fatalf("session intent: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	if str(m, "checkout_url") == "" || str(m, "checkout_token") == "" || str(m, "payment_intent_id") == "" {
		t.Fatalf("session intent lacks what the plugins store: %s", r.Body)
	}
	if _, err := m["expires_in"].(json.Number).Int64(); err != nil {
		t.Errorf("expires_in is not an integer: %s", r.Body)
	}
	return str(m, "checkout_token"), str(m, "payment_intent_id")
}

// payIntent pays an intent's session on the hosted flow's API with the
// approved test card and returns the transaction_id the buyer returns with.
func (s *server) payIntent(t *testing.T, k merchant.Keys, checkoutToken string) string {
	t.Helper()
	vtok := s.verified(t, s.backendToken(t, k), "buyer@example.com", checkoutToken)
	m := wantAttempt(t, s.process(t, vtok, checkoutToken, "stripe", "card", s.cardToken(t, cardApproved)), "completed")
	return str(m, "paymentId")
}

// pluginError is what each plugin's client takes from an error answer.
type pluginError struct {
	wooMessage string // $data['message'] ?? $data['error']
	wooCode    string // (string) $data['code']
	key        string // Magento/PrestaShop: key, when key and code are both set
	code       int    // (int) code
}

func readPluginError(t *testing.T, r response) pluginError {
	t.Helper()
	var e pluginError
	m := r.JSON(t)
	if msg, ok := m["message"].(string); ok {
		e.wooMessage = msg
	}
	if c, ok := m["code"]; ok {
		e.wooCode = fmt.Sprint(c)
	}
	if k, ok := m["key"].(string); ok {
		if n, ok := m["code"].(json.Number); ok {
			c, _ := n.Int64()
			e.key, e.code = k, int(c)
		}
	}
	return e
}

// TestCompatSessionIntent plays the three plugins' checkout start: POST
// /api/v1/public/session-intents as each builds it.
func TestCompatSessionIntent(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			for _, p := range shopPlugins {
				tok, id := s.intent(t, app.Keys.Secret, p.name+"-100000042")
				sess, err := s.Store.Session(t.Context(), app.Application.ID, pay.Sandbox, id)
				if err != nil || sess.VendorReference != p.name+"-100000042" || sess.Amount.Minor != 179900 || len(sess.Items) != 2 {
					t.Errorf("%s: stored %+v, %v", p.name, sess, err)
				}
				if tok == "" {
					t.Errorf("%s: no checkout token", p.name)
				}
			}
			// Floats as PHP computes them (shipping plus its tax): rounded
			// half up to the currency's decimals, exactly.
			noisy := `{"currency":"MAD","total":1799.0,"items":[` +
				`{"id":"SKU-1","name":"Chair","price":1489.8999999999999,"quantity":1},` +
				`{"id":"shipping","name":"Flat rate","price":309.10000000000002,"quantity":1}],"vendorReference":"float-1"}`
			if r := s.Do("POST", "/api/v1/public/session-intents", pluginHeaders(app.Keys.Secret), noisy, true); r.Status != 200 {
				t.Errorf("float noise: %d %s", r.Status, r.Body)
			}
			// The vendor's window in MAD: 4239 below 500.00, 4242 above
			// 15,000.00, which the plugins show the customer.
			for _, c := range []struct {
				total string
				code  int
				key   string
			}{{"499.99", 4239, "AMOUNT_BELOW_MINIMUM"}, {"15000.01", 4242, "AMOUNT_ABOVE_MAXIMUM"}} {
				b := `{"currency":"MAD","total":` + c.total + `,"items":[{"id":"1","name":"Chair","price":` + c.total + `,"quantity":1}],"vendorReference":"w"}`
				r := s.Do("POST", "/api/v1/public/session-intents", pluginHeaders(app.Keys.Secret), b, true)
				if e := readPluginError(t, r); r.Status != 400 || e.code != c.code || e.key != c.key {
					t.Errorf("total %s: %d %s", c.total, r.Status, r.Body)
				}
			}
			// A bad key: every plugin shows "invalid API key" from the 401.
			r := s.Do("POST", "/api/v1/public/session-intents", pluginHeaders("sk_test_nope"), pluginIntent("1"), true)
			if r.Status != 401 || readPluginError(t, r).wooMessage == "" {
				t.Errorf("bad key: %d %s", r.Status, r.Body)
			}
			// A total that is not the lines' sum: 400 with business code
			// 4235 (invalid order data), which Magento and PrestaShop map.
			bad := strings.Replace(pluginIntent("2"), `"total":1799.0`, `"total":1799.5`, 1)
			r = s.Do("POST", "/api/v1/public/session-intents", pluginHeaders(app.Keys.Secret), bad, true)
			if e := readPluginError(t, r); r.Status != 400 || e.code != 4235 || e.key != "AMOUNT_MISMATCH" || e.wooMessage == "" {
				t.Errorf("mismatch: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestCompatStatusAfterReturn plays the return to the shop: the buyer comes
// back with status=SUCCESS&transaction_id=…, and the plugin asks GET
// /api/v1/public/transactions/{id}/status with its key, paid only on
// APPROVED or COMPLETED.
func TestCompatStatusAfterReturn(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			tok, sessID := s.intent(t, app.Keys.Secret, "100000043")
			r := s.Do("GET", "/api/v1/public/transactions/"+sessID+"/status", pluginHeaders(app.Keys.Secret), "", true)
			if r.Status != 200 || r.JSON(t)["status"] != "PENDING" {
				t.Errorf("unpaid: %d %s", r.Status, r.Body)
			}
			txID := s.payIntent(t, app.Keys, tok)
			r = s.Do("GET", "/api/v1/public/transactions/"+txID+"/status", pluginHeaders(app.Keys.Secret), "", true)
			m := r.JSON(t)
			if r.Status != 200 || m["status"] != "APPROVED" || m["transaction_id"] != txID {
				t.Errorf("paid: %d %s", r.Status, r.Body)
			}
			// An unknown id: 404 with 4042, Magento's "Transaction not found."
			r = s.Do("GET", "/api/v1/public/transactions/pay_unknown/status", pluginHeaders(app.Keys.Secret), "", true)
			if e := readPluginError(t, r); r.Status != 404 || e.code != 4042 || e.key != "TRANSACTION_NOT_FOUND" {
				t.Errorf("unknown: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestCompatReconcile plays the plugins' reconciliation cron: GET
// /api/v1/public/partner/transactions/vendor/{order number} for an order
// still pending, read {status, id}: APPROVED or COMPLETED settle it paid,
// CANCELED, EXPIRED, DECLINED or FAILED close it (EXPIRED to the expired
// order status), anything else leaves it.
func TestCompatReconcile(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			h := pluginHeaders(app.Keys.Secret)
			vendor := func(ref string) (int, map[string]any) {
				r := s.Do("GET", "/api/v1/public/partner/transactions/vendor/"+ref, h, "", true)
				return r.Status, r.JSON(t)
			}
			paidTok, _ := s.intent(t, app.Keys.Secret, "100000050")
			txID := s.payIntent(t, app.Keys, paidTok)
			_, pendingID := s.intent(t, app.Keys.Secret, "100000051")
			if st, m := vendor("100000050"); st != 200 || m["status"] != "APPROVED" || m["id"] != txID || m["vendorReference"] != "100000050" {
				t.Errorf("paid order: %d %v", st, m)
			}
			if st, m := vendor("100000051"); st != 200 || m["status"] != "PENDING" || m["id"] != pendingID {
				t.Errorf("pending order: %d %v", st, m)
			}
			// Abandoned: the session expires; the cron closes it as expired.
			s.Clock.Advance(checkout.SessionTTL + time.Minute)
			if _, err := s.Checkout.ExpireSessions(t.Context(), 100); err != nil {
				t.Fatal(err)
			}
			if st, m := vendor("100000051"); st != 200 || m["status"] != "EXPIRED" {
				t.Errorf("expired order: %d %v", st, m)
			}
			if st, m := vendor("100000050"); st != 200 || m["status"] != "APPROVED" {
				t.Errorf("paid order after the expiry job: %d %v", st, m)
			}
			// Unknown, or another application's: 404, the cron logs and
			// leaves the order.
			other := s.NewApp("Other Shop", pay.Sandbox)
			r := s.Do("GET", "/api/v1/public/partner/transactions/vendor/100000050", pluginHeaders(other.Keys.Secret), "", true)
			if e := readPluginError(t, r); r.Status != 404 || r.ErrorCode(t) != "TRANSACTION_NOT_FOUND" || e.code != 4042 {
				t.Errorf("other application's order: %d %s", r.Status, r.Body)
			}
			// A reference the plugins url-encode (rawurlencode).
			_, id := s.intent(t, app.Keys.Secret, "WC #7/8")
			if st, m := vendor("WC%20%237%2F8"); st != 200 || m["id"] != id {
				t.Errorf("encoded reference: %d %v", st, m)
			}
		})
	}
}

// TestCompatPartnerConfig plays the plugins' settings save: PUT
// /api/v1/public/partner/config with {webhookUrl, webhookEnabled,
// transactionExpiry, generateNewSecret: false}; and GET of the same.
func TestCompatPartnerConfig(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			h := pluginHeaders(app.Keys.Secret)
			r := s.Do("GET", "/api/v1/public/partner/config", h, "", true)
			if m := r.JSON(t); r.Status != 200 || m["transactionExpiry"] != json.Number("30") || m["installments"] != json.Number("4") || m["webhookEnabled"] != false {
				t.Errorf("defaults: %d %s", r.Status, r.Body)
			}
			save := `{"webhookUrl":"https://shop.example.com/?wc-api=alyapay_webhook","webhookEnabled":true,"transactionExpiry":60,"generateNewSecret":false}`
			r = s.Do("PUT", "/api/v1/public/partner/config", h, save, true)
			m := r.JSON(t)
			if r.Status != 200 || m["webhookUrl"] != "https://shop.example.com/?wc-api=alyapay_webhook" || m["webhookEnabled"] != true || m["transactionExpiry"] != json.Number("60") {
				t.Fatalf("save: %d %s", r.Status, r.Body)
			}
			if !strings.HasPrefix(str(m, "webhookSecret"), "whsec_") {
				t.Errorf("the first save does not show the new endpoint's secret: %s", r.Body)
			}
			// Saving again (every settings save does) changes nothing and
			// shows no secret.
			r = s.Do("PUT", "/api/v1/public/partner/config", h, save, true)
			if m := r.JSON(t); r.Status != 200 || m["webhookSecret"] != nil {
				t.Errorf("second save: %d %s", r.Status, r.Body)
			}
			ws, err := s.Merchant.WebhookEndpoints(t.Context(), app.Application.ID, pay.Sandbox)
			if err != nil || len(ws) != 1 || ws[0].Format != pay.WebhookCheckout || !ws[0].Enabled {
				t.Errorf("endpoints %+v, %v", ws, err)
			}
			r = s.Do("PUT", "/api/v1/public/partner/config", h, `{"generateNewSecret":true}`, true)
			if m := r.JSON(t); r.Status != 200 || !strings.HasPrefix(str(m, "webhookSecret"), "whsec_") {
				t.Errorf("new secret: %d %s", r.Status, r.Body)
			}
			r = s.Do("PUT", "/api/v1/public/partner/config", h, `{"webhookUrl":"","webhookEnabled":false,"transactionExpiry":0,"generateNewSecret":false}`, true)
			if m := r.JSON(t); r.Status != 200 || m["webhookEnabled"] != false || m["transactionExpiry"] != json.Number("0") {
				t.Errorf("switch off: %d %s", r.Status, r.Body)
			}
			// Refusals the plugins show as "invalid API key" or "invalid request".
			if r := s.Do("PUT", "/api/v1/public/partner/config", pluginHeaders("sk_test_nope"), save, true); r.Status != 401 {
				t.Errorf("bad key: %d %s", r.Status, r.Body)
			}
			if r := s.Do("PUT", "/api/v1/public/partner/config", h, `{"transactionExpiry":-5}`, true); r.Status != 400 || readPluginError(t, r).wooMessage == "" {
				t.Errorf("negative expiry: %d %s", r.Status, r.Body)
			}
			live, err := s.Merchant.IssueKeys(t.Context(), app.Application.ID, pay.Live)
			if err != nil {
				t.Fatal(err)
			}
			if r := s.Do("PUT", "/api/v1/public/partner/config", pluginHeaders(live.Secret), `{"webhookUrl":"http://shop.example.com/hook"}`, true); r.Status != 400 || r.ErrorCode(t) != "INVALID_URL" {
				t.Errorf("plain http in live: %d %s", r.Status, r.Body)
			}
		})
	}
}

// installmentsOf checks a schedule as the plugins' success pages read it
// and returns its statuses in due order.
func installmentsOf(t *testing.T, m map[string]any, wantTotal int64) []string {
	t.Helper()
	list, _ := m["installments"].([]any)
	var sum int64
	var statuses []string
	last := ""
	for _, el := range list {
		in := el.(map[string]any)
		due := str(in, "dueDate")
		if _, err := time.Parse(time.DateOnly, due); err != nil || due < last {
			t.Errorf("dueDate %q", due)
		}
		last = due
		amount := in["amount"].(json.Number).String()
		whole, frac, _ := strings.Cut(amount, ".")
		if len(frac) != 2 {
			t.Errorf("amount %s not written with 2 decimals", amount)
		}
		n, err := strconv.ParseInt(whole+frac, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		sum += n
		statuses = append(statuses, str(in, "status"))
	}
	if sum != wantTotal {
		t.Errorf("instalments add up to %d minor units, want %d", sum, wantTotal)
	}
	return statuses
}

// TestCompatSchedules plays the plugins' success page: GET
// /api/v1/public/transactions/{transaction id}/schedules, read
// installments[].{dueDate, amount, status} (PAID/COMPLETED paid;
// PENDING/UPCOMING/DUE upcoming; else scheduled), 4 when none.
func TestCompatSchedules(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			h := pluginHeaders(app.Keys.Secret)
			tok, _ := s.intent(t, app.Keys.Secret, "100000060")
			txID := s.payIntent(t, app.Keys, tok)
			r := s.Do("GET", "/api/v1/public/transactions/"+txID+"/schedules", h, "", true)
			m := r.JSON(t)
			if r.Status != 200 || m["transactionId"] != txID || m["vendorReference"] != "100000060" {
				t.Fatalf("schedule: %d %s", r.Status, r.Body)
			}
			if got := installmentsOf(t, m, 179900); !slices.Equal(got, []string{"PAID", "UPCOMING", "SCHEDULED", "SCHEDULED"}) {
				t.Errorf("statuses %v", got)
			}
			// The plan is the application's: 3 instalments 14 days apart.
			if r := s.Do("PUT", "/api/v1/public/partner/config", h, `{"installments":3,"installmentIntervalDays":14}`, true); r.Status != 200 {
				t.Fatalf("plan: %d %s", r.Status, r.Body)
			}
			r = s.Do("GET", "/api/v1/public/transactions/"+txID+"/schedules", h, "", true)
			m = r.JSON(t)
			if got := installmentsOf(t, m, 179900); len(got) != 3 {
				t.Errorf("statuses %v", got)
			}
			list := m["installments"].([]any)
			first, _ := time.Parse(time.DateOnly, str(list[0].(map[string]any), "dueDate"))
			second, _ := time.Parse(time.DateOnly, str(list[1].(map[string]any), "dueDate"))
			if second.Sub(first) != 14*24*time.Hour || list[0].(map[string]any)["amount"] != json.Number("599.67") {
				t.Errorf("plan: %s", r.Body)
			}
			if r := s.Do("GET", "/api/v1/public/transactions/pay_unknown/schedules", h, "", true); r.Status != 404 {
				t.Errorf("unknown: %d %s", r.Status, r.Body)
			}
		})
	}
}

// hookSink receives webhooks as a shop would, keeping each request.
type hookSink struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []hookRequest
	code int
}

func newHookSink(t *testing.T) *hookSink {
	t.Helper()
	k := &hookSink{code: 200}
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		k.mu.Lock()
		k.got = append(k.got, hookRequest{r.URL.RequestURI(), r.Header.Clone(), body})
		code := k.code
		k.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(k.srv.Close)
	return k
}

func (k *hookSink) take() []hookRequest {
	k.mu.Lock()
	defer k.mu.Unlock()
	got := k.got
	k.got = nil
	return got
}

// alyaHook is a delivered webhook as the plugins' processors read it.
type alyaHook struct {
	Event     string `json:"event"`
	Timestamp string `json:"timestamp"`
	Data      struct {
		ID              string      `json:"id"`
		VendorReference string      `json:"vendorReference"`
		OrderReference  string      `json:"orderReference"`
		Status          string      `json:"status"`
		Amount          json.Number `json:"amount"`
		Currency        string      `json:"currency"`
		CustomerPhone   string      `json:"customerPhone"`
		MerchantName    string      `json:"merchantName"`
		StoreName       string      `json:"storeName"`
		CreatedAt       string      `json:"createdAt"`
	} `json:"data"`
}

// deliver runs the dispatcher and returns what reached the sink, each
// checked by every plugin's verifier and processor.
func (s *server) deliver(t *testing.T, k *hookSink, secret string) []alyaHook {
	t.Helper()
	if _, err := s.Webhooks.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	var out []alyaHook
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, g := range k.take() {
		if g.header.Get("Content-Type") != "application/json" || !uuid.MatchString(g.header.Get("X-Alya-Event-Id")) {
			t.Errorf("headers %v", g.header)
		}
		sig, ts := g.header.Get("X-Alya-Signature"), g.header.Get("X-Alya-Timestamp")
		var h alyaHook
		dec := json.NewDecoder(strings.NewReader(string(g.body)))
		dec.UseNumber()
		if err := dec.Decode(&h); err != nil {
			t.Fatalf("body %s: %v", g.body, err)
		}
		for _, p := range shopPlugins {
			if !p.verify(secret, sig, ts, g.body, s.Clock.Now()) {
				t.Errorf("%s: the verifier refuses %s (%s, %s)", p.name, g.body, sig, ts)
			}
			if p.verify("whsec_wrong", sig, ts, g.body, s.Clock.Now()) || p.verify(secret, sig, ts, append(g.body, ' '), s.Clock.Now()) {
				t.Errorf("%s: the verifier accepts a wrong secret or an altered body", p.name)
			}
			if p.knownEvent(h.Event) && p.needsVendorReference && h.Data.VendorReference == "" && h.Data.OrderReference == "" {
				t.Errorf("%s: %s has no vendorReference to find the order by", p.name, h.Event)
			}
		}
		for _, p := range shopPlugins {
			if p.verify(secret, sig, ts, g.body, s.Clock.Now().Add(6*time.Minute)) {
				t.Errorf("%s: a 6-minute-old signature is accepted", p.name)
			}
		}
		out = append(out, h)
	}
	return out
}

// TestCompatWebhooks plays the plugins' webhook endpoint: configured by the
// settings save, it receives transaction.approved, .cancelled, .expired
// and test, each signed so that every plugin's verifier accepts it and
// carrying data.vendorReference and data.id, which the processors read.
func TestCompatWebhooks(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			h := pluginHeaders(app.Keys.Secret)
			sink := newHookSink(t)
			r := s.Do("PUT", "/api/v1/public/partner/config", h,
				`{"webhookUrl":`+strconv.Quote(sink.srv.URL+"/?wc-api=alyapay_webhook")+`,"webhookEnabled":true,"transactionExpiry":30,"generateNewSecret":false}`, true)
			secret := str(r.JSON(t), "webhookSecret")
			if r.Status != 200 || secret == "" {
				t.Fatalf("config: %d %s", r.Status, r.Body)
			}

			// Hosted checkout paid: transaction.approved with the order
			// number and the transaction id the status call takes.
			tok, _ := s.intent(t, app.Keys.Secret, "100000070")
			txID := s.payIntent(t, app.Keys, tok)
			got := s.deliver(t, sink, secret)
			if len(got) != 1 || got[0].Event != "transaction.approved" || got[0].Data.ID != txID || got[0].Data.VendorReference != "100000070" ||
				got[0].Data.Status != "APPROVED" || got[0].Data.Amount != "1799.00" || got[0].Data.Currency != "MAD" || got[0].Data.StoreName != "Atlas Shop" {
				t.Errorf("approved: %+v", got)
			}

			// Partner transaction: cancelled, then another one expires.
			p1 := s.partnerCreate(t, app.Keys.Secret, "100000071", "212600000001")
			if r := s.Do("PUT", "/api/v1/public/partner/transactions/vendor/100000071/cancel", h, "", true); r.Status != 200 {
				t.Fatalf("cancel: %d %s", r.Status, r.Body)
			}
			got = s.deliver(t, sink, secret)
			if len(got) != 1 || got[0].Event != "transaction.cancelled" || got[0].Data.ID != p1 || got[0].Data.VendorReference != "100000071" || got[0].Data.Status != "CANCELED" {
				t.Errorf("cancelled: %+v", got)
			}
			p2 := s.partnerCreate(t, app.Keys.Secret, "100000072", "212600000002")
			s.Clock.Advance(31 * time.Minute)
			if n, err := s.Partner.ExpireTransactions(t.Context(), 10); err != nil || n != 1 {
				t.Fatalf("expired %d, %v", n, err)
			}
			got = s.deliver(t, sink, secret)
			if len(got) != 1 || got[0].Event != "transaction.expired" || got[0].Data.ID != p2 || got[0].Data.VendorReference != "100000072" {
				t.Errorf("expired: %+v", got)
			}

			// A hosted session abandoned until it expires: transaction.expired.
			_, sessID := s.intent(t, app.Keys.Secret, "100000073")
			s.Clock.Advance(checkout.SessionTTL + time.Minute)
			if _, err := s.Checkout.ExpireSessions(t.Context(), 100); err != nil {
				t.Fatal(err)
			}
			got = s.deliver(t, sink, secret)
			if len(got) != 1 || got[0].Event != "transaction.expired" || got[0].Data.VendorReference != "100000073" || got[0].Data.OrderReference != sessID {
				t.Errorf("session expired: %+v", got)
			}

			// The dashboard's test event: signed alike, ignored by the
			// processors (acknowledged).
			ws, err := s.Merchant.WebhookEndpoints(t.Context(), app.Application.ID, pay.Sandbox)
			if err != nil || len(ws) != 1 {
				t.Fatalf("endpoints %v %v", ws, err)
			}
			if _, err := s.Webhooks.Test(t.Context(), ws[0].ID); err != nil {
				t.Fatal(err)
			}
			got = s.deliver(t, sink, secret)
			if len(got) != 1 || got[0].Event != "test" || shopPlugins[0].knownEvent(got[0].Event) {
				t.Errorf("test: %+v", got)
			}
		})
	}
}

// partnerCreate opens a partner transaction and returns its id.
func (s *server) partnerCreate(t *testing.T, key, vendorRef, phone string) string {
	t.Helper()
	body := `{"customerPhone":` + strconv.Quote(phone) + `,"total":1200.50,"currency":"MAD","vendorReference":` + strconv.Quote(vendorRef) +
		`,"items":[{"name":"Sofa cover","reference":"SKU-9","quantity":2,"unitPrice":600.25,"categoryId":12}]}`
	r := s.Do("POST", "/api/v1/public/partner/transactions", pluginHeaders(key), body, true)
	if r.Status != 201 {
		t.Fatalf("partner transaction: %d %s", r.Status, r.Body)
	}
	return str(r.JSON(t), "id")
}

// smsSink is an HTTP SMS provider on loopback (otp.HTTPSMSSender's shape).
type smsSink struct {
	mu   sync.Mutex
	sent []map[string]string
}

func (k *smsSink) codeFor(t *testing.T, to string) string {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := len(k.sent) - 1; i >= 0; i-- {
		if k.sent[i]["to"] == to {
			if code := regexp.MustCompile(`\b\d{6}\b`).FindString(k.sent[i]["text"]); code != "" {
				return code
			}
		}
	}
	t.Fatalf("no SMS to %s", to)
	return ""
}

// TestCompatPartnerTransactions plays the vendor's documented API
// Integration: create (201, PENDING, every documented field and limit),
// read by id and by vendorReference, the customer's SMS code approving
// it, and cancel's refusal once approved.
func TestCompatPartnerTransactions(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			sms := &smsSink{}
			provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var m map[string]string
				json.NewDecoder(r.Body).Decode(&m)
				sms.mu.Lock()
				sms.sent = append(sms.sent, m)
				sms.mu.Unlock()
			}))
			t.Cleanup(provider.Close)
			sender, err := otp.NewHTTPSMSSender(otp.HTTPSMSConfig{URL: provider.URL})
			if err != nil {
				t.Fatal(err)
			}
			s := newServer(t, engine, serverOptions{Senders: otp.Senders{Phone: sender}})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			h := pluginHeaders(app.Keys.Secret)

			body := `{"customerPhone":"212612345678","total":1500.00,"currency":"MAD","vendorReference":"ORDER-1",` +
				`"items":[{"name":"Chair","reference":"CH-1","quantity":2,"unitPrice":500.00,"categoryId":3},{"name":"Lamp","quantity":1,"unitPrice":"500.00"}]}`
			r := s.Do("POST", "/api/v1/public/partner/transactions", h, body, true)
			m := r.JSON(t)
			if r.Status != 201 || m["status"] != "PENDING" || m["totalAmount"] != json.Number("1500.00") || m["currency"] != "MAD" ||
				m["customerPhone"] != "212612345678" || m["vendorReference"] != "ORDER-1" || m["merchantName"] != "Atlas Shop" ||
				m["storeName"] != "Atlas Shop" || m["updatedAt"] != nil || !regexp.MustCompile(`^[A-Z]{2}\d{5}$`).MatchString(str(m, "orderReference")) ||
				!strings.HasSuffix(str(m, "createdAt"), "Z") || len(m["items"].([]any)) != 2 {
				t.Fatalf("create: %d %s", r.Status, r.Body)
			}
			id := str(m, "id")
			code := sms.codeFor(t, "+212612345678")

			r = s.Do("GET", "/api/v1/public/partner/transactions/"+id, h, "", true)
			if r.Status != 200 || r.JSON(t)["status"] != "PENDING" {
				t.Errorf("get: %d %s", r.Status, r.Body)
			}
			if r := s.Do("POST", "/api/v1/public/partner/transactions/"+id+"/confirm", h, `{"code":"000000"}`, true); r.Status != 400 || r.ErrorCode(t) != "INVALID_CODE" {
				t.Errorf("a wrong code: %d %s", r.Status, r.Body)
			}
			r = s.Do("POST", "/api/v1/public/partner/transactions/"+id+"/confirm", h, `{"code":`+strconv.Quote(code)+`}`, true)
			if m := r.JSON(t); r.Status != 200 || m["status"] != "APPROVED" || m["updatedAt"] == nil {
				t.Errorf("confirm: %d %s", r.Status, r.Body)
			}
			// The seed's status call reads it too, with the key.
			r = s.Do("GET", "/api/v1/public/transactions/"+id+"/status", h, "", true)
			if m := r.JSON(t); r.Status != 200 || m["status"] != "APPROVED" || m["transaction_id"] != id || m["amount"] != json.Number("1500.00") {
				t.Errorf("status call: %d %s", r.Status, r.Body)
			}
			r = s.Do("GET", "/api/v1/public/partner/transactions/vendor/ORDER-1", h, "", true)
			if m := r.JSON(t); r.Status != 200 || m["status"] != "APPROVED" || m["id"] != id {
				t.Errorf("by vendor: %d %s", r.Status, r.Body)
			}
			r = s.Do("PUT", "/api/v1/public/partner/transactions/vendor/ORDER-1/cancel", h, "", true)
			if r.Status != 400 || readPluginError(t, r).wooMessage != "Transaction is not in PENDING status" {
				t.Errorf("cancel approved: %d %s", r.Status, r.Body)
			}
			r = s.Do("GET", "/api/v1/public/transactions/"+id+"/schedules", h, "", true)
			if got := installmentsOf(t, r.JSON(t), 150000); !slices.Equal(got, []string{"PAID", "UPCOMING", "SCHEDULED", "SCHEDULED"}) {
				t.Errorf("schedule %v", got)
			}

			// The sandbox test number: no SMS, the code is 000000.
			before := len(sms.sent)
			tid := s.partnerCreate(t, app.Keys.Secret, "ORDER-2", "212600000099")
			if len(sms.sent) != before {
				t.Errorf("an SMS went to the test number")
			}
			if r := s.Do("POST", "/api/v1/public/partner/transactions/"+tid+"/confirm", h, `{"code":"000000"}`, true); r.Status != 200 {
				t.Errorf("test number: %d %s", r.Status, r.Body)
			}

			// Another application, or the live keys: not found.
			other := s.NewApp("Other", pay.Sandbox)
			if r := s.Do("GET", "/api/v1/public/partner/transactions/"+id, pluginHeaders(other.Keys.Secret), "", true); r.Status != 404 || r.ErrorCode(t) != "TRANSACTION_NOT_FOUND" {
				t.Errorf("other app: %d %s", r.Status, r.Body)
			}
			if r := s.Do("PUT", "/api/v1/public/partner/transactions/vendor/NOPE/cancel", h, "", true); r.Status != 404 {
				t.Errorf("cancel unknown: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestCompatPartnerLimits checks each documented field limit.
func TestCompatPartnerLimits(t *testing.T) {
	s := newServer(t, store.SQLite, serverOptions{})
	app := s.NewApp("Atlas Shop", pay.Sandbox)
	h := pluginHeaders(app.Keys.Secret)
	item := func(name, qty, price string) string {
		return `{"name":` + name + `,"quantity":` + qty + `,"unitPrice":` + price + `}`
	}
	body := func(phone, total, currency, items, ref string) string {
		return `{"customerPhone":` + phone + `,"total":` + total + `,"currency":` + currency + `,"items":[` + items + `]` + ref + `}`
	}
	ok := item(`"Sofa"`, "1", "1000.00")
	for _, c := range []struct {
		name, body, code string
		business         int
	}{
		{"phone with +", body(`"+212612345678"`, "1000", `"MAD"`, ok, ""), "INVALID_PHONE", 4235},
		{"phone too short", body(`"212612345"`, "1000", `"MAD"`, ok, ""), "INVALID_PHONE", 4235},
		{"phone too long", body(`"2126123456789012"`, "1000", `"MAD"`, ok, ""), "INVALID_PHONE", 4235},
		{"phone missing", body(`null`, "1000", `"MAD"`, ok, ""), "INVALID_PHONE", 4235},
		{"below 500.00", body(`"212612345678"`, "499.99", `"MAD"`, item(`"Sofa"`, "1", "499.99"), ""), "AMOUNT_BELOW_MINIMUM", 4239},
		{"above 15000.00", body(`"212612345678"`, "15000.01", `"MAD"`, item(`"Sofa"`, "1", "15000.01"), ""), "AMOUNT_ABOVE_MAXIMUM", 4242},
		{"not MAD", body(`"212612345678"`, "1000", `"EUR"`, item(`"Sofa"`, "1", "1000"), ""), "INVALID_CURRENCY", 4235},
		{"no items", body(`"212612345678"`, "1000", `"MAD"`, "", ""), "INVALID_ITEMS", 4235},
		{"name too long", body(`"212612345678"`, "1000", `"MAD"`, item(strconv.Quote(strings.Repeat("n", 201)), "1", "1000"), ""), "INVALID_ITEMS", 4235},
		{"reference too long", body(`"212612345678"`, "1000", `"MAD"`, `{"name":"Sofa","reference":"`+strings.Repeat("r", 101)+`","quantity":1,"unitPrice":1000}`, ""), "INVALID_ITEMS", 4235},
		{"quantity 0", body(`"212612345678"`, "1000", `"MAD"`, item(`"Sofa"`, "0", "1000"), ""), "INVALID_ITEMS", 4235},
		{"unit price 0", body(`"212612345678"`, "1000", `"MAD"`, item(`"Sofa"`, "1", "1000")+","+item(`"Gift"`, "1", "0"), ""), "INVALID_ITEMS", 4235},
		{"total is not the sum", body(`"212612345678"`, "1000.01", `"MAD"`, ok, ""), "AMOUNT_MISMATCH", 4235},
		{"vendorReference too long", body(`"212612345678"`, "1000", `"MAD"`, ok, `,"vendorReference":"`+strings.Repeat("v", 101)+`"`), "INVALID_VENDOR_REFERENCE", 4235},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.Do("POST", "/api/v1/public/partner/transactions", h, c.body, false)
			e := readPluginError(t, r)
			if r.Status != 400 || r.ErrorCode(t) != c.code || e.code != c.business || e.wooMessage == "" {
				t.Errorf("%d %s, want 400 %s %d", r.Status, r.Body, c.code, c.business)
			}
		})
	}
	// The edges themselves are accepted.
	for _, total := range []string{"500.00", "15000.00"} {
		b := body(`"212600000001"`, total, `"MAD"`, item(`"Sofa"`, "1", total), "")
		if r := s.Do("POST", "/api/v1/public/partner/transactions", h, b, true); r.Status != 201 {
			t.Errorf("%s: %d %s", total, r.Status, r.Body)
		}
	}
}

// TestCompatRedirectReturn plays the plugins' redirect: the buyer is sent
// to checkout_url with redirect_url=<the shop's return URL> appended
// (url-encoded); the page takes it as the session's return and cancel URL
// when it is on the shop's host (a verified domain, or the host of the
// webhook URL the plugin registered), so the buyer comes back with status
// and transaction_id. Another host is ignored.
func TestCompatRedirectReturn(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			h := pluginHeaders(app.Keys.Secret)
			if r := s.Do("PUT", "/api/v1/public/partner/config", h, `{"webhookUrl":"https://shop.example.com/?wc-api=alyapay_webhook","webhookEnabled":true,"transactionExpiry":30,"generateNewSecret":false}`, true); r.Status != 200 {
				t.Fatalf("config: %d %s", r.Status, r.Body)
			}
			open := func(ref, returnURL string) string {
				r := s.Do("POST", "/api/v1/public/session-intents", h, pluginIntent(ref), true)
				m := r.JSON(t)
				u := str(m, "checkout_url")
				sep := "?"
				if strings.Contains(u, "?") {
					sep = "&"
				}
				// The hosted page is HTML, outside the API's contract.
				page, err := http.Get(u + sep + "redirect_url=" + url.QueryEscape(returnURL))
				if err != nil {
					t.Fatal(err)
				}
				page.Body.Close()
				if page.StatusCode != 200 {
					t.Fatalf("checkout page: %d", page.StatusCode)
				}
				return str(m, "payment_intent_id")
			}
			back := "https://shop.example.com/?wc-api=alyapay_return&order_id=42&order_key=wc_order_abc"
			id := open("42", back)
			sess, err := s.Store.Session(t.Context(), app.Application.ID, pay.Sandbox, id)
			if err != nil || sess.ReturnURL != back || sess.CancelURL != back {
				t.Errorf("shop's return: %+v, %v", sess, err)
			}
			id = open("43", "https://evil.example.net/steal")
			if sess, err := s.Store.Session(t.Context(), app.Application.ID, pay.Sandbox, id); err != nil || sess.ReturnURL != "" {
				t.Errorf("foreign return adopted: %+v, %v", sess, err)
			}
		})
	}
}

// TestCompatReturnStatus plays the buyer's way back after an off-site or
// 3-D Secure step: the payment callback sends the buyer to the adopted
// redirect_url with status=SUCCESS and transaction_id, which the plugins'
// return handlers read (with FAILURE, CANCELED and EXPIRED the other
// values; the hosted page's own redirects are in internal/hostedpage's
// TestBrowser).
func TestCompatReturnStatus(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			if _, err := s.Merchant.AddDomain(t.Context(), app.Application.ID, "shop.example.com", true); err != nil {
				t.Fatal(err)
			}
			back := "https://shop.example.com/alyapay/result/success?order=42"
			tok, sessID := s.intent(t, app.Keys.Secret, "42")
			page, err := http.Get(s.URL + "/checkout/" + tok + "?redirect_url=" + url.QueryEscape(back))
			if err != nil {
				t.Fatal(err)
			}
			page.Body.Close()
			vtok := s.verified(t, s.backendToken(t, app.Keys), "buyer@example.com", tok)
			m := wantAttempt(t, s.process(t, vtok, tok, "stripe", "card", s.cardToken(t, card3DS)), "requires_action")
			if st := s.answerChallenge(t, str(m, "redirectUrl"), "complete"); st != "paid" {
				t.Fatalf("challenge: %s", st)
			}
			r := s.Do("GET", "/api/v1/payments/callback/"+sessID, nil, "", true)
			next := regexp.MustCompile(`<a href="([^"]+)"`).FindStringSubmatch(string(r.Body))
			if len(next) != 2 {
				t.Fatalf("callback page without a way on: %s", r.Body)
			}
			u, err := url.Parse(strings.ReplaceAll(next[1], "&amp;", "&"))
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if u.Host != "shop.example.com" || q.Get("status") != "SUCCESS" || q.Get("transaction_id") != str(m, "paymentId") || q.Get("order") != "42" {
				t.Errorf("back to %s", u)
			}
		})
	}
}

// TestPartnerConfirmCancelRace: the customer's code and the merchant's
// cancel arriving together end in one outcome and one event.
func TestPartnerConfirmCancelRace(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			h := pluginHeaders(app.Keys.Secret)
			for i := range 5 {
				ref := fmt.Sprintf("race-%d", i)
				id := s.partnerCreate(t, app.Keys.Secret, ref, fmt.Sprintf("21260000010%d", i))
				var wg sync.WaitGroup
				var confirm, cancel response
				wg.Go(func() {
					confirm = s.Do("POST", "/api/v1/public/partner/transactions/"+id+"/confirm", h, `{"code":"000000"}`, true)
				})
				wg.Go(func() { cancel = s.Do("PUT", "/api/v1/public/partner/transactions/vendor/"+ref+"/cancel", h, "", true) })
				wg.Wait()
				if (confirm.Status == 200) == (cancel.Status == 200) || confirm.Status+cancel.Status != 600 {
					t.Errorf("confirm %d %s, cancel %d %s", confirm.Status, confirm.Body, cancel.Status, cancel.Body)
				}
				if es, err := s.Store.Events(t.Context(), id); err != nil || len(es) != 1 {
					t.Errorf("%d events, %v", len(es), err)
				}
			}
		})
	}
}

// TestCompatIntentExpiry: once the plugin saved its settings, the
// transactionExpiry it set is how long its checkout sessions stay open, so
// that its reconciliation, transactionExpiry + 5 minutes later, finds
// them EXPIRED.
func TestCompatIntentExpiry(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.NewApp("Atlas Shop", pay.Sandbox)
			h := pluginHeaders(app.Keys.Secret)
			if r := s.Do("PUT", "/api/v1/public/partner/config", h, `{"webhookUrl":"https://shop.example.com/hook","webhookEnabled":true,"transactionExpiry":30,"generateNewSecret":false}`, true); r.Status != 200 {
				t.Fatalf("config: %d %s", r.Status, r.Body)
			}
			r := s.Do("POST", "/api/v1/public/session-intents", h, pluginIntent("500001"), true)
			if m := r.JSON(t); r.Status != 200 || m["expires_in"] != json.Number("1800") {
				t.Fatalf("intent: %d %s", r.Status, r.Body)
			}
			s.Clock.Advance(35 * time.Minute)
			if _, err := s.Checkout.ExpireSessions(t.Context(), 100); err != nil {
				t.Fatal(err)
			}
			r = s.Do("GET", "/api/v1/public/partner/transactions/vendor/500001", h, "", true)
			if m := r.JSON(t); r.Status != 200 || m["status"] != "EXPIRED" {
				t.Errorf("after the expiry: %d %s", r.Status, r.Body)
			}
			// 0 (never) leaves the session its hour.
			if r := s.Do("PUT", "/api/v1/public/partner/config", h, `{"transactionExpiry":0}`, true); r.Status != 200 {
				t.Fatalf("config: %d %s", r.Status, r.Body)
			}
			r = s.Do("POST", "/api/v1/public/session-intents", h, pluginIntent("500002"), true)
			if m := r.JSON(t); r.Status != 200 || m["expires_in"] != json.Number("3600") {
				t.Errorf("intent: %d %s", r.Status, r.Body)
			}
		})
	}
}
