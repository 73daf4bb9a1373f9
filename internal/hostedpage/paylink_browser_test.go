package hostedpage_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// A buyer follows a payment link with room for one payment, lands on the
// hosted page of a fresh session and pays; the next buyer (in Arabic)
// finds it sold out. Screenshots of both end states.
func TestBrowserPaymentLink(t *testing.T) {
	ctx := browser(t)
	s := newServer(t, store.SQLite)
	if shotDir = screenshotDir(t); shotDir == "" {
		shotDir = t.TempDir()
	}
	one := int64(1)
	l, err := s.Merchant.CreatePaymentLink(t.Context(), merchant.NewPaymentLink{
		ApplicationID: s.App.Application.ID, Environment: pay.Sandbox, QuantityLimit: &one,
		Lines: []merchant.PaymentLinkLine{
			{Name: "Concert ticket", UnitPrice: money.New(25000, "MAD"), Quantity: 2},
			{Name: "Programme", UnitPrice: money.New(3000, "MAD"), Quantity: 1},
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	c := tab(t, ctx)
	do(t, c, "follow the link", chromedp.Navigate(s.URL+"/pay/"+l.ID))
	if path := eval[string](t, c, "location.pathname"); !strings.HasPrefix(path, "/checkout/") {
		t.Fatalf("the link led to %s, want the hosted page", path)
	}
	do(t, c, "verify", verify("link-buyer@example.com")...)
	shot(t, c, "payment-link-payment-step")
	do(t, c, "pay", payByCard("4242 4242 4242 4242")...)
	do(t, c, "paid", resultIs("paid"))
	shot(t, c, "payment-link-paid")

	c = tab(t, ctx)
	do(t, c, "follow the sold-out link in Arabic", chromedp.Navigate(s.URL+"/pay/"+l.ID+"?locale=ar"), resultIs("link_exhausted"))
	if dir := eval[string](t, c, "document.documentElement.dir"); dir != "rtl" {
		t.Errorf("the Arabic page's dir is %q, want rtl", dir)
	}
	shot(t, c, "payment-link-exhausted-ar")
}
