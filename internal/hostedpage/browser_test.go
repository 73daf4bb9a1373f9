package hostedpage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// The browser suite drives the hosted page and the SDK in Debian's
// headless Chromium, against a real sakk server on loopback. It skips when
// no chromium is on PATH, unless SAKK_TEST_REQUIRE_PEERS=1 (CI), where
// that is a failure. Each case saves a screenshot of its end state to
// SAKK_SCREENSHOTS_DIR (default: a temporary directory of the test).

// screenshotsEnv names the folder the screenshots go to.
const screenshotsEnv = "SAKK_SCREENSHOTS_DIR"

// stepTimeout bounds each case: a page that never reaches the awaited
// state fails the case instead of hanging the suite.
const stepTimeout = 30 * time.Second

// browser starts one headless Chromium for a test, with a fresh profile.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv(storetest.RequirePeersEnv) == "1" {
			t.Fatalf("chromium is not on PATH but %s=1: the browser tests must run here", storetest.RequirePeersEnv)
		}
		t.Skip("chromium is not on PATH; install Debian's chromium to run the browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.DisableGPU,
		chromedp.Flag("lang", "en-US"),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// tab opens a new tab for one case, bounded by stepTimeout. A JavaScript
// dialog (alert, confirm) fails the case: the page never opens one, so one
// means injected script ran.
func tab(t *testing.T, browserCtx context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, stepTimeout)
	t.Cleanup(cancelTimeout)
	watchDialogs(t, ctx)
	return ctx
}

func watchDialogs(t *testing.T, ctx context.Context) {
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			t.Errorf("a JavaScript dialog opened: %q", ev.Message)
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
}

func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		shot(t, ctx, "FAILED-"+strings.ReplaceAll(what, " ", "-"))
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: %v (at %s)", what, err, loc)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// screenshotDir is where this run's screenshots go.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv(screenshotsEnv)
	if dir == "" {
		return ""
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

var shotDir string

// shot saves a full-page screenshot named after the case.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(shotDir, name+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
	}
}

// frameTarget attaches to the overlay's iframe: a target of its own,
// since the page is cross-origin to the shop.
func frameTarget(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	for {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range infos {
			if i.Type == "iframe" && strings.Contains(i.URL, "/checkout/") {
				f, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(i.TargetID))
				t.Cleanup(cancel)
				return f
			}
		}
		select {
		case <-ctx.Done():
			t.Fatal("no checkout frame")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitPath waits until the tab has navigated to path (the page changes
// under a poll, so the location is read afresh until it matches) and
// returns the URL.
func waitPath(t *testing.T, ctx context.Context, path string) *url.URL {
	t.Helper()
	for {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil {
			if u, err := url.Parse(loc); err == nil && u.Path == path {
				return u
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("never reached %s (last at %s, %v)", path, loc, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Selectors of the page's controls (SURFACES.md §3).
func dt(name string) chromedp.CSS { return chromedp.CSS(`[data-test="` + name + `"]`) }

func resultIs(state string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(`[data-test="result"][data-state="` + state + `"]`))
}

// verify proves a sandbox identifier with its fixed code, by keyboard only:
// each form is submitted with Enter.
func verify(identifier string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.WaitVisible(dt("identifier")),
		chromedp.SendKeys(dt("identifier"), identifier+kb.Enter),
		chromedp.WaitVisible(dt("code")),
		chromedp.SendKeys(dt("code"), "000000"+kb.Enter),
		chromedp.WaitVisible(dt("card-number")),
	}
}

// payByCard fills the card form and presses Pay.
func payByCard(number string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.WaitVisible(dt("card-number")),
		chromedp.SendKeys(dt("card-number"), number),
		chromedp.SendKeys(dt("card-expiry"), "1234"),
		chromedp.SendKeys(dt("card-cvc"), "123"),
		chromedp.Click(dt("pay")),
	}
}

func TestBrowser(t *testing.T) {
	ctx := browser(t)
	s := newServer(t, store.SQLite)
	if shotDir = screenshotDir(t); shotDir == "" {
		shotDir = t.TempDir()
	}
	t.Logf("screenshots in %s", shotDir)

	// The merchant: a shop on another origin (localhost, where sakk is
	// 127.0.0.1), whose page loads the SDK and records its callbacks.
	shop := newShop(t, s.URL)

	// The demo shop at /demo, as a new user meets it: buy, verify a sandbox
	// identifier, pay with 4242…, and land on the shop's own order page,
	// which says "confirmed" only after its server asked sakk.
	t.Run("demo shop", func(t *testing.T) {
		c := tab(t, ctx)
		do(t, c, "open the demo", chromedp.Navigate(s.URL+"/demo"), chromedp.WaitVisible(dt("buy")))
		shot(t, c, "demo-shop")
		do(t, c, "buy", chromedp.Click(dt("buy")))
		// The overlay's page is same-origin with the demo (both are sakk's),
		// so it is no target of its own: it is driven through the frame's
		// document, filling each field as typing would and pressing its
		// button.
		for _, step := range []struct{ field, value, button string }{
			{"identifier", "new-user@example.com", "send-code"},
			{"code", "000000", "verify"},
			{"card-number", "4242 4242 4242 4242", ""},
			{"card-expiry", "12/34", ""},
			{"card-cvc", "123", "pay"},
		} {
			js := fmt.Sprintf(`(() => {
				const d = document.querySelector("iframe") && document.querySelector("iframe").contentDocument;
				const el = d && d.querySelector('[data-test=%q]');
				if (!el || el.offsetParent === null) return false;
				el.focus(); el.value = %q; el.dispatchEvent(new Event("input", {bubbles: true}));
				const b = %q && d.querySelector('[data-test=%q]');
				if (b) b.click();
				return true;
			})()`, step.field, step.value, step.button, step.button)
			if _, err := chromedp.Run(c, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(stepTimeout))); err != nil {
				shot(t, c, "FAILED-demo-"+step.field)
				t.Fatalf("fill %s: %v", step.field, err)
			}
		}
		do(t, c, "order confirmed", chromedp.WaitVisible(chromedp.CSS(`[data-test="order-result"][data-status="APPROVED"]`)))
		if path := eval[string](t, c, "location.pathname"); !strings.HasPrefix(path, "/demo/orders/pay_") {
			t.Errorf("the order page is %s", path)
		}
		shot(t, c, "demo-order-confirmed")
	})

	t.Run("approve", func(t *testing.T) {
		tok, sid := s.defaultSession(map[string]any{"return_url": shop.url + "/return?order=42"})
		c := tab(t, ctx)
		do(t, c, "open", chromedp.Navigate(s.URL+"/checkout/"+tok))
		do(t, c, "verify", verify("approve@example.com")...)
		shot(t, c, "payment-step")
		// Keyboard only, in focus order: Tab from field to field, Enter pays.
		for _, step := range []struct{ field, keys, next string }{
			{"card-number", "4242 4242 4242 4242" + kb.Tab, "card-expiry"},
			{"card-expiry", "1234" + kb.Tab, "card-cvc"},
			{"card-cvc", "123" + kb.Tab, "pay"},
		} {
			do(t, c, "type "+step.field, chromedp.SendKeys(dt(step.field), step.keys))
			if got := eval[string](t, c, `document.activeElement.dataset.test || document.activeElement.tagName`); got != step.next {
				t.Fatalf("Tab from %s went to %s, want %s", step.field, got, step.next)
			}
		}
		do(t, c, "pay", chromedp.SendKeys(dt("card-cvc"), kb.Enter))
		do(t, c, "paid", resultIs("paid"))
		shot(t, c, "approve-paid")
		// Standalone, with a returnUrl: the shopper goes back to the shop.
		u := waitPath(t, c, "/return")
		loc := u.String()
		q := u.Query()
		if q.Get("status") != "SUCCESS" || !strings.HasPrefix(q.Get("transaction_id"), "pay_") || q.Get("order") != "42" {
			t.Errorf("returned to %s", loc)
		}
		if st := s.session(sid).Status; st != pay.SessionCompleted {
			t.Errorf("session is %s", st)
		}
	})

	t.Run("decline then approve", func(t *testing.T) {
		tok, sid := s.defaultSession(nil)
		c := tab(t, ctx)
		do(t, c, "open", chromedp.Navigate(s.URL+"/checkout/"+tok))
		do(t, c, "verify", verify("decline@example.com")...)
		do(t, c, "decline", payByCard("4000000000000002")...)
		do(t, c, "failed", resultIs("failed"))
		msg := eval[string](t, c, `document.querySelector('[data-test="result"]').textContent`)
		if !strings.Contains(msg, "declined") {
			t.Errorf("failure message %q", msg)
		}
		shot(t, c, "decline-failed")
		do(t, c, "retry", chromedp.Click(dt("retry")), chromedp.WaitVisible(dt("card-number")))
		if v := eval[string](t, c, `document.querySelector('[data-test="card-number"]').value`); v != "" {
			t.Errorf("card number kept after retry: %q", v)
		}
		do(t, c, "approve", payByCard("4242424242424242")...)
		do(t, c, "paid", resultIs("paid"))
		shot(t, c, "decline-then-approve-paid")
		if st := s.session(sid).Status; st != pay.SessionCompleted {
			t.Errorf("session is %s", st)
		}
	})

	// The AlyaPay plugins' redirect flow: redirect_url on the page's URL
	// (the shop's host verified), a decline, and the shopper leaving:
	// back at the shop with status=FAILURE and the attempt's id; a
	// shopper leaving before paying comes back with status=CANCELED.
	t.Run("redirect_url: decline then leave", func(t *testing.T) {
		if _, err := s.Merchant.AddDomain(t.Context(), s.App.Application.ID, "localhost", true); err != nil && pay.KindOf(err) != pay.Conflict {
			t.Fatal(err)
		}
		back := shop.url + "/return?order=7"
		tok, _ := s.defaultSession(nil)
		c := tab(t, ctx)
		do(t, c, "open", chromedp.Navigate(s.URL+"/checkout/"+tok+"?redirect_url="+url.QueryEscape(back)))
		do(t, c, "verify", verify("decline@example.com")...)
		do(t, c, "decline", payByCard("4000000000000002")...)
		do(t, c, "failed", resultIs("failed"))
		do(t, c, "leave", chromedp.Click(dt("close")))
		u := waitPath(t, c, "/return")
		if q := u.Query(); q.Get("status") != "FAILURE" || !strings.HasPrefix(q.Get("transaction_id"), "pay_") || q.Get("order") != "7" {
			t.Errorf("returned to %s", u)
		}
		tok, _ = s.defaultSession(nil)
		do(t, c, "open another", chromedp.Navigate(s.URL+"/checkout/"+tok+"?redirect_url="+url.QueryEscape(back)), chromedp.WaitVisible(dt("identifier")))
		do(t, c, "leave at once", chromedp.Click(dt("close")))
		u = waitPath(t, c, "/return")
		if q := u.Query(); q.Get("status") != "CANCELED" || q.Get("order") != "7" {
			t.Errorf("returned to %s", u)
		}
	})

	t.Run("3-D Secure", func(t *testing.T) {
		tok, sid := s.defaultSession(nil)
		c := tab(t, ctx)
		do(t, c, "open", chromedp.Navigate(s.URL+"/checkout/"+tok))
		do(t, c, "verify", verify("threeds@example.com")...)
		do(t, c, "pay", payByCard("4000 0000 0000 3220")...)
		do(t, c, "challenge", chromedp.WaitVisible(dt("complete")))
		shot(t, c, "3ds-challenge")
		do(t, c, "complete", chromedp.Click(dt("complete")))
		do(t, c, "paid", resultIs("paid"))
		shot(t, c, "3ds-paid")
		if st := s.session(sid).Status; st != pay.SessionCompleted {
			t.Errorf("session is %s", st)
		}
	})

	t.Run("off-site approval", func(t *testing.T) {
		tok, sid := s.defaultSession(nil)
		c := tab(t, ctx)
		do(t, c, "open", chromedp.Navigate(s.URL+"/checkout/"+tok))
		do(t, c, "verify", verify("paypal@example.com")...)
		do(t, c, "paypal", chromedp.Click(dt("pay-paypal")), chromedp.WaitVisible(dt("complete")))
		shot(t, c, "paypal-approval")
		do(t, c, "approve", chromedp.Click(dt("complete")))
		do(t, c, "paid", resultIs("paid"))
		shot(t, c, "paypal-paid")
		if ss := s.session(sid); ss.Status != pay.SessionCompleted || ss.Gateway != "" && ss.Gateway != "paypal" {
			t.Errorf("session is %s via %q", ss.Status, ss.Gateway)
		}
	})

	t.Run("cancel by closing the overlay", func(t *testing.T) {
		tok, _ := s.defaultSession(nil)
		c := tab(t, ctx)
		do(t, c, "open shop", chromedp.Navigate(shop.url+"/shop?token="+url.QueryEscape(tok)))
		do(t, c, "open overlay", chromedp.Click(chromedp.ID("buy")), chromedp.WaitVisible(chromedp.CSS("[data-sakk-close]")))
		do(t, c, "page in the overlay", chromedp.Poll[chromedp.Void](`window.checkoutLoaded === true`, chromedp.WithPollingTimeout(10*time.Second)))
		shot(t, c, "overlay-open")
		do(t, c, "close overlay", chromedp.Click(chromedp.CSS("[data-sakk-close]")),
			chromedp.Poll[chromedp.Void](`window.events.length > 0`, chromedp.WithPollingTimeout(5*time.Second)))
		got := eval[string](t, c, `JSON.stringify(window.events)`)
		if want := `[{"event":"payment_flow_cancelled","reason":"overlay_close"}]`; got != want {
			t.Errorf("callbacks %s, want %s", got, want)
		}
		if eval[bool](t, c, `!!document.querySelector("[data-sakk-overlay]")`) {
			t.Errorf("the overlay is still there")
		}
		shot(t, c, "overlay-closed")
	})

	t.Run("overlay 3-D Secure completes and reports", func(t *testing.T) {
		tok, sid := s.defaultSession(nil)
		c := tab(t, ctx)
		do(t, c, "open shop", chromedp.Navigate(shop.url+"/shop?token="+url.QueryEscape(tok)))
		do(t, c, "open overlay", chromedp.Click(chromedp.ID("buy")),
			chromedp.Poll[chromedp.Void](`window.checkoutLoaded === true`, chromedp.WithPollingTimeout(10*time.Second)))
		// The page runs in the overlay's cross-origin iframe, its own target.
		f := frameTarget(t, c)
		do(t, f, "verify in overlay", verify("overlay@example.com")...)
		// 3-D Secure opens the bank's page in a window of its own.
		opened := chromedp.WaitNewTarget(f, func(i *target.Info) bool { return strings.Contains(i.URL, "/3ds/") })
		do(t, f, "pay in overlay", payByCard("4000000000003220")...)
		var id target.ID
		select {
		case id = <-opened:
		case <-c.Done():
			t.Fatal("no 3-D Secure window opened")
		}
		w, cancel := chromedp.NewContext(c, chromedp.WithTargetID(id))
		defer cancel()
		do(t, w, "challenge", chromedp.WaitVisible(dt("complete")), chromedp.Click(dt("complete")))
		do(t, c, "callback", chromedp.Poll[chromedp.Void](`window.events.length > 0`, chromedp.WithPollingTimeout(15*time.Second)))
		do(t, f, "paid in overlay", resultIs("paid"))
		shot(t, c, "overlay-3ds-paid")
		got := eval[[]map[string]any](t, c, `window.events`)
		if len(got) != 1 || got[0]["event"] != "payment_flow_completed" || got[0]["flow_event"] != "payment_success" ||
			!strings.HasPrefix(fmt.Sprint(got[0]["transaction_id"]), "pay_") {
			t.Errorf("callbacks %v", got)
		}
		if st := s.session(sid).Status; st != pay.SessionCompleted {
			t.Errorf("session is %s", st)
		}
	})

	t.Run("popup completes and reports", func(t *testing.T) {
		tok, _ := s.defaultSession(nil)
		c := tab(t, ctx)
		do(t, c, "open shop", chromedp.Navigate(shop.url+"/shop?token="+url.QueryEscape(tok)))
		opened := chromedp.WaitNewTarget(c, func(i *target.Info) bool { return strings.Contains(i.URL, "/checkout/") })
		do(t, c, "open popup", chromedp.Click(chromedp.ID("buy-popup")))
		var id target.ID
		select {
		case id = <-opened:
		case <-c.Done():
			t.Fatal("no popup opened")
		}
		p, cancel := chromedp.NewContext(c, chromedp.WithTargetID(id))
		defer cancel()
		watchDialogs(t, p)
		do(t, p, "verify in popup", verify("popup@example.com")...)
		do(t, p, "pay in popup", payByCard("4242424242424242")...)
		do(t, p, "paid in popup", resultIs("paid"))
		shot(t, p, "popup-paid")
		do(t, c, "callback", chromedp.Poll[chromedp.Void](`window.events.length > 0`, chromedp.WithPollingTimeout(10*time.Second)))
		var events []map[string]any
		if err := json.Unmarshal([]byte(eval[string](t, c, `JSON.stringify(window.events)`)), &events); err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || len(events[0]) != 4 || events[0]["event"] != "payment_flow_completed" ||
			events[0]["flow_event"] != "payment_success" || events[0]["reason"] != nil ||
			!strings.HasPrefix(fmt.Sprint(events[0]["transaction_id"]), "pay_") {
			t.Errorf("callbacks %v", events)
		}
		// Done: the page's close button closes the popup, and nothing more
		// is reported.
		do(t, p, "done", chromedp.Click(dt("close")))
		do(t, c, "popup gone", chromedp.Poll[chromedp.Void](`window.sakkPopupClosed()`, chromedp.WithPollingTimeout(10*time.Second)))
		if n := eval[int](t, c, `window.events.length`); n != 1 {
			t.Errorf("%d callbacks after closing a completed flow", n)
		}
	})

	t.Run("popup closed by the shopper", func(t *testing.T) {
		tok, _ := s.defaultSession(nil)
		c := tab(t, ctx)
		do(t, c, "open shop", chromedp.Navigate(shop.url+"/shop?token="+url.QueryEscape(tok)))
		opened := chromedp.WaitNewTarget(c, func(i *target.Info) bool { return strings.Contains(i.URL, "/checkout/") })
		do(t, c, "open popup", chromedp.Click(chromedp.ID("buy-popup")))
		var id target.ID
		select {
		case id = <-opened:
		case <-c.Done():
			t.Fatal("no popup opened")
		}
		p, cancel := chromedp.NewContext(c, chromedp.WithTargetID(id))
		do(t, p, "popup page", chromedp.WaitVisible(dt("identifier")))
		cancel() // closes the popup's tab
		do(t, c, "callback", chromedp.Poll[chromedp.Void](`window.events.length > 0`, chromedp.WithPollingTimeout(10*time.Second)))
		got := eval[string](t, c, `JSON.stringify(window.events)`)
		if want := `[{"event":"payment_flow_cancelled","reason":"popup_closed"}]`; got != want {
			t.Errorf("callbacks %s, want %s", got, want)
		}
	})

	t.Run("locked customer pays without a code", func(t *testing.T) {
		var tok, sid string
		_, err := s.Checkout.OpenSession(t.Context(), checkout.NewSession{
			ApplicationID: s.App.Application.ID, Environment: pay.Sandbox, Currency: "MAD",
			Total: money.New(8950, "MAD"), CustomerPhone: "+212600000042", CustomerLocked: true,
			Items: []pay.Item{{Reference: "MUG", Name: "Ceramic Mug", UnitPrice: money.New(8950, "MAD"), Quantity: 1}},
		}, nil, func(o checkout.Opened) (checkout.Response, error) {
			tok, sid = o.Token, o.Session.ID
			return checkout.Response{}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		c := tab(t, ctx)
		do(t, c, "open", chromedp.Navigate(s.URL+"/checkout/"+tok), chromedp.WaitVisible(dt("card-number")))
		if eval[bool](t, c, `document.querySelector('[data-test="identifier"]').offsetParent !== null`) {
			t.Errorf("a locked customer is asked for an identifier")
		}
		shot(t, c, "locked-payment")
		do(t, c, "pay", payByCard("4242424242424242")...)
		do(t, c, "paid", resultIs("paid"))
		if st := s.session(sid).Status; st != pay.SessionCompleted {
			t.Errorf("session is %s", st)
		}
	})

	t.Run("expired session", func(t *testing.T) {
		tok, sid := s.defaultSession(nil)
		s.setStatus(sid, pay.SessionInit, pay.SessionExpired)
		c := tab(t, ctx)
		do(t, c, "open", chromedp.Navigate(s.URL+"/checkout/"+tok), resultIs("expired"))
		if eval[bool](t, c, `!!document.querySelector('[data-test="identifier"]') && document.querySelector('[data-test="identifier"]').offsetParent !== null`) {
			t.Errorf("an expired session still asks for the customer")
		}
		shot(t, c, "expired")
	})

	t.Run("Arabic is right-to-left", func(t *testing.T) {
		tok, _ := s.defaultSession(nil)
		c := tab(t, ctx)
		do(t, c, "open", chromedp.Navigate(s.URL+"/checkout/"+tok+"?locale=ar"), chromedp.WaitVisible(dt("identifier")))
		if dir := eval[string](t, c, `getComputedStyle(document.querySelector('[data-test="identifier"]')).direction`); dir != "rtl" {
			t.Errorf("computed direction %q", dir)
		}
		// The layout follows: the brand sits right of the close control's side.
		if eval[bool](t, c, `(() => { const b = document.querySelector('.brand-id').getBoundingClientRect(); return b.right < innerWidth / 2 })()`) {
			t.Errorf("the brand is not on the right")
		}
		shot(t, c, "arabic-customer")
		do(t, c, "verify", verify("arabic@example.com")...)
		shot(t, c, "arabic-payment")
	})

	t.Run("phone viewport", func(t *testing.T) {
		tok, _ := s.defaultSession(nil)
		c := tab(t, ctx)
		noOverflow := func(step string) {
			t.Helper()
			w := eval[[]int](t, c, `[document.documentElement.scrollWidth, window.innerWidth]`)
			if w[0] > w[1] {
				t.Errorf("%s: the page is %dpx wide in a %dpx viewport", step, w[0], w[1])
			}
		}
		do(t, c, "open", chromedp.EmulateViewport(375, 740, chromedp.EmulateMobile),
			chromedp.Navigate(s.URL+"/checkout/"+tok), chromedp.WaitVisible(dt("identifier")))
		noOverflow("customer step")
		shot(t, c, "phone-customer")
		do(t, c, "verify", verify("phone@example.com")...)
		noOverflow("payment step")
		shot(t, c, "phone-payment")
		do(t, c, "pay", payByCard("4242424242424242")...)
		do(t, c, "paid", resultIs("paid"))
		noOverflow("result")
		shot(t, c, "phone-paid")
	})

	t.Run("product names are text", func(t *testing.T) {
		tok, _ := s.newSession("10.00", []item{{ID: "X", Name: xssName, Price: "10", Quantity: 1}}, nil)
		c := tab(t, ctx)
		do(t, c, "open", chromedp.Navigate(s.URL+"/checkout/"+tok), chromedp.WaitVisible(dt("product-title")))
		if got := eval[string](t, c, `document.querySelector('[data-test="product-title"]').textContent`); got != xssName {
			t.Errorf("product title %q", got)
		}
		if n := eval[int](t, c, `document.querySelectorAll('img[src="x"]').length`); n != 0 {
			t.Errorf("%d injected images", n)
		}
		shot(t, c, "xss-as-text")
	})
}

// shop is the test merchant: a page on another origin that integrates the
// SDK as a merchant would.
type shop struct{ url string }

func newShop(t *testing.T, sakkURL string) shop {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /shop", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, shopPage, sakkURL)
	})
	mux.HandleFunc("GET /shop.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write([]byte(shopScript))
	})
	mux.HandleFunc("GET /return", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!doctype html><title>Back at the shop</title><h1>Back at the shop</h1>"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	// Another origin than sakk's 127.0.0.1: "localhost", same port space.
	return shop{url: "http://localhost:" + fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)}
}

const shopPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script src="/shop.js"></script>
<script src="%s/sdk/v1/sakk.js"></script>
</head><body style="font-family:system-ui,sans-serif;padding:2rem">
<h1>Atlas Goods</h1><p>Wireless Headphones, Ceramic Mug ×2</p>
<button id="buy">Pay (overlay)</button> <button id="buy-popup">Pay (popup)</button>
</body></html>`

const shopScript = `
window.events = [];
window.PaymentCallback = function (r) { window.events.push(r); };
window.checkoutLoaded = false;
document.addEventListener('load', function (e) {
  if (e.target.tagName === 'IFRAME') window.checkoutLoaded = true;
}, true);
var popupRef = null;
var nativeOpen = window.open;
window.open = function () { popupRef = nativeOpen.apply(window, arguments); return popupRef; };
window.sakkPopupClosed = function () { return !!popupRef && popupRef.closed; };
document.addEventListener('DOMContentLoaded', function () {
  var token = new URLSearchParams(location.search).get('token');
  document.getElementById('buy').onclick = function () { AlyaPay.Payments.init({ session_token: token, locale: 'en' }); };
  document.getElementById('buy-popup').onclick = function () { Sakk.Payments.init({ session_token: token, mode: 'popup' }); };
});
`
