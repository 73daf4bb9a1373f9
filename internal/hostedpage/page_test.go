package hostedpage_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/hostedpage"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/testserver"
	"github.com/sakkhq/sakk/internal/token"
)

const xssName = `<img src=x onerror=alert(1)>`

func TestPageRendersTheSession(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine)
			tok, sid := s.newSession("1799.00", []item{{ID: "X", Name: xssName, Price: "1799", Quantity: 1}}, nil)
			r := s.Page("GET", "/checkout/"+tok, nil, "")
			if r.Status != http.StatusOK {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			html := string(r.Body)
			csp := r.Header.Get("Content-Security-Policy")
			for _, want := range []string{"script-src 'self'", "default-src 'none'", "frame-ancestors *", "connect-src 'self'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("CSP %q allows inline code", csp)
			}
			if got := r.Header.Get("Referrer-Policy"); got != "no-referrer" {
				t.Errorf("Referrer-Policy %q", got)
			}
			if strings.Contains(html, xssName) {
				t.Errorf("the product name is not escaped")
			}
			if !strings.Contains(html, "&lt;img src=x onerror=alert(1)&gt;") {
				t.Errorf("the escaped product name is missing")
			}
			if !strings.Contains(html, "1,799.00\u00a0MAD") {
				t.Errorf("the total with the currency's decimals is missing")
			}
			if !strings.Contains(html, "Atlas Goods") {
				t.Errorf("the brand name is missing")
			}
			// No inline script: every <script> is the data block or has a src.
			for _, tag := range strings.Split(html, "<script")[1:] {
				if !strings.HasPrefix(tag, ` type="application/json"`) && !strings.HasPrefix(tag, ` src="/assets/v1/`) {
					t.Errorf("inline or foreign script: <script%s", tag[:min(len(tag), 60)])
				}
			}
			for _, dt := range []string{"identifier", "send-code", "code", "verify", "card-number", "card-expiry", "card-cvc", "pay", "result", "retry", "close"} {
				if !strings.Contains(html, `data-test="`+dt+`"`) {
					t.Errorf("no data-test=%q", dt)
				}
			}

			d := pageData(t, r.Body)
			if d["state"] != "pay" || d["sessionId"] != sid || d["sessionToken"] != tok {
				t.Errorf("page data: state %v, session %v", d["state"], d["sessionId"])
			}
			if d["verificationToken"] != nil {
				t.Errorf("a verification token for a customer who has not verified")
			}
			// The page's SDK token: frontend, bound to sakk's own origin, and
			// without backend permissions.
			c, err := s.Tokens.Verify(t.Context(), d["sdkToken"].(string), token.TypeSDK)
			if err != nil {
				t.Fatal(err)
			}
			if c.IntegrationType != "frontend" || c.Origin != s.URL || c.ApplicationID != s.App.Application.ID {
				t.Errorf("sdk token claims %+v", c)
			}
			if !slices.Contains(c.Permissions, "payment:send_otp") || slices.Contains(c.Permissions, "customer:create") {
				t.Errorf("sdk token permissions %v", c.Permissions)
			}
			if ttl := c.ExpiresAt.Sub(s.Clock.Now()); ttl > time.Hour || ttl < 50*time.Minute {
				t.Errorf("sdk token lives %v", ttl)
			}
			// It works for the API calls the page makes, from the page's origin.
			r = s.Do("GET", "/api/v1/checkout/session/"+tok, map[string]string{"Authorization": "Bearer " + d["sdkToken"].(string), "Origin": s.URL}, "", true)
			if r.Status != http.StatusOK {
				t.Errorf("session details with the page's token: %d %s", r.Status, r.Body)
			}
			methods := d["methods"].([]any)
			if !slices.Contains(methods, any("card")) || !slices.Contains(methods, any("paypal")) {
				t.Errorf("methods %v", methods)
			}
		})
	}
}

func TestPageLocale(t *testing.T) {
	s := newServer(t, storetest.Engines(t)[0])
	tok, _ := s.defaultSession(nil)
	for _, tc := range []struct {
		query, accept, lang, dir, word string
	}{
		{"", "", "en", "ltr", "Order summary"},
		{"", "fr-FR,fr;q=0.9,en;q=0.5", "fr", "ltr", "Récapitulatif de la commande"},
		{"?locale=ar", "fr-FR", "ar", "rtl", "ملخص الطلب"},
		{"?locale=xx", "de-DE,ar;q=0.8", "ar", "rtl", "ملخص الطلب"},
	} {
		r := s.Page("GET", "/checkout/"+tok+tc.query, map[string]string{"Accept-Language": tc.accept}, "")
		html := string(r.Body)
		if want := fmt.Sprintf(`<html lang="%s" dir="%s">`, tc.lang, tc.dir); !strings.Contains(html, want) {
			t.Errorf("%q %q: want %s", tc.query, tc.accept, want)
		}
		if !strings.Contains(html, tc.word) {
			t.Errorf("%q %q: no %q", tc.query, tc.accept, tc.word)
		}
	}
	r := s.Page("GET", "/checkout/"+tok+"?locale=fr", nil, "")
	if !strings.Contains(string(r.Body), "1\u202f899,00\u00a0MAD") {
		t.Errorf("French amount format missing")
	}
}

func TestPageClosedSessions(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine)

			expiredTok, expiredID := s.defaultSession(nil)
			s.setStatus(expiredID, pay.SessionInit, pay.SessionExpired)
			cancelledTok, cancelledID := s.defaultSession(nil)
			s.setStatus(cancelledID, pay.SessionInit, pay.SessionCancelled)
			for tok, want := range map[string]string{expiredTok: "expired", cancelledTok: "cancelled"} {
				r := s.Page("GET", "/checkout/"+tok, nil, "")
				d := pageData(t, r.Body)
				if r.Status != http.StatusOK || d["state"] != want || d["sdkToken"] != nil {
					t.Errorf("%s: status %d, state %v, sdk token minted: %v", want, r.Status, d["state"], d["sdkToken"] != nil)
				}
				if !strings.Contains(string(r.Body), `data-test="result" data-state="`+want+`"`) {
					t.Errorf("%s: result screen not rendered", want)
				}
			}

			// Past its expiry, before any job marked it: the token still
			// verifies within its leeway, and the session reads expired.
			openTok, _ := s.defaultSession(nil)
			s.Clock.Advance(checkout.SessionTTL + time.Second)
			if d := pageData(t, s.Page("GET", "/checkout/"+openTok, nil, "").Body); d["state"] != "expired" {
				t.Errorf("past expiry: state %v", d["state"])
			}
			// Long past: the token is refused, and the page still says why.
			s.Clock.Advance(time.Hour)
			r := s.Page("GET", "/checkout/"+openTok, nil, "")
			if d := pageData(t, r.Body); r.Status != http.StatusNotFound || d["state"] != "expired" {
				t.Errorf("expired token: %d, state %v", r.Status, d["state"])
			}
			// Garbage and tampered tokens are simply not valid.
			freshTok, _ := s.defaultSession(nil)
			for _, bad := range []string{"nope", freshTok[:len(freshTok)-4] + "AAAA", "a.b.c"} {
				r := s.Page("GET", "/checkout/"+bad, nil, "")
				if d := pageData(t, r.Body); r.Status != http.StatusNotFound || d["state"] != "invalid" {
					t.Errorf("%q: %d, state %v", bad, r.Status, d["state"])
				}
			}
		})
	}
}

// A customer the merchant's backend locked skips verification: the page
// carries a verification token that pays this session and no other.
func TestLockedCustomerGoesStraightToPayment(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine)
			open := func() (string, string) {
				var tok, id string
				_, err := s.Checkout.OpenSession(t.Context(), checkout.NewSession{
					ApplicationID: s.App.Application.ID, Environment: pay.Sandbox, Currency: "MAD",
					Total: money.New(5000, "MAD"), CustomerEmail: "Buyer@Example.com", CustomerLocked: true,
					Items: []pay.Item{{Reference: "1", Name: "Mug", UnitPrice: money.New(5000, "MAD"), Quantity: 1}},
				}, nil, func(o checkout.Opened) (checkout.Response, error) {
					tok, id = o.Token, o.Session.ID
					return checkout.Response{}, nil
				})
				if err != nil {
					t.Fatal(err)
				}
				return tok, id
			}
			tok, id := open()
			otherTok, _ := open()
			d := pageData(t, s.Page("GET", "/checkout/"+tok, nil, "").Body)
			vt, _ := d["verificationToken"].(string)
			if vt == "" || d["locked"] != true {
				t.Fatalf("no verification token for a locked customer: %v", d)
			}
			c, err := s.Tokens.Verify(t.Context(), vt, token.TypeVerification)
			if err != nil {
				t.Fatal(err)
			}
			if c.SessionID != id || c.Identifier != "buyer@example.com" || c.Channel != "email" {
				t.Errorf("verification claims %+v", c)
			}
			card := s.Do("POST", "/api/v1/sandbox/tokens", nil, `{"number":"4242424242424242","expMonth":12,"expYear":2040,"cvc":"123"}`, true).JSON(t)["token"].(string)
			pay := func(sessionToken string) testserver.Response {
				return s.Do("POST", "/api/v1/payments/process", map[string]string{"Authorization": "Bearer " + vt},
					fmt.Sprintf(`{"sessionToken":%q,"method":"card","gateway":"moyasar","methodPayload":{"tempPaymentToken":%q}}`, sessionToken, card), true)
			}
			if r := pay(otherTok); r.Status != http.StatusForbidden {
				t.Errorf("the token paid another session: %d %s", r.Status, r.Body)
			}
			if r := pay(tok); r.Status != http.StatusOK || r.JSON(t)["status"] != "completed" {
				t.Errorf("pay: %d %s", r.Status, r.Body)
			}
			// Paid: the page shows the result and mints nothing.
			d = pageData(t, s.Page("GET", "/checkout/"+tok, nil, "").Body)
			if d["state"] != "paid" || d["sdkToken"] != nil || d["verificationToken"] != nil || d["paymentId"] == nil {
				t.Errorf("after payment: %v", d)
			}
		})
	}
}

func TestAssetsAndSDK(t *testing.T) {
	s := newServer(t, storetest.Engines(t)[0])
	for path, ctype := range map[string]string{
		hostedpage.AssetsPath + "checkout.js":  "text/javascript",
		hostedpage.AssetsPath + "checkout.css": "text/css",
		hostedpage.SDKPath:                     "text/javascript",
	} {
		r := s.Page("GET", path, nil, "")
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), ctype) || len(r.Body) < 100 {
			t.Errorf("%s: %d %q", path, r.Status, r.Header.Get("Content-Type"))
			continue
		}
		etag := r.Header.Get("ETag")
		if r := s.Page("GET", path, map[string]string{"If-None-Match": etag}, ""); etag == "" || r.Status != http.StatusNotModified {
			t.Errorf("%s: revalidation with %q: %d", path, etag, r.Status)
		}
	}
	if r := s.Page("GET", hostedpage.AssetsPath+"nothing.js", nil, ""); r.Status != http.StatusNotFound {
		t.Errorf("unknown asset: %d", r.Status)
	}
	sdk := string(s.Page("GET", hostedpage.SDKPath, nil, "").Body)
	for _, want := range []string{"payment_flow_completed", "payment_flow_cancelled", "overlay_close", "popup_closed", "user_cancelled", "window.Sakk", "AlyaPay"} {
		if !strings.Contains(sdk, want) {
			t.Errorf("the SDK lacks %q", want)
		}
	}
}
