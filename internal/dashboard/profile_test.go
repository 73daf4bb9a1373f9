package dashboard

import (
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

// TestProfileRenders: the profile page in every language, with
// two-factor being set up (its QR code) and a token list, escapes a
// member's own strings.
func TestProfileRenders(t *testing.T) {
	h, err := New(Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PublicURL: "https://pay.example"})
	if err != nil {
		t.Fatal(err)
	}
	hostile := `<img src=x onerror=alert(1)>`
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	qr, err := newQRCode("otpauth://totp/sakk:o@example.com?secret=JBSWY3DPEHPK3PXP&issuer=sakk", "qr")
	if err != nil {
		t.Fatal(err)
	}
	d := profileData{Lifetimes: tokenLifetimes, Setup: &twoFactorSetup{Secret: "JBSWY3DPEHPK3PXP", QR: qr},
		Tokens: []tokenRow{{AccessToken: store.AccessToken{ID: "pat_1", Name: hostile, Prefix: "sakk_pat_ab", CreatedAt: now}, Active: true}}}
	for _, lang := range []string{"en", "fr", "ar"} {
		p := &page{User: pay.User{ID: "usr_1", Email: "o@example.com", Name: hostile, Role: pay.Viewer}, Env: pay.Sandbox,
			Lang: lang, Path: "/dashboard/profile", Nav: "profile", Data: d, texts: texts[lang]}
		rec := httptest.NewRecorder()
		h.render(rec, httptest.NewRequest("GET", p.Path, nil), http.StatusOK, "profile", p)
		body := rec.Body.String()
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", lang, rec.Code, body)
		}
		if strings.Contains(body, hostile) {
			t.Errorf("%s: a member's name is on the page unescaped", lang)
		}
		for _, want := range []string{`data-test="qr"`, "JBSWY3DPEHPK3PXP", `action="/dashboard/profile/tokens/pat_1/revoke"`, `value="365"`} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: the page lacks %s", lang, want)
			}
		}
	}
}
