package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

type userOut struct {
	ID               string `json:"id"`
	Email            string `json:"email"`
	Name             string `json:"name"`
	Role             string `json:"role"`
	MerchantID       string `json:"merchantId"`
	TwoFactorEnabled bool   `json:"twoFactorEnabled"`
	CreatedAt        string `json:"createdAt"`
}

func memberOut(u pay.User) userOut {
	return userOut{ID: u.ID, Email: u.Email, Name: u.Name, Role: string(u.Role), MerchantID: u.MerchantID,
		TwoFactorEnabled: u.TOTPEnabled, CreatedAt: rfc3339(u.CreatedAt)}
}

// login is POST /auth/login {"email","password","code"?}: 200 with the
// user and a new session cookie.
func (a *api) login(w http.ResponseWriter, r *http.Request, c *caller) {
	var in struct{ Email, Password, Code string }
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	var previous string
	if ck, err := r.Cookie(sessionCookie); err == nil {
		previous = ck.Value
	}
	s, err := a.account.Login(r.Context(), account.LoginRequest{Email: in.Email, Password: in.Password, Code: in.Code,
		IP: clientIP(r), UserAgent: r.UserAgent()}, previous)
	if err != nil {
		if pay.KindOf(err) == pay.RateLimited {
			w.Header().Set("Retry-After", "900")
		}
		a.paymentError(w, r, err)
		return
	}
	a.setSessionCookie(w, s.Cookie, s.ExpiresAt)
	writeJSON(w, http.StatusOK, map[string]any{"user": memberOut(s.User)})
}

func (a *api) setSessionCookie(w http.ResponseWriter, value string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: value, Path: "/", Expires: expires,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: a.secureCookies})
}

// logout is POST /auth/logout: the session ends on every instance at
// once (sessions are read from the store on each request).
func (a *api) logout(w http.ResponseWriter, r *http.Request, c *caller) {
	if ck, err := r.Cookie(sessionCookie); err == nil && c.cookie {
		if err := a.account.Logout(r.Context(), ck.Value); err != nil {
			a.paymentError(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: a.secureCookies})
	noContent(w)
}

func (a *api) me(w http.ResponseWriter, r *http.Request, c *caller) {
	m, err := a.merchant.Merchant(r.Context(), c.user.MerchantID)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	perms := []string{}
	for _, p := range []pay.Permission{pay.ReadMoney, pay.MoveMoney, pay.Configure, pay.ManageTeam, pay.ReadAudit} {
		if c.user.Role.Can(p) {
			perms = append(perms, string(p))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"user":        memberOut(c.user),
		"merchant":    map[string]string{"id": m.ID, "name": m.Name},
		"permissions": perms,
	})
}

// updateMe is PATCH /me {"name"}.
func (a *api) updateMe(w http.ResponseWriter, r *http.Request, c *caller) {
	var in struct {
		Name *string `json:"name"`
	}
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	u := c.user
	if in.Name != nil {
		var err error
		if u, err = a.account.Rename(r.Context(), c.user, *in.Name, c.actor); err != nil {
			a.paymentError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": memberOut(u)})
}

// changePassword is POST /me/password {"currentPassword","newPassword"}:
// every session of the member ends, this one included (sign in again);
// personal access tokens keep working.
func (a *api) changePassword(w http.ResponseWriter, r *http.Request, c *caller) {
	var in struct{ CurrentPassword, NewPassword string }
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	if err := a.account.ChangePassword(r.Context(), c.user, in.CurrentPassword, in.NewPassword); err != nil {
		a.paymentError(w, r, err)
		return
	}
	noContent(w)
}

type tokenOut struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Prefix     string  `json:"prefix"`
	Token      string  `json:"token,omitempty"` // only in the answer that created it
	CreatedAt  string  `json:"createdAt"`
	ExpiresAt  *string `json:"expiresAt"`
	LastUsedAt *string `json:"lastUsedAt"`
	RevokedAt  *string `json:"revokedAt"`
}

func accessTokenOut(t store.AccessToken) tokenOut {
	return tokenOut{ID: t.ID, Name: t.Name, Prefix: t.Prefix, CreatedAt: rfc3339(t.CreatedAt), ExpiresAt: timeOut(t.ExpiresAt),
		LastUsedAt: timeOut(t.LastUsedAt), RevokedAt: timeOut(t.RevokedAt)}
}

// createToken is POST /me/tokens {"name","expiresIn"?}: the token's
// text is in this answer only.
func (a *api) createToken(w http.ResponseWriter, r *http.Request, c *caller) {
	var in struct {
		Name      string          `json:"name"`
		ExpiresIn json.RawMessage `json:"expiresIn"`
	}
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	d, err := durationIn("expiresIn", in.ExpiresIn)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	t, err := a.account.CreateToken(r.Context(), c.user, in.Name, d, c.actor)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	out := accessTokenOut(t.Token)
	out.Token = t.Text
	writeJSON(w, http.StatusCreated, out)
}

// durationIn reads a duration given as whole seconds (3600) or as text
// ("90m", "720h", "30d"); absent or null is zero.
func durationIn(field string, raw json.RawMessage) (time.Duration, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, nil
	}
	bad := invalid("invalid_"+strings.ToLower(field[:1])+field[1:], `%s is a number of seconds, or a duration such as "720h" or "30d"`, field)
	if text, ok := jsonString(raw); ok {
		if days, ok := strings.CutSuffix(text, "d"); ok {
			n, err := strconv.Atoi(days)
			if err != nil || n <= 0 || n > 3660 {
				return 0, bad
			}
			return time.Duration(n) * 24 * time.Hour, nil
		}
		d, err := time.ParseDuration(text)
		if err != nil || d <= 0 {
			return 0, bad
		}
		return d, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > 100*365*24*3600 {
		return 0, bad
	}
	return time.Duration(n) * time.Second, nil
}

func (a *api) listTokens(w http.ResponseWriter, r *http.Request, c *caller) {
	ts, err := a.account.Tokens(r.Context(), c.user)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	out := make([]tokenOut, len(ts))
	for i, t := range ts {
		out[i] = accessTokenOut(t)
	}
	writeJSON(w, http.StatusOK, listOut(out, ""))
}

func (a *api) revokeToken(w http.ResponseWriter, r *http.Request, c *caller) {
	if err := a.account.RevokeToken(r.Context(), c.user, r.PathValue("tokenId"), c.actor); err != nil {
		a.paymentError(w, r, err)
		return
	}
	noContent(w)
}

// forgotPassword is POST /auth/password/forgot {"email"}: always 202,
// whether or not the email has an account.
func (a *api) forgotPassword(w http.ResponseWriter, r *http.Request, c *caller) {
	var in struct{ Email string }
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	if !a.limit(w, r, "forgot:ip:"+clientIP(r), 10, time.Hour) {
		return
	}
	if err := a.account.ForgotPassword(r.Context(), in.Email); err != nil {
		// Logged, never told: the answer must not depend on the account.
		a.log.ErrorContext(r.Context(), "password reset mail", "err", err)
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"message": "if the email has an account, a reset link is on its way"})
}

func (a *api) resetPassword(w http.ResponseWriter, r *http.Request, c *caller) {
	var in struct{ Token, Password string }
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	if err := a.account.ResetPassword(r.Context(), in.Token, in.Password); err != nil {
		a.paymentError(w, r, err)
		return
	}
	noContent(w)
}

// acceptInvite is POST /auth/invites/accept {"token","name","password"}:
// 201 with the new member, signed in.
func (a *api) acceptInvite(w http.ResponseWriter, r *http.Request, c *caller) {
	var in struct{ Token, Name, Password string }
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	u, err := a.account.AcceptInvite(r.Context(), in.Token, in.Name, in.Password)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	s, err := a.account.Login(r.Context(), account.LoginRequest{Email: u.Email, Password: in.Password, IP: clientIP(r), UserAgent: r.UserAgent()}, "")
	if err == nil {
		a.setSessionCookie(w, s.Cookie, s.ExpiresAt)
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": memberOut(u)})
}

func (a *api) setupTwoFactor(w http.ResponseWriter, r *http.Request, c *caller) {
	s, err := a.account.SetupTwoFactor(r.Context(), c.user)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"secret": s.Secret, "otpauthUrl": s.OTPAuthURL})
}

func (a *api) enableTwoFactor(w http.ResponseWriter, r *http.Request, c *caller) {
	var in struct{ Code string }
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	codes, err := a.account.EnableTwoFactor(r.Context(), c.user, in.Code, c.actor)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"backupCodes": codes})
}

// disableTwoFactor is POST /auth/2fa/disable {"code"}: a current code or
// a backup code, so that an unattended session cannot remove it.
func (a *api) disableTwoFactor(w http.ResponseWriter, r *http.Request, c *caller) {
	var in struct{ Code string }
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	if err := a.account.DisableTwoFactor(r.Context(), c.user, in.Code, c.actor); err != nil {
		a.paymentError(w, r, err)
		return
	}
	noContent(w)
}
