package httpapi_test

import (
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// The hostile-case suite: requests a hostile client sends, over the real
// server on every engine, each refused with its status and code and
// leaving every stored row as it was. The same table runs on SQLite and
// PostgreSQL, so a text PostgreSQL refuses (a NUL, an invalid byte) and
// SQLite would store is seen to answer the same on both.

// hostileCase is one request and the refusal it must get.
type hostileCase struct {
	name         string
	method, path string
	header       map[string]string
	body         string
	status       int
	code         string // the surface's error code
	field        string // the field the error names ("" : none checked)
}

// fingerprint is every stored row of every table, by table: a count and
// a digest. Rate limit counters are left out: counting a refused request
// against its caller's allowance is the one change a refusal makes.
func fingerprint(t *testing.T, db *sql.DB, engine store.Engine) map[string]string {
	t.Helper()
	q := `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`
	if engine == store.SQLite {
		q = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	}
	tables := queryStrings(t, db, q)
	out := map[string]string{}
	for _, table := range tables {
		if table == "rate_limit_counters" {
			continue
		}
		rows, err := db.QueryContext(t.Context(), "SELECT * FROM "+table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("%q", vals))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		slices.Sort(lines)
		sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
		out[table] = fmt.Sprintf("%d rows %s", len(lines), hex.EncodeToString(sum[:8]))
	}
	return out
}

func queryStrings(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// errorOf reads the code and named field of either surface's error body:
// the Checkout API's {"error":{"code","message","field"}} or the Public
// Payment API's {"success":false,…,"error":{"code","details":{"field"}}}.
func errorOf(t *testing.T, r response) (code, field string) {
	t.Helper()
	m := r.JSON(t)
	e, _ := m["error"].(map[string]any)
	code = str(e, "code")
	if str(e, "message") == "" || code == "" {
		t.Errorf("error body lacks a code or message: %s", r.Body)
	}
	if _, payment := m["success"]; payment {
		if m["success"] != false || m["message"] != e["message"] {
			t.Errorf("Public Payment API error body %s", r.Body)
		}
		d, _ := e["details"].(map[string]any)
		return code, str(d, "field")
	}
	return code, str(e, "field")
}

func TestHostileRequests(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newPaymentServer(t, engine, serverOptions{})
			owner := s.member(t, "owner@shop.example", pay.Owner, "")
			pat := s.pat(t, "owner@shop.example", testPassword)
			created, err := s.Merchant.CreateApplication(t.Context(), merchant.NewApplication{Name: "Shop", MerchantID: owner.MerchantID, Environment: pay.Sandbox})
			if err != nil {
				t.Fatal(err)
			}
			s.grant(created.Application.ID, backendPerms...)
			k, appID := created.Keys, created.Application.ID
			apps := merchantBase + "/apps/" + appID
			key := keyHeader(k)
			sdk := bearerHeader(s.backendToken(t, k))
			sessTok, sessID := s.checkoutSession(t, k, "")
			vtok := bearerHeader(s.verified(t, sdk["Authorization"][len("Bearer "):], "a@example.com", sessTok))
			_, payID := s.paidSession(t, k, "b@example.com")
			if r := s.Do("POST", apps+"/products", pat, `{"storeCode":"MUG-1","title":"Mug","price":"50.00"}`, true); r.Status != http.StatusCreated {
				t.Fatalf("create product: %d %s", r.Status, r.Body)
			}
			hook, _ := s.addHook(t, appID, "https://hooks.example.com/sakk", pay.WebhookPayment)
			cookie := cookieHeader(s.login(t, "owner@shop.example", testPassword))
			cookie["Sec-Fetch-Site"] = "same-origin"
			with := func(h map[string]string, name, value string) map[string]string {
				out := map[string]string{name: value}
				for k, v := range h {
					out[k] = v
				}
				return out
			}
			session := func(field string) string { // a valid Checkout API body with one field set
				return `{"total":"10.00","currency":"MAD","items":[{"id":"A","name":"Lamp","price":10,"quantity":1}],` + field + `}`
			}
			item := func(name string) string {
				return `{"total":"10.00","currency":"MAD","items":[{"id":"A","name":` + name + `,"price":10,"quantity":1}]}`
			}
			product := func(field string) string { // a Public Payment API session with one inline product
				return `{"products":[{"name":"Lamp","price":10,"quantity":1}],"currency":"MAD",` + field + `}`
			}
			deep := strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000)
			long := func(n int) string { return `"` + strings.Repeat("a", n) + `"` }
			const bad = "\xff\xfe" // not UTF-8

			cases := []hostileCase{
				// Checkout API: bodies.
				{"item name NUL", "POST", "/api/v1/public/sessions", key, item(`"La\u0000mp"`), 400, "INVALID_TEXT", "items[0].name"},
				{"item name invalid UTF-8", "POST", "/api/v1/public/sessions", key, item(`"La` + bad + `mp"`), 400, "INVALID_TEXT", "items[0].name"},
				{"item name lone surrogate", "POST", "/api/v1/public/sessions", key, item(`"\ud800"`), 400, "INVALID_TEXT", "items[0].name"},
				{"item name escape ESC", "POST", "/api/v1/public/sessions", key, item(`"\u001b[31mred"`), 400, "INVALID_TEXT", "items[0].name"},
				{"item name C1 control", "POST", "/api/v1/public/sessions", key, item(`"a\u0085b"`), 400, "INVALID_TEXT", "items[0].name"},
				{"item name 256 characters", "POST", "/api/v1/public/sessions", key, item(long(256)), 400, "INVALID_TEXT", "items[0].name"},
				{"item id NUL", "POST", "/api/v1/public/sessions", key, `{"total":"10.00","currency":"MAD","items":[{"id":"A\u0000","name":"Lamp","price":10,"quantity":1}]}`, 400, "INVALID_TEXT", "items[0].id"},
				{"vendor_reference DEL", "POST", "/api/v1/public/sessions", key, session(`"vendor_reference":"ref\u007f"`), 400, "INVALID_TEXT", "vendor_reference"},
				{"customer_email CRLF", "POST", "/api/v1/public/sessions", key, session(`"customer_email":"a@example.com\r\nBcc: x@evil.example"`), 400, "INVALID_TEXT", "customer_email"},
				{"customer_phone NUL", "POST", "/api/v1/public/sessions", key, session(`"customer_phone":"+212\u0000600"`), 400, "INVALID_TEXT", "customer_phone"},
				{"return_url NUL", "POST", "/api/v1/public/sessions", key, session(`"return_url":"https://shop.example/\u0000"`), 400, "INVALID_TEXT", "return_url"},
				{"metadata value NUL", "POST", "/api/v1/public/sessions", key, session(`"metadata":{"order":"1\u00002"}`), 400, "INVALID_TEXT", "metadata.order"},
				{"metadata nested invalid UTF-8", "POST", "/api/v1/public/sessions", key, session(`"metadata":{"a":{"b":["` + bad + `"]}}`), 400, "INVALID_TEXT", "metadata.a.b[0]"},
				{"metadata key 41 characters", "POST", "/api/v1/public/sessions", key, session(`"metadata":{` + long(41) + `:"v"}`), 400, "INVALID_TEXT", "metadata"},
				{"metadata value 501 characters", "POST", "/api/v1/public/sessions", key, session(`"metadata":{"k":` + long(501) + `}`), 400, "INVALID_TEXT", "metadata.k"},
				{"unknown key NUL", "POST", "/api/v1/public/sessions", key, session(`"x\u0000":1`), 400, "INVALID_TEXT", "body"},
				{"deep nesting", "POST", "/api/v1/public/sessions", key, session(`"metadata":{"a":` + deep + `}`), 400, "INVALID_REQUEST", ""},
				{"huge exponent total", "POST", "/api/v1/public/sessions", key, `{"total":1e999999999,"currency":"MAD","items":[{"id":"A","name":"Lamp","price":10,"quantity":1}]}`, 400, "INVALID_AMOUNT", ""},
				{"intent vendorReference NUL", "POST", "/api/v1/public/session-intents", key, session(`"vendorReference":"\u0000"`), 400, "INVALID_TEXT", "vendorReference"},
				{"intent redirect_url C1", "POST", "/api/v1/public/session-intents", key, session(`"redirect_url":"https://shop.example/\u009b"`), 400, "INVALID_TEXT", "redirect_url"},
				{"Idempotency-Key invalid UTF-8", "POST", "/api/v1/public/sessions", with(key, "Idempotency-Key", "k"+bad), session(`"vendor_reference":"r"`), 400, "INVALID_TEXT", "header.Idempotency-Key"},
				// Checkout API: paths and tokens.
				{"status path NUL", "GET", "/api/v1/public/transactions/pay_%00/status", key, "", 400, "INVALID_TEXT", "path"},
				{"status path invalid UTF-8", "GET", "/api/v1/public/transactions/pay_%ff/status", key, "", 400, "INVALID_TEXT", "path"},
				{"status query NUL", "GET", "/api/v1/public/transactions/" + payID + "/status?x=%00", key, "", 400, "INVALID_TEXT", "query.x"},
				{"status forged session token", "GET", "/api/v1/public/transactions/" + payID + "/status", map[string]string{"X-Session-Token": sessTok[:len(sessTok)-4] + "AAAA"}, "", 401, "INVALID_SESSION_TOKEN", ""},

				// Public Payment API.
				{"auth publicKey NUL", "POST", "/api/v1/auth", map[string]string{"Authorization": "Bearer " + k.Secret}, `{"publicKey":"pk_\u0000"}`, 400, "invalid_text", "publicKey"},
				{"tokenize query invalid UTF-8", "POST", "/api/v1/tokenize?origin=%ff", map[string]string{"X-Client-Token": k.ClientToken}, "", 400, "invalid_text", "query.origin"},
				{"product name NUL", "POST", "/api/v1/checkout/session", sdk, `{"products":[{"name":"La\u0000mp","price":10,"quantity":1}],"currency":"MAD"}`, 400, "invalid_text", "products[0].name"},
				{"product sku invalid UTF-8", "POST", "/api/v1/checkout/session", sdk, `{"products":[{"name":"Lamp","sku":"` + bad + `","price":10,"quantity":1}],"currency":"MAD"}`, 400, "invalid_text", "products[0].sku"},
				{"product imageUrl 2049 characters", "POST", "/api/v1/checkout/session", sdk, `{"products":[{"name":"Lamp","imageUrl":` + long(2049) + `,"price":10,"quantity":1}],"currency":"MAD"}`, 400, "invalid_text", "products[0].imageUrl"},
				{"customer email BEL", "POST", "/api/v1/checkout/backend/session", sdk, product(`"customer":{"email":"a@example.com\u0007"}`), 400, "invalid_text", "customer.email"},
				{"returnUrl invalid UTF-8", "POST", "/api/v1/checkout/web/session", sdk, product(`"returnUrl":"https://shop.example/` + bad + `"`), 400, "invalid_text", "returnUrl"},
				{"session metadata NUL", "POST", "/api/v1/checkout/session", sdk, product(`"metadata":{"k":["\u0000"]}`), 400, "invalid_text", "metadata.k[0]"},
				{"session details path NUL", "GET", "/api/v1/checkout/session/%00", sdk, "", 400, "invalid_text", "path"},
				{"session details forged token", "GET", "/api/v1/checkout/session/" + sessTok, bearerHeader(sessTok), "", 401, "invalid_token", ""},
				{"OTP identifier NUL", "POST", "/api/v1/checkout/verification/request", sdk, `{"method":"email_otp","identifier":"a@example.com\u0000"}`, 400, "invalid_text", "identifier"},
				{"OTP identifier CRLF", "POST", "/api/v1/checkout/verification/request", sdk, `{"method":"email_otp","identifier":"a@example.com\r\nBcc: x@evil.example"}`, 400, "invalid_text", "identifier"},
				{"OTP code invalid UTF-8", "POST", "/api/v1/checkout/verification/verify", sdk, `{"method":"email_otp","identifier":"a@example.com","code":"` + bad + `"}`, 400, "invalid_text", "code"},
				{"methods query NUL", "GET", "/api/v1/checkout/verification/methods?x=%00", sdk, "", 400, "invalid_text", "query.x"},
				{"currencies query key NUL", "GET", "/api/v1/checkout/sessions/currencies?%00=1", nil, "", 400, "invalid_text", "query"},
				{"gateways bad query escape", "GET", "/api/v1/checkout/sessions/gateways?a=%zz", nil, "", 400, "invalid_text", "query"},
				{"process token NUL", "POST", "/api/v1/payments/process", vtok, `{"sessionToken":"` + sessTok + `\u0000","method":"card","gateway":"stripe","methodPayload":{"tempPaymentToken":"tok"}}`, 400, "invalid_text", "sessionToken"},
				{"process payload invalid UTF-8", "POST", "/api/v1/payments/process", vtok, `{"sessionToken":"` + sessTok + `","method":"card","gateway":"stripe","methodPayload":{"tempPaymentToken":"` + bad + `"}}`, 400, "invalid_text", "methodPayload.tempPaymentToken"},
				{"process forged verification token", "POST", "/api/v1/payments/process", bearerHeader(vtok["Authorization"][7:] + "x"), `{"sessionToken":"` + sessTok + `","method":"card","gateway":"stripe"}`, 401, "invalid_token", ""},
				{"confirm session token C1", "POST", "/api/v1/payments/confirm", vtok, `{"sessionToken":"\u0080"}`, 400, "invalid_text", "sessionToken"},
				{"callback path NUL", "GET", "/api/v1/payments/callback/%00?outcome=success", nil, "", 400, "invalid_text", "path"},
				{"inbound webhook query NUL", "POST", "/api/v1/webhooks/stripe?x=%00", nil, `{}`, 400, "invalid_text", "query.x"},
				{"inbound webhook unsigned", "POST", "/api/v1/webhooks/stripe/" + appID, map[string]string{"Stripe-Signature": "t=1,v1=00"}, `{"id":"evt_1","object":"event","type":"payment_intent.succeeded"}`, 401, "invalid_signature", ""},
				{"sandbox card number NUL", "POST", "/api/v1/sandbox/tokens", nil, `{"number":"4242\u00004242","expMonth":12,"expYear":2030,"cvc":"123"}`, 400, "invalid_text", "number"},

				// Merchant API.
				{"refund amount NUL", "POST", merchantBase + "/payments/" + payID + "/refunds", key, `{"amount":"1.00\u0000"}`, 400, "invalid_text", "amount"},
				{"refund Idempotency-Key invalid UTF-8", "POST", merchantBase + "/payments/" + payID + "/refunds", with(key, "Idempotency-Key", bad), `{"amount":"1.00"}`, 400, "invalid_text", "header.Idempotency-Key"},
				{"refund path NUL", "POST", merchantBase + "/payments/pay_%00/refunds", key, `{}`, 400, "invalid_text", "path"},
				{"payment path invalid UTF-8", "GET", merchantBase + "/payments/pay_%ff", key, "", 400, "invalid_text", "path"},
				{"payments cursor NUL", "GET", merchantBase + "/payments?cursor=%00", key, "", 400, "invalid_text", "query.cursor"},
				{"payments forged cursor", "GET", merchantBase + "/payments?cursor=eyJ4IjoxfQ", key, "", 400, "invalid_cursor", ""},
				{"payments cursor holding NUL", "GET", merchantBase + "/payments?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("1.pay_\x00")), key, "", 400, "invalid_cursor", ""},
				{"customers cursor holding invalid UTF-8", "GET", apps + "/customers?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("k:\xff")), key, "", 400, "invalid_cursor", ""},
				{"sessions status invalid UTF-8", "GET", merchantBase + "/sessions?status=%ff", key, "", 400, "invalid_text", "query.status"},
				{"session path NUL", "GET", merchantBase + "/sessions/" + sessID + "%00", key, "", 400, "invalid_text", "path"},
				{"webhooks query 2049 characters", "GET", merchantBase + "/webhooks?x=" + strings.Repeat("a", 2049), key, "", 400, "invalid_text", "query.x"},
				{"webhook test path NUL", "POST", merchantBase + "/webhooks/%00/test", key, "", 400, "invalid_text", "path"},
				{"webhook rotate overlap NUL", "POST", merchantBase + "/webhooks/" + hook.ID + "/rotate-secret", key, `{"overlap":"\u0000"}`, 400, "invalid_text", "overlap"},
				{"deliveries limit NUL", "GET", merchantBase + "/webhook-deliveries?limit=%00", key, "", 400, "invalid_text", "query.limit"},
				{"delivery resend path invalid UTF-8", "POST", merchantBase + "/webhook-deliveries/%ff/resend", key, "", 400, "invalid_text", "path"},

				// Management API: the account.
				{"login email NUL", "POST", merchantBase + "/auth/login", nil, `{"email":"owner@shop.example\u0000","password":"` + testPassword + `"}`, 400, "invalid_text", "email"},
				{"login password 129 characters", "POST", merchantBase + "/auth/login", nil, `{"email":"owner@shop.example","password":` + long(129) + `}`, 400, "invalid_text", "password"},
				{"forgot email invalid UTF-8", "POST", merchantBase + "/auth/password/forgot", nil, `{"email":"owner` + bad + `@shop.example"}`, 400, "invalid_text", "email"},
				{"reset token NUL", "POST", merchantBase + "/auth/password/reset", nil, `{"token":"\u0000","password":"another long password"}`, 400, "invalid_text", "token"},
				{"invite accept name ESC", "POST", merchantBase + "/auth/invites/accept", nil, `{"token":"x","name":"\u001b]0;pwned\u0007","password":"another long password"}`, 400, "invalid_text", "name"},
				{"2fa enable code NUL", "POST", merchantBase + "/auth/2fa/enable", pat, `{"code":"12\u00003456"}`, 400, "invalid_text", "code"},
				{"me name NUL", "PATCH", merchantBase + "/me", pat, `{"name":"Owner\u0000"}`, 400, "invalid_text", "name"},
				{"me name 101 characters", "PATCH", merchantBase + "/me", cookie, `{"name":` + long(101) + `}`, 400, "invalid_text", "name"},
				{"token name C1", "POST", merchantBase + "/me/tokens", pat, `{"name":"script\u009b"}`, 400, "invalid_text", "name"},
				{"token revoke path NUL", "DELETE", merchantBase + "/me/tokens/%00", pat, "", 400, "invalid_text", "path"},
				{"invite email CRLF", "POST", merchantBase + "/team/invites", pat, `{"email":"new@shop.example\r\nBcc: x@evil.example","role":"viewer"}`, 400, "invalid_text", "email"},
				{"member path invalid UTF-8", "PATCH", merchantBase + "/team/members/%ff", pat, `{"role":"viewer"}`, 400, "invalid_text", "path"},
				{"audit action NUL", "GET", merchantBase + "/audit-logs?action=%00", pat, "", 400, "invalid_text", "query.action"},
				{"unknown field", "PATCH", merchantBase + "/me", pat, `{"nmae":"typo"}`, 400, "invalid_request", ""},
				{"management deep nesting", "PATCH", merchantBase + "/me", pat, `{"name":` + deep + `}`, 400, "invalid_request", ""},
				// Management API: applications and their configuration.
				{"app name NUL", "POST", merchantBase + "/apps", pat, `{"name":"Shop\u0000"}`, 400, "invalid_text", "name"},
				{"app displayName invalid UTF-8", "PATCH", apps, pat, `{"displayName":"` + bad + `"}`, 400, "invalid_text", "displayName"},
				{"app branding logoUrl NUL", "PATCH", apps, pat, `{"branding":{"logoUrl":"https://cdn.example/\u0000.png"}}`, 400, "invalid_text", "branding.logoUrl"},
				{"app path NUL", "GET", merchantBase + "/apps/%00", pat, "", 400, "invalid_text", "path"},
				{"app environment NUL", "GET", apps + "?environment=%00", pat, "", 400, "invalid_text", "query.environment"},
				{"key revoke path invalid UTF-8", "POST", apps + "/keys/%ff/revoke", pat, "", 400, "invalid_text", "path"},
				{"domain NUL", "POST", apps + "/domains", pat, `{"domain":"shop.example\u0000.evil"}`, 400, "invalid_text", "domain"},
				{"domain 254 characters", "POST", apps + "/domains", pat, `{"domain":` + long(254) + `}`, 400, "invalid_text", "domain"},
				{"domain path NUL", "DELETE", apps + "/domains/shop.example%00", pat, "", 400, "invalid_text", "path"},
				{"product title NUL", "POST", apps + "/products", pat, `{"storeCode":"LAMP","title":"Lamp\u0000","price":"5.00"}`, 400, "invalid_text", "title"},
				{"product storeCode 256 characters", "POST", apps + "/products", pat, `{"storeCode":` + long(256) + `,"title":"Lamp","price":"5.00"}`, 400, "invalid_text", "storeCode"},
				{"product patch path invalid UTF-8", "PATCH", apps + "/products/MUG-1%ff", pat, `{"title":"Cup"}`, 400, "invalid_text", "path"},
				{"product patch title C1", "PATCH", apps + "/products/MUG-1", pat, `{"title":"Mug\u0085"}`, 400, "invalid_text", "title"},
				{"payment link item name NUL", "POST", apps + "/payment-links", pat, `{"currency":"MAD","items":[{"name":"Lamp\u0000","unitPrice":"5.00","quantity":1}]}`, 400, "invalid_text", "items[0].name"},
				{"payment link path NUL", "GET", apps + "/payment-links/%00", pat, "", 400, "invalid_text", "path"},
				{"gateway secret NUL", "PUT", apps + "/gateways/stripe", pat, `{"settings":{"secretKey":"sk_test_\u0000"}}`, 400, "invalid_text", "settings.secretKey"},
				{"gateway settings key 65 characters", "PUT", apps + "/gateways/stripe", pat, `{"settings":{` + long(65) + `:"x"}}`, 400, "invalid_text", "settings"},
				{"webhook url NUL", "POST", apps + "/webhook-endpoints", pat, `{"url":"https://hooks.example.com/\u0000"}`, 400, "invalid_text", "url"},
				{"webhook url invalid UTF-8 by key", "PATCH", apps + "/webhook-endpoints/" + hook.ID, key, `{"url":"https://hooks.example.com/` + bad + `"}`, 400, "invalid_text", "url"},
				{"webhook events NUL", "POST", apps + "/webhook-endpoints", pat, `{"url":"https://hooks.example.com/x","events":["payment.completed\u0000"]}`, 400, "invalid_text", "events[0]"},
				// Management API: money.
				{"payments q NUL", "GET", apps + "/payments?q=%00", pat, "", 400, "invalid_text", "query.q"},
				{"payments export format invalid UTF-8", "GET", apps + "/payments?format=%ff", pat, "", 400, "invalid_text", "query.format"},
				{"customers q invalid UTF-8", "GET", apps + "/customers?q=%ff", key, "", 400, "invalid_text", "query.q"},
				{"session path by key NUL", "GET", apps + "/sessions/%00", key, "", 400, "invalid_text", "path"},
				{"refunds query C1", "GET", apps + "/refunds?status=%C2%85", pat, "", 400, "invalid_text", "query.status"},
				{"events query NUL", "GET", apps + "/events?type=%00", key, "", 400, "invalid_text", "query.type"},
				{"management refund amount invalid UTF-8", "POST", apps + "/payments/" + payID + "/refunds", pat, `{"amount":"` + bad + `"}`, 400, "invalid_text", "amount"},
				{"report period NUL", "GET", apps + "/reports/summary?from=%00", pat, "", 400, "invalid_text", "query.from"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					before := fingerprint(t, s.db, engine)
					r := s.Do(c.method, c.path, c.header, c.body, false)
					if r.Status != c.status {
						t.Fatalf("status %d, want %d: %.300s", r.Status, c.status, r.Body)
					}
					code, field := errorOf(t, r)
					if code != c.code {
						t.Errorf("code %s, want %s: %.300s", code, c.code, r.Body)
					}
					if c.field != "" && field != c.field {
						t.Errorf("field %q, want %q: %.300s", field, c.field, r.Body)
					}
					after := fingerprint(t, s.db, engine)
					for table, b := range before {
						if after[table] != b {
							t.Errorf("table %s changed: %s → %s", table, b, after[table])
						}
					}
				})
			}
			// The browser pages: an id no link or session can have is the
			// page of an unknown one, on both engines.
			for _, path := range []string{"/pay/%00", "/pay/plink_%ff", "/pay/x%C2%9b", "/checkout/%00", "/checkout/abc%ff"} {
				t.Run(path, func(t *testing.T) {
					before := fingerprint(t, s.db, engine)
					// Not through s.do: the hosted page is no part of
					// docs/openapi.yaml.
					req, err := http.NewRequestWithContext(t.Context(), "GET", s.URL+path, nil)
					if err != nil {
						t.Fatal(err)
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
						t.Errorf("status %d %s, want a 404 page", resp.StatusCode, resp.Header.Get("Content-Type"))
					}
					after := fingerprint(t, s.db, engine)
					for table, b := range before {
						if after[table] != b {
							t.Errorf("table %s changed: %s → %s", table, b, after[table])
						}
					}
				})
			}

			// The fingerprint sees a write: the same check after an
			// accepted request fails.
			before := fingerprint(t, s.db, engine)
			if r := s.Do("PATCH", apps+"/products/MUG-1", pat, `{"title":"Cup"}`, true); r.Status != http.StatusOK {
				t.Fatalf("update product: %d %s", r.Status, r.Body)
			}
			if after := fingerprint(t, s.db, engine); after["products"] == before["products"] {
				t.Errorf("an accepted product update left the products table's fingerprint as it was: %s", after["products"])
			}
			if n := len(cases); n < 60 {
				t.Errorf("%d hostile cases; the suite promises at least 60", n)
			}
		})
	}
}

// A notification whose signature verifies is still text from outside: a
// reference or event id breaking the text rule is ignored (200, so that
// the gateway stops sending it) without the store being asked about it.
func TestHostileVerifiedNotification(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newPaymentServer(t, engine, serverOptions{})
			app := s.NewApp("Shop", pay.Live)
			const whsec = "whsec_test_hostile"
			if _, err := s.Accounts.Set(t.Context(), app.Application.ID, pay.Live, "stripe", map[string]string{
				"secretKey": "sk_live_" + strings.Repeat("k", 24), "publishableKey": "pk_live_k", "webhookSecret": whsec,
			}, true); err != nil {
				t.Fatal(err)
			}
			for _, ev := range []string{
				`{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_\u0000","object":"payment_intent"}}}`,
				`{"id":"evt_\u0000","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","object":"payment_intent"}}}`,
				`{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_\u0085","object":"payment_intent"}}}`,
			} {
				before := fingerprint(t, s.db, engine)
				r := s.Do("POST", "/api/v1/webhooks/stripe/"+app.Application.ID, map[string]string{"Stripe-Signature": stripeSignature(whsec, s.Clock.Now(), ev)}, ev, false)
				if r.Status != http.StatusOK || str(r.JSON(t), "message") != "ignored" {
					t.Errorf("%q: %d %s, want 200 ignored", ev, r.Status, r.Body)
				}
				after := fingerprint(t, s.db, engine)
				for table, b := range before {
					if after[table] != b {
						t.Errorf("%q: table %s changed: %s → %s", ev, table, b, after[table])
					}
				}
			}
		})
	}
}
