package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/otp"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/ratelimit"
	"github.com/sakkhq/sakk/internal/token"
)

// The Public Payment API (SURFACES.md §2): SDK tokens for a merchant's
// backend (secret + public key) and for browsers (client token, on a
// verified origin), sessions of catalog or inline products, verification
// of the shopper by one-time code, and the payment itself.

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

// productIn is one entry of a session's products: linked {storeCode,
// quantity} or inline {name, price, quantity, …}.
type productIn struct {
	StoreCode string          `json:"storeCode"`
	Name      string          `json:"name"`
	Price     json.RawMessage `json:"price"`
	Currency  string          `json:"currency"`
	SKU       string          `json:"sku"`
	ImageURL  string          `json:"imageUrl"`
	Quantity  json.RawMessage `json:"quantity"`
}

type paymentSessionIn struct {
	Products []json.RawMessage `json:"products"`
	Currency string            `json:"currency"`
	Customer *struct {
		Email string `json:"email"`
		Phone string `json:"phone"`
	} `json:"customer"`
	Metadata  json.RawMessage `json:"metadata"`
	ReturnURL string          `json:"returnUrl"`
	CancelURL string          `json:"cancelUrl"`
	Gateway   string          `json:"gateway"`
	Locale    string          `json:"locale"`
}

// createPaymentSession serves POST /api/v1/checkout/session and its two
// aliases; integration forces the rules of one kind of token ("" takes
// the token's own).
func (a *api) createPaymentSession(integration string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := a.sdkToken(r)
		if err != nil {
			a.paymentError(w, r, err)
			return
		}
		if integration == "backend" && c.IntegrationType != "backend" {
			a.paymentError(w, r, pay.Errorf(pay.Forbidden, "backend_only", "this route takes a backend SDK token (POST /api/v1/auth)"))
			return
		}
		backend := c.IntegrationType == "backend" && integration != "frontend"
		if err := permitted(c, permCreateSession); err != nil {
			a.paymentError(w, r, err)
			return
		}
		var in paymentSessionIn
		body, err := readJSON(w, r, &in)
		if err != nil {
			a.paymentError(w, r, err)
			return
		}
		req, err := parsePaymentSession(in, c, backend)
		if err != nil {
			a.paymentError(w, r, err)
			return
		}
		req.ApplicationID, req.Environment = c.ApplicationID, c.Environment
		ns, err := a.checkout.ResolvePaymentSession(r.Context(), req)
		if err != nil {
			a.paymentError(w, r, err)
			return
		}
		var idem *checkout.Idempotency
		if k := r.Header.Get("Idempotency-Key"); k != "" {
			if len(k) > 255 {
				a.paymentError(w, r, invalid("invalid_idempotency_key", "Idempotency-Key is limited to 255 characters"))
				return
			}
			idem = &checkout.Idempotency{Key: k, RequestHash: checkout.HashRequest([]byte(r.URL.Path), body)}
		}
		resp, err := a.checkout.OpenSession(r.Context(), ns, idem, func(o checkout.Opened) (checkout.Response, error) {
			b, err := json.Marshal(map[string]any{
				"message":      "session created",
				"sessionId":    o.Session.ID,
				"sessionToken": o.Token,
				"redirectUrl":  o.CheckoutURL,
				"expiresAt":    o.Session.ExpiresAt.UTC().Format(time.RFC3339),
				"status":       o.Session.Status,
				"amount":       json.RawMessage(money.Format(o.Session.Amount)),
				"currency":     o.Session.Amount.Currency,
				"customer":     customerOut(o.Session.Customer),
			})
			return checkout.Response{Status: http.StatusOK, Body: b}, err
		})
		if err != nil {
			a.paymentError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.Status)
		w.Write(resp.Body)
	}
}

// parsePaymentSession reads the body, enforcing who may set what: linked
// products need product:link; inline products (a price) a backend token
// with product:create; a customer a backend token with customer:create or
// customer:select.
func parsePaymentSession(in paymentSessionIn, c token.Claims, backend bool) (checkout.NewPaymentSession, error) {
	var req checkout.NewPaymentSession
	if len(in.Products) == 0 {
		return req, invalid(checkout.CodeInvalidItems, "products is required: a non-empty array of {storeCode, quantity} or {name, price, quantity}")
	}
	if len(in.Products) > checkout.MaxItems {
		return req, invalid(checkout.CodeInvalidItems, "products may hold at most %d products", checkout.MaxItems)
	}
	for i, raw := range in.Products {
		var p productIn
		if raw = bytes.TrimSpace(raw); len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &p) != nil {
			return req, invalid(checkout.CodeInvalidItems, "products[%d] must be an object {storeCode, quantity} or {name, price, quantity}", i)
		}
		qtyText, ok := jsonNumber(p.Quantity)
		if len(bytes.TrimSpace(p.Quantity)) == 0 {
			qtyText, ok = "1", true
		}
		qty, err := strconv.ParseInt(qtyText, 10, 64)
		if !ok || err != nil || qty < 1 || qty > checkout.MaxQuantity {
			return req, invalid(checkout.CodeInvalidItems, "products[%d]: quantity must be a whole number from 1 to %d", i, checkout.MaxQuantity)
		}
		line := checkout.ProductLine{StoreCode: strings.TrimSpace(p.StoreCode), Quantity: qty}
		if line.StoreCode != "" {
			if len(p.Price) > 0 || p.Name != "" {
				return req, invalid(checkout.CodeInvalidItems, "products[%d]: a linked product takes its name and price from the catalog; send storeCode and quantity only", i)
			}
			if err := permitted(c, permProductLink); err != nil {
				return req, err
			}
			req.Products = append(req.Products, line)
			continue
		}
		if !backend || !checkout.HasPermission(c, permProductCreate) {
			return req, pay.Errorf(pay.Forbidden, "permission_denied", "products[%d]: inline products (with a price) need a backend token with product:create", i)
		}
		price, ok := jsonDecimal(p.Price)
		name := strings.TrimSpace(p.Name)
		if !ok || name == "" {
			return req, invalid(checkout.CodeInvalidItems, "products[%d]: an inline product needs a name and a price", i)
		}
		if len(name) > checkout.MaxTextLen || len(p.SKU) > checkout.MaxTextLen || len(p.ImageURL) > 2048 {
			return req, invalid(checkout.CodeInvalidItems, "products[%d]: name and sku are limited to %d bytes", i, checkout.MaxTextLen)
		}
		line.Name, line.Price, line.Currency, line.SKU, line.ImageURL = name, price, money.Currency(p.Currency), p.SKU, p.ImageURL
		req.Products = append(req.Products, line)
	}
	if in.Customer != nil {
		if !backend || !(checkout.HasPermission(c, permCustomerCreate) || checkout.HasPermission(c, permCustomerSelect)) {
			return req, pay.Errorf(pay.Forbidden, "permission_denied", "a preset customer needs a backend token with customer:create or customer:select")
		}
		req.Customer = &pay.Customer{Email: in.Customer.Email, Phone: in.Customer.Phone}
	}
	if m := bytes.TrimSpace(in.Metadata); len(m) > 0 && string(m) != "null" {
		var compact bytes.Buffer
		if m[0] != '{' || json.Compact(&compact, m) != nil {
			return req, invalid("invalid_metadata", "metadata must be a JSON object")
		}
		req.Metadata = compact.Bytes()
	}
	req.Currency, req.ReturnURL, req.CancelURL = money.Currency(in.Currency), in.ReturnURL, in.CancelURL
	req.Gateway, req.Locale = in.Gateway, in.Locale
	return req, nil
}

func customerOut(c pay.Customer) map[string]any {
	return map[string]any{
		"email": c.Email, "phone": c.Phone, "verifiedIdentifier": c.VerifiedIdentifier,
		"verifiedChannel": c.VerifiedChannel, "locked": c.Locked,
	}
}

// sessionRef resolves what a client calls a session token: the session
// token itself, or the session's id. Either must belong to the caller's
// application environment.
func (a *api) sessionRef(ctx context.Context, ref, appID string, env pay.Environment) (string, error) {
	notFound := pay.Errorf(pay.NotFound, "session_not_found", "no such session")
	if ref == "" {
		return "", invalid("invalid_request", "sessionToken is required")
	}
	if strings.HasPrefix(ref, pay.PrefixSession+"_") {
		return ref, nil
	}
	c, err := a.tokens.Verify(ctx, ref, token.TypeSession)
	if pay.KindOf(err) == pay.Unauthenticated {
		return "", notFound
	}
	if err != nil {
		return "", err
	}
	if c.ApplicationID != appID || c.Environment != env {
		return "", notFound
	}
	return c.SessionID, nil
}

// paymentSession is GET /api/v1/checkout/session/{sessionToken}: the
// payload the hosted page renders.
func (a *api) paymentSession(w http.ResponseWriter, r *http.Request) {
	c, err := a.sdkToken(r)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	id, err := a.sessionRef(r.Context(), r.PathValue("sessionToken"), c.ApplicationID, c.Environment)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	d, err := a.checkout.SessionDetails(r.Context(), c.ApplicationID, c.Environment, id)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	out := sessionDetails(d)
	public, err := a.checkout.GatewayPublic(r.Context(), c.ApplicationID, c.Environment, out["gateway"].(string))
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	out["gatewayPublicKey"] = public["publishableKey"]
	writeJSON(w, http.StatusOK, out)
}

func sessionDetails(d checkout.Details) map[string]any {
	s := d.Session
	cur := s.Amount.Currency
	products := make([]map[string]any, len(s.Items))
	for i, it := range s.Items {
		products[i] = map[string]any{
			"sku": it.Reference, "currency": cur, "title": it.Name, "price": json.RawMessage(money.Format(it.UnitPrice)),
			"quantity": it.Quantity, "imageUrl": it.ImageURL, "productId": it.ProductID,
		}
	}
	methods, methodMap := paymentMethods(s.Gateway, d.Gateways)
	gw := s.Gateway
	if d.Payment != nil {
		gw = d.Payment.Gateway
	} else if gw == "" {
		gw = methodMap["card"]
	}
	method := "card"
	if len(methods) > 0 {
		method = methods[0]
	}
	order := s.VendorReference
	if order == "" {
		order = s.ID
	}
	metadata := json.RawMessage(s.Metadata)
	if metadata == nil {
		metadata = json.RawMessage("{}")
	}
	out := map[string]any{
		"sessionId":               s.ID,
		"applicationName":         d.ApplicationName,
		"customerName":            "",
		"customer":                customerOut(s.Customer),
		"totalAmount":             json.RawMessage(money.Format(s.Amount)),
		"totalTax":                json.RawMessage(money.Format(money.New(0, cur))),
		"currency":                cur,
		"method":                  method,
		"gateway":                 gw,
		"gatewayPublicKey":        "",
		"gatewayPublicConfigs":    map[string]any{},
		"status":                  s.Status,
		"returnUrl":               s.ReturnURL,
		"orderNumber":             order,
		"expiresAtUtc":            s.ExpiresAt.UTC().Format(time.RFC3339),
		"metadata":                metadata,
		"showProducts":            true,
		"showCurrencySelector":    false,
		"showTaxElement":          false,
		"showCustomerElement":     !s.Customer.Locked,
		"showAddressElement":      false,
		"showShipping":            false,
		"showPayment":             true,
		"products":                products,
		"brandName":               d.MerchantName,
		"brandLogo":               d.BrandLogo,
		"supportedPaymentMethods": methods,
		"paymentMethodGatewayMap": methodMap,
	}
	if p := d.Payment; p != nil && p.Status == pay.PaymentFailed {
		out["error"] = map[string]any{"message": p.ErrorMessage, "code": p.ErrorCode}
	}
	return out
}

// paymentMethods lists the methods a session can be paid with and the
// gateway of each: cards through the session's gateway (or the first card
// gateway available), off-site gateways under their own name.
func paymentMethods(fixed string, available []string) ([]string, map[string]string) {
	offSite := func(g string) bool { return g == "paypal" || g == "myfatoorah" }
	methods, m := []string{}, map[string]string{}
	for _, g := range available {
		if fixed != "" && g != fixed {
			continue
		}
		switch {
		case offSite(g):
			methods, m[g] = append(methods, g), g
		case m["card"] == "":
			methods, m["card"] = append(methods, "card"), g
		}
	}
	return methods, m
}

// channelOf reads the API's verification method.
func channelOf(method string) (otp.Channel, error) {
	switch method {
	case "email_otp":
		return otp.Email, nil
	case "mobile_otp":
		return otp.Phone, nil
	}
	return "", invalid("invalid_method", "method must be email_otp or mobile_otp")
}

func methodOf(ch otp.Channel) string {
	if ch == otp.Phone {
		return "mobile_otp"
	}
	return "email_otp"
}

type verificationIn struct {
	Method       string          `json:"method"`
	Identifier   string          `json:"identifier"`
	Code         string          `json:"code"`
	Metadata     json.RawMessage `json:"metadata"`
	SessionToken string          `json:"sessionToken"`
	Locale       string          `json:"locale"`
}

// verification reads and checks what both OTP routes share: the SDK
// token and its permission, the body, and the per (IP, application,
// identifier) rate limit.
func (a *api) verification(w http.ResponseWriter, r *http.Request, perm, op string) (checkout.CodeRequest, verificationIn, bool) {
	var in verificationIn
	c, err := a.sdkToken(r)
	if err == nil {
		err = permitted(c, perm)
	}
	if err == nil {
		_, err = readJSON(w, r, &in)
	}
	var ch otp.Channel
	if err == nil {
		ch, err = channelOf(in.Method)
	}
	if err == nil && strings.TrimSpace(in.Identifier) == "" {
		err = invalid(otp.CodeInvalidIdentifier, "identifier is required")
	}
	var sid string
	if err == nil && in.SessionToken != "" {
		sid, err = a.sessionRef(r.Context(), in.SessionToken, c.ApplicationID, c.Environment)
	}
	if err != nil {
		a.paymentError(w, r, err)
		return checkout.CodeRequest{}, in, false
	}
	id := strings.ToLower(strings.TrimSpace(in.Identifier))
	if !a.limit(w, r, "pp:"+op+":"+clientIP(r)+":"+c.ApplicationID+":"+id, flowLimit, flowWindow) {
		return checkout.CodeRequest{}, in, false
	}
	return checkout.CodeRequest{
		ApplicationID: c.ApplicationID, Environment: c.Environment, SessionID: sid,
		Channel: ch, Identifier: in.Identifier, Locale: in.Locale,
	}, in, true
}

// requestCode is POST /api/v1/checkout/verification/request.
func (a *api) requestCode(w http.ResponseWriter, r *http.Request) {
	req, _, ok := a.verification(w, r, permSendOTP, "otp-request")
	if !ok {
		return
	}
	id, ttl, err := a.checkout.SendCode(r.Context(), req)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"success": true, "message": "verification code sent", "expiresIn": int(ttl / time.Second), "verificationId": id,
	})
}

// verifyCode is POST /api/v1/checkout/verification/verify.
func (a *api) verifyCode(w http.ResponseWriter, r *http.Request) {
	req, in, ok := a.verification(w, r, permVerifyOTP, "otp-verify")
	if !ok {
		return
	}
	if in.Code == "" {
		a.paymentError(w, r, invalid(otp.CodeInvalidCode, "code is required"))
		return
	}
	v, err := a.checkout.VerifyCode(r.Context(), req, in.Code)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"success": true, "message": "verified", "verificationToken": v.Token,
		"identifier": v.Identifier, "method": methodOf(req.Channel), "expiresIn": "5m",
	})
}

// verificationMethods is GET /api/v1/checkout/verification/methods.
func (a *api) verificationMethods(w http.ResponseWriter, r *http.Request) {
	c, err := a.sdkToken(r)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	methods := []string{}
	for _, ch := range a.checkout.VerificationMethods(c.Environment) {
		methods = append(methods, methodOf(ch))
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "methods": methods})
}

// currencies is GET /api/v1/checkout/sessions/currencies.
func currencies(w http.ResponseWriter, r *http.Request) {
	list := money.Currencies()
	out := make([]map[string]any, len(list))
	for i, c := range list {
		out[i] = map[string]any{"code": c.Code, "name": c.Name, "symbol": c.Symbol, "decimals": c.Exponent}
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "currencies": out})
}

// gateways is GET /api/v1/checkout/sessions/gateways: the gateways sakk
// can charge through, in each environment.
func (a *api) gateways(w http.ResponseWriter, r *http.Request) {
	g := a.checkout.Gateways()
	writeJSON(w, http.StatusOK, map[string]any{
		"success":  true,
		"gateways": checkout.GatewayNames,
		"sandbox":  g.Available(pay.Sandbox),
		"live":     g.Available(pay.Live),
	})
}

// payer authenticates process and confirm: a payment verification token,
// or a backend SDK token (which may pay only sessions whose customer it
// locked).
func (a *api) payer(r *http.Request) (checkout.Payer, error) {
	tok := bearer(r)
	if tok == "" {
		return checkout.Payer{}, unauthenticated("invalid_token", "a payment verification token is required: Authorization: Bearer <verificationToken>")
	}
	c, err := a.tokens.Verify(r.Context(), tok, token.TypeVerification)
	if err == nil {
		return checkout.Payer{
			ApplicationID: c.ApplicationID, Environment: c.Environment, SessionID: c.SessionID,
			Identifier: c.Identifier, Channel: c.Channel,
		}, nil
	}
	if pay.KindOf(err) != pay.Unauthenticated {
		return checkout.Payer{}, err
	}
	if c, err := a.tokens.Verify(r.Context(), tok, token.TypeSDK); err == nil && c.IntegrationType == "backend" {
		return checkout.Payer{ApplicationID: c.ApplicationID, Environment: c.Environment, Backend: true}, nil
	}
	return checkout.Payer{}, unauthenticated("invalid_token", "the payment verification token is invalid or has expired")
}

type processIn struct {
	SessionToken  string `json:"sessionToken"`
	Method        string `json:"method"`
	Gateway       string `json:"gateway"`
	MethodPayload struct {
		TempPaymentToken string          `json:"tempPaymentToken"`
		ClientIP         string          `json:"clientIp"`
		UserAgent        string          `json:"userAgent"`
		PaymentMethodID  json.RawMessage `json:"paymentMethodId"`
		Type             string          `json:"type"`
	} `json:"methodPayload"`
	CustomerEmail string `json:"customerEmail"`
	CustomerPhone string `json:"customerPhone"`
}

// process is POST /api/v1/payments/process.
func (a *api) process(w http.ResponseWriter, r *http.Request) {
	who, err := a.payer(r)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	if !a.limit(w, r, "pp:process:"+clientIP(r)+":"+who.ApplicationID+":"+who.Identifier, flowLimit, flowWindow) {
		return
	}
	var in processIn
	if _, err := readJSON(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	sid, err := a.sessionRef(r.Context(), in.SessionToken, who.ApplicationID, who.Environment)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	ip := in.MethodPayload.ClientIP
	if ip == "" {
		ip = clientIP(r)
	}
	ua := in.MethodPayload.UserAgent
	if ua == "" {
		ua = r.UserAgent()
	}
	// The gateway's token of the shopper's payment details: the card
	// tokenizer's, or the gateway's own payment method id (MyFatoorah).
	paymentToken := in.MethodPayload.TempPaymentToken
	if id, ok := jsonDecimal(in.MethodPayload.PaymentMethodID); paymentToken == "" && ok {
		paymentToken = id
	}
	at, err := a.checkout.Process(r.Context(), who, checkout.ProcessRequest{
		SessionID: sid, Method: in.Method, Gateway: in.Gateway, PaymentToken: paymentToken,
		ClientIP: ip, UserAgent: ua, CustomerEmail: in.CustomerEmail, CustomerPhone: in.CustomerPhone,
	})
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, attemptOut(at))
}

// confirm is POST /api/v1/payments/confirm (deprecated): it asks the
// gateway where a payment waiting for it stands, and reports.
func (a *api) confirm(w http.ResponseWriter, r *http.Request) {
	who, err := a.payer(r)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	var in struct {
		SessionToken string `json:"sessionToken"`
	}
	if _, err := readJSON(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	sid, err := a.sessionRef(r.Context(), in.SessionToken, who.ApplicationID, who.Environment)
	if err == nil && who.SessionID != "" && who.SessionID != sid {
		err = pay.Errorf(pay.Forbidden, "verification_mismatch", "this verification was made for another session")
	}
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	at, err := a.checkout.Confirm(r.Context(), who.ApplicationID, who.Environment, sid)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	w.Header().Set("Deprecation", "true")
	writeJSON(w, http.StatusOK, attemptOut(at))
}

// attemptOut is the body of process and confirm.
func attemptOut(at checkout.Attempt) map[string]any {
	out := map[string]any{
		"status":    at.Session.Status,
		"sessionId": at.Session.ID,
	}
	p := at.Payment
	if p == nil {
		out["message"] = "no payment yet"
		return out
	}
	out["status"], out["paymentId"], out["gateway"] = p.Status, p.ID, p.Gateway
	switch p.Status {
	case pay.PaymentCompleted:
		out["message"] = "payment completed"
	case pay.PaymentRequiresAction:
		out["message"], out["redirectUrl"] = "the customer must complete the payment at redirectUrl", p.RedirectURL
	case pay.PaymentPending:
		out["message"] = "the payment is being processed"
	case pay.PaymentFailed:
		out["message"] = "the payment failed"
		out["error"] = map[string]any{"code": p.ErrorCode, "message": p.ErrorMessage, "retryable": p.Retryable, "details": map[string]any{}}
	default:
		out["message"] = "the payment is " + string(p.Status)
	}
	return out
}
