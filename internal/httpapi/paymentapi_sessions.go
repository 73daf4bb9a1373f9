package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/token"
)

// Sessions of the Public Payment API: created of catalog or inline
// products, read by reference, and the currencies and gateways they may use.

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
		idem, err := idempotency(r, body)
		if err != nil {
			a.paymentError(w, r, err)
			return
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
