package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// The management API's webhook endpoints and deliveries (app-scoped,
// members and the application's own secret key), on both engines.

// manageMember creates a member (of merchantID, else of a new merchant)
// and returns it with a personal access token's Authorization header.
func (s *server) manageMember(t *testing.T, email string, role pay.Role, merchantID string) (pay.User, map[string]string) {
	t.Helper()
	return s.member(t, email, role, merchantID), s.pat(t, email, testPassword)
}

// manageApp creates an application by POST /apps and returns its id and
// sandbox secret key.
func (s *server) manageApp(t *testing.T, auth map[string]string, name string) (id, secretKey string) {
	t.Helper()
	r := s.Do("POST", "/api/merchant/v1/apps", auth, `{"name":`+jsonQuote(name)+`}`, true)
	if r.Status != http.StatusCreated {
		t.Fatalf("create app: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	keys, _ := m["keys"].(map[string]any)
	return str(m, "id"), str(keys, "secretKey")
}

func TestManageWebhookEndpoints(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			owner, auth := s.manageMember(t, "owner@acme.test", pay.Owner, "")
			_, viewer := s.manageMember(t, "viewer@acme.test", pay.Viewer, owner.MerchantID)
			_, stranger := s.manageMember(t, "owner@other.test", pay.Owner, "")
			appID, sk := s.manageApp(t, auth, "Shop")
			otherAppID, _ := s.manageApp(t, stranger, "Elsewhere")
			siblingID, _ := s.manageApp(t, auth, "Second shop")
			rcv := newHookReceiver(t)
			base := "/api/merchant/v1/apps/" + appID
			var secrets []string // every secret shown; none may appear again

			created := s.Do("POST", base+"/webhook-endpoints", auth,
				`{"url":`+jsonQuote(rcv.srv.URL+"/hook")+`,"format":"payment","events":["payment.completed","payment.completed"]}`, true)
			if created.Status != http.StatusCreated {
				t.Fatalf("create: %d %s", created.Status, created.Body)
			}
			ep := created.JSON(t)
			id, secret := str(ep, "id"), str(ep, "secret")
			if !strings.HasPrefix(secret, "whsec_") || ep["enabled"] != true {
				t.Fatalf("create answered %s", created.Body)
			}
			if evs, _ := ep["events"].([]any); len(evs) != 1 || evs[0] != "payment.completed" {
				t.Errorf("events = %v, want [payment.completed] once", ep["events"])
			}
			secrets = append(secrets, secret)

			list := s.Do("GET", base+"/webhook-endpoints", auth, "", true)
			got := listed(t, list)[id]
			if list.Status != http.StatusOK || got == nil {
				t.Fatalf("list: %d %s", list.Status, list.Body)
			}
			if _, shown := got["secret"]; shown {
				t.Errorf("the listing shows the secret: %s", list.Body)
			}

			patched := s.Do("PATCH", base+"/webhook-endpoints/"+id, auth, `{"enabled":false,"events":[]}`, true)
			if m := patched.JSON(t); patched.Status != http.StatusOK || m["enabled"] != false || str(m, "disabledReason") == "" {
				t.Fatalf("disable: %d %s", patched.Status, patched.Body)
			}

			// A test goes out enabled or not, signed with the secret shown.
			test := s.Do("POST", base+"/webhook-endpoints/"+id+"/test", auth, "", true)
			if m := test.JSON(t); test.Status != http.StatusOK || m["delivered"] != true {
				t.Fatalf("test: %d %s", test.Status, test.Body)
			}
			req := rcv.last(t, "/hook")
			if !verifyPayment(secret, req.header, req.body, s.Clock.Now()) {
				t.Errorf("the test event's signature does not verify with the secret shown at creation")
			}
			deliveryID := str(test.JSON(t), "deliveryId")

			dl := s.Do("GET", base+"/webhook-deliveries", auth, "", true)
			d := listed(t, dl)[deliveryID]
			if dl.Status != http.StatusOK || d == nil {
				t.Fatalf("deliveries: %d %s", dl.Status, dl.Body)
			}
			if str(d, "requestExcerpt") != string(req.body) || str(d, "responseExcerpt") != "ok" {
				t.Errorf("delivery excerpts: request %q, response %q", str(d, "requestExcerpt"), str(d, "responseExcerpt"))
			}
			resend := s.Do("POST", base+"/webhook-deliveries/"+deliveryID+"/resend", auth, "", true)
			if resend.Status != http.StatusOK || len(rcv.requests("/hook")) != 2 {
				t.Fatalf("resend: %d %s; the receiver got %d", resend.Status, resend.Body, len(rcv.requests("/hook")))
			}

			rot := s.Do("POST", base+"/webhook-endpoints/"+id+"/rotate-secret", auth, `{"overlap":"0s"}`, true)
			if rot.Status != http.StatusOK || !strings.HasPrefix(str(rot.JSON(t), "secret"), "whsec_") {
				t.Fatalf("rotate: %d %s", rot.Status, rot.Body)
			}
			secrets = append(secrets, str(rot.JSON(t), "secret"))

			// The application's own secret key: its webhooks, nothing else.
			key := map[string]string{"X-API-Key": sk}
			for _, c := range []struct {
				method, path string
				want         int
			}{
				{"GET", base + "/webhook-endpoints", http.StatusOK},
				{"GET", base + "/webhook-deliveries", http.StatusOK},
				{"GET", "/api/merchant/v1/apps/" + siblingID + "/webhook-endpoints", http.StatusForbidden},
				{"GET", "/api/merchant/v1/apps/" + otherAppID + "/webhook-endpoints", http.StatusForbidden},
				{"GET", base + "/keys", http.StatusForbidden},
			} {
				if r := s.Do(c.method, c.path, key, "", true); r.Status != c.want {
					t.Errorf("key %s %s: %d, want %d: %s", c.method, c.path, r.Status, c.want, r.Body)
				}
			}
			keyMade := s.Do("POST", base+"/webhook-endpoints", key, `{"url":"https://hooks.example/k","format":"checkout"}`, true)
			if keyMade.Status != http.StatusCreated {
				t.Fatalf("the key's create: %d %s", keyMade.Status, keyMade.Body)
			}
			secrets = append(secrets, str(keyMade.JSON(t), "secret"))

			// A viewer reads and may not write; another merchant sees nothing.
			if r := s.Do("GET", base+"/webhook-endpoints", viewer, "", true); r.Status != http.StatusOK {
				t.Errorf("viewer list: %d %s", r.Status, r.Body)
			}
			for _, c := range []struct {
				who          map[string]string
				method, path string
				body         string
				want         int
			}{
				{viewer, "POST", base + "/webhook-endpoints", `{"url":"https://hooks.example/v","format":"payment"}`, http.StatusForbidden},
				{viewer, "PATCH", base + "/webhook-endpoints/" + id, `{"enabled":true}`, http.StatusForbidden},
				{viewer, "DELETE", base + "/webhook-endpoints/" + id, "", http.StatusForbidden},
				{viewer, "POST", base + "/webhook-deliveries/" + deliveryID + "/resend", "", http.StatusForbidden},
				{stranger, "GET", base + "/webhook-endpoints", "", http.StatusNotFound},
				{stranger, "PATCH", base + "/webhook-endpoints/" + id, `{"enabled":true}`, http.StatusNotFound},
				{stranger, "POST", base + "/webhook-deliveries/" + deliveryID + "/resend", "", http.StatusNotFound},
				// The endpoint under another application of its merchant.
				{auth, "PATCH", "/api/merchant/v1/apps/" + siblingID + "/webhook-endpoints/" + id, `{"enabled":true}`, http.StatusNotFound},
				{auth, "DELETE", base + "/webhook-endpoints/" + id + "?environment=live", "", http.StatusNotFound},
				{auth, "PATCH", base + "/webhook-endpoints/" + id, `{"format":"xml"}`, http.StatusBadRequest},
				{auth, "PATCH", base + "/webhook-endpoints/" + id, `{"secret":"x"}`, http.StatusBadRequest},
			} {
				if r := s.Do(c.method, c.path, c.who, c.body, c.want != http.StatusBadRequest); r.Status != c.want {
					t.Errorf("%s %s: %d, want %d: %s", c.method, c.path, r.Status, c.want, r.Body)
				}
			}

			if r := s.Do("DELETE", base+"/webhook-endpoints/"+id, auth, "", true); r.Status != http.StatusNoContent {
				t.Fatalf("delete: %d %s", r.Status, r.Body)
			}
			if _, still := listed(t, s.Do("GET", base+"/webhook-endpoints", auth, "", true))[id]; still {
				t.Errorf("the deleted endpoint is still listed")
			}

			audit := s.Do("GET", "/api/merchant/v1/audit-logs?appId="+appID, auth, "", true)
			if audit.Status != http.StatusOK {
				t.Fatalf("audit: %d %s", audit.Status, audit.Body)
			}
			actions := map[string]int{}
			for _, e := range listed(t, audit) {
				actions[str(e, "action")]++
			}
			for _, a := range []string{"webhook_endpoints.create", "webhook_endpoints.update", "webhook_endpoints.test",
				"webhook_endpoints.rotate_secret", "webhook_deliveries.resend", "webhook_endpoints.delete"} {
				if actions[a] == 0 {
					t.Errorf("no %s in the audit log: %s", a, audit.Body)
				}
			}
			if actions["webhook_endpoints.create"] != 2 {
				t.Errorf("%d webhook_endpoints.create entries, want 2", actions["webhook_endpoints.create"])
			}
			for _, sec := range secrets {
				if strings.Contains(string(audit.Body), sec) || strings.Contains(string(list.Body), sec) {
					t.Errorf("a webhook secret appears in a later answer")
				}
			}
		})
	}
}

func TestManageGateways(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			owner, auth := s.manageMember(t, "owner@acme.test", pay.Owner, "")
			_, viewer := s.manageMember(t, "viewer@acme.test", pay.Viewer, owner.MerchantID)
			_, stranger := s.manageMember(t, "owner@other.test", pay.Owner, "")
			r := s.Do("POST", "/api/merchant/v1/apps", auth, `{"name":"Shop","currencies":["USD","SAR"]}`, true)
			if r.Status != http.StatusCreated {
				t.Fatalf("create app: %d %s", r.Status, r.Body)
			}
			app := r.JSON(t)
			appKeys, _ := app["keys"].(map[string]any)
			keys := merchant.Keys{Secret: str(appKeys, "secretKey"), Public: str(appKeys, "publicKey")}
			base := "/api/merchant/v1/apps/" + str(app, "id")

			stripeSecret := "sk_test_" + strings.Repeat("q", 20) + "4242"
			moyasarSecret := "sk_test_" + strings.Repeat("m", 20) + "9999"
			hookSecret := "whsec_" + strings.Repeat("h", 24)
			put := s.Do("PUT", base+"/gateways/stripe", auth, `{"settings":{"secretKey":"`+stripeSecret+`","publishableKey":"pk_test_abc","webhookSecret":"`+hookSecret+`"},"default":true}`, true)
			if put.Status != http.StatusOK {
				t.Fatalf("put stripe: %d %s", put.Status, put.Body)
			}
			if set, _ := put.JSON(t)["settings"].(map[string]any); set["secretKey"] != "sk_…4242" || set["publishableKey"] != "pk_test_abc" {
				t.Errorf("stripe shown as %s", put.Body)
			}
			put = s.Do("PUT", base+"/gateways/moyasar", auth, `{"settings":{"secretKey":"`+moyasarSecret+`","publishableKey":"pk_test_m"},"currencies":["SAR"]}`, true)
			if put.Status != http.StatusOK {
				t.Fatalf("put moyasar: %d %s", put.Status, put.Body)
			}
			// Routing only: the stored settings stay.
			if r := s.Do("PUT", base+"/gateways/stripe", auth, `{"currencies":["USD"]}`, true); r.Status != http.StatusOK {
				t.Fatalf("route stripe: %d %s", r.Status, r.Body)
			}

			list := s.Do("GET", base+"/gateways", auth, "", true)
			if list.Status != http.StatusOK {
				t.Fatalf("list: %d %s", list.Status, list.Body)
			}
			var body struct {
				Data []struct {
					Gateway    string
					IsDefault  bool
					Currencies []string
					Settings   map[string]string
				}
				Available []struct{ Gateway string }
			}
			if err := json.Unmarshal(list.Body, &body); err != nil || len(body.Data) != 2 || len(body.Available) == 0 {
				t.Fatalf("list: %v %s", err, list.Body)
			}
			for _, g := range body.Data {
				want := map[string]string{"moyasar": "SAR", "stripe": "USD"}[g.Gateway]
				if len(g.Currencies) != 1 || g.Currencies[0] != want || g.IsDefault != (g.Gateway == "stripe") {
					t.Errorf("%s: %+v", g.Gateway, g)
				}
			}

			// The session's currency picks the gateway, else the default.
			sdk := s.backendToken(t, keys)
			for cur, want := range map[string]string{"SAR": "moyasar", "USD": "stripe", "MAD": "stripe"} {
				r := s.Do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": keys.Secret},
					`{"total":"10.00","currency":"`+cur+`","items":[{"id":"P1","name":"Tea","price":10,"quantity":1}]}`, true)
				if r.Status != http.StatusOK {
					t.Fatalf("session in %s: %d %s", cur, r.Status, r.Body)
				}
				d := s.Do("GET", "/api/v1/checkout/session/"+str(r.JSON(t), "session_token"), bearerHeader(sdk), "", true)
				if got := str(d.JSON(t), "gateway"); got != want {
					t.Errorf("a session in %s goes to %q, want %s", cur, got, want)
				}
			}

			for _, c := range []struct {
				who          map[string]string
				method, path string
				body         string
				want         int
			}{
				{viewer, "GET", base + "/gateways", "", http.StatusOK},
				{viewer, "PUT", base + "/gateways/stripe", `{"default":false}`, http.StatusForbidden},
				{viewer, "DELETE", base + "/gateways/stripe", "", http.StatusForbidden},
				{map[string]string{"X-API-Key": keys.Secret}, "GET", base + "/gateways", "", http.StatusForbidden},
				{map[string]string{"X-API-Key": keys.Secret}, "PUT", base + "/gateways/stripe", `{"default":false}`, http.StatusForbidden},
				{stranger, "GET", base + "/gateways", "", http.StatusNotFound},
				{stranger, "DELETE", base + "/gateways/stripe", "", http.StatusNotFound},
				{auth, "PUT", base + "/gateways/paypal", `{"default":true}`, http.StatusBadRequest},
				{auth, "DELETE", base + "/gateways/paypal", "", http.StatusNotFound},
				{viewer, "POST", base + "/gateways/stripe/check", "", http.StatusForbidden},
				{map[string]string{"X-API-Key": keys.Secret}, "POST", base + "/gateways/stripe/check", "", http.StatusForbidden},
				{stranger, "POST", base + "/gateways/stripe/check", "", http.StatusNotFound},
				{auth, "POST", base + "/gateways/paypal/check", "", http.StatusNotFound},
			} {
				if r := s.Do(c.method, c.path, c.who, c.body, true); r.Status != c.want {
					t.Errorf("%s %s: %d, want %d: %s", c.method, c.path, r.Status, c.want, r.Body)
				}
			}

			if r := s.Do("DELETE", base+"/gateways/moyasar", auth, "", true); r.Status != http.StatusNoContent {
				t.Fatalf("delete: %d %s", r.Status, r.Body)
			}
			audit := s.Do("GET", "/api/merchant/v1/audit-logs?action=gateways.set", auth, "", true)
			if n := len(listed(t, audit)); n != 3 {
				t.Errorf("%d gateways.set entries, want 3: %s", n, audit.Body)
			}
			removed := s.Do("GET", "/api/merchant/v1/audit-logs?action=gateways.remove", auth, "", true)
			if n := len(listed(t, removed)); n != 1 {
				t.Errorf("%d gateways.remove entries, want 1", n)
			}
			after := s.Do("GET", base+"/gateways", auth, "", true)
			for _, secret := range []string{stripeSecret, moyasarSecret, hookSecret} {
				for _, r := range []response{put, list, after, audit, removed} {
					if strings.Contains(string(r.Body), secret) {
						t.Errorf("a gateway secret appears in an answer: %s", r.Body)
					}
				}
			}
		})
	}
}
