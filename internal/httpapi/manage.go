package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/pay"
)

// The management API (MANAGEMENT.md): a merchant's team and scripts run
// everything under /api/merchant/v1 — account, team, audit log, and
// app-scoped resources under /apps/{appId}. Every route is one row of
// managementRoutes, which says who may call it; the guard below is the
// only place that decides, so a route cannot be added unguarded.
//
// Who can call:
//   - a signed-in member, by the session cookie (writes refused when
//     cross-origin, as http.CrossOriginProtection judges);
//   - a script, by a personal access token (Authorization: Bearer
//     sakk_pat_…), acting as its member with the member's role;
//   - an application's secret key (X-API-Key or Bearer sk_…), on the
//     app-scoped routes marked keys — its own application and environment
//     only; anywhere else 403 forbidden.
//
// Tenancy: an application (or anything in one) of another merchant is 404,
// exactly as one that does not exist.

// sessionCookie carries a signed-in browser's session.
const sessionCookie = "sakk_session"

// access is who a route admits.
type access int

const (
	public    access = iota // anyone: sign-in, password reset, invite acceptance
	member                  // a member (cookie or token), account-wide
	appMember               // a member, in one of the merchant's applications
	appOrKey                // a member, or the application's own secret key
)

// manageRoute is one management route: pattern under /api/merchant/v1,
// who may call it, and what it needs of a member's role.
type manageRoute struct {
	method, path string
	access       access
	need         pay.Permission // "" : any member
	handle       func(http.ResponseWriter, *http.Request, *caller)
}

// caller is who is calling, once the guard has let them through.
type caller struct {
	user   pay.User   // the member; zero for a key
	key    pay.APIKey // the secret key; zero for a member
	token  string     // the access token's id when one authenticated
	cookie bool       // authenticated by the session cookie
	actor  account.Actor
	// app and env are set on app-scoped routes: env is the key's, or the
	// request's ?environment= (sandbox by default).
	app pay.Application
	env pay.Environment
}

// merchantID is the merchant the caller acts for.
func (c *caller) merchantID() string {
	if c.user.ID != "" {
		return c.user.MerchantID
	}
	return c.app.MerchantID
}

func forbidden(format string, args ...any) error {
	return pay.Errorf(pay.Forbidden, "forbidden", format, args...)
}

// guard wraps a route's handler with authentication, the role check and,
// for app-scoped routes, the application's tenancy.
func (a *api) guard(rt manageRoute) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := a.authenticate(w, r, rt)
		if err == errAnswered {
			return
		}
		if err != nil {
			a.paymentError(w, r, err)
			return
		}
		if c == nil { // public
			rt.handle(w, r, &caller{actor: account.Actor{Type: "anonymous", IP: clientIP(r)}})
			return
		}
		// Tenancy first: another merchant's application is 404 whatever
		// the role, so a refusal never tells that it exists.
		if rt.access == appMember || rt.access == appOrKey {
			if err := a.scopeApp(r, c); err != nil {
				a.paymentError(w, r, err)
				return
			}
		}
		if c.user.ID != "" && rt.need != "" && !c.user.Role.Can(rt.need) {
			a.paymentError(w, r, forbidden("the %s role may not do this", c.user.Role))
			return
		}
		rt.handle(w, r, c)
	}
}

// authenticate finds the caller; nil for a public route. Cookie writes
// must be same-origin; on public routes too, so that no other site can
// sign a browser in to an account of its choosing.
func (a *api) authenticate(w http.ResponseWriter, r *http.Request, rt manageRoute) (*caller, error) {
	ctx := r.Context()
	ip := clientIP(r)
	if rt.access == public {
		if err := a.crossOrigin.Check(r); err != nil {
			return nil, forbidden("cross-origin request refused")
		}
		return nil, nil
	}
	keyText := r.Header.Get("X-API-Key")
	bearerText := bearer(r)
	if keyText == "" && strings.HasPrefix(bearerText, "sk_") {
		keyText = bearerText
	}
	switch {
	case strings.HasPrefix(bearerText, account.TokenPrefix):
		u, t, err := a.account.TokenUser(ctx, bearerText)
		if err != nil {
			return nil, err
		}
		return &caller{user: u, token: t.ID, actor: account.Actor{Type: "token", ID: t.ID, Email: u.Email, IP: ip}}, nil
	case keyText != "":
		key, err := a.merchant.Authenticate(ctx, keyText, pay.SecretKey)
		if err != nil {
			return nil, err
		}
		if rt.access != appOrKey {
			return nil, forbidden("an application's secret key reaches only its own payments, sessions, refunds and webhooks: sign in, or use a personal access token")
		}
		if !a.limit(w, r, "merchant:"+key.ID, a.keyRateLimit(r, key), a.rateWindow) {
			return nil, errAnswered
		}
		return &caller{key: key, actor: account.Actor{Type: "key", ID: key.ID, IP: ip}}, nil
	}
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, pay.Errorf(pay.Unauthenticated, "unauthenticated",
			"sign in (POST /api/merchant/v1/auth/login), or send Authorization: Bearer sakk_pat_…")
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if err := a.crossOrigin.Check(r); err != nil {
			return nil, forbidden("cross-origin request refused")
		}
	}
	u, err := a.account.SessionUser(ctx, ck.Value)
	if err != nil {
		return nil, err
	}
	return &caller{user: u, cookie: true, actor: account.Actor{Type: "user", ID: u.ID, Email: u.Email, IP: ip}}, nil
}

// errAnswered means the response is written already (a rate limit).
var errAnswered = &pay.Error{Kind: pay.RateLimited, Code: "answered"}

// scopeApp loads the route's application, checks it is the caller's, and
// picks the environment.
func (a *api) scopeApp(r *http.Request, c *caller) error {
	id := r.PathValue("appId")
	app, err := a.merchant.Application(r.Context(), id)
	notFound := pay.Errorf(pay.NotFound, "application_not_found", "no application %q", id)
	if pay.KindOf(err) == pay.NotFound {
		return notFound
	}
	if err != nil {
		return err
	}
	env := pay.Environment(r.URL.Query().Get("environment"))
	if c.key.ID != "" {
		if app.ID != c.key.ApplicationID {
			// A key knows its own application only; another one,
			// even of the same merchant, is not its business.
			return forbidden("this key belongs to another application")
		}
		if env != "" && env != c.key.Environment {
			return forbidden("this key is for the %s environment", c.key.Environment)
		}
		env = c.key.Environment
	} else if app.MerchantID != c.user.MerchantID {
		return notFound
	}
	if env == "" {
		env = pay.Sandbox
	}
	if !env.Valid() {
		return invalid("invalid_environment", "environment must be sandbox or live, not %q", env)
	}
	c.app, c.env = app, env
	return nil
}

// readBody decodes a management request's JSON body into dst, refusing
// unknown fields: a typo must not be silently ignored.
func readBody(w http.ResponseWriter, r *http.Request, dst any) error {
	var raw map[string]json.RawMessage
	body, err := readJSON(w, r, &raw)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return invalid("invalid_request", "%s", strings.TrimPrefix(jsonProblem(err), "json: "))
	}
	return nil
}

// noContent answers a write that has nothing to say.
func noContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

// timeOut formats an optional time: nil when zero.
func timeOut(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := rfc3339(t)
	return &s
}
