package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sakkhq/sakk/internal/store"
)

// TestDashboardConfigJourney drives the configuration pages on the real
// `sakk serve` with demo data: the demo owner renames the shop for
// shoppers and sees it in the hosted page's preview, rotates the secret
// key and sees the new one once, adds a webhook endpoint on a loopback
// receiver (the sandbox may reach loopback), sends it a test and finds the
// delivery listed with the receiver's status code, and enters a Stripe
// account whose secret is never shown back. No console errors, no
// failed requests. Screenshots (settings, webhooks, gateways; settings in
// Arabic at 390 px) go to SAKK_SCREENSHOTS_DIR, else a temporary folder.
func TestDashboardConfigJourney(t *testing.T) {
	ctx := chromium(t)
	confirms := watch(t, ctx)
	dir := os.Getenv("SAKK_SCREENSHOTS_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	t.Logf("screenshots in %s", dir)

	// The receiver answers 202, a status no default would produce, so
	// seeing it listed proves the delivery reached it.
	var received atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(`{"thanks":true}`))
	}))
	defer receiver.Close()

	p := serveSakk(t, newTarget(t, store.SQLite))
	base := "http://" + p.addr
	email, password := demoOwner(t, p.stdout.String())
	app := demoKeys(t, p.stdout.String()).ApplicationID

	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			capture(t, ctx, dir, "config-FAILED-"+strings.ReplaceAll(what, " ", "-"))
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
	page := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	dt := func(name string) chromedp.CSS { return chromedp.CSS(`[data-test="` + name + `"]`) }
	link := func(label string) chromedp.Search { return chromedp.Search(`//nav//a[text()="` + label + `"]`) }

	step("sign in",
		chromedp.Navigate(base+"/dashboard/login"),
		chromedp.SendKeys(chromedp.Search(`//input[@id=//label[text()="Email"]/@for]`), email),
		chromedp.SendKeys(chromedp.Search(`//input[@id=//label[text()="Password"]/@for]`), password),
		chromedp.Click(chromedp.Search(`//button[text()="Sign in"]`)),
		chromedp.WaitVisible(link("Settings")))

	// Branding: the preview follows the field as it is typed (the page's
	// script), then shows the saved name when the server renders it.
	step("open settings", chromedp.Click(link("Settings")), chromedp.WaitVisible(dt("preview")))
	step("type a display name",
		chromedp.Clear(dt("display-name")),
		chromedp.SendKeys(dt("display-name"), "Mug Palace"))
	if got := read(`[data-test="preview-name"]`); got != "Mug Palace" {
		t.Errorf("the preview shows %q while typing, want Mug Palace", got)
	}
	step("save settings", chromedp.Click(dt("save-settings")), chromedp.WaitVisible(chromedp.Search(`//p[@class="notice" and contains(., "Settings saved")]`)))
	step("reload settings", chromedp.Navigate(base+"/dashboard/apps/"+app+"/settings"), chromedp.WaitVisible(dt("preview")))
	if got := read(`[data-test="preview-name"]`); got != "Mug Palace" {
		t.Errorf("the saved preview shows %q, want Mug Palace", got)
	}
	capture(t, ctx, dir, "settings")

	// Rotation: the new secret is on the answer, and on no later page.
	before := confirms.Load()
	step("rotate the secret key", chromedp.Click(dt("rotate-key")), chromedp.WaitVisible(dt("once-0")))
	if confirms.Load() != before+1 {
		t.Error("rotating the secret key asked no confirmation")
	}
	secret := read(`[data-test="once-0"]`)
	if !strings.HasPrefix(secret, "sk_test_") {
		t.Fatalf("rotation showed %q, want a sandbox secret key", secret)
	}
	capture(t, ctx, dir, "settings-rotated")
	step("settings again", chromedp.Navigate(base+"/dashboard/apps/"+app+"/settings"), chromedp.WaitVisible(dt("keys")))
	if strings.Contains(page(), secret) {
		t.Error("the rotated secret key is shown a second time")
	}

	// A domain: the TXT record and the file to publish are shown with it.
	// "Verify now" is left out: it would look the name up on the network.
	step("add a domain",
		chromedp.SendKeys(chromedp.CSS(`#d-new`), "shop.example.com"),
		chromedp.Click(chromedp.Search(`//button[text()="Add domain"]`)),
		chromedp.WaitVisible(chromedp.Search(`//code[text()="_sakk-challenge.shop.example.com"]`)),
		chromedp.WaitVisible(chromedp.Search(`//button[text()="Verify now"]`)),
		chromedp.WaitVisible(chromedp.Search(`//code[text()="https://shop.example.com/.well-known/sakk-domain-verification.txt"]`)))
	capture(t, ctx, dir, "settings-domain")

	// Webhooks: an endpoint with its secret shown once, a test sent to it.
	step("open webhooks", chromedp.Click(link("Webhooks")), chromedp.WaitVisible(dt("endpoint-url")))
	step("add an endpoint",
		chromedp.SendKeys(dt("endpoint-url"), receiver.URL+"/hooks/sakk"),
		chromedp.Click(dt("add-endpoint")),
		chromedp.WaitVisible(dt("once-0")))
	whsec := read(`[data-test="once-0"]`)
	if !strings.HasPrefix(whsec, "whsec_") {
		t.Errorf("the new endpoint showed %q, want its signing secret", whsec)
	}
	// The demo has an endpoint of its own: the test is sent from the new
	// endpoint's row, and its delivery found by the endpoint's URL.
	hook := receiver.URL + "/hooks/sakk"
	step("send a test",
		chromedp.Click(chromedp.Search(`//tr[td/code[text()="`+hook+`"]]//button[@data-test="send-test"]`)),
		// The answer's notice names the status: the earlier page's
		// "Endpoint added." must not pass for it.
		chromedp.WaitVisible(chromedp.Search(`//p[@class="notice" and contains(., "answered HTTP")]`)))
	if received.Load() == 0 {
		t.Error("the receiver got no request")
	}
	js := `Array.from(document.querySelectorAll('[data-test="delivery"]')).some(d => d.textContent.includes(` + strconv.Quote(hook) +
		`) && d.querySelector('[data-test="delivery-status"]').textContent.trim() === "HTTP 202")`
	listed, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
	if err != nil || !listed {
		t.Errorf("no delivery to %s is listed with HTTP 202 (%v)", hook, err)
	}
	if strings.Contains(page(), whsec) {
		t.Error("the signing secret is shown again after the test")
	}
	step("open the delivery", chromedp.Click(chromedp.CSS(`[data-test="delivery"] summary`)))
	capture(t, ctx, dir, "webhooks")

	step("open gateways", chromedp.Click(link("Gateways")), chromedp.WaitVisible(dt("gateway-stripe")))
	// A Stripe account: the publishable key is shown back, the secret key
	// only as "set".
	const stripeSecret = "sk_test_DashboardJourneySecret1"
	step("set stripe",
		chromedp.SendKeys(chromedp.CSS(`#gw-stripe-secretKey`), stripeSecret),
		chromedp.SendKeys(chromedp.CSS(`#gw-stripe-publishableKey`), "pk_test_DashboardJourneyPublic"),
		chromedp.Click(chromedp.Search(`//section[@data-test="gateway-stripe"]//button[text()="Save"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[@class="notice" and contains(., "Stripe saved")]`)))
	card := read(`[data-test="gateway-stripe"]`)
	// Test connection is offered once set up (the call itself is tested
	// against stripe-mock in internal/dashboard: this binary's Stripe is
	// the real one, and the tests stay on loopback).
	if !strings.Contains(card, "Configured") || !strings.Contains(card, "set") || !strings.Contains(card, "Test connection") {
		t.Errorf("the Stripe card after saving reads %q", card)
	}
	if html := page(); strings.Contains(html, stripeSecret) || !strings.Contains(html, "pk_test_DashboardJourneyPublic") {
		t.Error("the gateways page echoes the secret key, or lacks the publishable key")
	}
	capture(t, ctx, dir, "gateways")

	// Arabic on a phone: right to left, nothing wider than the screen.
	step("settings in arabic at 390 px",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)),
		chromedp.Navigate(base+"/dashboard/apps/"+app+"/settings?lang=ar"),
		chromedp.WaitVisible(dt("preview")))
	for _, js := range []string{`document.documentElement.dir === "rtl"`, `document.documentElement.scrollWidth <= window.innerWidth`} {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err != nil || !ok {
			t.Errorf("Arabic settings at 390 px: %s is false (%v)", js, err)
		}
	}
	capture(t, ctx, dir, "settings-ar-390")
	for _, name := range []string{"webhooks", "gateways"} {
		step(name+" in arabic at 390 px", chromedp.Navigate(base+"/dashboard/apps/"+app+"/"+name), chromedp.WaitVisible(chromedp.CSS("h1")))
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
		if err != nil || !ok {
			t.Errorf("Arabic %s at 390 px scrolls sideways (%v)", name, err)
		}
		capture(t, ctx, dir, name+"-ar-390")
	}
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		if strings.Contains(line, `"status":404`) || strings.Contains(line, `"status":500`) {
			t.Errorf("a request failed: %s", line)
		}
	}
}

// capture writes a full-page screenshot named dashboard-<name>.png; a
// failure to take one is logged, not fatal, since it proves nothing
// about the pages.
func capture(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, "dashboard-"+name+".png"), buf, 0o644); err != nil {
		t.Error(err)
	}
}
