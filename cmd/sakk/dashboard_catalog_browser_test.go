package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sakkhq/sakk/internal/store"
)

// TestDashboardCatalog walks the catalog pages on the real `sakk serve`
// with demo data: the demo owner adds a product by "Add product", makes a
// payment link of it by "Create payment link", a shopper follows the
// link's URL and pays it on the hosted page, and the links list then
// counts one paid. Both pages are shot in English and in Arabic at 390 px
// (to SAKK_SCREENSHOTS_DIR, else a temporary folder named in the output);
// the Arabic ones must read right to left without sideways scrolling. The
// link is then deactivated (its page answers 410), and the product edited
// and deleted, the paid link keeping its own copy of the item.
func TestDashboardCatalog(t *testing.T) {
	ctx := chromium(t)
	watch(t, ctx)
	dir := os.Getenv("SAKK_SCREENSHOTS_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	t.Logf("screenshots in %s", dir)
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "dashboard-catalog-"+name+".png"), png, 0o644)
		}
		if err != nil {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			shot("FAILED-" + strings.ReplaceAll(what, " ", "-"))
			t.Fatalf("%s: %v", what, err)
		}
	}
	read := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	sideways := func() bool {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.dir !== "rtl" || document.documentElement.scrollWidth > window.innerWidth`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	dt := func(name string) chromedp.CSS { return chromedp.CSS(`[data-test="` + name + `"]`) }
	xp := func(path string) chromedp.Search { return chromedp.Search(path) }

	p := serveSakk(t, newTarget(t, store.SQLite))
	base := "http://" + p.addr
	email, password := demoOwner(t, p.stdout.String())
	app := demoKeys(t, p.stdout.String()).ApplicationID

	step("sign in",
		chromedp.Navigate(base+"/dashboard"),
		chromedp.WaitVisible(xp(`//label[text()="Email"]`)),
		chromedp.SendKeys(xp(`//input[@id=//label[text()="Email"]/@for]`), email),
		chromedp.SendKeys(xp(`//input[@id=//label[text()="Password"]/@for]`), password),
		chromedp.Click(xp(`//button[text()="Sign in"]`)),
		chromedp.WaitVisible(xp(`//nav//a[text()="Products"]`)))

	step("add a product",
		chromedp.Click(xp(`//nav//a[text()="Products"]`)),
		chromedp.WaitVisible(xp(`//button[text()="Add product"]`)),
		chromedp.SendKeys(xp(`//input[@id=//label[text()="Store code"]/@for]`), "POSTER"),
		chromedp.SendKeys(xp(`//input[@id=//label[text()="Title"]/@for]`), "Desert poster"),
		chromedp.SendKeys(xp(`//input[@id=//label[text()="Price"]/@for]`), "120.00"),
		chromedp.Click(xp(`//button[text()="Add product"]`)),
		// The answer to the form, not the page it was typed on.
		chromedp.WaitVisible(xp(`//table[@data-test="products"]//a[text()="Desert poster"]`)))
	if got := read(`[data-test="products"] tbody`); !strings.Contains(got, "Desert poster") || !strings.Contains(got, "120.00 MAD") {
		t.Errorf("products table reads %q", got)
	}
	shot("products-en")

	step("create a payment link",
		chromedp.Click(xp(`//nav//a[text()="Payment links"]`)),
		chromedp.WaitVisible(xp(`//button[text()="Create payment link"]`)),
		chromedp.Click(css(`input[name="product"][value="POSTER"]`)),
		chromedp.Click(xp(`//button[text()="Create payment link"]`)),
		chromedp.WaitVisible(dt("link-url")),
		chromedp.WaitVisible(dt("qr")))
	url := read(`[data-test="link-url"]`)
	if !strings.HasPrefix(url, base+"/pay/") {
		t.Fatalf("the new link's URL is %q", url)
	}
	if got := read(`[data-test="links"] tbody tr`); !strings.Contains(got, "1 × Desert poster") || !strings.Contains(got, "0 /") {
		t.Errorf("the new link's row reads %q", got)
	}
	shot("links-en")

	step("pay the link on the hosted page", payOnHostedPage(url, "buyer@example.com"))

	step("back to the links", chromedp.Navigate(base+"/dashboard/apps/"+app+"/links"), chromedp.WaitVisible(dt("links")))
	if got := read(`[data-test="links"] tbody tr [data-test="paid"]`); !strings.HasPrefix(got, "1 /") {
		t.Errorf("the link counts %q paid, want 1", got)
	}

	// Deactivated, the link no longer sells: its page answers 410 Gone
	// and says so (read over HTTP: a browser logs a 410 as a console
	// error, which this test counts as a failure).
	step("deactivate the link",
		chromedp.Click(css(`[data-test="links"] tbody tr [data-test="toggle"]`)),
		chromedp.WaitVisible(xp(`//table[@data-test="links"]//button[@data-test="toggle" and text()="Activate"]`)))
	if resp, err := http.Get(url); err != nil {
		t.Error(err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusGone || !strings.Contains(string(body), "no longer active") {
			t.Errorf("the deactivated link answers %d", resp.StatusCode)
		}
	}

	// The product's own page: a new price, then deleted (after a
	// confirmation); the paid link keeps its own copy of the item.
	step("edit the product",
		chromedp.Navigate(base+"/dashboard/apps/"+app+"/products"),
		chromedp.Click(xp(`//table[@data-test="products"]//a[text()="Desert poster"]`)),
		chromedp.WaitVisible(dt("edit-product")),
		chromedp.SetValue(css(`#p-price`), "135.50"),
		chromedp.Submit(css(`#p-price`)),
		chromedp.WaitVisible(xp(`//p[@class="notice"]`)))
	step("the new price is listed",
		chromedp.Click(xp(`//nav//a[text()="Products"]`)),
		chromedp.WaitVisible(xp(`//table[@data-test="products"]//td[contains(., "135.50 MAD")]`)))
	step("delete the product",
		chromedp.Click(xp(`//table[@data-test="products"]//a[text()="Desert poster"]`)),
		chromedp.WaitVisible(dt("delete-product")),
		chromedp.Click(dt("delete-product")),
		chromedp.WaitVisible(xp(`//p[@class="notice"]`)))
	if got, _ := chromedp.Run(ctx, chromedp.OuterHTML(css("main"))); strings.Contains(got, "Desert poster") && strings.Contains(got, `data-test="products"`) {
		t.Error("the deleted product is still listed")
	}
	step("the paid link still reads its item",
		chromedp.Navigate(base+"/dashboard/apps/"+app+"/links"),
		chromedp.WaitVisible(xp(`//table[@data-test="links"]//td[contains(., "1 × Desert poster")]`)))

	step("arabic products at 390 px",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)),
		chromedp.Navigate(base+"/dashboard/apps/"+app+"/products?lang=ar"),
		chromedp.WaitVisible(dt("products")))
	if sideways() {
		t.Error("the Arabic products page is not right to left, or scrolls sideways at 390 px")
	}
	shot("products-ar-390")
	step("arabic links at 390 px", chromedp.Navigate(base+"/dashboard/apps/"+app+"/links"), chromedp.WaitVisible(dt("links")))
	if sideways() {
		t.Error("the Arabic payment links page is not right to left, or scrolls sideways at 390 px")
	}
	shot("links-ar-390")

	// Every request the pages made was served: a 404 is a broken link or
	// a missing asset, a 500 a page that failed.
	for line := range strings.SplitSeq(p.stderr.String(), "\n") {
		if strings.Contains(line, `"status":404`) || strings.Contains(line, `"status":500`) {
			t.Errorf("a page's request failed: %s", line)
		}
	}
}
