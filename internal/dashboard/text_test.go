package dashboard

import (
	"fmt"
	"html"
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
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/routing"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/vault"
	"github.com/sakkhq/sakk/internal/webhook"
)

// TestTextRule posts and requests what a hostile browser sends the
// dashboard, on every engine: each is the error page with 400 naming the
// field, and the application, its products and the audit log are as they
// were.
func TestTextRule(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			ctx := t.Context()
			st := storetest.Open(t, engine)
			box, err := vault.New(vault.NewKey())
			if err != nil {
				t.Fatal(err)
			}
			ms := merchant.New(st, box, time.Now)
			team := account.New(st, box, time.Now, account.Options{Hashing: account.Hashing{Time: 1, Memory: 64, Threads: 1}})
			owner, err := team.CreateUser(ctx, account.NewUser{Email: "owner@shop.example", Password: "a long enough password", Role: pay.Owner, MerchantName: "Shop"}, account.CLI)
			if err != nil {
				t.Fatal(err)
			}
			created, err := ms.CreateApplication(ctx, merchant.NewApplication{Name: "Shop", MerchantID: owner.MerchantID, Environment: pay.Sandbox})
			if err != nil {
				t.Fatal(err)
			}
			h, err := New(Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Account: team, Merchant: ms, Store: st,
				Checkout: checkout.New(st, nil, time.Now, "http://sakk.test"),
				Webhooks: webhook.New(st, box, webhook.Options{}),
				Gateways: routing.New(st, box, nil, routing.Builtin(nil), time.Now)})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			h.Register(mux)
			s, err := team.Login(ctx, account.LoginRequest{Email: "owner@shop.example", Password: "a long enough password", IP: "192.0.2.1"}, "")
			if err != nil {
				t.Fatal(err)
			}
			app := Prefix + "/apps/" + created.Application.ID
			state := func() string { // what a refused request must leave as it was
				a, err := ms.Application(ctx, created.Application.ID)
				if err != nil {
					t.Fatal(err)
				}
				es, err := st.AuditEntries(ctx, store.AuditFilter{MerchantID: owner.MerchantID, Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				ps, err := st.Products(ctx, created.Application.ID)
				if err != nil {
					t.Fatal(err)
				}
				return fmt.Sprintf("%q %q %v; %d audit entries; %d products", a.Name, a.DisplayName, a.Currencies, len(es), len(ps))
			}
			cases := []struct {
				name, method, path string
				form               url.Values
				field              string
			}{
				{"settings display name NUL", "POST", app + "/settings", url.Values{"name": {"Shop"}, "display_name": {"Mug\x00Palace"}}, "display_name"},
				{"settings name invalid UTF-8", "POST", app + "/settings", url.Values{"name": {"Shop\xff"}}, "name"},
				{"product title C1", "POST", app + "/products", url.Values{"store_code": {"MUG"}, "title": {"Mug\u0085"}, "price": {"5.00"}}, "title"},
				{"product store code ESC", "POST", app + "/products", url.Values{"store_code": {"MUG\x1b[2J"}, "title": {"Mug"}, "price": {"5.00"}}, "store_code"},
				{"link item name NUL", "POST", app + "/links", url.Values{"item_name": {"Lamp\x00"}, "item_price": {"5.00"}, "item_quantity": {"1"}}, "item_name"},
				{"webhook url invalid UTF-8", "POST", app + "/webhooks", url.Values{"url": {"https://hooks.example.com/\xfe"}, "format": {"payment"}}, "url"},
				{"invite email CRLF", "POST", Prefix + "/team/invites", url.Values{"email": {"new@shop.example\r\nBcc: x@evil.example"}, "role": {"viewer"}}, "email"},
				{"new app name 2049 characters", "POST", Prefix + "/apps", url.Values{"name": {strings.Repeat("a", 2049)}}, "name"},
				{"form field name NUL", "POST", app + "/settings", url.Values{"name\x00": {"Shop"}}, "form"},
				{"login email NUL", "POST", Prefix + "/login", url.Values{"email": {"owner@shop.example\x00"}, "password": {"a long enough password"}}, "email"},
				{"payments query NUL", "GET", app + "/payments?q=%00", nil, "q"},
				{"audit query invalid UTF-8", "GET", Prefix + "/audit?action=%ff", nil, "action"},
				{"path NUL", "GET", Prefix + "/apps/%00/overview", nil, "path"},
				{"product path invalid UTF-8", "GET", app + "/products/MUG%ff", nil, "path"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					before := state()
					req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.AddCookie(&http.Cookie{Name: sessionCookie, Value: s.Cookie})
					rec := httptest.NewRecorder()
					mux.ServeHTTP(rec, req)
					body := html.UnescapeString(rec.Body.String())
					if rec.Code != http.StatusBadRequest || !strings.Contains(body, `data-test="error">`+c.field+": ") {
						t.Errorf("%d, want 400 naming %s:\n%.2000s", rec.Code, c.field, body)
					}
					if after := state(); after != before {
						t.Errorf("state changed: %s → %s", before, after)
					}
				})
			}
		})
	}
}
