package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/ratelimit"
	"github.com/sakkhq/sakk/internal/token"
)

// The Public Payment API (SURFACES.md §2): SDK tokens for a merchant's
// backend (secret + public key) and for browsers (client token, on a
// verified origin), sessions of catalog or inline products, verification
// of the shopper by one-time code, and the payment itself.
//
// This file holds what every route of the surface shares: permissions,
// the error body, rate limits and SDK-token authentication. One file per
// resource: paymentapi_tokens.go, paymentapi_sessions.go,
// paymentapi_verification.go, paymentapi_payments.go.

// Permissions of SDK tokens.
const (
	permCreateSession  = "payment:create_session"
	permSendOTP        = "payment:send_otp"
	permVerifyOTP      = "payment:verify_otp"
	permProductLink    = "product:link"
	permProductCreate  = "product:create"
	permCustomerCreate = "customer:create"
	permCustomerSelect = "customer:select"
)

// backendOnly are the permissions a browser's SDK token never carries,
// whatever the application grants.
var backendOnly = []string{permProductCreate, permCustomerCreate, permCustomerSelect}

// SDKTokenTTL is the lifetime of an SDK token: the seed's "1h".
const SDKTokenTTL = time.Hour

// Rate limits the Public Payment API applies (SURFACES.md §2).
const (
	authLimit, authWindow = 10, time.Minute
	flowLimit, flowWindow = 30, 15 * time.Minute
)

// paymentError writes the surface's error body:
// {"success":false,"message":"…","error":{"code":"…","message":"…","details":…}};
// details is {"field": …} when the error is a field's, else null.
func (a *api) paymentError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := statusOf(err), pay.CodeOf(err), pay.MessageOf(err)
	if status == http.StatusInternalServerError || msg == "" {
		a.log.ErrorContext(r.Context(), "payment api", "err", err)
		code, msg = "internal_error", "internal error"
	}
	if code == "" {
		code = strings.ToLower(pay.KindOf(err).String())
	}
	var details any
	if f := fieldOf(err); f != "" {
		details = map[string]string{"field": f}
	}
	writeJSON(w, status, map[string]any{
		"success": false,
		"message": msg,
		"error":   map[string]any{"code": code, "message": msg, "details": details},
	})
}

// clientIP is the address the request came from. sakk trusts no proxy
// header: behind a proxy, every client shares the proxy's limits.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limit counts the request against key, writing the RateLimit-* headers;
// it answers 429 and false when the allowance is spent.
func (a *api) limit(w http.ResponseWriter, r *http.Request, key string, limit int, window time.Duration) bool {
	d, err := a.limiter.Allow(r.Context(), key, limit, window)
	if err != nil {
		a.paymentError(w, r, fmt.Errorf("rate limit: %w", err))
		return false
	}
	ratelimit.SetHeaders(w.Header(), d)
	if !d.Allowed {
		a.paymentError(w, r, pay.Errorf(pay.RateLimited, "rate_limit_exceeded", "too many requests: at most %d per %v; try again later", d.Limit, window))
	}
	return d.Allowed
}

// bearer is the token of an "Authorization: Bearer …" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func unauthenticated(code, format string, args ...any) error {
	return pay.Errorf(pay.Unauthenticated, code, format, args...)
}

// sdkToken authenticates an SDK token. A browser's (frontend) token is
// refused when the request's Origin is not the one it was issued to.
func (a *api) sdkToken(r *http.Request) (token.Claims, error) {
	tok := bearer(r)
	if tok == "" {
		return token.Claims{}, unauthenticated("invalid_token", "an SDK token is required: Authorization: Bearer <token>")
	}
	c, err := a.tokens.Verify(r.Context(), tok, token.TypeSDK)
	if err != nil {
		return c, err
	}
	if o := r.Header.Get("Origin"); c.IntegrationType == "frontend" && o != "" && !strings.EqualFold(o, c.Origin) {
		return c, pay.Errorf(pay.Forbidden, "origin_not_allowed", "this token was issued to another origin")
	}
	return c, nil
}

// permitted checks that c grants perm.
func permitted(c token.Claims, perm string) error {
	if !checkout.HasPermission(c, perm) {
		return pay.Errorf(pay.Forbidden, "permission_denied", "this token lacks the %s permission", perm)
	}
	return nil
}

// idempotency reads a request's Idempotency-Key, if it has one, with the
// hash of its path and body that a replay must match.
func idempotency(r *http.Request, body []byte) (*checkout.Idempotency, error) {
	k := r.Header.Get("Idempotency-Key")
	if k == "" {
		return nil, nil
	}
	if len(k) > 255 {
		return nil, invalid("invalid_idempotency_key", "Idempotency-Key is limited to 255 characters")
	}
	return &checkout.Idempotency{Key: k, RequestHash: checkout.HashRequest([]byte(r.URL.Path), body)}, nil
}
