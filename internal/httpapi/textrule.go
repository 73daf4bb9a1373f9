package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/textrule"
)

// The text rule (internal/textrule) on every surface under /api/: the
// path, the query string and the Idempotency-Key header in withTextRule,
// every JSON body in readJSON. Both answer 400 invalid_text (the Checkout
// API's INVALID_TEXT) naming the field, in the surface's own error body;
// no handler checks text itself. docs/openapi.yaml states the limits
// below (the description of the document, and maxLength of each field).

// codeInvalidText is the code of a field that breaks the text rule.
const codeInvalidText = "invalid_text"

// Limits of the URL's parts, in characters.
const (
	maxPathText  = 2048
	maxQueryKey  = 64
	maxQueryText = 2048
	maxIdemKey   = 255
)

// bodyText is the rule of every field of every JSON body under /api/,
// by its field's pattern (textrule.Table). A name means the same thing
// wherever it appears, so one table serves every route; a field no
// pattern names gets textrule.DefaultMax characters on one line.
var bodyText = &textrule.Table{
	Values: rules(map[textrule.Rule][]string{
		{Max: 32}:  {"code"},
		{Max: 100}: {"name", "displayName", "branding.displayName"},
		{Max: 253}: {"domain"},
		{Max: 254}: {"email"},
		{Max: 255}: {
			"items[].id", "items[].name", "items[].reference", "items[].storeCode",
			"products[].name", "products[].sku", "products[].storeCode",
			"storeCode", "title", "sku", "reference", "vendor_reference", "vendorReference",
			"customer_email", "customer_phone", "customerEmail", "customerPhone",
			"customer.email", "customer.phone", "identifier",
		},
		{Max: 2048}: {
			"return_url", "cancel_url", "redirect_url", "returnUrl", "cancelUrl", "url",
			"imageUrl", "items[].imageUrl", "products[].imageUrl", "logoUrl", "branding.logoUrl",
		},
		// A password is only hashed: any character may be in it.
		{Max: 128, Controls: true}: {"password", "newPassword", "currentPassword"},
		// The merchant's metadata may hold line breaks; a gateway
		// credential may be a PEM block.
		{Max: 500, Multiline: true}:                 {"metadata.*"},
		{Max: textrule.DefaultMax, Multiline: true}: {"settings.*"},
	}),
	Keys: map[string]textrule.Rule{"metadata.*": {Max: 40}},
	Key:  textrule.Rule{Max: 64},
}

// rules turns fields by rule into rules by field.
func rules(by map[textrule.Rule][]string) map[string]textrule.Rule {
	out := map[string]textrule.Rule{}
	for r, names := range by {
		for _, n := range names {
			out[n] = r
		}
	}
	return out
}

// textError is the error of a field that breaks the rule; the surfaces'
// error writers name its field (fieldOf).
func textError(p *textrule.Problem) error {
	return &pay.Error{Kind: pay.Invalid, Code: codeInvalidText, Message: p.Error(), Err: p}
}

// fieldOf is the field an error names, or "".
func fieldOf(err error) string {
	var p *textrule.Problem
	if errors.As(err, &p) {
		return p.Field
	}
	return ""
}

// withTextRule refuses a request under /api/ whose path, query string or
// Idempotency-Key breaks the text rule, before any handler sees it. The
// path is checked decoded, as handlers read it (r.PathValue), so %00 in
// an id is refused here rather than reaching a store.
func (a *api) withTextRule(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		if p := urlText(r); p != nil {
			if strings.HasPrefix(r.URL.Path, "/api/v1/public/") {
				a.checkoutError(w, r, textError(p))
			} else {
				a.paymentError(w, r, textError(p))
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}

// urlText checks what a request carries outside its body.
func urlText(r *http.Request) *textrule.Problem {
	if p := textrule.Check("path", r.URL.Path, textrule.Rule{Max: maxPathText}); p != nil {
		return p
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return &textrule.Problem{Field: "query", Reason: "is not a valid query string"}
	}
	for k, vs := range q {
		if p := textrule.Check("query", k, textrule.Rule{Max: maxQueryKey}); p != nil {
			p.Reason = "a parameter name " + p.Reason
			return p
		}
		for _, v := range vs {
			if p := textrule.Check("query."+k, v, textrule.Rule{Max: maxQueryText}); p != nil {
				return p
			}
		}
	}
	for _, v := range r.Header.Values("Idempotency-Key") {
		if p := textrule.Check("header.Idempotency-Key", v, textrule.Rule{Max: maxIdemKey}); p != nil {
			return p
		}
	}
	return nil
}
