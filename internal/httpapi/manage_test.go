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
	u, err := s.Team.CreateUser(t.Context(), req, account.CLI)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// login signs in and returns the session cookie's value.
func (s *server) login(t testing.TB, email, password string) string {
	t.Helper()
	r := s.Do("POST", "/api/merchant/v1/auth/login", nil, `{"email":`+jsonQuote(email)+`,"password":`+jsonQuote(password)+`}`, true)
	if r.Status != http.StatusOK {
		t.Fatalf("login %s: %d %s", email, r.Status, r.Body)
	}
	return sessionCookieOf(t, r)
}

func sessionCookieOf(t testing.TB, r response) string {
	t.Helper()
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "sakk_session" {
			return c.Value
		}
	}
	t.Fatalf("no session cookie in %v", r.Header)
	return ""
}

func cookieHeader(v string) map[string]string {
	return map[string]string{"Cookie": "sakk_session=" + v}
}

// pat signs in as email and returns a personal access token's header.
func (s *server) pat(t testing.TB, email, password string) map[string]string {
	t.Helper()
	r := s.Do("POST", "/api/merchant/v1/me/tokens", cookieHeader(s.login(t, email, password)), `{"name":"test script"}`, true)
	if r.Status != http.StatusCreated {
		t.Fatalf("create token: %d %s", r.Status, r.Body)
	}
	return bearerHeader(str(r.JSON(t), "token"))
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
			wrong := s.Do("POST", "/api/merchant/v1/auth/login", nil, `{"email":"owner@shop.example","password":"not the password"}`, true)
			unknown := s.Do("POST", "/api/merchant/v1/auth/login", nil, `{"email":"nobody@shop.example","password":"not the password"}`, true)
			if wrong.Status != 401 || unknown.Status != 401 || string(wrong.Body) != string(unknown.Body) {
				t.Errorf("wrong password = %d %s; unknown email = %d %s; want the same 401", wrong.Status, wrong.Body, unknown.Status, unknown.Body)
			}
			if code := wrong.ErrorCode(t); code != "invalid_credentials" {
				t.Errorf("code %q, want invalid_credentials", code)
			}

			r := s.Do("POST", "/api/merchant/v1/auth/login", nil, `{"email":"OWNER@shop.example","password":"`+testPassword+`"}`, true)
			if r.Status != 200 {
				t.Fatalf("login: %d %s", r.Status, r.Body)
			}
			user, _ := r.JSON(t)["user"].(map[string]any)
			if str(user, "id") != u.ID || str(user, "role") != "owner" || str(user, "merchantId") != u.MerchantID {
				t.Errorf("login user = %v", user)
			}
			setCookie := r.Header.Get("Set-Cookie")
			for _, want := range []string{"sakk_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
				if !strings.Contains(setCookie, want) {
					t.Errorf("Set-Cookie %q lacks %s", setCookie, want)
				}
			}
			if strings.Contains(setCookie, "Secure") {
				t.Errorf("Set-Cookie %q is Secure on an http public URL", setCookie)
			}
			cookie := sessionCookieOf(t, r)
			me := s.Do("GET", "/api/merchant/v1/me", cookieHeader(cookie), "", true)
			if me.Status != 200 || !strings.Contains(string(me.Body), u.Email) {
				t.Fatalf("/me = %d %s", me.Status, me.Body)
			}

			// Signing in again rotates the session: the old cookie ends.
			r = s.Do("POST", "/api/merchant/v1/auth/login", cookieHeader(cookie), `{"email":"owner@shop.example","password":"`+testPassword+`"}`, true)
			second := sessionCookieOf(t, r)
			if second == cookie {
				t.Error("the session id survived a sign-in")
			}
			if r := s.Do("GET", "/api/merchant/v1/me", cookieHeader(cookie), "", true); r.Status != 401 {
				t.Errorf("/me with the cookie from before the second sign-in = %d, want 401", r.Status)
			}

			// Cross-origin writes with the cookie are refused; same-origin pass.
			evil := cookieHeader(second)
			evil["Origin"], evil["Sec-Fetch-Site"] = "https://evil.example", "cross-site"
			if r := s.Do("POST", "/api/merchant/v1/me/tokens", evil, `{"name":"stolen"}`, true); r.Status != 403 {
				t.Errorf("cross-origin token creation = %d %s, want 403", r.Status, r.Body)
			}
			same := cookieHeader(second)
			same["Sec-Fetch-Site"] = "same-origin"
			if r := s.Do("POST", "/api/merchant/v1/me/tokens", same, `{"name":"mine"}`, true); r.Status != 201 {
				t.Errorf("same-origin token creation = %d %s, want 201", r.Status, r.Body)
			}

			if r := s.Do("POST", "/api/merchant/v1/auth/logout", cookieHeader(second), "", true); r.Status != 204 {
				t.Errorf("logout = %d", r.Status)
			}
			if r := s.Do("GET", "/api/merchant/v1/me", cookieHeader(second), "", true); r.Status != 401 {
				t.Errorf("/me after logout = %d, want 401", r.Status)
			}
			if r := s.Do("GET", "/api/merchant/v1/me", nil, "", true); r.Status != 401 || r.ErrorCode(t) != "unauthenticated" {
				t.Errorf("/me without a cookie = %d %s", r.Status, r.Body)
			}
		})
	}
}

func TestSignInThrottled(t *testing.T) {
	s := newServer(t, storetest.Engines(t)[len(storetest.Engines(t))-1], serverOptions{})
	s.member(t, "owner@shop.example", pay.Owner, "")
	bad := `{"email":"owner@shop.example","password":"guess guess guess"}`
	for i := range 5 {
		if r := s.Do("POST", "/api/merchant/v1/auth/login", nil, bad, true); r.Status != 401 {
			t.Fatalf("failure %d = %d %s", i+1, r.Status, r.Body)
		}
	}
	// Refused now, even with the right password.
	r := s.Do("POST", "/api/merchant/v1/auth/login", nil, `{"email":"owner@shop.example","password":"`+testPassword+`"}`, true)
	if r.Status != 429 || r.ErrorCode(t) != "too_many_attempts" {
		t.Fatalf("after 5 failures = %d %s, want 429 too_many_attempts", r.Status, r.Body)
	}
	// The window passes.
	s.Clock.Advance(16 * time.Minute)
	s.login(t, "owner@shop.example", testPassword)

	// Per address: failures on many accounts from one address.
	for i := range 20 {
		email := jsonQuote("someone" + string(rune('a'+i)) + "@shop.example")
		if r := s.Do("POST", "/api/merchant/v1/auth/login", nil, `{"email":`+email+`,"password":"guess guess guess"}`, true); r.Status != 401 {
			t.Fatalf("address failure %d = %d", i+1, r.Status)
		}
	}
	if r := s.Do("POST", "/api/merchant/v1/auth/login", nil, `{"email":"owner@shop.example","password":"`+testPassword+`"}`, true); r.Status != 429 {
		t.Errorf("after 20 failures from one address = %d, want 429", r.Status)
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
				s.Clock.Advance(11 * time.Hour)
				if r := s.Do("GET", "/api/merchant/v1/me", cookieHeader(cookie), "", true); r.Status != 200 {
					t.Fatalf("/me after %v = %d", 11*time.Hour, r.Status)
				}
			}
			s.Clock.Advance(11 * time.Hour) // 176 h > 7 days
			if r := s.Do("GET", "/api/merchant/v1/me", cookieHeader(cookie), "", true); r.Status != 401 {
				t.Errorf("/me past the absolute end = %d, want 401", r.Status)
			}
			// Idle for 12 hours ends it.
			cookie = s.login(t, "owner@shop.example", testPassword)
			s.Clock.Advance(12*time.Hour + time.Second)
			if r := s.Do("GET", "/api/merchant/v1/me", cookieHeader(cookie), "", true); r.Status != 401 {
				t.Errorf("/me after 12 h idle = %d, want 401", r.Status)
			}

			// Tokens: shown once, never listed, revocable, expiring.
			cookie = s.login(t, "owner@shop.example", testPassword)
			r := s.Do("POST", "/api/merchant/v1/me/tokens", cookieHeader(cookie), `{"name":"ci","expiresIn":"1h"}`, true)
			if r.Status != 201 {
				t.Fatalf("create token: %d %s", r.Status, r.Body)
			}
			tok := r.JSON(t)
			text := str(tok, "token")
			if !strings.HasPrefix(text, "sakk_pat_") {
				t.Fatalf("token %q", text)
			}
			if r := s.Do("GET", "/api/merchant/v1/apps", bearerHeader(text), "", true); r.Status != 200 {
				t.Errorf("apps with the token = %d %s", r.Status, r.Body)
			}
			if r := s.Do("GET", "/api/merchant/v1/me/tokens", bearerHeader(text), "", true); strings.Contains(string(r.Body), text) || !strings.Contains(string(r.Body), str(tok, "id")) {
				t.Errorf("token list shows the secret or misses the token: %s", r.Body)
			}
			s.Clock.Advance(time.Hour)
			if r := s.Do("GET", "/api/merchant/v1/apps", bearerHeader(text), "", true); r.Status != 401 {
				t.Errorf("an expired token = %d, want 401", r.Status)
			}
			r = s.Do("POST", "/api/merchant/v1/me/tokens", cookieHeader(cookie), `{"name":"other"}`, true)
			other := r.JSON(t)
			if r := s.Do("DELETE", "/api/merchant/v1/me/tokens/"+str(other, "id"), cookieHeader(cookie), "", true); r.Status != 204 {
				t.Fatalf("revoke = %d %s", r.Status, r.Body)
			}
			if r := s.Do("GET", "/api/merchant/v1/apps", bearerHeader(str(other, "token")), "", true); r.Status != 401 {
				t.Errorf("a revoked token = %d, want 401", r.Status)
			}
			if r := s.Do("GET", "/api/merchant/v1/apps", bearerHeader("sakk_pat_forged"), "", true); r.Status != 401 {
				t.Errorf("a forged token = %d, want 401", r.Status)
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
			r := s.Do("POST", "/api/merchant/v1/auth/2fa/setup", h, "", true)
			if r.Status != 200 {
				t.Fatalf("setup: %d %s", r.Status, r.Body)
			}
			setup := r.JSON(t)
			secret := str(setup, "secret")
			if !strings.HasPrefix(str(setup, "otpauthUrl"), "otpauth://totp/") {
				t.Errorf("otpauthUrl %q", str(setup, "otpauthUrl"))
			}
			code := func() string {
				c, err := totp.GenerateCode(secret, s.Clock.Now())
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			if r := s.Do("POST", "/api/merchant/v1/auth/2fa/enable", h, `{"code":"000000"}`, true); r.Status != 400 {
				t.Errorf("enable with a wrong code = %d", r.Status)
			}
			r = s.Do("POST", "/api/merchant/v1/auth/2fa/enable", h, `{"code":"`+code()+`"}`, true)
			if r.Status != 200 {
				t.Fatalf("enable: %d %s", r.Status, r.Body)
			}
			backup, _ := r.JSON(t)["backupCodes"].([]any)
			if len(backup) != 10 {
				t.Fatalf("backup codes %v", backup)
			}

			login := func(code string) response {
				body := `{"email":"owner@shop.example","password":"` + testPassword + `"`
				if code != "" {
					body += `,"code":"` + code + `"`
				}
				return s.Do("POST", "/api/merchant/v1/auth/login", nil, body+"}", true)
			}
			if r := login(""); r.Status != 401 || r.ErrorCode(t) != "two_factor_required" {
				t.Errorf("login without a code = %d %s, want 401 two_factor_required", r.Status, r.Body)
			}
			// The code used to enable is spent: the next step's is needed.
			s.Clock.Advance(30 * time.Second)
			current := code()
			if r := login(current); r.Status != 200 {
				t.Errorf("login with the code = %d %s", r.Status, r.Body)
			}
			if r := login(current); r.Status != 401 || r.ErrorCode(t) != "invalid_two_factor_code" {
				t.Errorf("the same code again = %d %s, want 401 invalid_two_factor_code", r.Status, r.Body)
			}
			b := backup[0].(string)
			if r := login(strings.ToUpper(b)); r.Status != 200 {
				t.Errorf("login with a backup code = %d %s", r.Status, r.Body)
			}
			if r := login(b); r.Status != 401 {
				t.Errorf("a backup code twice = %d, want 401", r.Status)
			}
			h = cookieHeader(sessionCookieOf(t, login(backup[1].(string))))
			if r := s.Do("POST", "/api/merchant/v1/auth/2fa/disable", h, `{"code":"`+backup[1].(string)+`"}`, true); r.Status != 400 {
				t.Errorf("disable with a used backup code = %d, want 400", r.Status)
			}
			if r := s.Do("POST", "/api/merchant/v1/auth/2fa/disable", h, `{"code":"`+backup[2].(string)+`"}`, true); r.Status != 204 {
				t.Errorf("disable = %d %s", r.Status, r.Body)
			}
			if r := login(""); r.Status != 200 {
				t.Errorf("login after disabling = %d", r.Status)
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
			s := newServer(t, engine, serverOptions{Mailer: mailer})
			owner := s.member(t, "owner@shop.example", pay.Owner, "")
			h := s.pat(t, "owner@shop.example", testPassword)

			r := s.Do("POST", "/api/merchant/v1/team/invites", h, `{"email":"Viewer@Shop.example","role":"viewer"}`, true)
			if r.Status != 201 {
				t.Fatalf("invite: %d %s", r.Status, r.Body)
			}
			to, text := sink.Message(t, 1)
			m := tokenInMail.FindStringSubmatch(text)
			if !strings.Contains(to, "viewer@shop.example") || m == nil {
				t.Fatalf("invite mail to %q:\n%s", to, text)
			}
			inviteToken := strings.ReplaceAll(m[1], "%3D", "=")
			accept := `{"token":"` + inviteToken + `","name":"Vi Ewer","password":"another long password"}`
			r = s.Do("POST", "/api/merchant/v1/auth/invites/accept", nil, accept, true)
			if r.Status != 201 {
				t.Fatalf("accept: %d %s", r.Status, r.Body)
			}
			user, _ := r.JSON(t)["user"].(map[string]any)
			if str(user, "role") != "viewer" || str(user, "merchantId") != owner.MerchantID {
				t.Errorf("accepted member %v", user)
			}
			if r := s.Do("POST", "/api/merchant/v1/auth/invites/accept", nil, accept, true); r.Status != 400 || r.ErrorCode(t) != "invalid_token" {
				t.Errorf("accepting twice = %d %s, want 400 invalid_token", r.Status, r.Body)
			}

			// An invite not accepted within 7 days is dead.
			if r := s.Do("POST", "/api/merchant/v1/team/invites", h, `{"email":"late@shop.example","role":"support"}`, true); r.Status != 201 {
				t.Fatalf("invite: %d %s", r.Status, r.Body)
			}
			_, text = sink.Message(t, 2)
			late := strings.ReplaceAll(tokenInMail.FindStringSubmatch(text)[1], "%3D", "=")
			s.Clock.Advance(7*24*time.Hour + time.Minute)
			if r := s.Do("POST", "/api/merchant/v1/auth/invites/accept", nil, `{"token":"`+late+`","name":"Late","password":"another long password"}`, true); r.Status != 400 {
				t.Errorf("an expired invite = %d, want 400", r.Status)
			}

			// A viewer reads, and is refused writes.
			vh := s.pat(t, "viewer@shop.example", "another long password")
			if r := s.Do("GET", "/api/merchant/v1/team/members", vh, "", true); r.Status != 200 || !strings.Contains(string(r.Body), "viewer@shop.example") {
				t.Errorf("members as viewer = %d %s", r.Status, r.Body)
			}
			if r := s.Do("POST", "/api/merchant/v1/team/invites", vh, `{"email":"x@shop.example","role":"admin"}`, true); r.Status != 403 || r.ErrorCode(t) != "forbidden" {
				t.Errorf("invite as viewer = %d %s, want 403 forbidden", r.Status, r.Body)
			}

			// Password reset: always 202; the mailed link works once.
			if r := s.Do("POST", "/api/merchant/v1/auth/password/forgot", nil, `{"email":"nobody@shop.example"}`, true); r.Status != 202 {
				t.Errorf("forgot for an unknown email = %d", r.Status)
			}
			if r := s.Do("POST", "/api/merchant/v1/auth/password/forgot", nil, `{"email":"owner@shop.example"}`, true); r.Status != 202 {
				t.Errorf("forgot = %d", r.Status)
			}
			_, text = sink.Message(t, 3) // the unknown email got none
			reset := strings.ReplaceAll(tokenInMail.FindStringSubmatch(text)[1], "%3D", "=")
			old := s.login(t, "owner@shop.example", testPassword)
			if r := s.Do("POST", "/api/merchant/v1/auth/password/reset", nil, `{"token":"`+reset+`","password":"short"}`, false); r.Status != 400 || r.ErrorCode(t) != "weak_password" {
				t.Errorf("reset to a short password = %d %s", r.Status, r.Body)
			}
			// The refused attempt spent nothing: a typo does not burn the link.
			if r := s.Do("POST", "/api/merchant/v1/auth/password/reset", nil, `{"token":"`+reset+`","password":"a brand new password"}`, true); r.Status != 204 {
				t.Fatalf("reset = %d %s", r.Status, r.Body)
			}
			if r := s.Do("POST", "/api/merchant/v1/auth/password/reset", nil, `{"token":"`+reset+`","password":"yet another password"}`, true); r.Status != 400 {
				t.Errorf("the reset link twice = %d, want 400", r.Status)
			}
			if r := s.Do("GET", "/api/merchant/v1/me", cookieHeader(old), "", true); r.Status != 401 {
				t.Errorf("a session from before the reset = %d, want 401", r.Status)
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

			r := s.Do("POST", "/api/merchant/v1/apps", h, `{"name":"Atlas","currencies":["USD","KWD"],"rateLimit":50}`, true)
			if r.Status != 201 {
				t.Fatalf("create: %d %s", r.Status, r.Body)
			}
			app := r.JSON(t)
			id := str(app, "id")
			keys, _ := app["keys"].(map[string]any)
			secret := str(keys, "secretKey")
			if !strings.HasPrefix(secret, "sk_test_") || !strings.HasPrefix(str(keys, "clientToken"), "tk_test_") {
				t.Fatalf("keys %v", keys)
			}
			if got := r.JSON(t)["currencies"]; len(got.([]any)) != 3 {
				t.Errorf("currencies %v, want MAD, USD, KWD", got)
			}
			// The secret is shown once: no read shows it again.
			for _, path := range []string{"/api/merchant/v1/apps", "/api/merchant/v1/apps/" + id, "/api/merchant/v1/apps/" + id + "/keys", "/api/merchant/v1/audit-logs"} {
				if r := s.Do("GET", path, h, "", true); r.Status != 200 || strings.Contains(string(r.Body), secret) {
					t.Errorf("GET %s = %d, shows the secret: %t", path, r.Status, strings.Contains(string(r.Body), secret))
				}
			}
			// The key works on the Checkout API.
			if r := s.Do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": secret}, seedBody, true); r.Status != 200 {
				t.Fatalf("session with the new key: %d %s", r.Status, r.Body)
			}

			// Branding reaches the hosted page.
			r = s.Do("PATCH", "/api/merchant/v1/apps/"+id, h, `{"branding":{"displayName":"Atlas Boutique","primaryColor":"#1A2B3C"}}`, true)
			if r.Status != 200 || !strings.Contains(string(r.Body), `"displayName":"Atlas Boutique"`) || !strings.Contains(string(r.Body), `"#1a2b3c"`) {
				t.Fatalf("patch: %d %s", r.Status, r.Body)
			}
			if r := s.Do("PATCH", "/api/merchant/v1/apps/"+id, h, `{"primaryColor":"red"}`, true); r.Status != 400 || r.ErrorCode(t) != "invalid_primary_color" {
				t.Errorf("patch a bad colour = %d %s", r.Status, r.Body)
			}
			if r := s.Do("PATCH", "/api/merchant/v1/apps/"+id, h, `{"nmae":"typo"}`, false); r.Status != 400 {
				t.Errorf("patch with an unknown field = %d", r.Status)
			}
			r = s.Do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": secret}, seedBody, true)
			page, err := http.Get(s.URL + "/checkout/" + str(r.JSON(t), "session_token"))
			if err != nil {
				t.Fatal(err)
			}
			html, _ := io.ReadAll(page.Body)
			page.Body.Close()
			if !strings.Contains(string(html), "Atlas Boutique") {
				t.Error("the hosted page does not show the display name")
			}

			// Rotation: the new secret once, the old one through its grace.
			r = s.Do("POST", "/api/merchant/v1/apps/"+id+"/keys/rotate", h, `{"environment":"sandbox","grace":3600}`, true)
			if r.Status != 200 {
				t.Fatalf("rotate: %d %s", r.Status, r.Body)
			}
			newSecret := str(r.JSON(t), "secretKey")
			for _, k := range []string{secret, newSecret} {
				if r := s.Do("GET", "/api/merchant/v1/payments", map[string]string{"X-API-Key": k}, "", true); r.Status != 200 {
					t.Errorf("a key during the grace = %d", r.Status)
				}
			}
			s.Clock.Advance(time.Hour + time.Second)
			if r := s.Do("GET", "/api/merchant/v1/payments", map[string]string{"X-API-Key": secret}, "", true); r.Status != 401 {
				t.Errorf("the old key after its grace = %d, want 401", r.Status)
			}

			// Revocation is at once.
			r = s.Do("GET", "/api/merchant/v1/apps/"+id+"/keys", h, "", true)
			var secretKeyID string
			for _, k := range r.JSON(t)["data"].([]any) {
				k := k.(map[string]any)
				if str(k, "kind") == "secret" && strings.HasPrefix(newSecret, str(k, "prefix")) {
					secretKeyID = str(k, "id")
				}
			}
			if r := s.Do("POST", "/api/merchant/v1/apps/"+id+"/keys/"+secretKeyID+"/revoke", h, "", true); r.Status != 200 {
				t.Fatalf("revoke: %d %s", r.Status, r.Body)
			}
			if r := s.Do("GET", "/api/merchant/v1/payments", map[string]string{"X-API-Key": newSecret}, "", true); r.Status != 401 {
				t.Errorf("a revoked key = %d, want 401", r.Status)
			}

			// Each write is in the audit log, with what changed.
			r = s.Do("GET", "/api/merchant/v1/audit-logs?action=apps.", h, "", true)
			var actions []string
			for _, e := range r.JSON(t)["data"].([]any) {
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

			if r := s.Do("DELETE", "/api/merchant/v1/apps/"+id, h, "", true); r.Status != 204 {
				t.Fatalf("delete: %d", r.Status)
			}
			if r := s.Do("GET", "/api/merchant/v1/apps/"+id, h, "", true); r.Status != 404 {
				t.Errorf("a deleted application = %d, want 404", r.Status)
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
