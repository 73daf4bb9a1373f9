package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/otp"
	"github.com/sakkhq/sakk/internal/otp/smtpsink"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

const testPassword = "correct horse battery"

// member creates a user of a merchant (a new one when merchantID is "")
// with role, and returns it.
func (s *server) member(t testing.TB, email string, role pay.Role, merchantID string) pay.User {
	t.Helper()
	req := account.NewUser{Email: email, Name: "Test " + string(role), Password: testPassword, Role: role, MerchantID: merchantID}
	if merchantID == "" {
		req.MerchantName = "Merchant of " + email
	}
	u, err := s.team.CreateUser(t.Context(), req, account.CLI)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// login signs in and returns the session cookie's value.
func (s *server) login(t testing.TB, email, password string) string {
	t.Helper()
	r := s.do("POST", "/api/merchant/v1/auth/login", nil, `{"email":`+jsonQuote(email)+`,"password":`+jsonQuote(password)+`}`, true)
	if r.status != http.StatusOK {
		t.Fatalf("login %s: %d %s", email, r.status, r.body)
	}
	return sessionCookieOf(t, r)
}

func sessionCookieOf(t testing.TB, r response) string {
	t.Helper()
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "sakk_session" {
			return c.Value
		}
	}
	t.Fatalf("no session cookie in %v", r.header)
	return ""
}

func cookieHeader(v string) map[string]string {
	return map[string]string{"Cookie": "sakk_session=" + v}
}

// pat signs in as email and returns a personal access token's header.
func (s *server) pat(t testing.TB, email, password string) map[string]string {
	t.Helper()
	r := s.do("POST", "/api/merchant/v1/me/tokens", cookieHeader(s.login(t, email, password)), `{"name":"test script"}`, true)
	if r.status != http.StatusCreated {
		t.Fatalf("create token: %d %s", r.status, r.body)
	}
	return bearerHeader(str(r.json(t), "token"))
}

func TestSignIn(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			u := s.member(t, "Owner@Shop.example", pay.Owner, "")
			if u.Email != "owner@shop.example" {
				t.Errorf("email stored as %q, want lower case", u.Email)
			}

			// A wrong password and an unknown email: one answer.
			wrong := s.do("POST", "/api/merchant/v1/auth/login", nil, `{"email":"owner@shop.example","password":"not the password"}`, true)
			unknown := s.do("POST", "/api/merchant/v1/auth/login", nil, `{"email":"nobody@shop.example","password":"not the password"}`, true)
			if wrong.status != 401 || unknown.status != 401 || string(wrong.body) != string(unknown.body) {
				t.Errorf("wrong password = %d %s; unknown email = %d %s; want the same 401", wrong.status, wrong.body, unknown.status, unknown.body)
			}
			if code := wrong.errorCode(t); code != "invalid_credentials" {
				t.Errorf("code %q, want invalid_credentials", code)
			}

			r := s.do("POST", "/api/merchant/v1/auth/login", nil, `{"email":"OWNER@shop.example","password":"`+testPassword+`"}`, true)
			if r.status != 200 {
				t.Fatalf("login: %d %s", r.status, r.body)
			}
			user, _ := r.json(t)["user"].(map[string]any)
			if str(user, "id") != u.ID || str(user, "role") != "owner" || str(user, "merchantId") != u.MerchantID {
				t.Errorf("login user = %v", user)
			}
			setCookie := r.header.Get("Set-Cookie")
			for _, want := range []string{"sakk_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
				if !strings.Contains(setCookie, want) {
					t.Errorf("Set-Cookie %q lacks %s", setCookie, want)
				}
			}
			if strings.Contains(setCookie, "Secure") {
				t.Errorf("Set-Cookie %q is Secure on an http public URL", setCookie)
			}
			cookie := sessionCookieOf(t, r)
			me := s.do("GET", "/api/merchant/v1/me", cookieHeader(cookie), "", true)
			if me.status != 200 || !strings.Contains(string(me.body), u.Email) {
				t.Fatalf("/me = %d %s", me.status, me.body)
			}

			// Signing in again rotates the session: the old cookie ends.
			r = s.do("POST", "/api/merchant/v1/auth/login", cookieHeader(cookie), `{"email":"owner@shop.example","password":"`+testPassword+`"}`, true)
			second := sessionCookieOf(t, r)
			if second == cookie {
				t.Error("the session id survived a sign-in")
			}
			if r := s.do("GET", "/api/merchant/v1/me", cookieHeader(cookie), "", true); r.status != 401 {
				t.Errorf("/me with the cookie from before the second sign-in = %d, want 401", r.status)
			}

			// Cross-origin writes with the cookie are refused; same-origin pass.
			evil := cookieHeader(second)
			evil["Origin"], evil["Sec-Fetch-Site"] = "https://evil.example", "cross-site"
			if r := s.do("POST", "/api/merchant/v1/me/tokens", evil, `{"name":"stolen"}`, true); r.status != 403 {
				t.Errorf("cross-origin token creation = %d %s, want 403", r.status, r.body)
			}
			same := cookieHeader(second)
			same["Sec-Fetch-Site"] = "same-origin"
			if r := s.do("POST", "/api/merchant/v1/me/tokens", same, `{"name":"mine"}`, true); r.status != 201 {
				t.Errorf("same-origin token creation = %d %s, want 201", r.status, r.body)
			}

			if r := s.do("POST", "/api/merchant/v1/auth/logout", cookieHeader(second), "", true); r.status != 204 {
				t.Errorf("logout = %d", r.status)
			}
			if r := s.do("GET", "/api/merchant/v1/me", cookieHeader(second), "", true); r.status != 401 {
				t.Errorf("/me after logout = %d, want 401", r.status)
			}
			if r := s.do("GET", "/api/merchant/v1/me", nil, "", true); r.status != 401 || r.errorCode(t) != "unauthenticated" {
				t.Errorf("/me without a cookie = %d %s", r.status, r.body)
			}
		})
	}
}

func TestSignInThrottled(t *testing.T) {
	s := newServer(t, storetest.Engines(t)[len(storetest.Engines(t))-1], serverOptions{})
	s.member(t, "owner@shop.example", pay.Owner, "")
	bad := `{"email":"owner@shop.example","password":"guess guess guess"}`
	for i := range 5 {
		if r := s.do("POST", "/api/merchant/v1/auth/login", nil, bad, true); r.status != 401 {
			t.Fatalf("failure %d = %d %s", i+1, r.status, r.body)
		}
	}
	// Refused now, even with the right password.
	r := s.do("POST", "/api/merchant/v1/auth/login", nil, `{"email":"owner@shop.example","password":"`+testPassword+`"}`, true)
	if r.status != 429 || r.errorCode(t) != "too_many_attempts" {
		t.Fatalf("after 5 failures = %d %s, want 429 too_many_attempts", r.status, r.body)
	}
	// The window passes.
	s.clock.Advance(16 * time.Minute)
	s.login(t, "owner@shop.example", testPassword)

	// Per address: failures on many accounts from one address.
	for i := range 20 {
		email := jsonQuote("someone" + string(rune('a'+i)) + "@shop.example")
		if r := s.do("POST", "/api/merchant/v1/auth/login", nil, `{"email":`+email+`,"password":"guess guess guess"}`, true); r.status != 401 {
			t.Fatalf("address failure %d = %d", i+1, r.status)
		}
	}
	if r := s.do("POST", "/api/merchant/v1/auth/login", nil, `{"email":"owner@shop.example","password":"`+testPassword+`"}`, true); r.status != 429 {
		t.Errorf("after 20 failures from one address = %d, want 429", r.status)
	}
}

func TestSessionExpiresAndTokensRevoke(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			s.member(t, "owner@shop.example", pay.Owner, "")
			cookie := s.login(t, "owner@shop.example", testPassword)

			// Used every 11 hours, a session lives until its absolute end.
			for range 15 {
				s.clock.Advance(11 * time.Hour)
				if r := s.do("GET", "/api/merchant/v1/me", cookieHeader(cookie), "", true); r.status != 200 {
					t.Fatalf("/me after %v = %d", 11*time.Hour, r.status)
				}
			}
			s.clock.Advance(11 * time.Hour) // 176 h > 7 days
			if r := s.do("GET", "/api/merchant/v1/me", cookieHeader(cookie), "", true); r.status != 401 {
				t.Errorf("/me past the absolute end = %d, want 401", r.status)
			}
			// Idle for 12 hours ends it.
			cookie = s.login(t, "owner@shop.example", testPassword)
			s.clock.Advance(12*time.Hour + time.Second)
			if r := s.do("GET", "/api/merchant/v1/me", cookieHeader(cookie), "", true); r.status != 401 {
				t.Errorf("/me after 12 h idle = %d, want 401", r.status)
			}

			// Tokens: shown once, never listed, revocable, expiring.
			cookie = s.login(t, "owner@shop.example", testPassword)
			r := s.do("POST", "/api/merchant/v1/me/tokens", cookieHeader(cookie), `{"name":"ci","expiresIn":"1h"}`, true)
			if r.status != 201 {
				t.Fatalf("create token: %d %s", r.status, r.body)
			}
			tok := r.json(t)
			text := str(tok, "token")
			if !strings.HasPrefix(text, "sakk_pat_") {
				t.Fatalf("token %q", text)
			}
			if r := s.do("GET", "/api/merchant/v1/apps", bearerHeader(text), "", true); r.status != 200 {
				t.Errorf("apps with the token = %d %s", r.status, r.body)
			}
			if r := s.do("GET", "/api/merchant/v1/me/tokens", bearerHeader(text), "", true); strings.Contains(string(r.body), text) || !strings.Contains(string(r.body), str(tok, "id")) {
				t.Errorf("token list shows the secret or misses the token: %s", r.body)
			}
			s.clock.Advance(time.Hour)
			if r := s.do("GET", "/api/merchant/v1/apps", bearerHeader(text), "", true); r.status != 401 {
				t.Errorf("an expired token = %d, want 401", r.status)
			}
			r = s.do("POST", "/api/merchant/v1/me/tokens", cookieHeader(cookie), `{"name":"other"}`, true)
			other := r.json(t)
			if r := s.do("DELETE", "/api/merchant/v1/me/tokens/"+str(other, "id"), cookieHeader(cookie), "", true); r.status != 204 {
				t.Fatalf("revoke = %d %s", r.status, r.body)
			}
			if r := s.do("GET", "/api/merchant/v1/apps", bearerHeader(str(other, "token")), "", true); r.status != 401 {
				t.Errorf("a revoked token = %d, want 401", r.status)
			}
			if r := s.do("GET", "/api/merchant/v1/apps", bearerHeader("sakk_pat_forged"), "", true); r.status != 401 {
				t.Errorf("a forged token = %d, want 401", r.status)
			}
		})
	}
}

func TestTwoFactor(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			s.member(t, "owner@shop.example", pay.Owner, "")
			h := cookieHeader(s.login(t, "owner@shop.example", testPassword))
			r := s.do("POST", "/api/merchant/v1/auth/2fa/setup", h, "", true)
			if r.status != 200 {
				t.Fatalf("setup: %d %s", r.status, r.body)
			}
			setup := r.json(t)
			secret := str(setup, "secret")
			if !strings.HasPrefix(str(setup, "otpauthUrl"), "otpauth://totp/") {
				t.Errorf("otpauthUrl %q", str(setup, "otpauthUrl"))
			}
			code := func() string {
				c, err := totp.GenerateCode(secret, s.clock.Now())
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			if r := s.do("POST", "/api/merchant/v1/auth/2fa/enable", h, `{"code":"000000"}`, true); r.status != 400 {
				t.Errorf("enable with a wrong code = %d", r.status)
			}
			r = s.do("POST", "/api/merchant/v1/auth/2fa/enable", h, `{"code":"`+code()+`"}`, true)
			if r.status != 200 {
				t.Fatalf("enable: %d %s", r.status, r.body)
			}
			backup, _ := r.json(t)["backupCodes"].([]any)
			if len(backup) != 10 {
				t.Fatalf("backup codes %v", backup)
			}

			login := func(code string) response {
				body := `{"email":"owner@shop.example","password":"` + testPassword + `"`
				if code != "" {
					body += `,"code":"` + code + `"`
				}
				return s.do("POST", "/api/merchant/v1/auth/login", nil, body+"}", true)
			}
			if r := login(""); r.status != 401 || r.errorCode(t) != "two_factor_required" {
				t.Errorf("login without a code = %d %s, want 401 two_factor_required", r.status, r.body)
			}
			// The code used to enable is spent: the next step's is needed.
			s.clock.Advance(30 * time.Second)
			current := code()
			if r := login(current); r.status != 200 {
				t.Errorf("login with the code = %d %s", r.status, r.body)
			}
			if r := login(current); r.status != 401 || r.errorCode(t) != "invalid_two_factor_code" {
				t.Errorf("the same code again = %d %s, want 401 invalid_two_factor_code", r.status, r.body)
			}
			b := backup[0].(string)
			if r := login(strings.ToUpper(b)); r.status != 200 {
				t.Errorf("login with a backup code = %d %s", r.status, r.body)
			}
			if r := login(b); r.status != 401 {
				t.Errorf("a backup code twice = %d, want 401", r.status)
			}
			h = cookieHeader(sessionCookieOf(t, login(backup[1].(string))))
			if r := s.do("POST", "/api/merchant/v1/auth/2fa/disable", h, `{"code":"`+backup[1].(string)+`"}`, true); r.status != 400 {
				t.Errorf("disable with a used backup code = %d, want 400", r.status)
			}
			if r := s.do("POST", "/api/merchant/v1/auth/2fa/disable", h, `{"code":"`+backup[2].(string)+`"}`, true); r.status != 204 {
				t.Errorf("disable = %d %s", r.status, r.body)
			}
			if r := login(""); r.status != 200 {
				t.Errorf("login after disabling = %d", r.status)
			}
		})
	}
}

var tokenInMail = regexp.MustCompile(`token=([A-Za-z0-9_%-]+)`)

func TestInvitesAndPasswordReset(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			sink := smtpsink.Start(t)
			mailer, err := otp.NewSMTPSender(otp.SMTPConfig{Host: "127.0.0.1", Port: sink.Port, From: "sakk <no-reply@sakk.test>", StartTLS: otp.StartTLSOff})
			if err != nil {
				t.Fatal(err)
			}
			s := newServer(t, engine, serverOptions{mailer: mailer})
			owner := s.member(t, "owner@shop.example", pay.Owner, "")
			h := s.pat(t, "owner@shop.example", testPassword)

			r := s.do("POST", "/api/merchant/v1/team/invites", h, `{"email":"Viewer@Shop.example","role":"viewer"}`, true)
			if r.status != 201 {
				t.Fatalf("invite: %d %s", r.status, r.body)
			}
			to, text := sink.Message(t, 1)
			m := tokenInMail.FindStringSubmatch(text)
			if !strings.Contains(to, "viewer@shop.example") || m == nil {
				t.Fatalf("invite mail to %q:\n%s", to, text)
			}
			inviteToken := strings.ReplaceAll(m[1], "%3D", "=")
			accept := `{"token":"` + inviteToken + `","name":"Vi Ewer","password":"another long password"}`
			r = s.do("POST", "/api/merchant/v1/auth/invites/accept", nil, accept, true)
			if r.status != 201 {
				t.Fatalf("accept: %d %s", r.status, r.body)
			}
			user, _ := r.json(t)["user"].(map[string]any)
			if str(user, "role") != "viewer" || str(user, "merchantId") != owner.MerchantID {
				t.Errorf("accepted member %v", user)
			}
			if r := s.do("POST", "/api/merchant/v1/auth/invites/accept", nil, accept, true); r.status != 400 || r.errorCode(t) != "invalid_token" {
				t.Errorf("accepting twice = %d %s, want 400 invalid_token", r.status, r.body)
			}

			// An invite not accepted within 7 days is dead.
			if r := s.do("POST", "/api/merchant/v1/team/invites", h, `{"email":"late@shop.example","role":"support"}`, true); r.status != 201 {
				t.Fatalf("invite: %d %s", r.status, r.body)
			}
			_, text = sink.Message(t, 2)
			late := strings.ReplaceAll(tokenInMail.FindStringSubmatch(text)[1], "%3D", "=")
			s.clock.Advance(7*24*time.Hour + time.Minute)
			if r := s.do("POST", "/api/merchant/v1/auth/invites/accept", nil, `{"token":"`+late+`","name":"Late","password":"another long password"}`, true); r.status != 400 {
				t.Errorf("an expired invite = %d, want 400", r.status)
			}

			// A viewer reads, and is refused writes.
			vh := s.pat(t, "viewer@shop.example", "another long password")
			if r := s.do("GET", "/api/merchant/v1/team/members", vh, "", true); r.status != 200 || !strings.Contains(string(r.body), "viewer@shop.example") {
				t.Errorf("members as viewer = %d %s", r.status, r.body)
			}
			if r := s.do("POST", "/api/merchant/v1/team/invites", vh, `{"email":"x@shop.example","role":"admin"}`, true); r.status != 403 || r.errorCode(t) != "forbidden" {
				t.Errorf("invite as viewer = %d %s, want 403 forbidden", r.status, r.body)
			}

			// Password reset: always 202; the mailed link works once.
			if r := s.do("POST", "/api/merchant/v1/auth/password/forgot", nil, `{"email":"nobody@shop.example"}`, true); r.status != 202 {
				t.Errorf("forgot for an unknown email = %d", r.status)
			}
			if r := s.do("POST", "/api/merchant/v1/auth/password/forgot", nil, `{"email":"owner@shop.example"}`, true); r.status != 202 {
				t.Errorf("forgot = %d", r.status)
			}
			_, text = sink.Message(t, 3) // the unknown email got none
			reset := strings.ReplaceAll(tokenInMail.FindStringSubmatch(text)[1], "%3D", "=")
			old := s.login(t, "owner@shop.example", testPassword)
			if r := s.do("POST", "/api/merchant/v1/auth/password/reset", nil, `{"token":"`+reset+`","password":"short"}`, false); r.status != 400 || r.errorCode(t) != "weak_password" {
				t.Errorf("reset to a short password = %d %s", r.status, r.body)
			}
			// The refused attempt spent nothing: a typo does not burn the link.
			if r := s.do("POST", "/api/merchant/v1/auth/password/reset", nil, `{"token":"`+reset+`","password":"a brand new password"}`, true); r.status != 204 {
				t.Fatalf("reset = %d %s", r.status, r.body)
			}
			if r := s.do("POST", "/api/merchant/v1/auth/password/reset", nil, `{"token":"`+reset+`","password":"yet another password"}`, true); r.status != 400 {
				t.Errorf("the reset link twice = %d, want 400", r.status)
			}
			if r := s.do("GET", "/api/merchant/v1/me", cookieHeader(old), "", true); r.status != 401 {
				t.Errorf("a session from before the reset = %d, want 401", r.status)
			}
			s.login(t, "owner@shop.example", "a brand new password")
		})
	}
}

func TestApplicationsAndKeys(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			s.member(t, "owner@shop.example", pay.Owner, "")
			h := s.pat(t, "owner@shop.example", testPassword)

			r := s.do("POST", "/api/merchant/v1/apps", h, `{"name":"Atlas","currencies":["USD","KWD"],"rateLimit":50}`, true)
			if r.status != 201 {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			app := r.json(t)
			id := str(app, "id")
			keys, _ := app["keys"].(map[string]any)
			secret := str(keys, "secretKey")
			if !strings.HasPrefix(secret, "sk_test_") || !strings.HasPrefix(str(keys, "clientToken"), "tk_test_") {
				t.Fatalf("keys %v", keys)
			}
			if got := r.json(t)["currencies"]; len(got.([]any)) != 3 {
				t.Errorf("currencies %v, want MAD, USD, KWD", got)
			}
			// The secret is shown once: no read shows it again.
			for _, path := range []string{"/api/merchant/v1/apps", "/api/merchant/v1/apps/" + id, "/api/merchant/v1/apps/" + id + "/keys", "/api/merchant/v1/audit-logs"} {
				if r := s.do("GET", path, h, "", true); r.status != 200 || strings.Contains(string(r.body), secret) {
					t.Errorf("GET %s = %d, shows the secret: %t", path, r.status, strings.Contains(string(r.body), secret))
				}
			}
			// The key works on the Checkout API.
			if r := s.do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": secret}, seedBody, true); r.status != 200 {
				t.Fatalf("session with the new key: %d %s", r.status, r.body)
			}

			// Branding reaches the hosted page.
			r = s.do("PATCH", "/api/merchant/v1/apps/"+id, h, `{"branding":{"displayName":"Atlas Boutique","primaryColor":"#1A2B3C"}}`, true)
			if r.status != 200 || !strings.Contains(string(r.body), `"displayName":"Atlas Boutique"`) || !strings.Contains(string(r.body), `"#1a2b3c"`) {
				t.Fatalf("patch: %d %s", r.status, r.body)
			}
			if r := s.do("PATCH", "/api/merchant/v1/apps/"+id, h, `{"primaryColor":"red"}`, true); r.status != 400 || r.errorCode(t) != "invalid_primary_color" {
				t.Errorf("patch a bad colour = %d %s", r.status, r.body)
			}
			if r := s.do("PATCH", "/api/merchant/v1/apps/"+id, h, `{"nmae":"typo"}`, false); r.status != 400 {
				t.Errorf("patch with an unknown field = %d", r.status)
			}
			r = s.do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": secret}, seedBody, true)
			page, err := http.Get(s.url + "/checkout/" + str(r.json(t), "session_token"))
			if err != nil {
				t.Fatal(err)
			}
			html, _ := io.ReadAll(page.Body)
			page.Body.Close()
			if !strings.Contains(string(html), "Atlas Boutique") {
				t.Error("the hosted page does not show the display name")
			}

			// Rotation: the new secret once, the old one through its grace.
			r = s.do("POST", "/api/merchant/v1/apps/"+id+"/keys/rotate", h, `{"environment":"sandbox","grace":3600}`, true)
			if r.status != 200 {
				t.Fatalf("rotate: %d %s", r.status, r.body)
			}
			newSecret := str(r.json(t), "secretKey")
			for _, k := range []string{secret, newSecret} {
				if r := s.do("GET", "/api/merchant/v1/payments", map[string]string{"X-API-Key": k}, "", true); r.status != 200 {
					t.Errorf("a key during the grace = %d", r.status)
				}
			}
			s.clock.Advance(time.Hour + time.Second)
			if r := s.do("GET", "/api/merchant/v1/payments", map[string]string{"X-API-Key": secret}, "", true); r.status != 401 {
				t.Errorf("the old key after its grace = %d, want 401", r.status)
			}

			// Revocation is at once.
			r = s.do("GET", "/api/merchant/v1/apps/"+id+"/keys", h, "", true)
			var secretKeyID string
			for _, k := range r.json(t)["data"].([]any) {
				k := k.(map[string]any)
				if str(k, "kind") == "secret" && strings.HasPrefix(newSecret, str(k, "prefix")) {
					secretKeyID = str(k, "id")
				}
			}
			if r := s.do("POST", "/api/merchant/v1/apps/"+id+"/keys/"+secretKeyID+"/revoke", h, "", true); r.status != 200 {
				t.Fatalf("revoke: %d %s", r.status, r.body)
			}
			if r := s.do("GET", "/api/merchant/v1/payments", map[string]string{"X-API-Key": newSecret}, "", true); r.status != 401 {
				t.Errorf("a revoked key = %d, want 401", r.status)
			}

			// Each write is in the audit log, with what changed.
			r = s.do("GET", "/api/merchant/v1/audit-logs?action=apps.", h, "", true)
			var actions []string
			for _, e := range r.json(t)["data"].([]any) {
				e := e.(map[string]any)
				actions = append(actions, str(e, "action"))
				if str(e, "action") == "apps.update" && !strings.Contains(jsonText(t, e["changes"]), "Atlas Boutique") {
					t.Errorf("apps.update changes %v", e["changes"])
				}
			}
			// The test clock stood still: the two share a time, and their
			// order is the ids'.
			sort.Strings(actions)
			if strings.Join(actions, " ") != "apps.create apps.update" {
				t.Errorf("audit actions %v", actions)
			}

			if r := s.do("DELETE", "/api/merchant/v1/apps/"+id, h, "", true); r.status != 204 {
				t.Fatalf("delete: %d", r.status)
			}
			if r := s.do("GET", "/api/merchant/v1/apps/"+id, h, "", true); r.status != 404 {
				t.Errorf("a deleted application = %d, want 404", r.status)
			}
		})
	}
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
