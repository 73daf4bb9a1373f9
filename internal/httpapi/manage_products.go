package httpapi

import (
	"net/http"
	"strings"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// An application's catalog (MANAGEMENT.md): products a session or a
// payment link names by store code, so that a browser never sets a
// price. Prices are decimal strings in the product's currency.

type productOut struct {
	ID        string `json:"id"`
	StoreCode string `json:"storeCode"`
	Title     string `json:"title"`
	Price     string `json:"price"`
	Currency  string `json:"currency"`
	ImageURL  string `json:"imageUrl"`
	CreatedAt string `json:"createdAt"`
}

func manageProductOut(p pay.Product) productOut {
	return productOut{ID: p.ID, StoreCode: p.StoreCode, Title: p.Title, Price: money.Format(p.Price),
		Currency: string(p.Price.Currency), ImageURL: p.ImageURL, CreatedAt: rfc3339(p.CreatedAt)}
}

// catalogProductIn is the body of POST /products and PATCH /products/{storeCode}.
type catalogProductIn struct {
	StoreCode *string `json:"storeCode"` // POST only
	Title     *string `json:"title"`
	Price     *string `json:"price"`
	Currency  *string `json:"currency"`
	ImageURL  *string `json:"imageUrl"`
}

// price parses the body's price in its currency, else in cur. A currency
// without a price is refused: it would reprice the product by another
// unit's count.
func (in catalogProductIn) price(cur money.Currency) (*money.Amount, error) {
	if in.Currency != nil {
		cur = money.Currency(*in.Currency)
	}
	switch {
	case in.Price == nil && in.Currency != nil:
		return nil, invalid("invalid_price", "give price along with currency")
	case in.Price == nil:
		return nil, nil
	}
	if cur.Exponent() < 0 {
		return nil, invalid("invalid_currency", "%q is not a currency sakk knows: give an upper-case ISO 4217 code such as MAD", cur)
	}
	p, err := money.Parse(strings.TrimSpace(*in.Price), cur)
	if err != nil {
		return nil, invalid("invalid_price", `price must be a decimal string in %s, such as "50.00": %s`, cur, strings.TrimPrefix(err.Error(), "money: "))
	}
	return &p, nil
}

func (a *api) listProducts(w http.ResponseWriter, r *http.Request, c *caller) {
	ps, err := a.merchant.Products(r.Context(), c.app.ID)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	out := make([]productOut, len(ps))
	for i, p := range ps {
		out[i] = manageProductOut(p)
	}
	writeJSON(w, http.StatusOK, listOut(out, ""))
}

// createProduct is POST /apps/{appId}/products {"storeCode","title",
// "price","currency"? (MAD),"imageUrl"?}: 201; a store code the
// application uses already is 409 store_code_taken.
func (a *api) createProduct(w http.ResponseWriter, r *http.Request, c *caller) {
	var in catalogProductIn
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	if in.Price == nil {
		a.paymentError(w, r, invalid("invalid_price", `a product needs a price, a decimal string such as "50.00"`))
		return
	}
	price, err := in.price(pay.DefaultCurrency)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	p, err := a.merchant.AddProduct(r.Context(), merchant.NewProduct{ApplicationID: c.app.ID, StoreCode: deref(in.StoreCode),
		Title: deref(in.Title), Price: *price, ImageURL: deref(in.ImageURL)})
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	a.audit(r, c, account.Entry{MerchantID: c.merchantID(), ApplicationID: c.app.ID, Action: "products.create", TargetType: "product",
		TargetID: p.ID, Changes: account.Changes{"storeCode": {nil, p.StoreCode}, "title": {nil, p.Title},
			"price": {nil, money.Format(p.Price)}, "currency": {nil, string(p.Price.Currency)}}})
	writeJSON(w, http.StatusCreated, manageProductOut(p))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (a *api) getProduct(w http.ResponseWriter, r *http.Request, c *caller) {
	p, err := a.merchant.Product(r.Context(), c.app.ID, r.PathValue("storeCode"))
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, manageProductOut(p))
}

// updateProduct is PATCH /apps/{appId}/products/{storeCode} {"title"?,
// "price"?,"currency"?,"imageUrl"?}. The store code stays: sessions and
// links name the product by it. Links made before keep their prices.
func (a *api) updateProduct(w http.ResponseWriter, r *http.Request, c *caller) {
	var in catalogProductIn
	if err := readBody(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	if in.StoreCode != nil {
		a.paymentError(w, r, invalid("invalid_request", "storeCode cannot change: add a product under the new code and delete this one"))
		return
	}
	current, err := a.merchant.Product(r.Context(), c.app.ID, r.PathValue("storeCode"))
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	price, err := in.price(current.Price.Currency)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	before, after, err := a.merchant.UpdateProduct(r.Context(), c.app.ID, current.StoreCode,
		merchant.ProductPatch{Title: in.Title, Price: price, ImageURL: in.ImageURL})
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	b, n := manageProductOut(before), manageProductOut(after)
	ch := account.Changes{}
	for _, f := range []struct {
		name     string
		old, new string
	}{{"title", b.Title, n.Title}, {"price", b.Price, n.Price}, {"currency", b.Currency, n.Currency}, {"imageUrl", b.ImageURL, n.ImageURL}} {
		if f.old != f.new {
			ch[f.name] = [2]any{f.old, f.new}
		}
	}
	if len(ch) > 0 { // a patch that changed nothing is nothing to record
		a.audit(r, c, account.Entry{MerchantID: c.merchantID(), ApplicationID: c.app.ID, Action: "products.update", TargetType: "product",
			TargetID: after.ID, Changes: ch})
	}
	writeJSON(w, http.StatusOK, n)
}

// deleteProduct is DELETE /apps/{appId}/products/{storeCode}: 204.
// Sessions and payment links made from it keep their copies of its line.
func (a *api) deleteProduct(w http.ResponseWriter, r *http.Request, c *caller) {
	p, err := a.merchant.DeleteProduct(r.Context(), c.app.ID, r.PathValue("storeCode"))
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	a.audit(r, c, account.Entry{MerchantID: c.merchantID(), ApplicationID: c.app.ID, Action: "products.delete", TargetType: "product",
		TargetID: p.ID, Changes: account.Changes{"storeCode": {p.StoreCode, nil}}})
	noContent(w)
}
