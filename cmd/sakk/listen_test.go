package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/store"
)

// sakk listen receives an application's event from a remote sakk's event
// stream and re-posts it to a local receiver, signed as sakk signs
// webhooks, within a second of the payment's answer; the server refuses a
// stream past its bound per application.
func TestListenForwardsSignedEvents(t *testing.T) {
	tg := newTarget(t, store.SQLite)
	var app appKeys
	tg.cliJSON(t, &app, "apps", "create", "--name", "Listen Shop", "--merchant", "Listen Merchant")
	server := serveSakk(t, tg, "--demo=false")

	const secret = "whsec_listen_test_secret"
	local := newHookReceiver(t) // checks the signature as docs/webhooks.md says
	local.setSecret(secret)
	var out syncBuffer
	ctx, stop := context.WithCancel(t.Context())
	var listening sync.WaitGroup
	listening.Go(func() {
		env := map[string]string{"SAKK_API_KEY": app.SecretKey}
		err := run(ctx, []string{"listen", "--app", app.ApplicationID, "--url", "http://" + server.addr,
			"--forward-to", local.url + "/webhooks", "--secret", secret}, func(k string) string { return env[k] }, &out, &out)
		if err != nil {
			t.Errorf("sakk listen: %v", err)
		}
	})
	defer func() {
		stop()
		listening.Wait()
	}()
	if !poll(10*time.Second, func() bool { return strings.Contains(out.String(), "ready: listening") }) {
		t.Fatalf("sakk listen did not connect:\n%s", out.String())
	}

	cctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c := &crashClient{http: &http.Client{Timeout: 30 * time.Second}}
	c.setAddr(server.addr)
	status, body, err := c.call(cctx, "POST", "/api/v1/auth", map[string]string{"Authorization": "Bearer " + app.SecretKey, "x-public-key": app.PublicKey}, "")
	sdk := jsonField(t, body, "token")
	if err != nil || status != http.StatusOK || sdk == "" {
		t.Fatalf("auth: %d %s %v", status, body, err)
	}
	_, body, _ = c.call(cctx, "POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": app.SecretKey}, crashSessionBody)
	sessionToken := jsonField(t, body, "session_token")
	l := &crashLedger{sessions: map[string]bool{}, completed: map[string]string{}}
	vtok, ok := c.verify(cctx, l, sdk, "listen@example.com", sessionToken)
	if !ok {
		t.Fatalf("verify: %v", l.problems)
	}
	a, ok := c.process(cctx, l, vtok, sessionToken, crashCardApproved)
	if !ok || a.Status != "completed" {
		t.Fatalf("process: %+v %v", a, l.problems)
	}
	answered := time.Now()
	arrived := func() bool {
		for _, e := range local.snapshot() {
			if e.Type == "payment.completed" && e.PaymentID == a.PaymentID {
				return true
			}
		}
		return false
	}
	for !arrived() && time.Since(answered) < 5*time.Second {
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(answered)
	if bad := local.refused(); len(bad) > 0 {
		t.Errorf("the local receiver refused: %v", bad)
	}
	if !arrived() {
		t.Fatalf("payment.completed never reached the local receiver\nlisten printed:\n%s", out.String())
	}
	if took > time.Second {
		t.Errorf("the event took %v to arrive; want under a second", took)
	}
	if !poll(2*time.Second, func() bool {
		return strings.Contains(out.String(), "payment.completed evt_") && strings.Contains(out.String(), "→ 204")
	}) {
		t.Errorf("listen did not print the event with its answer:\n%s", out.String())
	}
	t.Logf("event forwarded %v after the payment's answer", took.Round(time.Millisecond))

	// The bound: sakk listen holds one stream; three more fit, the fifth is refused.
	var held []*http.Response
	defer func() {
		for _, r := range held {
			r.Body.Close()
		}
	}()
	for i := range 4 {
		req, _ := http.NewRequestWithContext(cctx, "GET", "http://"+server.addr+"/api/merchant/v1/events/stream", nil)
		req.Header.Set("X-API-Key", app.SecretKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, resp)
		want := http.StatusOK
		if i == 3 {
			want = http.StatusTooManyRequests
		}
		if resp.StatusCode != want || (want == http.StatusOK && resp.Header.Get("Content-Type") != "text/event-stream") {
			t.Errorf("stream %d: %d %s; want %d", i+2, resp.StatusCode, resp.Header.Get("Content-Type"), want)
		}
	}
	// A wrong key is refused, and listen says so instead of retrying.
	err = run(t.Context(), []string{"listen", "--app", app.ApplicationID, "--url", "http://" + server.addr, "--forward-to", local.url},
		func(k string) string {
			if k == "SAKK_API_KEY" {
				return "sk_test_wrong"
			}
			return ""
		}, &syncBuffer{}, &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("listen with a wrong key: %v; want the 401", err)
	}
	// Open streams do not hold up a shutdown: they end with it.
	begun := time.Now()
	server.cmd.Process.Signal(syscall.SIGTERM)
	if err := server.wait(t, 30*time.Second); err != nil || time.Since(begun) > 10*time.Second {
		t.Errorf("SIGTERM with streams open: %v after %v\n%s", err, time.Since(begun), server.stderr)
	}
	t.Logf("shutdown with streams open took %v", time.Since(begun).Round(time.Millisecond))
}
