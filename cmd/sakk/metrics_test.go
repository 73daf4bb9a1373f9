package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/store"
)

// After one sandbox payment (a declined attempt, then an approved one),
// the admin listener's /metrics shows every part of it counted — the
// requests by route, the session, the codes, both attempts, the gateway
// calls, the commits, the webhook delivered — with no id in any label;
// and the public port serves neither metrics nor profiles.
func TestMetricsAfterASandboxPayment(t *testing.T) {
	tg := newTarget(t, store.SQLite)
	var app appKeys
	tg.cliJSON(t, &app, "apps", "create", "--name", "Metrics Shop", "--merchant", "Metrics Merchant")
	rec := newHookReceiver(t)
	var hook struct{ ID, Secret string }
	tg.cliJSON(t, &hook, "webhooks", "add", "--app", app.ApplicationID, "--url", rec.url+"/hooks", "--env", "sandbox", "--format", "payment")
	rec.setSecret(hook.Secret)
	p := serveSakk(t, tg, "--demo=false")
	if p.admin == "" || p.admin == p.addr {
		t.Fatalf("admin listener at %q, public at %q", p.admin, p.addr)
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c := &crashClient{http: &http.Client{Timeout: 30 * time.Second}}
	c.setAddr(p.addr)
	status, body, err := c.call(ctx, "POST", "/api/v1/auth", map[string]string{"Authorization": "Bearer " + app.SecretKey, "x-public-key": app.PublicKey}, "")
	token := jsonField(t, body, "token")
	if err != nil || status != http.StatusOK || token == "" {
		t.Fatalf("auth: %d %s %v", status, body, err)
	}
	l := &crashLedger{sessions: map[string]bool{}, completed: map[string]string{}}
	c.payOnce(ctx, l, app.SecretKey, token, 0, 0) // i=0: declined first, then approved
	if len(l.problems) > 0 || len(l.completed) != 1 || l.declines != 1 {
		t.Fatalf("payment: %+v", l)
	}
	// /api/v1/auth allows 10 a minute from one address: the 11th is refused.
	for range 11 {
		c.call(ctx, "POST", "/api/v1/auth", map[string]string{"Authorization": "Bearer " + app.SecretKey, "x-public-key": app.PublicKey}, "")
	}

	var text string
	if !poll(10*time.Second, func() bool {
		text = scrape(t, "http://"+p.admin+"/metrics")
		return sample(text, "sakk_webhook_deliveries_total", `result="delivered"`) >= 2
	}) {
		t.Fatalf("the two payment events were not counted delivered:\n%s", grepLines(text, "sakk_webhook"))
	}
	for _, want := range []struct {
		name   string
		labels []string
		min    float64
	}{
		{"sakk_http_request_duration_seconds_count", []string{`route="POST /api/v1/payments/process"`, `code="200"`}, 2},
		{"sakk_http_request_duration_seconds_count", []string{`route="POST /api/v1/public/sessions"`, `code="200"`}, 1},
		{"sakk_http_request_duration_seconds_count", []string{`route="POST /api/v1/auth"`, `code="429"`}, 1},
		{"sakk_sessions_created_total", []string{`environment="sandbox"`}, 1},
		{"sakk_otp_codes_total", []string{`channel="email"`, `result="sent"`}, 1},
		{"sakk_otp_codes_total", []string{`channel="email"`, `result="verified"`}, 1},
		{"sakk_payments_total", []string{`gateway="stripe"`, `method="card"`, `outcome="completed"`}, 1},
		{"sakk_payments_total", []string{`gateway="stripe"`, `method="card"`, `outcome="failed"`}, 1},
		{"sakk_gateway_call_duration_seconds_count", []string{`gateway="stripe"`, `operation="charge"`, `outcome="approved"`}, 1},
		{"sakk_gateway_call_duration_seconds_count", []string{`gateway="stripe"`, `operation="charge"`, `outcome="declined"`}, 1},
		{"sakk_rate_limited_total", []string{`limit="pp:auth"`}, 1},
		{"sakk_store_commit_batch_size_count", nil, 5},
		{"sakk_store_commit_duration_seconds_count", nil, 5},
	} {
		if got := sample(text, want.name, want.labels...); got < want.min {
			t.Errorf("%s%v = %v; want ≥ %v\n%s", want.name, want.labels, got, want.min, grepLines(text, want.name))
		}
	}
	for _, gauge := range []string{"sakk_outbox_depth", "sakk_outbox_oldest_age_seconds", "sakk_reconciler_pending_attempts"} {
		if !strings.Contains(text, "\n"+gauge+" ") {
			t.Errorf("no %s in /metrics", gauge)
		}
	}
	// Bounded labels: no id of any kind in any series.
	for _, prefix := range []string{"pay_", "sess_", "app_", "evt_", "req_", "key_"} {
		if strings.Contains(text, `"`+prefix) {
			t.Errorf("a label holds an id (%s…):\n%s", prefix, grepLines(text, `"`+prefix))
		}
	}
	if code, _ := get(t, "http://"+p.admin+"/debug/pprof/"); code != http.StatusOK {
		t.Errorf("admin /debug/pprof/ = %d", code)
	}
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap"} {
		if code, _ := p.get(t, path); code != http.StatusNotFound {
			t.Errorf("public port: GET %s = %d; want 404", path, code)
		}
	}
	// An admin address given on purpose that cannot be opened stops serve.
	other := startSakk(t, append([]string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", p.admin}, tg.flags...)...)
	if err := other.wait(t, 30*time.Second); err == nil || !strings.Contains(other.stderr.String(), "admin address") {
		t.Errorf("serve on a taken --admin-addr: %v\n%s", err, other.stderr)
	}
}

func jsonField(t *testing.T, body []byte, name string) string {
	t.Helper()
	_, rest, ok := strings.Cut(string(body), `"`+name+`":"`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	code, body := get(t, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s = %d %s", url, code, body)
	}
	return body
}

// sample sums the values of the series of name whose labels include
// every one of labels, in the Prometheus text format.
func sample(text, name string, labels ...string) float64 {
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		// Label values may hold spaces (route patterns); the value is
		// the last field.
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 || strings.HasPrefix(line, "#") {
			continue
		}
		series, value := line[:sp], line[sp+1:]
		metric, lbls, _ := strings.Cut(series, "{")
		if metric != name {
			continue
		}
		all := true
		for _, l := range labels {
			all = all && strings.Contains(lbls, l)
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil && all {
			sum += v
		}
	}
	return sum
}

func grepLines(text, substr string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
