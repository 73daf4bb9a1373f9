package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/boombuler/barcode/qr"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// The catalog pages: products and payment links. They call the same
// merchant.Service methods as the management API's /products and
// /payment-links, turning a form into the request the API would build
// from a body, and audit under the API's action names.

// currencies are those the application accepts, its default first: the
// only ones a product or a link of it may be priced in.
func currencies(a pay.Application) []money.Currency {
	out := []money.Currency{pay.DefaultCurrency}
	for _, c := range a.Currencies {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// productForm is the add and edit forms' input, kept as typed so that a
// refused form comes back as the member left it.
type productForm struct {
	StoreCode, Title, Price, Currency, ImageURL string
}

func readProductForm(r *http.Request) productForm {
	return productForm{StoreCode: strings.TrimSpace(formValue(r, "store_code")), Title: strings.TrimSpace(formValue(r, "title")),
		Price: strings.TrimSpace(formValue(r, "price")), Currency: strings.TrimSpace(formValue(r, "currency")),
		ImageURL: strings.TrimSpace(formValue(r, "image_url"))}
}

// price reads the form's decimal price in its currency, as the API reads
// "price" with "currency".
func (f productForm) price(p *page) (money.Amount, error) {
	cur := money.Currency(cmpOr(f.Currency, string(pay.DefaultCurrency)))
	if cur.Exponent() < 0 {
		return money.Amount{}, pay.Errorf(pay.Invalid, "invalid_currency", "%s", p.T("err_currency"))
	}
	a, err := money.Parse(f.Price, cur)
	if err != nil {
		return money.Amount{}, pay.Errorf(pay.Invalid, "invalid_price", "%s", p.T("err_price", "currency", string(cur)))
	}
	return a, nil
}

type productsData struct {
	Products   []pay.Product
	Form       productForm
	Currencies []money.Currency
}

type productData struct {
	Product    pay.Product
	Form       productForm
	Currencies []money.Currency
}

func (h *Handler) productsPage(w http.ResponseWriter, r *http.Request, p *page) {
	p.Notice = doneNotice(p, r)
	h.showProducts(w, r, p, http.StatusOK, productForm{Currency: string(pay.DefaultCurrency)})
}

func (h *Handler) showProducts(w http.ResponseWriter, r *http.Request, p *page, status int, f productForm) {
	ps, err := h.d.Merchant.Products(r.Context(), p.App.ID)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	p.Title, p.Nav, p.Data = p.T("nav_products"), "products", productsData{Products: ps, Form: f, Currencies: currencies(p.App)}
	h.render(w, r, status, "products", p)
}

// createProduct is the "Add product" form: POST /products of the API.
func (h *Handler) createProduct(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	f := readProductForm(r)
	price, err := f.price(p)
	var pr pay.Product
	if err == nil {
		pr, err = h.d.Merchant.AddProduct(r.Context(), merchant.NewProduct{ApplicationID: p.App.ID, StoreCode: f.StoreCode,
			Title: f.Title, Price: price, ImageURL: f.ImageURL})
	}
	if err != nil {
		if k := pay.KindOf(err); k == pay.Invalid || k == pay.Conflict {
			p.Error = pay.MessageOf(err)
			h.showProducts(w, r, p, http.StatusBadRequest, f)
			return
		}
		h.fail(w, r, p, err)
		return
	}
	h.audit(r, p, account.Entry{MerchantID: p.User.MerchantID, ApplicationID: p.App.ID, Action: "products.create", TargetType: "product",
		TargetID: pr.ID, Changes: account.Changes{"storeCode": {nil, pr.StoreCode}, "title": {nil, pr.Title},
			"price": {nil, money.Format(pr.Price)}, "currency": {nil, string(pr.Price.Currency)}}})
	p.Notice = p.T("product_added", "title", pr.Title)
	// A fresh form for the next product, in the currency just used.
	h.showProducts(w, r, p, http.StatusCreated, productForm{Currency: string(pr.Price.Currency)})
}

// productPage is one product with its edit and delete forms.
func (h *Handler) productPage(w http.ResponseWriter, r *http.Request, p *page) {
	pr, err := h.d.Merchant.Product(r.Context(), p.App.ID, r.PathValue("storeCode"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.showProduct(w, r, p, http.StatusOK, pr, productForm{StoreCode: pr.StoreCode, Title: pr.Title, Price: money.Format(pr.Price),
		Currency: string(pr.Price.Currency), ImageURL: pr.ImageURL})
}

func (h *Handler) showProduct(w http.ResponseWriter, r *http.Request, p *page, status int, pr pay.Product, f productForm) {
	p.Title, p.Nav, p.Data = pr.Title, "products", productData{Product: pr, Form: f, Currencies: currencies(p.App)}
	h.render(w, r, status, "product", p)
}

// updateProduct is the edit form: PATCH /products/{storeCode} of the API
// with every field. The store code stays (links name the product by it).
func (h *Handler) updateProduct(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	current, err := h.d.Merchant.Product(r.Context(), p.App.ID, r.PathValue("storeCode"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	f := readProductForm(r)
	f.StoreCode = current.StoreCode
	price, err := f.price(p)
	var before, after pay.Product
	if err == nil {
		before, after, err = h.d.Merchant.UpdateProduct(r.Context(), p.App.ID, current.StoreCode,
			merchant.ProductPatch{Title: &f.Title, Price: &price, ImageURL: &f.ImageURL})
	}
	if err != nil {
		if pay.KindOf(err) == pay.Invalid {
			p.Error = pay.MessageOf(err)
			h.showProduct(w, r, p, http.StatusBadRequest, current, f)
			return
		}
		h.fail(w, r, p, err)
		return
	}
	ch := account.Changes{}
	for _, c := range []struct{ name, old, new string }{
		{"title", before.Title, after.Title}, {"price", money.Format(before.Price), money.Format(after.Price)},
		{"currency", string(before.Price.Currency), string(after.Price.Currency)}, {"imageUrl", before.ImageURL, after.ImageURL},
	} {
		if c.old != c.new {
			ch[c.name] = [2]any{c.old, c.new}
		}
	}
	if len(ch) > 0 { // as on the API: a save that changed nothing is nothing to record
		h.audit(r, p, account.Entry{MerchantID: p.User.MerchantID, ApplicationID: p.App.ID, Action: "products.update", TargetType: "product",
			TargetID: after.ID, Changes: ch})
	}
	h.redirectDone(w, r, p, "/products", "updated")
}

// deleteProduct is the delete form (confirmed in the browser first).
// Links made from the product keep their copies of its line.
func (h *Handler) deleteProduct(w http.ResponseWriter, r *http.Request, p *page) {
	pr, err := h.d.Merchant.DeleteProduct(r.Context(), p.App.ID, r.PathValue("storeCode"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.audit(r, p, account.Entry{MerchantID: p.User.MerchantID, ApplicationID: p.App.ID, Action: "products.delete", TargetType: "product",
		TargetID: pr.ID, Changes: account.Changes{"storeCode": {pr.StoreCode, nil}}})
	h.redirectDone(w, r, p, "/products", "deleted")
}

// doneKeys are the notices a write's redirect may ask for: the query names
// a key, never the text, so a crafted link cannot put words on the page.
var doneKeys = map[string]string{"updated": "done_updated", "deleted": "done_deleted", "activated": "done_activated", "deactivated": "done_deactivated"}

func doneNotice(p *page, r *http.Request) string {
	if k, ok := doneKeys[r.URL.Query().Get("done")]; ok {
		return p.T(k)
	}
	return ""
}

// redirectDone ends a write that has nothing new to show with a redirect,
// so that reloading the page does not post the form again.
func (h *Handler) redirectDone(w http.ResponseWriter, r *http.Request, p *page, rest, done string) {
	http.Redirect(w, r, p.AppURL(rest)+queryJoin(p)+"done="+done, http.StatusSeeOther)
}

// linkForm is the "Create payment link" form's input, as typed.
type linkForm struct {
	Picked                                      map[string]bool   // store code → ticked
	Quantity                                    map[string]string // store code → quantity as typed
	ItemName, ItemPrice, ItemQuantity, Currency string
	Limit, Expires                              string
}

// linkRow is a link as the page shows it.
type linkRow struct {
	Link    pay.PaymentLink
	URL     string
	Summary string
	Total   string
	Expired bool
}

type linksData struct {
	Links      []linkRow
	Products   []pay.Product
	Currencies []money.Currency
	Form       linkForm
	Created    *linkRow // the link just made, shown with its QR code
	QR         *qrCode
	NextURL    string
}

func (h *Handler) linkRow(l pay.PaymentLink) linkRow {
	parts := make([]string, len(l.Items))
	for i, it := range l.Items {
		parts[i] = strconv.FormatInt(it.Quantity, 10) + " × " + it.Name
	}
	row := linkRow{Link: l, URL: strings.TrimSuffix(h.d.PublicURL, "/") + "/pay/" + l.ID, Summary: strings.Join(parts, ", "),
		Expired: !l.ExpiresAt.IsZero() && !l.ExpiresAt.After(h.d.Now())}
	if t, ok := l.Total(); ok {
		row.Total = money.Format(t) + " " + string(t.Currency)
	}
	return row
}

func (h *Handler) linksPage(w http.ResponseWriter, r *http.Request, p *page) {
	p.Notice = doneNotice(p, r)
	h.showLinks(w, r, p, http.StatusOK, linkForm{Currency: string(pay.DefaultCurrency), ItemQuantity: "1"}, nil)
}

func (h *Handler) showLinks(w http.ResponseWriter, r *http.Request, p *page, status int, f linkForm, created *pay.PaymentLink) {
	ctx := r.Context()
	links, next, err := h.d.Merchant.PaymentLinks(ctx, p.App.ID, p.Env, r.URL.Query().Get("cursor"), 50)
	if err != nil && pay.KindOf(err) == pay.Invalid {
		// A stale cursor: start again from the newest.
		links, next, err = h.d.Merchant.PaymentLinks(ctx, p.App.ID, p.Env, "", 50)
	}
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	ps, err := h.d.Merchant.Products(ctx, p.App.ID)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d := linksData{Products: ps, Currencies: currencies(p.App), Form: f, Links: make([]linkRow, len(links))}
	for i, l := range links {
		d.Links[i] = h.linkRow(l)
	}
	if created != nil {
		row := h.linkRow(*created)
		d.Created = &row
		if d.QR, err = newQRCode(row.URL, p.T("qr_label")); err != nil {
			// The URL and its copy button are still there.
			h.d.Logger.WarnContext(ctx, "dashboard qr code", "err", err)
		}
	}
	if next != "" {
		d.NextURL = p.AppURL("/links") + queryJoin(p) + "cursor=" + url.QueryEscape(next)
	}
	p.Title, p.Nav, p.Data = p.T("nav_links"), "links", d
	h.render(w, r, status, "links", p)
}

// createLink is the "Create payment link" form: the ticked products with
// their quantities, then the inline item if it has a name, as the lines
// of POST /payment-links.
func (h *Handler) createLink(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, p, pay.Errorf(pay.Invalid, "invalid_request", "%s", p.T("err_form")))
		return
	}
	f := linkForm{Picked: map[string]bool{}, Quantity: map[string]string{}, ItemName: strings.TrimSpace(formValue(r, "item_name")),
		ItemPrice: strings.TrimSpace(formValue(r, "item_price")), ItemQuantity: strings.TrimSpace(formValue(r, "item_quantity")),
		Currency: strings.TrimSpace(formValue(r, "currency")), Limit: strings.TrimSpace(formValue(r, "limit")),
		Expires: strings.TrimSpace(formValue(r, "expires"))}
	for k, vs := range r.PostForm {
		if code, ok := strings.CutPrefix(k, "quantity:"); ok && len(vs) > 0 {
			f.Quantity[code] = strings.TrimSpace(vs[0])
		}
	}
	for _, code := range r.PostForm["product"] {
		f.Picked[code] = true
	}
	req, err := h.newLink(r, p, f)
	var l pay.PaymentLink
	if err == nil {
		l, err = h.d.Merchant.CreatePaymentLink(r.Context(), req)
	}
	if err != nil {
		if k := pay.KindOf(err); k == pay.Invalid || k == pay.NotFound {
			p.Error = pay.MessageOf(err)
			h.showLinks(w, r, p, http.StatusBadRequest, f, nil)
			return
		}
		h.fail(w, r, p, err)
		return
	}
	total := ""
	if t, ok := l.Total(); ok {
		total = money.Format(t)
	}
	h.audit(r, p, account.Entry{MerchantID: p.User.MerchantID, ApplicationID: p.App.ID, Action: "payment_links.create", TargetType: "payment_link",
		TargetID: l.ID, Changes: account.Changes{"environment": {nil, string(l.Environment)}, "currency": {nil, string(l.Currency)},
			"total": {nil, total}, "items": {nil, len(l.Items)}, "active": {nil, l.Active}}})
	p.Notice = p.T("link_created")
	h.showLinks(w, r, p, http.StatusCreated, linkForm{Currency: string(l.Currency), ItemQuantity: "1"}, &l)
}

// newLink turns the form into the service's request, in the order the
// products are listed so that the link reads as the form did.
func (h *Handler) newLink(r *http.Request, p *page, f linkForm) (merchant.NewPaymentLink, error) {
	req := merchant.NewPaymentLink{ApplicationID: p.App.ID, Environment: p.Env}
	quantity := func(s string) (int64, error) {
		if s == "" {
			return 1, nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return 0, pay.Errorf(pay.Invalid, "invalid_items", "%s", p.T("err_quantity"))
		}
		return n, nil
	}
	ps, err := h.d.Merchant.Products(r.Context(), p.App.ID)
	if err != nil {
		return req, err
	}
	for _, pr := range ps {
		if !f.Picked[pr.StoreCode] {
			continue
		}
		n, err := quantity(f.Quantity[pr.StoreCode])
		if err != nil {
			return req, err
		}
		req.Lines = append(req.Lines, merchant.PaymentLinkLine{StoreCode: pr.StoreCode, Quantity: n})
		if req.Currency == "" {
			req.Currency = pr.Price.Currency
		}
	}
	// A ticked product that is gone since the page was drawn is refused,
	// not dropped: the member would pay for less than they chose.
	for code := range f.Picked {
		if !slices.ContainsFunc(ps, func(pr pay.Product) bool { return pr.StoreCode == code }) {
			return req, merchant.ProductNotFound(code)
		}
	}
	if f.ItemName != "" || f.ItemPrice != "" {
		// The inline item is in the catalog lines' currency when there
		// are any (a link has one), else in the one chosen.
		cur := req.Currency
		if cur == "" {
			cur = money.Currency(cmpOr(f.Currency, string(pay.DefaultCurrency)))
		}
		if cur.Exponent() < 0 {
			return req, pay.Errorf(pay.Invalid, "invalid_currency", "%s", p.T("err_currency"))
		}
		price, err := money.Parse(f.ItemPrice, cur)
		if err != nil {
			return req, pay.Errorf(pay.Invalid, "invalid_price", "%s", p.T("err_price", "currency", string(cur)))
		}
		n, err := quantity(f.ItemQuantity)
		if err != nil {
			return req, err
		}
		req.Lines = append(req.Lines, merchant.PaymentLinkLine{Name: f.ItemName, UnitPrice: price, Quantity: n})
		req.Currency = cur
	}
	if len(req.Lines) == 0 {
		return req, pay.Errorf(pay.Invalid, "invalid_items", "%s", p.T("err_no_items"))
	}
	if f.Limit != "" {
		n, err := strconv.ParseInt(f.Limit, 10, 64)
		if err != nil {
			return req, pay.Errorf(pay.Invalid, "invalid_quantity_limit", "%s", p.T("err_limit"))
		}
		req.QuantityLimit = &n
	}
	if f.Expires != "" {
		day, err := time.Parse("2006-01-02", f.Expires)
		if err != nil {
			return req, pay.Errorf(pay.Invalid, "invalid_expires_at", "%s", p.T("err_date"))
		}
		// The link works through the whole day named (UTC).
		req.ExpiresAt = day.Add(24 * time.Hour)
	}
	return req, nil
}

// setLinkActive is a link's deactivate / activate button: PATCH
// /payment-links/{linkId} {"active"}. Sessions already opened stay
// payable until they expire.
func (h *Handler) setLinkActive(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	active := formValue(r, "active") == "true"
	before, after, err := h.d.Merchant.UpdatePaymentLink(r.Context(), p.App.ID, p.Env, r.PathValue("linkId"),
		merchant.PaymentLinkPatch{Active: &active})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	if before.Active != after.Active {
		h.audit(r, p, account.Entry{MerchantID: p.User.MerchantID, ApplicationID: p.App.ID, Action: "payment_links.update", TargetType: "payment_link",
			TargetID: after.ID, Changes: account.Changes{"active": {before.Active, after.Active}}})
	}
	done := "deactivated"
	if active {
		done = "activated"
	}
	h.redirectDone(w, r, p, "/links", done)
}

// qrCode is a QR code as rows of dark runs, drawn by the template as SVG
// <rect>s in module units: no image file, no inline style (the CSP).
type qrCode struct {
	Label string // what it is, for a screen reader
	Size  int    // modules per side, the quiet zone included
	Runs  []qrRun
}

type qrRun struct{ X, Y, W int }

// qrQuiet is the blank margin, in modules, that scanners need around the
// code (ISO/IEC 18004 asks for four).
const qrQuiet = 4

func newQRCode(text, label string) (*qrCode, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("dashboard: qr code: %w", err)
	}
	b := code.Bounds()
	q := &qrCode{Label: label, Size: b.Dx() + 2*qrQuiet}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		// One <rect> per horizontal run of dark modules keeps the SVG a
		// fraction of one per module.
		start := -1
		for x := b.Min.X; x <= b.Max.X; x++ {
			dark := false
			if x < b.Max.X {
				r, _, _, _ := code.At(x, y).RGBA()
				dark = r < 0x8000
			}
			switch {
			case dark && start < 0:
				start = x
			case !dark && start >= 0:
				q.Runs = append(q.Runs, qrRun{X: start - b.Min.X + qrQuiet, Y: y - b.Min.Y + qrQuiet, W: x - start})
				start = -1
			}
		}
	}
	return q, nil
}
