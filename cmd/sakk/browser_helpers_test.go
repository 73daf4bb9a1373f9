package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// demoOwner reads the demo owner's email and password that the first
// start printed.
func demoOwner(t *testing.T, stdout string) (email, password string) {
	t.Helper()
	for line := range strings.SplitSeq(stdout, "\n") {
		switch f := strings.Fields(line); {
		case len(f) == 2 && f[0] == "email":
			email = f[1]
		case len(f) == 2 && f[0] == "password":
			password = f[1]
		}
	}
	if email == "" || password == "" {
		t.Fatalf("no demo owner printed:\n%s", stdout)
	}
	return email, password
}

// openSession opens a Checkout API session with the secret key and
// returns its token.
func openSession(t *testing.T, base, secretKey, body string) string {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/api/v1/public/sessions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-API-Key", secretKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sess struct {
		Token string `json:"session_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&sess); err != nil || sess.Token == "" {
		t.Fatalf("open a session: %d %v", resp.StatusCode, err)
	}
	return sess.Token
}

// payOnHostedPage opens a hosted page at url and pays it as a sandbox
// shopper: the identifier's fixed code 000000 and the approving card.
func payOnHostedPage(url, identifier string) chromedp.Action[chromedp.Void] {
	dt := func(n string) chromedp.CSS { return chromedp.CSS(`[data-test="` + n + `"]`) }
	return chromedp.Steps(
		chromedp.Navigate(url),
		chromedp.WaitVisible(dt("identifier")),
		chromedp.SendKeys(dt("identifier"), identifier+kb.Enter),
		chromedp.WaitVisible(dt("code")),
		chromedp.SendKeys(dt("code"), "000000"+kb.Enter),
		chromedp.WaitVisible(dt("card-number")),
		chromedp.SendKeys(dt("card-number"), "4242424242424242"),
		chromedp.SendKeys(dt("card-expiry"), "1234"),
		chromedp.SendKeys(dt("card-cvc"), "123"),
		chromedp.Click(dt("pay")),
		chromedp.WaitVisible(chromedp.CSS(`[data-test="result"][data-state="paid"]`)))
}
