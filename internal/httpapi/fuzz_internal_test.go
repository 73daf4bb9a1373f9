package httpapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/textrule"
	"github.com/sakkhq/sakk/internal/token"
)

// Fuzz targets of the decoders of outside input in this package: the two
// surfaces' session bodies, the query strings of listings, and the text
// rule of paths and query strings. Each holds an invariant beyond "no
// panic"; `go test` replays the corpora under testdata/fuzz.

// body is a POST of b, as a client sends it.
func body(b []byte) (*httptest.ResponseRecorder, *http.Request) {
	return httptest.NewRecorder(), httptest.NewRequest("POST", "/api/v1/public/sessions", bytes.NewReader(b))
}

// textOK reports whether every string of v meets the rule's core (UTF-8,
// no control character): what a decoder lets through.
func textOK(ss ...string) bool {
	for _, s := range ss {
		if textrule.Check("", s, textrule.Rule{Max: 1 << 20, Multiline: false}) != nil {
			return false
		}
	}
	return true
}

// FuzzCheckoutSessionBody: a Checkout API session body either is refused
// with an Invalid error or becomes a request whose total is exactly the
// sum of its items, in a known currency, with every text clean.
func FuzzCheckoutSessionBody(f *testing.F) {
	for _, s := range []string{
		`{"total":"1799.00","currency":"MAD","items":[{"id":"PRODUCT_123","name":"Wireless Headphones","price":1799,"quantity":1}]}`,
		`{"total":"0.30","currency":"MAD","items":[{"id":"A","name":"x","price":0.1,"quantity":1},{"id":"B","name":"y","price":0.2,"quantity":1}]}`,
		`{"total":12.500,"currency":"KWD","items":[{"id":1,"name":"Lamp","price":"12.500","quantity":1}],"metadata":{"k":"v\n"},"vendor_reference":"r"}`,
		`{"total":"1.00","currency":"MAD","items":[{"id":"A","name":"L\u0000","price":1,"quantity":1}]}`,
		"{\"total\":\"1.00\",\"currency\":\"MAD\",\"items\":[{\"id\":\"A\",\"name\":\"\xff\",\"price\":1,\"quantity\":1}]}",
		`{"total":"1e999","currency":"JPY","items":[]}`, `[]`, `{}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var in sessionIn
		w, r := body(b)
		if _, err := readJSON(w, r, &in); err != nil {
			if pay.KindOf(err) != pay.Invalid {
				t.Fatalf("readJSON(%q) = %v, not Invalid", b, err)
			}
			return
		}
		req, err := parseSession(in)
		if err != nil {
			if pay.KindOf(err) != pay.Invalid {
				t.Fatalf("parseSession(%q) = %v, not Invalid", b, err)
			}
			return
		}
		if _, ok := money.Lookup(string(req.Currency)); !ok || req.Total.Currency != req.Currency || !req.Total.IsPositive() {
			t.Fatalf("%q: currency %q total %v", b, req.Currency, req.Total)
		}
		if !textOK(req.VendorReference, req.CustomerEmail, req.CustomerPhone, req.ReturnURL, req.CancelURL, req.RedirectURL) {
			t.Fatalf("%q: unclean text in %+v", b, req)
		}
		for _, it := range req.Items {
			if it.Quantity < 1 || it.Quantity > checkout.MaxQuantity || it.UnitPrice.Currency != req.Currency || !textOK(it.Name, it.Reference) {
				t.Fatalf("%q: item %+v", b, it)
			}
		}
	})
}

// FuzzPaymentSessionBody: a Public Payment API session body, read with a
// backend token holding every permission, is refused as Invalid or
// Forbidden, or becomes products with clean text and sane quantities.
func FuzzPaymentSessionBody(f *testing.F) {
	for _, s := range []string{
		`{"products":[{"name":"Lamp","price":10,"quantity":1}],"currency":"MAD"}`,
		`{"products":[{"storeCode":"MUG-1","quantity":2},{"name":"Tea","price":"1.50","sku":"T1","imageUrl":"https://img.example/t.png"}],"customer":{"email":"a@example.com"},"metadata":{"a":[1,{"b":"c"}]},"returnUrl":"https://shop.example/ok"}`,
		`{"products":[{"name":"La\u0000mp","price":10}]}`, `{"products":[]}`, `{"products":[1]}`, `{"products":{}}`,
	} {
		f.Add([]byte(s))
	}
	claims := token.Claims{Type: token.TypeSDK, IntegrationType: "backend",
		Permissions: []string{permCreateSession, permProductLink, permProductCreate, permCustomerCreate, permCustomerSelect}}
	f.Fuzz(func(t *testing.T, b []byte) {
		var in paymentSessionIn
		w, r := body(b)
		if _, err := readJSON(w, r, &in); err != nil {
			if pay.KindOf(err) != pay.Invalid {
				t.Fatalf("readJSON(%q) = %v, not Invalid", b, err)
			}
			return
		}
		req, err := parsePaymentSession(in, claims, true)
		if err != nil {
			if k := pay.KindOf(err); k != pay.Invalid && k != pay.Forbidden {
				t.Fatalf("parsePaymentSession(%q) = %v", b, err)
			}
			return
		}
		if len(req.Products) == 0 || len(req.Products) > checkout.MaxItems {
			t.Fatalf("%q: %d products", b, len(req.Products))
		}
		for _, p := range req.Products {
			if p.Quantity < 1 || p.Quantity > checkout.MaxQuantity || !textOK(p.StoreCode, p.Name, p.Price, p.SKU, p.ImageURL, string(p.Currency)) {
				t.Fatalf("%q: product %+v", b, p)
			}
		}
		if c := req.Customer; c != nil && !textOK(c.Email, c.Phone) {
			t.Fatalf("%q: customer %+v", b, c)
		}
		if !textOK(req.ReturnURL, req.CancelURL, req.Gateway, req.Locale, string(req.Currency)) {
			t.Fatalf("%q: %+v", b, req)
		}
	})
}

// FuzzQuery: the text rule of the URL and the listings' query reading.
// A request the rule lets through has a clean path and query; a listing
// query either is refused as Invalid or names a limit in range.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"status=completed&limit=10", "created_from=2025-01-31T00:00:00Z&created_to=2026-01-01T00:00:00Z", "cursor=MTIzLnBheV94", "limit=-1", "x=%00", "a=%zz", "%ff=1", "limit=99999999999999999999", ""} {
		f.Add("/api/merchant/v1/payments", s)
	}
	f.Add("/api/merchant/v1/payments/pay_%00", "")
	f.Fuzz(func(t *testing.T, path, query string) {
		u := &url.URL{Path: path, RawQuery: query}
		r := httptest.NewRequest("GET", "http://sakk.test/", nil)
		r.URL = u
		if p := urlText(r); p == nil {
			if !textOK(u.Path) {
				t.Fatalf("path %q let through", u.Path)
			}
			q, err := url.ParseQuery(query)
			if err != nil {
				t.Fatalf("query %q let through: %v", query, err)
			}
			for k, vs := range q {
				if !textOK(append(vs, k)...) {
					t.Fatalf("query %q let through", query)
				}
			}
		} else if p.Field != "path" && p.Field != "query" && !strings.HasPrefix(p.Field, "query.") {
			t.Fatalf("problem names %q", p.Field)
		}
		lq, err := listQuery(r, "app_x", pay.Sandbox)
		if err != nil {
			if pay.KindOf(err) != pay.Invalid {
				t.Fatalf("listQuery(%q) = %v", query, err)
			}
			return
		}
		if lq.Limit < 0 || lq.ApplicationID != "app_x" {
			t.Fatalf("listQuery(%q) = %+v", query, lq)
		}
	})
}
