package main

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/pquerna/otp/totp"

	"github.com/sakkhq/sakk/internal/otp/smtpsink"
	"github.com/sakkhq/sakk/internal/store"
)

// TestDashboardTeamJourney: the demo owner invites a viewer from the Team
// page; the mailed link lets them join; the viewer turns two-factor on
// on their profile page, makes and revokes a personal access token,
// changes the password, signs in again through the two-factor step with a
// backup code, and is refused a refund on a paid payment. No page logs a
// console error.
func TestDashboardTeamJourney(t *testing.T) {
	ctx := chromium(t)
	watch(t, ctx)
	sink := smtpsink.Start(t)
	tg := newTarget(t, store.SQLite)
	p := serveSakk(t, tg, "--smtp-host", "127.0.0.1", "--smtp-port", strconv.Itoa(sink.Port), "--smtp-starttls", "off",
		"--smtp-from", "sakk <no-reply@sakk.test>")
	base := "http://" + p.addr
	email, password := demoOwner(t, p.stdout.String())
	keys := demoKeys(t, p.stdout.String())
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("%s: %v (at %s)", what, err, loc)
		}
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	dir := os.Getenv("SAKK_SCREENSHOTS_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := func(name string) {
		t.Helper()
		if buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			os.WriteFile(filepath.Join(dir, "dashboard-"+name+".png"), buf, 0o644)
		}
	}
	x := func(s string) chromedp.Search { return chromedp.Search(s) }

	// A paid payment for the viewer to look at.
	token := openSession(t, base, keys.SecretKey,
		`{"total":"80.00","currency":"MAD","items":[{"id":"CAP","name":"Cap","price":80,"quantity":1}]}`)
	run("pay", payOnHostedPage(base+"/checkout/"+token, "cap@example.com"))

	run("invite a viewer",
		chromedp.Navigate(base+"/dashboard/login"),
		chromedp.SendKeys(css(`#email`), email),
		chromedp.SendKeys(css(`#password`), password+kb.Enter),
		chromedp.WaitVisible(css(`[data-test="currency-MAD"]`)),
		chromedp.Click(x(`//nav//a[text()="Team"]`)),
		chromedp.WaitVisible(css(`#invite-email`)),
		chromedp.SendKeys(css(`#invite-email`), "viewer@shop.example"),
		chromedp.Click(x(`//button[text()="Send invite"]`)),
		chromedp.WaitVisible(css(`[data-test="invites"]`)))
	shot("team")
	run("the audit log", chromedp.Click(x(`//nav//a[text()="Audit log"]`)), chromedp.WaitVisible(css(`[data-test="audit"]`)))
	if got, _ := chromedp.Run(ctx, chromedp.Text(css(`[data-test="audit"]`))); !strings.Contains(got, "team.invite") {
		t.Errorf("the audit log lacks the invite: %q", got)
	}
	shot("audit")
	run("team in arabic at 390 px", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)),
		chromedp.Navigate(base+"/dashboard/team?lang=ar"), chromedp.WaitVisible(css(`[data-test="members"]`)))
	if wide, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)); wide {
		t.Error("the Arabic team page scrolls sideways at 390 px")
	}
	shot("team-ar-390")
	run("back to english", chromedp.ResetViewport(), chromedp.Navigate(base+"/dashboard/team?lang=en"), chromedp.WaitVisible(css(`[data-test="members"]`)))
	_, text := sink.Message(t, 1)
	m := regexp.MustCompile(`(?m)^(http\S+/dashboard/invite\?token=\S+)\r?$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no invite link in the mail:\n%s", text)
	}
	run("accept the invite",
		chromedp.Click(x(`//button[text()="Sign out"]`)),
		chromedp.WaitVisible(css(`#email`)),
		chromedp.Navigate(m[1]),
		chromedp.WaitVisible(css(`#name`)),
		chromedp.SendKeys(css(`#name`), "Vera Viewer"),
		chromedp.SendKeys(css(`#password`), "a viewer's long password"+kb.Enter),
		chromedp.WaitVisible(css(`[data-test="currency-MAD"]`)))

	// The viewer's own profile: two-factor on by scanning (here, reading)
	// the key, then a personal access token made, used and revoked.
	dt := func(n string) chromedp.CSS { return css(`[data-test="` + n + `"]`) }
	run("set up two-factor",
		chromedp.Click(x(`//nav//a[text()="Profile"]`)),
		chromedp.WaitVisible(dt("setup-2fa")),
		chromedp.Click(dt("setup-2fa")),
		chromedp.WaitVisible(dt("totp-secret")))
	shot("profile-2fa-setup")
	secret, _ := chromedp.Run(ctx, chromedp.Text(dt("totp-secret")))
	code, err := totp.GenerateCode(strings.TrimSpace(secret), time.Now())
	if err != nil {
		t.Fatalf("the key on the page (%q): %v", secret, err)
	}
	run("turn two-factor on", chromedp.SendKeys(dt("totp-code"), code+kb.Enter), chromedp.WaitVisible(dt("shown-once")))
	backup, _ := chromedp.Run(ctx, chromedp.Text(dt("once-0")))
	if state, _ := chromedp.Run(ctx, chromedp.Text(dt("two-factor-state"))); !strings.Contains(state, "On") {
		t.Errorf("after turning it on, the profile says %q", state)
	}
	run("create a token",
		chromedp.SendKeys(dt("token-name"), "ci script"),
		chromedp.Click(dt("create-token")),
		chromedp.WaitVisible(dt("tokens")))
	shot("profile-token")
	pat, _ := chromedp.Run(ctx, chromedp.Text(dt("once-0")))
	me := func() int {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/api/merchant/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(pat))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := me(); got != http.StatusOK {
		t.Fatalf("GET /me with the token made on the profile (%q): %d", pat, got)
	}
	run("revoke the token", chromedp.Click(dt("revoke-token")), chromedp.WaitVisible(css(`[data-test="tokens"] .badge.failed`)))
	if got := me(); got != http.StatusUnauthorized {
		t.Errorf("GET /me with the revoked token: %d, want 401", got)
	}
	for _, lang := range []string{"fr", "ar", "en"} {
		run("the profile in "+lang, chromedp.Navigate(base+"/dashboard/profile?lang="+lang), chromedp.WaitVisible(dt("tokens")))
		if wide, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)); wide {
			t.Errorf("the profile in %s scrolls sideways", lang)
		}
		shot("profile-" + lang)
	}
	run("change the password",
		chromedp.SendKeys(css(`#pw-current`), "a viewer's long password"),
		chromedp.SendKeys(css(`#pw-new`), "a viewer's newer password"),
		chromedp.Click(dt("change-password")),
		chromedp.WaitVisible(css(`#email`)))
	if notice, _ := chromedp.Run(ctx, chromedp.Text(css(`.notice`))); !strings.Contains(notice, "password is changed") {
		t.Errorf("after the change, the sign-in page says %q", notice)
	}

	run("sign in with two-factor (a backup code)",
		chromedp.SendKeys(css(`#email`), "viewer@shop.example"),
		chromedp.SendKeys(css(`#password`), "a viewer's newer password"+kb.Enter),
		chromedp.WaitVisible(css(`#code`)),
		chromedp.SendKeys(css(`#password`), "a viewer's newer password"),
		chromedp.SendKeys(css(`#code`), strings.TrimSpace(backup)+kb.Enter),
		chromedp.WaitVisible(css(`[data-test="currency-MAD"]`)))
	run("the viewer is refused a refund",
		chromedp.Click(x(`//nav//a[text()="Payments"]`)),
		chromedp.WaitVisible(css(`[data-test="payments"] tbody tr a`)),
		chromedp.Click(css(`[data-test="payments"] tbody tr a`)),
		chromedp.WaitVisible(css(`[data-test="refund-refused"]`)))
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(css("main")))
	if strings.Contains(html, `data-test="refund"`) {
		t.Error("the viewer is offered the refund button")
	}
}
