package dashboard

import (
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// TestConfigPagesRender renders the settings, gateways and webhooks pages
// in every language from fixed data: each page's own words are in the
// page's language, merchant-supplied text is escaped, a secret appears
// only when the write that made it is answered, and live pages ask before
// a write.
func TestConfigPagesRender(t *testing.T) {
	h, err := New(Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	app := pay.Application{ID: "app_1", Name: "Shop", DisplayName: `<b>Mug & Co</b>`, PrimaryColor: "#112233",
		BrandLogo: "https://cdn.example.com/logo.png"}
	key := pay.APIKey{ID: "key_1", Kind: pay.SecretKey, Prefix: "sk_test_AbCd", CreatedAt: at}
	dom := pay.Domain{Domain: "shop.example.com", VerificationToken: "tok123", CreatedAt: at}
	settings := settingsData{Keys: []keyRow{{Key: key, Active: true}}, Domains: []domainRow{{Domain: dom, Proof: dom.Verification()}}}
	gws := gatewaysData{Forms: []gatewayForm{{Name: "stripe", Configured: true, Fields: []gatewayField{
		{Name: "secretKey", Required: true, Set: true, Secret: true}, {Name: "publishableKey", Public: true, Required: true, Value: "pk_test_visible"}}}}}
	hooks := webhooksData{
		Endpoints: []pay.WebhookEndpoint{{ID: "whe_1", URL: "https://hooks.example.com/x", Format: pay.WebhookPayment, Enabled: true}},
		Deliveries: []deliveryRow{{D: store.WebhookDelivery{ID: "whd_1", EventType: "test", Status: store.DeliveryDelivered, CreatedAt: at},
			Request: `{"type":"test"}`, Last: &store.WebhookAttempt{StatusCode: 204, Latency: 12 * time.Millisecond, ResponseExcerpt: "ok"}}}}
	for _, lang := range []string{"en", "fr", "ar"} {
		for _, tc := range []struct {
			page, nav string
			data      any
			want      []string // besides the page's title
		}{
			{"settings", "settings", settings, []string{"sk_test_AbCd…", "_sakk-challenge.shop.example.com", "#112233", "&lt;b&gt;Mug &amp; Co&lt;/b&gt;", texts[lang]["verify_now"], texts[lang]["rotate_key"]}},
			{"gateways", "gateways", gws, []string{"pk_test_visible", texts[lang]["gw_set"], texts[lang]["gw_check"], "/gateways/stripe/check"}},
			{"webhooks", "webhooks", hooks, []string{"https://hooks.example.com/x", "HTTP 204", "12", texts[lang]["send_test"], texts[lang]["resend"]}},
		} {
			for _, env := range []pay.Environment{pay.Sandbox, pay.Live} {
				p := &page{Lang: lang, Dir: map[bool]string{true: "rtl", false: "ltr"}[lang == "ar"], Env: env, texts: texts[lang],
					User: pay.User{ID: "usr_1", Role: pay.Owner}, App: app, Apps: []pay.Application{app}, Nav: tc.nav, Data: tc.data,
					Title: texts[lang]["nav_"+tc.nav]}
				rec := httptest.NewRecorder()
				h.render(rec, httptest.NewRequest("GET", "/dashboard/apps/app_1/"+tc.page, nil), http.StatusOK, tc.page, p)
				body := rec.Body.String()
				if rec.Code != http.StatusOK {
					t.Fatalf("%s %s: status %d: %s", lang, tc.page, rec.Code, body)
				}
				for _, w := range append(tc.want, texts[lang]["nav_gateways"], `dir="`+p.Dir+`"`) {
					if !strings.Contains(body, w) && !strings.Contains(body, template.HTMLEscapeString(w)) {
						t.Errorf("%s %s %s lacks %q", lang, tc.page, env, w)
					}
				}
				if strings.Contains(body, "<b>Mug") || strings.Contains(body, "style=") || strings.Contains(body, "<script>") {
					t.Errorf("%s %s: unescaped merchant text, a style attribute or inline script", lang, tc.page)
				}
				if strings.Contains(body, `data-test="shown-once"`) {
					t.Errorf("%s %s shows a one-time secret on a plain read", lang, tc.page)
				}
				live := strings.Contains(body, template.HTMLEscapeString(texts[lang]["live_confirm"]))
				if live != (env == pay.Live) {
					t.Errorf("%s %s %s: live confirmation present=%v", lang, tc.page, env, live)
				}
			}
		}
	}
	// The answer to a rotation carries the new secret, once.
	p := &page{Lang: "en", Dir: "ltr", Env: pay.Sandbox, texts: texts["en"], User: pay.User{ID: "usr_1", Role: pay.Owner}, App: app,
		Data: settingsData{Secrets: []oneTime{{Label: "Secret key", Value: "sk_test_NEWSECRET"}}}}
	rec := httptest.NewRecorder()
	h.render(rec, httptest.NewRequest("POST", "/dashboard/apps/app_1/keys/rotate", nil), http.StatusOK, "settings", p)
	if n := strings.Count(rec.Body.String(), "sk_test_NEWSECRET"); n != 1 {
		t.Errorf("the rotated secret appears %d times, want 1", n)
	}
	// A viewer reads but is offered no write.
	p = &page{Lang: "en", Dir: "ltr", Env: pay.Sandbox, texts: texts["en"], User: pay.User{ID: "usr_2", Role: pay.Viewer}, App: app, Data: hooks}
	rec = httptest.NewRecorder()
	h.render(rec, httptest.NewRequest("GET", "/dashboard/apps/app_1/webhooks", nil), http.StatusOK, "webhooks", p)
	if strings.Contains(rec.Body.String(), `method="post" action="/dashboard/apps/app_1/webhooks`) {
		t.Error("a viewer is offered a webhook write")
	}
}
