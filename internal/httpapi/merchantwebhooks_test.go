package httpapi_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// Webhook management in the merchant API, against a real receiver on
// 127.0.0.1 whose signature checks are written from docs/webhooks.md, not
// taken from sakk's signer.

// hookRequest is one request a receiver got.
type hookRequest struct {
	path   string
	header http.Header
	body   []byte
}

// hookReceiver answers 200 on every path but /fail, which answers 500.
type hookReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []hookRequest
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	rcv := &hookReceiver{}
	rcv.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		rcv.mu.Lock()
		rcv.got = append(rcv.got, hookRequest{r.URL.Path, r.Header.Clone(), body})
		rcv.mu.Unlock()
		if r.URL.Path == "/fail" {
			http.Error(w, "down for maintenance", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(rcv.srv.Close)
	return rcv
}

// requests returns what arrived at path, in order.
func (r *hookReceiver) requests(path string) []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []hookRequest
	for _, g := range r.got {
		if g.path == path {
			out = append(out, g)
		}
	}
	return out
}

func (r *hookReceiver) last(t *testing.T, path string) hookRequest {
	t.Helper()
	got := r.requests(path)
	if len(got) == 0 {
		t.Fatalf("the receiver got nothing at %s", path)
	}
	return got[len(got)-1]
}

// verifyPayment checks a Sakk-Signature as docs/webhooks.md tells a
// merchant to: any one v1 made with the secret is enough, and the
// timestamp is at most 5 minutes from now (the test server's clock).
func verifyPayment(secret string, h http.Header, body []byte, now time.Time) bool {
	t, sigs := sakkSignature(h)
	unix, err := strconv.ParseInt(t, 10, 64)
	if err != nil || now.Sub(time.Unix(unix, 0)).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(t + "." + string(body)))
	want := hex.EncodeToString(mac.Sum(nil))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return true
		}
	}
	return false
}

// sakkSignature splits "t=…,v1=…[,v1=…]".
func sakkSignature(h http.Header) (t string, v1 []string) {
	for part := range strings.SplitSeq(h.Get("Sakk-Signature"), ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			t = v
		case "v1":
			v1 = append(v1, v)
		}
	}
	return t, v1
}

// verifyCheckout checks an X-Alya-Signature, as docs/webhooks.md shows.
func verifyCheckout(secret string, h http.Header, body []byte, now time.Time) bool {
	ts := h.Get("X-Alya-Timestamp")
	at, err := time.Parse(time.RFC3339, ts)
	if err != nil || now.Sub(at).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(body)))
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(h.Get("X-Alya-Signature")), []byte(want))
}

// addHook adds a sandbox endpoint at the receiver's path and returns it
// with its secret.
func (s *server) addHook(t *testing.T, appID, url string, format pay.WebhookFormat) (pay.WebhookEndpoint, string) {
	t.Helper()
	w, secret, err := s.Merchant.AddWebhook(t.Context(), merchant.NewWebhook{
		ApplicationID: appID, Environment: pay.Sandbox, URL: url, Format: format,
	})
	if err != nil {
		t.Fatal(err)
	}
	return w, secret
}

// listed reads a {"data": [...]} answer, each element by its id.
func listed(t *testing.T, r response) map[string]map[string]any {
	t.Helper()
	var body struct {
		Data []map[string]any `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil || body.Data == nil {
		t.Fatalf("%d %s: not a list: %v", r.Status, r.Body, err)
	}
	out := map[string]map[string]any{}
	for _, d := range body.Data {
		out[str(d, "id")] = d
	}
	return out
}

func TestMerchantWebhooks(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.NewApp("Hooks Shop", pay.Sandbox)
			rcv := newHookReceiver(t)
			pw, paySecret := s.addHook(t, app.Application.ID, rcv.srv.URL+"/payment", pay.WebhookPayment)
			cw, checkoutSecret := s.addHook(t, app.Application.ID, rcv.srv.URL+"/checkout", pay.WebhookCheckout)
			fw, _ := s.addHook(t, app.Application.ID, rcv.srv.URL+"/fail", pay.WebhookPayment)
			key := keyHeader(app.Keys)

			// The endpoints, never with a secret.
			r := s.Do("GET", merchantBase+"/webhooks", key, "", true)
			if r.Status != 200 {
				t.Fatalf("list: %d %s", r.Status, r.Body)
			}
			ws := listed(t, r)
			if len(ws) != 3 || str(ws[pw.ID], "url") != rcv.srv.URL+"/payment" || str(ws[pw.ID], "format") != "payment" ||
				ws[pw.ID]["enabled"] != true || str(ws[pw.ID], "disabledReason") != "" || str(ws[cw.ID], "format") != "checkout" {
				t.Errorf("endpoints: %s", r.Body)
			}
			if strings.Contains(string(r.Body), "whsec_") || strings.Contains(string(r.Body), pw.SealedSecret) {
				t.Errorf("the listing shows a secret: %s", r.Body)
			}

			// A test event: delivered, signed with the endpoint's secret, listed.
			r = s.Do("POST", merchantBase+"/webhooks/"+pw.ID+"/test", key, "", true)
			att := r.JSON(t)
			if r.Status != 200 || att["delivered"] != true || att["statusCode"] != json.Number("200") ||
				str(att, "responseExcerpt") != "ok" || str(att, "error") != "" {
				t.Fatalf("test: %d %s", r.Status, r.Body)
			}
			testID := str(att, "deliveryId")
			got := rcv.last(t, "/payment")
			if !verifyPayment(paySecret, got.header, got.body, s.Clock.Now()) {
				t.Errorf("the test event's signature does not verify: %s", got.header.Get("Sakk-Signature"))
			}
			var ev map[string]any
			if err := json.Unmarshal(got.body, &ev); err != nil || ev["type"] != "test" {
				t.Errorf("test event body %s: %v", got.body, err)
			}
			r = s.Do("GET", merchantBase+"/webhook-deliveries", key, "", true)
			ds := listed(t, r)
			if d := ds[testID]; r.Status != 200 || d == nil || str(d, "endpointId") != pw.ID || str(d, "eventType") != "test" ||
				str(d, "status") != "delivered" || d["attempts"] != json.Number("1") || d["lastStatus"] != json.Number("200") ||
				d["deliveredAt"] == nil || d["nextAttemptAt"] != nil || str(d, "eventId") != got.header.Get("Sakk-Event-Id") {
				t.Errorf("deliveries after the test: %d %s", r.Status, r.Body)
			}

			// A real event, delivered by the dispatcher, then re-sent by
			// the merchant: same event id and body, signed afresh.
			s.paidSession(t, app.Keys, "buyer@example.com")
			if _, err := s.Webhooks.RunOnce(t.Context()); err != nil {
				t.Fatal(err)
			}
			first := rcv.last(t, "/payment")
			if !verifyPayment(paySecret, first.header, first.body, s.Clock.Now()) || !strings.Contains(string(first.body), `"payment.completed"`) {
				t.Fatalf("payment.completed: %s %s", first.header.Get("Sakk-Signature"), first.body)
			}
			if c := rcv.last(t, "/checkout"); !verifyCheckout(checkoutSecret, c.header, c.body, s.Clock.Now()) ||
				!strings.Contains(string(c.body), `"transaction.approved"`) {
				t.Errorf("transaction.approved: %s %s", c.header.Get("X-Alya-Signature"), c.body)
			}
			r = s.Do("GET", merchantBase+"/webhook-deliveries?limit=10", key, "", true)
			var completedID string
			for id, d := range listed(t, r) {
				if str(d, "endpointId") == pw.ID && str(d, "eventType") == "payment.completed" {
					completedID = id
				}
				if str(d, "endpointId") == fw.ID && (str(d, "status") != "pending" || d["lastStatus"] != json.Number("500") ||
					str(d, "lastError") != "HTTP 500" || d["nextAttemptAt"] == nil || d["deliveredAt"] != nil) {
					t.Errorf("the failing endpoint's delivery: %v", d)
				}
			}
			if completedID == "" {
				t.Fatalf("no payment.completed delivery listed: %s", r.Body)
			}
			r = s.Do("POST", merchantBase+"/webhook-deliveries/"+completedID+"/resend", key, "", true)
			if att := r.JSON(t); r.Status != 200 || att["delivered"] != true || str(att, "deliveryId") != completedID {
				t.Fatalf("resend: %d %s", r.Status, r.Body)
			}
			again := rcv.last(t, "/payment")
			if string(again.body) != string(first.body) || again.header.Get("Sakk-Event-Id") != first.header.Get("Sakk-Event-Id") ||
				!verifyPayment(paySecret, again.header, again.body, s.Clock.Now()) {
				t.Errorf("re-sent: %s %s, first: %s %s", again.header.Get("Sakk-Event-Id"), again.body, first.header.Get("Sakk-Event-Id"), first.body)
			}
			r = s.Do("GET", merchantBase+"/webhook-deliveries", key, "", true)
			if d := listed(t, r)[completedID]; d["attempts"] != json.Number("2") || str(d, "status") != "delivered" {
				t.Errorf("after the re-send: %v", d)
			}

			// Rotation: during the overlap one v1 per secret, then the new
			// one only.
			r = s.Do("POST", merchantBase+"/webhooks/"+pw.ID+"/rotate-secret", key, `{"overlap": "1m"}`, true)
			rot := r.JSON(t)
			newSecret := str(rot, "secret")
			if r.Status != 200 || !strings.HasPrefix(newSecret, "whsec_") || newSecret == paySecret ||
				str(rot, "previousSecretValidUntil") != s.Clock.Now().Add(time.Minute).Format("2006-01-02T15:04:05.000000Z") {
				t.Fatalf("rotate: %d %s", r.Status, r.Body)
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("rotation answer Cache-Control %q", r.Header.Get("Cache-Control"))
			}
			if r := s.Do("GET", merchantBase+"/webhooks", key, "", true); strings.Contains(string(r.Body), newSecret) {
				t.Errorf("the listing shows the new secret: %s", r.Body)
			}
			s.Do("POST", merchantBase+"/webhooks/"+pw.ID+"/test", key, "", true)
			got = rcv.last(t, "/payment")
			if _, v1 := sakkSignature(got.header); len(v1) != 2 ||
				!verifyPayment(newSecret, got.header, got.body, s.Clock.Now()) || !verifyPayment(paySecret, got.header, got.body, s.Clock.Now()) {
				t.Errorf("during the overlap: %s; want one v1 by each secret", got.header.Get("Sakk-Signature"))
			}
			s.Clock.Advance(time.Minute)
			s.Do("POST", merchantBase+"/webhooks/"+pw.ID+"/test", key, "", true)
			got = rcv.last(t, "/payment")
			if _, v1 := sakkSignature(got.header); len(v1) != 1 ||
				!verifyPayment(newSecret, got.header, got.body, s.Clock.Now()) || verifyPayment(paySecret, got.header, got.body, s.Clock.Now()) {
				t.Errorf("after the overlap: %s; want the new secret's only", got.header.Get("Sakk-Signature"))
			}

			// No body: the default overlap, 24 hours; the checkout format
			// signs with the new secret.
			r = s.Do("POST", merchantBase+"/webhooks/"+cw.ID+"/rotate-secret", key, "", true)
			rot = r.JSON(t)
			if r.Status != 200 || str(rot, "previousSecretValidUntil") != s.Clock.Now().Add(24*time.Hour).Format("2006-01-02T15:04:05.000000Z") {
				t.Fatalf("rotate with no body: %d %s", r.Status, r.Body)
			}
			s.Do("POST", merchantBase+"/webhooks/"+cw.ID+"/test", key, "", true)
			if c := rcv.last(t, "/checkout"); !verifyCheckout(str(rot, "secret"), c.header, c.body, s.Clock.Now()) {
				t.Errorf("checkout format after rotation: %s", c.header.Get("X-Alya-Signature"))
			}

			// Refusals.
			for _, tt := range []struct {
				name, method, path, body string
				valid                    bool // false: the request itself breaks the contract
				header                   map[string]string
				status                   int
				code                     string
			}{
				{"no key", "GET", "/webhooks", "", true, nil, 401, "invalid_key"},
				{"public key", "GET", "/webhooks", "", true, map[string]string{"X-API-Key": app.Keys.Public}, 401, "invalid_key"},
				{"negative overlap", "POST", "/webhooks/" + pw.ID + "/rotate-secret", `{"overlap": "-1h"}`, true, key, 400, "invalid_overlap"},
				{"overlap too long", "POST", "/webhooks/" + pw.ID + "/rotate-secret", `{"overlap": "721h"}`, true, key, 400, "invalid_overlap"},
				{"overlap not a duration", "POST", "/webhooks/" + pw.ID + "/rotate-secret", `{"overlap": "soon"}`, true, key, 400, "invalid_overlap"},
				{"overlap a number", "POST", "/webhooks/" + pw.ID + "/rotate-secret", `{"overlap": 3600}`, false, key, 400, "invalid_overlap"},
				{"unknown field", "POST", "/webhooks/" + pw.ID + "/rotate-secret", `{"grace": "1h"}`, false, key, 400, "invalid_request"},
				{"not JSON", "POST", "/webhooks/" + pw.ID + "/rotate-secret", `overlap=1h`, false, key, 400, "invalid_request"},
				{"unknown endpoint", "POST", "/webhooks/whe_missing/test", "", true, key, 404, "webhook_endpoint_not_found"},
				{"unknown delivery", "POST", "/webhook-deliveries/whd_missing/resend", "", true, key, 404, "webhook_delivery_not_found"},
				{"limit 0", "GET", "/webhook-deliveries?limit=0", "", false, key, 400, "invalid_limit"},
				{"limit 101", "GET", "/webhook-deliveries?limit=101", "", false, key, 400, "invalid_limit"},
			} {
				t.Run(tt.name, func(t *testing.T) {
					before, err := s.Store.WebhookEndpoint(t.Context(), pw.ID)
					if err != nil {
						t.Fatal(err)
					}
					r := s.Do(tt.method, merchantBase+tt.path, tt.header, tt.body, tt.valid)
					if r.Status != tt.status || r.PaymentCode(t) != tt.code {
						t.Errorf("%d %s; want %d %s", r.Status, r.Body, tt.status, tt.code)
					}
					after, err := s.Store.WebhookEndpoint(t.Context(), pw.ID)
					if err != nil {
						t.Fatal(err)
					}
					if after.Endpoint.SealedSecret != before.Endpoint.SealedSecret {
						t.Error("a refused request changed the secret")
					}
				})
			}

			// An endpoint failing for 3 days is disabled, and the listing
			// says why.
			for range 100 {
				tgt, err := s.Store.WebhookEndpoint(t.Context(), fw.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !tgt.Endpoint.Enabled {
					break
				}
				s.Clock.Advance(time.Hour)
				if _, err := s.Webhooks.RunOnce(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			r = s.Do("GET", merchantBase+"/webhooks", key, "", true)
			ws = listed(t, r)
			if f := ws[fw.ID]; f["enabled"] != false || !strings.Contains(str(f, "disabledReason"), "HTTP 500") ||
				!strings.Contains(str(f, "disabledReason"), "no 2xx answer since") {
				t.Errorf("the failing endpoint: %v", f)
			}
			if ws[pw.ID]["enabled"] != true || str(ws[pw.ID], "disabledReason") != "" {
				t.Errorf("the healthy endpoint: %v", ws[pw.ID])
			}
			if n := len(rcv.requests("/fail")); n < 10 {
				t.Errorf("the failing endpoint got %d attempts", n)
			}
		})
	}
}

// Another application's, or another environment's, endpoints and
// deliveries are unknown to a key.
func TestMerchantWebhooksTenancy(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			mine := s.NewApp("Mine", pay.Sandbox)
			theirs := s.NewApp("Theirs", pay.Sandbox)
			live, err := s.Merchant.IssueKeys(t.Context(), mine.Application.ID, pay.Live)
			if err != nil {
				t.Fatal(err)
			}
			rcv := newHookReceiver(t)
			w, _ := s.addHook(t, mine.Application.ID, rcv.srv.URL+"/mine", pay.WebhookPayment)
			r := s.Do("POST", merchantBase+"/webhooks/"+w.ID+"/test", keyHeader(mine.Keys), "", true)
			if r.Status != 200 {
				t.Fatalf("test: %d %s", r.Status, r.Body)
			}
			deliveryID := str(r.JSON(t), "deliveryId")
			before := len(rcv.requests("/mine"))

			for name, k := range map[string]merchant.Keys{"another application": theirs.Keys, "the live environment": live} {
				t.Run(name, func(t *testing.T) {
					key := keyHeader(k)
					for _, c := range []struct{ method, path, body, code string }{
						{"POST", "/webhooks/" + w.ID + "/test", "", "webhook_endpoint_not_found"},
						{"POST", "/webhooks/" + w.ID + "/rotate-secret", `{"overlap": "0s"}`, "webhook_endpoint_not_found"},
						{"POST", "/webhook-deliveries/" + deliveryID + "/resend", "", "webhook_delivery_not_found"},
					} {
						r := s.Do(c.method, merchantBase+c.path, key, c.body, true)
						if r.Status != 404 || r.PaymentCode(t) != c.code {
							t.Errorf("%s %s: %d %s; want 404 %s", c.method, c.path, r.Status, r.Body, c.code)
						}
					}
					for _, path := range []string{"/webhooks", "/webhook-deliveries"} {
						r := s.Do("GET", merchantBase+path, key, "", true)
						if r.Status != 200 || len(listed(t, r)) != 0 {
							t.Errorf("GET %s: %d %s; want an empty list", path, r.Status, r.Body)
						}
					}
				})
			}
			if n := len(rcv.requests("/mine")); n != before {
				t.Errorf("the receiver got %d requests from other keys", n-before)
			}
			tgt, err := s.Store.WebhookEndpoint(t.Context(), w.ID)
			if err != nil {
				t.Fatal(err)
			}
			if tgt.PreviousSealedSecret != "" {
				t.Error("another key rotated the secret")
			}
		})
	}
}

// Without a dispatcher, sending answers 503; reading still works.
func TestMerchantWebhooksWithoutDispatcher(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{NoWebhooks: true})
			st := s.Store
			app := s.NewApp("No Hooks", pay.Sandbox)
			w, _ := s.addHook(t, app.Application.ID, "http://127.0.0.1:9/never", pay.WebhookPayment)
			key := keyHeader(app.Keys)
			for _, path := range []string{"/webhooks/" + w.ID + "/test", "/webhook-deliveries/whd_any/resend"} {
				r := s.Do("POST", merchantBase+path, key, "", true)
				if r.Status != 503 || r.PaymentCode(t) != "webhooks_unavailable" {
					t.Errorf("POST %s: %d %s; want 503 webhooks_unavailable", path, r.Status, r.Body)
				}
			}
			if r := s.Do("GET", merchantBase+"/webhooks", key, "", true); r.Status != 200 || len(listed(t, r)) != 1 {
				t.Errorf("list: %d %s", r.Status, r.Body)
			}
			if r := s.Do("POST", merchantBase+"/webhooks/"+w.ID+"/rotate-secret", key, "{}", true); r.Status != 200 {
				t.Errorf("rotate: %d %s", r.Status, r.Body)
			}
			deliveries, err := st.WebhookDeliveries(t.Context(), app.Application.ID, 10)
			if err != nil || len(deliveries) != 0 {
				t.Errorf("deliveries: %v, %v; want none", deliveries, err)
			}
		})
	}
}
