package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// The dashboard's browser journey runs the real `sakk serve` with demo
// data and drives Debian's headless Chromium: the demo owner signs in, the
// demo shop's payment appears on the overview and in the list, its
// timeline opens, part of it is refunded; a new application's secret is
// shown once; the Arabic phone view reads right to left without sideways
// scrolling; no page logs a console error. Screenshots go to
// SAKK_SCREENSHOTS_DIR (else a temporary folder), named in the output.

func chromium(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv(storetest.RequirePeersEnv) == "1" {
			t.Fatalf("chromium is not on PATH but %s=1", storetest.RequirePeersEnv)
		}
		t.Skip("chromium is not on PATH; install Debian's chromium to run the browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900), chromedp.DisableGPU, chromedp.Flag("lang", "en-US"))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(cancelTimeout)
	return ctx
}

// watch fails the test on any console error or uncaught exception, and
// accepts confirmation dialogs (the refund asks first), counting them.
func watch(t *testing.T, ctx context.Context) *atomic.Int32 {
	confirms := new(atomic.Int32)
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				t.Errorf("console %s: %s", m.Type, m.Text)
			}
		}
	}()
	go func() {
		for _, err := range chromedp.Events(ctx, page.JavascriptDialogOpening) {
			if err != nil {
				return
			}
			confirms.Add(1)
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return confirms
}

func TestDashboardJourney(t *testing.T) {
	ctx := chromium(t)
	confirms := watch(t, ctx)
	dir := os.Getenv("SAKK_SCREENSHOTS_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	t.Logf("screenshots in %s", dir)
	shot := func(name string) {
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
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			shot("FAILED-" + strings.ReplaceAll(what, " ", "-"))
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("%s: %v (at %s)", what, err, loc)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	eval := func(js string) bool {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return v
	}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	x := func(path string) chromedp.Search { return chromedp.Search(path) }

	tg := newTarget(t, store.SQLite)
	p := serveSakk(t, tg)
	base := "http://" + p.addr
	email, password := demoOwner(t, p.stdout.String())
	keys := demoKeys(t, p.stdout.String())

	// A paid sandbox payment of the demo application, through the hosted
	// page as a shopper would.
	token := openSession(t, base, keys.SecretKey,
		`{"total":"250.00","currency":"MAD","items":[{"id":"MUG","name":"Ceramic Mug","price":250,"quantity":1}]}`)
	run("pay on the hosted page", payOnHostedPage(base+"/checkout/"+token, "buyer@example.com"))
	dts := func(n string) chromedp.CSS { return chromedp.CSS(`[data-test="` + n + `"]`) }

	// Sign in, by the labels a newcomer reads.
	run("sign in",
		chromedp.Navigate(base+"/dashboard"),
		chromedp.WaitVisible(x(`//label[text()="Email"]`)),
		chromedp.SendKeys(x(`//input[@id=//label[text()="Email"]/@for]`), email),
		chromedp.SendKeys(x(`//input[@id=//label[text()="Password"]/@for]`), password),
		chromedp.Click(x(`//button[text()="Sign in"]`)),
		chromedp.WaitVisible(css(`[data-test="currency-MAD"]`)))
	if got := text(`[data-test="currency-MAD"] [data-test="count"]`); got != "1" {
		t.Errorf("overview counts %q payments, want 1", got)
	}
	if !strings.Contains(text(`[data-test="currency-MAD"] [data-test="volume"]`), "250.00") {
		t.Error("overview volume lacks 250.00")
	}
	run("the sandbox banner", chromedp.WaitVisible(css(`[data-test="sandbox-banner"]`)))
	shot("overview")

	run("payments, by the customer's email",
		chromedp.Click(x(`//nav//a[text()="Payments"]`)),
		chromedp.WaitVisible(dts("search")),
		chromedp.SendKeys(dts("search"), "buyer@example.com"+kb.Enter))
	// The unfiltered list has the row too: wait for the search's own page
	// before touching it, or the click lands on a page being replaced.
	for i := 0; ; i++ {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		if strings.Contains(loc, "q=buyer") {
			break
		}
		if i == 100 {
			t.Fatalf("the search never loaded (at %s)", loc)
		}
		time.Sleep(50 * time.Millisecond)
	}
	run("the search's results", chromedp.WaitVisible(css(`[data-test="payments"] tbody tr a`)))
	shot("payments")
	run("open the payment",
		chromedp.Click(css(`[data-test="payments"] tbody tr a`)),
		chromedp.WaitVisible(dts("timeline")))
	if tl := text(`[data-test="timeline"]`); !strings.Contains(tl, "Session opened") || !strings.Contains(tl, "Code sent by email") ||
		!strings.Contains(tl, "Customer verified") || !strings.Contains(tl, "completed") {
		t.Errorf("timeline %q", tl)
	}
	run("refund part of it",
		chromedp.SendKeys(dts("refund-amount"), "100.00"),
		chromedp.Click(x(`//button[text()="Refund"]`)),
		chromedp.WaitVisible(dts("refunds")))
	if n := confirms.Load(); n != 1 {
		t.Errorf("%d confirmations asked before the refund, want 1", n)
	}
	if got := text(`[data-test="refunded"]`); !strings.Contains(got, "100.00") {
		t.Errorf("refunded %q, want 100.00", got)
	}
	// The session's webhooks reach the demo shop's receiver in the
	// background: the timeline shows each with the receiver's answer.
	paymentURL, _ := chromedp.Run(ctx, chromedp.Location())
	for i := 0; strings.Count(text(`[data-test="timeline"]`), "The receiver answered HTTP 2") < 2; i++ {
		if i == 100 {
			t.Fatalf("no delivered webhook in the timeline: %q", text(`[data-test="timeline"]`))
		}
		time.Sleep(100 * time.Millisecond)
		run("reload the payment", chromedp.Navigate(paymentURL), chromedp.WaitVisible(dts("timeline")))
	}
	shot("payment-timeline")

	run("sessions and customers",
		chromedp.Click(x(`//nav//a[text()="Sessions"]`)),
		chromedp.WaitVisible(dts("sessions")),
		chromedp.Click(x(`//nav//a[text()="Customers"]`)),
		chromedp.WaitVisible(dts("customers")))
	if got := text(`[data-test="customers"]`); !strings.Contains(got, "buyer@example.com") || !strings.Contains(got, "250.00") {
		t.Errorf("customers page %q", got)
	}
	shot("customers")

	run("create an application",
		chromedp.Click(x(`//nav//a[text()="Applications"]`)),
		chromedp.WaitVisible(x(`//button[text()="Create application"]`)),
		chromedp.SendKeys(css(`#app-name`), "Second Shop"),
		chromedp.Click(x(`//button[text()="Create application"]`)),
		chromedp.WaitVisible(dts("secret-key")))
	if sk := text(`[data-test="secret-key"]`); !strings.HasPrefix(sk, "sk_test_") {
		t.Errorf("secret key shown %q", sk)
	}
	shot("application-created")
	run("the secret is not shown again", chromedp.Navigate(base+"/dashboard/apps"), chromedp.WaitVisible(css(`table`)))
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(css("html")))
	if err != nil || strings.Contains(html, "sk_test_") {
		t.Errorf("the applications page shows a secret key again (%v)", err)
	}

	// Arabic on a phone: right to left, nothing wider than the screen.
	run("arabic at 390 px",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)),
		chromedp.Navigate(base+"/dashboard?lang=ar"),
		chromedp.WaitVisible(css(`[data-test="currency-MAD"]`)))
	if !eval(`document.documentElement.dir === "rtl"`) || eval(`document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the Arabic phone view is not right to left, or scrolls sideways")
	}
	shot("overview-ar-390")
	run("payments in arabic", chromedp.Navigate(base+"/dashboard/apps/"+keys.ApplicationID+"/payments"), chromedp.WaitVisible(dts("payments")))
	if eval(`document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the Arabic payments list scrolls sideways at 390 px")
	}
	shot("payments-ar-390")
	run("the payment in arabic", chromedp.Click(css(`[data-test="payments"] tbody tr a`)), chromedp.WaitVisible(dts("timeline")))
	if eval(`document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the Arabic payment page scrolls sideways at 390 px")
	}
	shot("payment-ar-390")
	// Every request the pages made was served: a 404 is a broken link or
	// a missing asset.
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		if strings.Contains(line, `"status":404`) || strings.Contains(line, `"status":500`) {
			t.Errorf("a page's request failed: %s", line)
		}
	}
}
