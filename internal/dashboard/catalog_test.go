package dashboard

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// TestCatalogPagesRender draws the products, product and payment links
// pages in every language with data in every part (a new link with its QR
// code, a product with an image, a hostile title), so that a template
// error or an unescaped merchant string fails here rather than in a
// browser.
func TestCatalogPagesRender(t *testing.T) {
	h, err := New(Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PublicURL: "https://pay.example"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	hostile := `<script>alert(1)</script>`
	pr := pay.Product{ID: "prod_1", StoreCode: "MUG/1", Title: hostile, Price: money.Amount{Minor: 25000, Currency: "MAD"},
		ImageURL: "https://img.example/mug.png", CreatedAt: now}
	link := pay.PaymentLink{ID: "plink_1", Environment: pay.Sandbox, Currency: "MAD", Active: true, QuantityLimit: 5, Paid: 1,
		ExpiresAt: now.Add(48 * time.Hour), CreatedAt: now,
		Items: []pay.Item{{Reference: "MUG/1", ProductID: "prod_1", Name: hostile, UnitPrice: pr.Price, Quantity: 2}}}
	row := h.linkRow(link)
	q, err := newQRCode(row.URL, "link")
	if err != nil {
		t.Fatal(err)
	}
	app := pay.Application{ID: "app_1", Name: "Shop", Currencies: []money.Currency{"EUR"}}
	for _, lang := range []string{"en", "fr", "ar"} {
		for name, data := range map[string]any{
			"products": productsData{Products: []pay.Product{pr}, Form: productForm{Title: hostile, Currency: "EUR"}, Currencies: currencies(app)},
			"product":  productData{Product: pr, Form: productForm{Title: pr.Title, Price: "250.00", Currency: "MAD"}, Currencies: currencies(app)},
			"links": linksData{Links: []linkRow{row}, Products: []pay.Product{pr}, Currencies: currencies(app), Created: &row, QR: q,
				Form: linkForm{Picked: map[string]bool{"MUG/1": true}, Quantity: map[string]string{"MUG/1": "2"}}},
		} {
			t.Run(lang+"/"+name, func(t *testing.T) {
				p := &page{User: pay.User{ID: "usr_1", Email: "o@example.com", Role: pay.Owner}, App: app, Apps: []pay.Application{app},
					Env: pay.Sandbox, Lang: lang, Dir: "ltr", Path: "/dashboard/apps/app_1/" + name, Nav: name, Title: name, Data: data, texts: texts[lang]}
				rec := httptest.NewRecorder()
				h.render(rec, httptest.NewRequest("GET", p.Path, nil), http.StatusOK, name, p)
				body := rec.Body.String()
				if rec.Code != http.StatusOK {
					t.Fatalf("status %d: %s", rec.Code, body)
				}
				if strings.Contains(body, hostile) {
					t.Error("a merchant's title is on the page unescaped")
				}
				if strings.Contains(body, "MUG/1") && !strings.Contains(body, "MUG%2F1") && name != "links" {
					t.Error("the store code is not escaped in its link")
				}
				if name == "links" && (!strings.Contains(body, `data-test="qr"`) || !strings.Contains(body, "https://pay.example/pay/plink_1")) {
					t.Error("the new link's QR code or URL is missing")
				}
				if strings.Contains(body, " style=") {
					t.Error("an inline style attribute: the CSP refuses it")
				}
			})
		}
	}
}

// TestCatalogViewer: a role without pay.Configure sees the catalog without
// its forms (guard refuses the posts; the page does not offer them).
func TestCatalogViewer(t *testing.T) {
	h, err := New(Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	app := pay.Application{ID: "app_1", Name: "Shop"}
	for name, data := range map[string]any{"products": productsData{Currencies: currencies(app)}, "links": linksData{Currencies: currencies(app)}} {
		p := &page{User: pay.User{ID: "usr_1", Role: pay.Viewer}, App: app, Env: pay.Sandbox, Lang: "en", Dir: "ltr", Data: data, texts: texts["en"]}
		rec := httptest.NewRecorder()
		h.render(rec, httptest.NewRequest("GET", "/", nil), http.StatusOK, name, p)
		if b := rec.Body.String(); rec.Code != http.StatusOK || strings.Contains(b, `method="post" action="/dashboard/apps/app_1/`) {
			t.Errorf("%s for a viewer: status %d, or it offers a form", name, rec.Code)
		}
	}
}

// TestQRCode: the code has its quiet zone and dark modules inside it, in
// runs that never leave the square.
func TestQRCode(t *testing.T) {
	q, err := newQRCode("https://pay.example/pay/plink_0123456789", "link")
	if err != nil {
		t.Fatal(err)
	}
	if q.Size < 21+2*qrQuiet || len(q.Runs) == 0 {
		t.Fatalf("size %d with %d runs", q.Size, len(q.Runs))
	}
	for _, r := range q.Runs {
		if r.X < qrQuiet || r.Y < qrQuiet || r.W < 1 || r.X+r.W > q.Size-qrQuiet || r.Y >= q.Size-qrQuiet {
			t.Fatalf("run %+v outside the code of size %d", r, q.Size)
		}
	}
	// The top-left finder pattern starts with a row of seven dark modules.
	if first := q.Runs[0]; first.X != qrQuiet || first.Y != qrQuiet || first.W != 7 {
		t.Errorf("first run %+v, want the finder's 7 modules at the quiet zone's corner", first)
	}
}
