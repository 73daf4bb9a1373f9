package dashboard

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/gateway/stripe/stripetest"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/routing"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/vault"
	"github.com/sakkhq/sakk/internal/webhook"
)

// TestConfigWrites posts the configuration forms over a real SQLite store
// as an owner and as a viewer: the owner's writes land and are audited
// under the API's action names with no secret in the record, a secret is
// on the write's answer only, and the viewer is refused every write.
func TestConfigWrites(t *testing.T) {
	ctx := t.Context()
	st := storetest.Open(t, store.SQLite)
	box, err := vault.New(vault.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	ms := merchant.New(st, box, time.Now)
	team := account.New(st, box, time.Now, account.Options{})
	owner, err := team.CreateUser(ctx, account.NewUser{Email: "owner@shop.example", Password: "a long enough password", Role: pay.Owner, MerchantName: "Shop"}, account.CLI)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := team.CreateUser(ctx, account.NewUser{Email: "viewer@shop.example", Password: "a long enough password", Role: pay.Viewer, MerchantID: owner.MerchantID}, account.CLI); err != nil {
		t.Fatal(err)
	}
	created, err := ms.CreateApplication(ctx, merchant.NewApplication{Name: "Shop", MerchantID: owner.MerchantID, Environment: pay.Sandbox})
	if err != nil {
		t.Fatal(err)
	}
	appID := created.Application.ID
	deps := Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Account: team, Merchant: ms, Store: st,
		Checkout: checkout.New(st, nil, time.Now, "http://sakk.test"),
		Webhooks: webhook.New(st, box, webhook.Options{}),
		Gateways: routing.New(st, box, nil, routing.Builtin(nil), time.Now)}
	h, err := New(deps)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	cookie := func(email string) string {
		s, err := team.Login(ctx, account.LoginRequest{Email: email, Password: "a long enough password", IP: "192.0.2.1"}, "")
		if err != nil {
			t.Fatal(err)
		}
		return s.Cookie
	}
	ownerCookie, viewerCookie := cookie("owner@shop.example"), cookie("viewer@shop.example")
	do := func(c, method, path string, form url.Values) (int, string) {
		t.Helper()
		return serve(mux, c, method, path, form)
	}
	app := Prefix + "/apps/" + appID
	audited := func(action string) string {
		t.Helper()
		es, err := st.AuditEntries(ctx, store.AuditFilter{MerchantID: owner.MerchantID, Action: action, Limit: 5})
		if err != nil || len(es) == 0 {
			t.Fatalf("no %s audit entry (%v)", action, err)
		}
		return es[0].Changes
	}

	code, body := do(ownerCookie, "POST", app+"/settings", url.Values{"name": {"Shop"}, "display_name": {"Mug Palace"},
		"primary_color": {"#AA3300"}, "currencies": {"eur, usd"}})
	if code != http.StatusOK || !strings.Contains(body, `data-color="#aa3300"`) {
		t.Errorf("save settings: %d", code)
	}
	if a, _ := ms.Application(ctx, appID); a.DisplayName != "Mug Palace" || len(a.Currencies) != 2 {
		t.Errorf("after saving: %+v", a)
	}
	if ch := audited("apps.update"); !strings.Contains(ch, "Mug Palace") {
		t.Errorf("apps.update records %s", ch)
	}

	code, body = do(ownerCookie, "POST", app+"/keys/rotate", nil)
	i := strings.Index(body, "sk_test_")
	secret := ""
	if i >= 0 {
		secret = body[i : i+len("sk_test_")+32]
	}
	if code != http.StatusOK || !strings.Contains(body, `data-test="shown-once"`) || secret == "" {
		t.Fatalf("rotate: %d, secret %q", code, secret)
	}
	if _, err := ms.Authenticate(ctx, secret, pay.SecretKey); err != nil {
		t.Errorf("the shown secret does not authenticate: %v", err)
	}
	if ch := audited("keys.rotate"); strings.Contains(ch, secret) {
		t.Error("keys.rotate records the secret")
	}
	if _, body = do(ownerCookie, "GET", app+"/settings", nil); strings.Contains(body, secret) {
		t.Error("the settings page shows the rotated secret again")
	}

	code, body = do(ownerCookie, "POST", app+"/webhooks", url.Values{"url": {"http://127.0.0.1:9/hook"}, "format": {"payment"}})
	if code != http.StatusCreated || !strings.Contains(body, "whsec_") {
		t.Errorf("add endpoint: %d", code)
	}
	if ch := audited("webhook_endpoints.create"); strings.Contains(ch, "whsec_") {
		t.Error("webhook_endpoints.create records the secret")
	}

	const stripeSecret = "sk_test_NeverShownBack0000000001"
	code, _ = do(ownerCookie, "POST", app+"/gateways/stripe", url.Values{"s_secretKey": {stripeSecret}, "s_publishableKey": {"pk_test_Public"}})
	if code != http.StatusOK {
		t.Errorf("set stripe: %d", code)
	}
	if _, body = do(ownerCookie, "GET", app+"/gateways", nil); strings.Contains(body, stripeSecret) || !strings.Contains(body, "pk_test_Public") {
		t.Error("the gateways page echoes the secret or lacks the public key")
	}
	if ch := audited("gateways.set"); strings.Contains(ch, stripeSecret) {
		t.Error("gateways.set records the secret")
	}

	t.Run("test connection", func(t *testing.T) {
		// The same pages, with the gateways at Stripe's own mock: the
		// stored test key is accepted.
		d := deps
		d.Gateways = routing.New(st, box, nil, routing.Builtin(routing.BaseURLs{"stripe": stripetest.MockURL(t)}), time.Now)
		h, err := New(d)
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		h.Register(mux)
		code, body := serve(mux, ownerCookie, "POST", app+"/gateways/stripe/check", nil)
		if code != http.StatusOK || !strings.Contains(body, "accepted the credentials") {
			t.Errorf("test connection: %d, no success notice", code)
		}
		if code, _ := serve(mux, ownerCookie, "POST", app+"/gateways/paypal/check", nil); code != http.StatusNotFound {
			t.Errorf("test connection of a gateway not set up: %d, want 404", code)
		}
		if code, _ := serve(mux, viewerCookie, "POST", app+"/gateways/stripe/check", nil); code != http.StatusForbidden {
			t.Errorf("a viewer's test connection: %d, want 403", code)
		}
	})

	for _, path := range []string{"/settings", "/keys/rotate", "/keys", "/domains", "/gateways/stripe", "/webhooks"} {
		if code, _ := do(viewerCookie, "POST", app+path, url.Values{"name": {"Hacked"}}); code != http.StatusForbidden {
			t.Errorf("a viewer's POST %s answers %d, want 403", path, code)
		}
	}
	for _, path := range []string{"/settings", "/gateways", "/webhooks"} {
		if code, _ := do(viewerCookie, "GET", app+path, nil); code != http.StatusOK {
			t.Errorf("a viewer's GET %s answers %d", path, code)
		}
	}
}

// serve posts form (or gets, with none) to mux as the member of cookie,
// and returns the status and the page.
func serve(mux *http.ServeMux, cookie, method, path string, form url.Values) (int, string) {
	req := httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}
