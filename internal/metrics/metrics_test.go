package metrics

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The request path must stay cheap: once a route's child is bound,
// observing a request allocates nothing.
func TestRequestAllocatesNothing(t *testing.T) {
	m := New()
	m.Request("GET /healthz", 200, time.Millisecond)
	if n := testing.AllocsPerRun(1000, func() { m.Request("GET /healthz", 200, time.Millisecond) }); n != 0 {
		t.Errorf("Request allocates %v times per call", n)
	}
	var nilM *Metrics
	nilM.Request("GET /healthz", 200, time.Millisecond) // a nil Metrics records nothing, and does not panic
}

func BenchmarkRequest(b *testing.B) {
	m := New()
	for b.Loop() {
		m.Request("POST /api/v1/public/sessions", 200, time.Millisecond)
	}
}

// Label values come from a fixed set: a client's text never makes a series.
func TestLabelsAreBounded(t *testing.T) {
	m := New()
	m.Request("", 200, time.Millisecond)
	m.Request("GET /x", 999, time.Millisecond)
	m.Payment("stripe", "card', DROP TABLE", "completed")
	m.OTP("carrier-pigeon", OTPSent)
	m.RateLimited("pp:process:192.0.2.1:app_123:someone@example.com")
	m.RateLimited("checkout:key_abc")
	m.RateLimited("weird")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		`route="unmatched"`, `code="other"`, `method="other"`, `channel="other"`,
		`sakk_rate_limited_total{limit="pp:process"} 1`, `sakk_rate_limited_total{limit="checkout"} 1`, `sakk_rate_limited_total{limit="other"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %s in\n%s", want, text)
		}
	}
	for _, leaked := range []string{"DROP", "pigeon", "192.0.2.1", "app_123", "key_abc", "weird"} {
		if strings.Contains(text, leaked) {
			t.Errorf("%q reached a label", leaked)
		}
	}
}

// The sample dashboard in docs/ queries only series sakk exports.
func TestDashboardQueriesExportedSeries(t *testing.T) {
	raw, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	m := New()
	if err := m.WatchBacklog(func(context.Context) (Backlog, error) { return Backlog{}, nil }); err != nil {
		t.Fatal(err)
	}
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, f := range families {
		known[f.GetName()] = true
	}
	// Vectors without children are not gathered: name them from Describe.
	descs := make(chan *prometheus.Desc, 100)
	for _, c := range []prometheus.Collector{m.requests, m.sessions, m.payments, m.refunds, m.otp, m.rateLimited, m.gateway, m.webhooks} {
		c.Describe(descs)
	}
	close(descs)
	for d := range descs {
		name := strings.TrimPrefix(d.String(), `Desc{fqName: "`)
		name, _, _ = strings.Cut(name, `"`)
		known[name] = true
	}
	series := regexp.MustCompile(`sakk_[a-z_]+`)
	n := 0
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, s := range series.FindAllString(tg.Expr, -1) {
				n++
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(s, "_bucket"), "_count"), "_sum")
				if !known[s] && !known[base] {
					t.Errorf("panel %q queries %s, which sakk does not export", p.Title, s)
				}
			}
		}
	}
	if n < 10 {
		t.Errorf("the dashboard queries only %d series", n)
	}
}
