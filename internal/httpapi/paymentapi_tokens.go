package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"slices"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/token"
)

// SDK tokens of the Public Payment API: a backend's (secret and public
// key) and a browser's (client token, on a verified origin).

// auth is POST /api/v1/auth: a backend exchanges its secret and public
// keys for an SDK token.
func (a *api) auth(w http.ResponseWriter, r *http.Request) {
	if !a.limit(w, r, "pp:auth:"+clientIP(r), authLimit, authWindow) {
		return
	}
	var in struct {
		PublicKey string `json:"publicKey"`
	}
	// The body is optional; an empty one may come with no length
	// (chunked), so it is recognised by its content, not its framing.
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(bytes.TrimSpace(raw)) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(raw))
		if _, err := readJSON(w, r, &in); err != nil {
			a.paymentError(w, r, err)
			return
		}
	}
	secret, public := bearer(r), r.Header.Get("X-Public-Key")
	if public == "" {
		public = in.PublicKey
	}
	if secret == "" || public == "" {
		a.paymentError(w, r, unauthenticated("invalid_key", "send the secret key as Authorization: Bearer sk_… and the public key in x-public-key"))
		return
	}
	sk, err := a.merchant.Authenticate(r.Context(), secret, pay.SecretKey)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	pk, err := a.merchant.Authenticate(r.Context(), public, pay.PublicKey)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	if pk.ApplicationID != sk.ApplicationID || pk.Environment != sk.Environment {
		a.paymentError(w, r, unauthenticated("invalid_key", "the secret and public keys belong to different applications or environments"))
		return
	}
	app, err := a.checkout.Application(r.Context(), sk.ApplicationID)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	tok, _, err := a.tokens.Issue(r.Context(), token.Claims{
		Type: token.TypeSDK, ApplicationID: sk.ApplicationID, Environment: sk.Environment,
		IntegrationType: "backend", Permissions: app.Permissions, Modules: app.Modules,
	}, SDKTokenTTL)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "token": tok, "expiresIn": "1h", "environment": sk.Environment})
}

// tokenize is POST /api/v1/tokenize: a browser exchanges a client token
// for an SDK token bound to its origin, which must be a verified domain.
func (a *api) tokenize(w http.ResponseWriter, r *http.Request) {
	ct := r.Header.Get("X-Client-Token")
	if ct == "" {
		ct = bearer(r)
	}
	if ct == "" {
		a.paymentError(w, r, unauthenticated("invalid_key", "send the client token in x-client-token"))
		return
	}
	key, err := a.merchant.Authenticate(r.Context(), ct, pay.ClientToken)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	if !a.limit(w, r, "pp:tokenize:"+clientIP(r)+":"+key.ApplicationID, flowLimit, flowWindow) {
		return
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		if ref, err := url.Parse(r.Header.Get("Referer")); err == nil && ref.Host != "" {
			origin = ref.Scheme + "://" + ref.Host
		}
	}
	origin, err = a.checkout.AllowedOrigin(r.Context(), key.ApplicationID, origin)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	app, err := a.checkout.Application(r.Context(), key.ApplicationID)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	perms := []string{}
	for _, p := range app.Permissions {
		if !slices.Contains(backendOnly, p) {
			perms = append(perms, p)
		}
	}
	modules := append([]string{}, app.Modules...)
	tok, _, err := a.tokens.Issue(r.Context(), token.Claims{
		Type: token.TypeSDK, ApplicationID: key.ApplicationID, Environment: key.Environment,
		IntegrationType: "frontend", Permissions: perms, Modules: modules, Origin: origin,
	}, SDKTokenTTL)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	w.Header().Set("Vary", "Origin")
	writeJSON(w, http.StatusOK, map[string]any{
		"success": true, "token": tok, "expiresIn": "1h", "environment": key.Environment,
		"modules": modules, "permissions": perms,
	})
}
