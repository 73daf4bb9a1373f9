package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// An application's payment links (MANAGEMENT.md), in one environment
// (?environment=): a fixed list of items at a public URL, /pay/{id}, that
// opens a fresh session for each buyer. merchant.Service validates and
// stores them; /pay/{id} (paylink.go) serves them.

type paymentLinkOut struct {
	ID            string               `json:"id"`
	URL           string               `json:"url"`
	Environment   string               `json:"environment"`
	Active        bool                 `json:"active"`
	Currency      string               `json:"currency"`
	Items         []paymentLinkItemOut `json:"items"`
	Total         string               `json:"total"`
	QuantityLimit *int64               `json:"quantityLimit"` // null: no limit
	// Paid counts the link's paid sessions, refunded ones included: what
	// the quantity limit is measured against.
	Paid      int64   `json:"paid"`
	ExpiresAt *string `json:"expiresAt"`
	CreatedAt string  `json:"createdAt"`
	UpdatedAt string  `json:"updatedAt"`
}

type paymentLinkItemOut struct {
	// StoreCode is set on a line copied from the catalog; its name and
	// price are those the product had when the link was made.
	StoreCode *string `json:"storeCode"`
	Reference string  `json:"reference"`
	Name      string  `json:"name"`
	UnitPrice string  `json:"unitPrice"`
	Quantity  int64   `json:"quantity"`
	ImageURL  string  `json:"imageUrl"`
}

func (a *api) paymentLinkOut(l pay.PaymentLink) paymentLinkOut {
	out := paymentLinkOut{ID: l.ID, URL: a.publicURL + "/pay/" + l.ID, Environment: string(l.Environment), Active: l.Active,
		Currency: string(l.Currency), Items: make([]paymentLinkItemOut, len(l.Items)), Paid: l.Paid,
		ExpiresAt: timeOut(l.ExpiresAt), CreatedAt: rfc3339(l.CreatedAt), UpdatedAt: rfc3339(l.UpdatedAt)}
	for i, it := range l.Items {
		o := paymentLinkItemOut{Reference: it.Reference, Name: it.Name, UnitPrice: money.Format(it.UnitPrice),
			Quantity: it.Quantity, ImageURL: it.ImageURL}
		if it.ProductID != "" {
			code := it.Reference
			o.StoreCode = &code
		}
		out.Items[i] = o
	}
	// A stored link's total was checked when it was made; ok is false
	// only for a row no CreatePaymentLink wrote.
	if total, ok := l.Total(); ok {
		out.Total = money.Format(total)
	}
	if l.QuantityLimit > 0 {
		n := l.QuantityLimit
		out.QuantityLimit = &n
	}
	return out
}

// listPaymentLinks is GET /apps/{appId}/payment-links?environment&cursor&limit:
// newest first, each with its paid count.
func (a *api) listPaymentLinks(w http.ResponseWriter, r *http.Request, c *caller) {
	limit := 0
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > merchant.MaxPaymentLinksPage {
			a.paymentError(w, r, invalid("invalid_limit", "limit must be from 1 to %d", merchant.MaxPaymentLinksPage))
			return
		}
		limit = n
	}
	links, next, err := a.merchant.PaymentLinks(r.Context(), c.app.ID, c.env, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	out := make([]paymentLinkOut, len(links))
	for i, l := range links {
		out[i] = a.paymentLinkOut(l)
	}
	writeJSON(w, http.StatusOK, listOut(out, next))
}

// paymentLinkIn is the body of POST /apps/{appId}/payment-links.
type paymentLinkIn struct {
	Items []struct {
		StoreCode string `json:"storeCode"`
		Name      string `json:"name"`
		UnitPrice string `json:"unitPrice"`
		Reference string `json:"reference"`
		ImageURL  string `json:"imageUrl"`
		// Quantity is per session; absent is 1.
		Quantity *json.Number `json:"quantity"`
	} `json:"items"`
	Currency      string       `json:"currency"`
	QuantityLimit *json.Number `json:"quantityLimit"`
	ExpiresAt     string       `json:"expiresAt"`
	Active        *bool        `json:"active"`
}

// wholeNumber reads a JSON number that must be an integer.
func wholeNumber(field string, n *json.Number) (int64, error) {
	v, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		return 0, invalid("invalid_request", "%s must be a whole number", field)
	}
	return v, nil
}

// createPaymentLink is POST /apps/{appId}/payment-links: 201 with the link
// and its public URL. Inline unit prices are decimal strings in the link's
// currency: the body's, else the first catalog line's, else MAD.
func (a *api) createPaymentLink(w http.ResponseWriter, r *http.Request, c *caller) {
	var in paymentLinkIn
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	req, err := a.newPaymentLink(r, c, in)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	l, err := a.merchant.CreatePaymentLink(r.Context(), req)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	out := a.paymentLinkOut(l)
	a.audit(r, c, account.Entry{MerchantID: c.merchantID(), ApplicationID: c.app.ID, Action: "payment_links.create", TargetType: "payment_link",
		TargetID: l.ID, Changes: account.Changes{"environment": {nil, out.Environment}, "currency": {nil, out.Currency},
			"total": {nil, out.Total}, "items": {nil, len(out.Items)}, "active": {nil, out.Active}}})
	writeJSON(w, http.StatusCreated, out)
}

// newPaymentLink turns the body into the service's request.
func (a *api) newPaymentLink(r *http.Request, c *caller, in paymentLinkIn) (merchant.NewPaymentLink, error) {
	req := merchant.NewPaymentLink{ApplicationID: c.app.ID, Environment: c.env, Currency: money.Currency(in.Currency),
		Lines: make([]merchant.PaymentLinkLine, len(in.Items))}
	if in.Active != nil {
		req.Inactive = !*in.Active
	}
	if in.QuantityLimit != nil {
		n, err := wholeNumber("quantityLimit", in.QuantityLimit)
		if err != nil {
			return req, err
		}
		req.QuantityLimit = &n
	}
	if in.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, in.ExpiresAt)
		if err != nil {
			return req, invalid("invalid_expires_at", "expiresAt must be an RFC 3339 time such as 2026-12-31T23:59:59Z")
		}
		req.ExpiresAt = t
	}
	// The currency inline prices are read in; the service checks that
	// every line agrees with it.
	cur := req.Currency
	if cur == "" {
		for _, it := range in.Items {
			if code := strings.TrimSpace(it.StoreCode); code != "" {
				p, err := a.merchant.Product(r.Context(), c.app.ID, code)
				if err == nil {
					cur = p.Price.Currency
				}
				// An unknown code is the service's to report, by line.
				break
			}
		}
	}
	if cur == "" {
		cur = pay.DefaultCurrency
	}
	for i, it := range in.Items {
		ln := merchant.PaymentLinkLine{StoreCode: it.StoreCode, Name: it.Name, Reference: it.Reference, ImageURL: it.ImageURL, Quantity: 1}
		if it.Quantity != nil {
			n, err := wholeNumber(fmt.Sprintf("items[%d].quantity", i), it.Quantity)
			if err != nil {
				return req, err
			}
			ln.Quantity = n
		}
		inline := strings.TrimSpace(it.StoreCode) == ""
		switch {
		case !inline && (it.Name != "" || it.UnitPrice != "" || it.Reference != "" || it.ImageURL != ""):
			return req, invalid("invalid_items", "items[%d]: a catalog line (storeCode) takes its name, price and image from the product: give only storeCode and quantity", i)
		case inline && it.UnitPrice == "":
			return req, invalid("invalid_price", `items[%d]: an inline item needs a unitPrice, a decimal string such as "50.00" (or give a storeCode)`, i)
		case inline:
			if cur.Exponent() < 0 {
				return req, invalid("invalid_currency", "%q is not an ISO 4217 currency code", cur)
			}
			p, err := money.Parse(strings.TrimSpace(it.UnitPrice), cur)
			if err != nil {
				return req, invalid("invalid_price", "items[%d].unitPrice in %s: %s", i, cur, strings.TrimPrefix(err.Error(), "money: "))
			}
			ln.UnitPrice = p
		}
		req.Lines[i] = ln
	}
	return req, nil
}

func (a *api) getPaymentLink(w http.ResponseWriter, r *http.Request, c *caller) {
	l, err := a.merchant.PaymentLink(r.Context(), c.app.ID, c.env, r.PathValue("linkId"))
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.paymentLinkOut(l))
}

// updatePaymentLink is PATCH /apps/{appId}/payment-links/{linkId}
// {"active"?,"expiresAt"? (RFC 3339, or null for never)}. An inactive
// link's URL shows a page saying so; sessions it opened before stay
// payable until they expire.
func (a *api) updatePaymentLink(w http.ResponseWriter, r *http.Request, c *caller) {
	var in struct {
		Active    *bool           `json:"active"`
		ExpiresAt json.RawMessage `json:"expiresAt"`
	}
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	p := merchant.PaymentLinkPatch{Active: in.Active}
	// Absent leaves the end as it is; null removes it.
	switch raw := strings.TrimSpace(string(in.ExpiresAt)); {
	case raw == "null":
		p.ExpiresAt = &time.Time{}
	case raw != "":
		text, _ := jsonString(in.ExpiresAt)
		t, err := time.Parse(time.RFC3339, text)
		if err != nil {
			a.paymentError(w, r, invalid("invalid_expires_at", "expiresAt must be an RFC 3339 time such as 2026-12-31T23:59:59Z, or null for never"))
			return
		}
		p.ExpiresAt = &t
	}
	before, after, err := a.merchant.UpdatePaymentLink(r.Context(), c.app.ID, c.env, r.PathValue("linkId"), p)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	b, n := a.paymentLinkOut(before), a.paymentLinkOut(after)
	ch := account.Changes{}
	if b.Active != n.Active {
		ch["active"] = [2]any{b.Active, n.Active}
	}
	if jsonText(b.ExpiresAt) != jsonText(n.ExpiresAt) {
		ch["expiresAt"] = [2]any{b.ExpiresAt, n.ExpiresAt}
	}
	if len(ch) > 0 { // a patch that changed nothing is nothing to record
		a.audit(r, c, account.Entry{MerchantID: c.merchantID(), ApplicationID: c.app.ID, Action: "payment_links.update", TargetType: "payment_link",
			TargetID: after.ID, Changes: ch})
	}
	writeJSON(w, http.StatusOK, n)
}
