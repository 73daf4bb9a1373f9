// Package metrics is sakk's Prometheus instrumentation: one registry per
// process, served by the admin listener at /metrics (never on the public
// port). Every label has a bounded set of values — route patterns, status
// codes, gateway names, channels, outcomes — and never an id, so the
// number of series stays fixed however much traffic flows.
//
// A nil *Metrics is valid and records nothing, so code paths and tests
// that do not care need no wiring.
//
// Cost: the request path observes through a copy-on-write map of
// pre-bound histogram children (an atomic load and a map lookup, no
// allocation); the rarer per-payment, per-code and per-delivery counters
// look their child up by label values, a few hundred nanoseconds.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every collector sakk exports.
type Metrics struct {
	reg *prometheus.Registry

	requests *prometheus.HistogramVec
	// routes are requests' children bound by (pattern, code); replaced
	// whole when a new pair appears, so reads take no lock.
	routes  atomic.Pointer[map[routeKey]prometheus.Observer]
	routeMu sync.Mutex

	sessions    *prometheus.CounterVec
	sessionsBy  [2]prometheus.Counter // sandbox, live
	payments    *prometheus.CounterVec
	refunds     *prometheus.CounterVec
	otp         *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	gateway     *prometheus.HistogramVec
	webhooks    *prometheus.CounterVec
	commitBatch prometheus.Histogram
	commitTime  prometheus.Histogram
}

type routeKey struct {
	pattern string
	code    int
}

// latencyBuckets suit both a 100 µs status read and a 30 s gateway call.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// New creates the collectors and registers them, with the Go runtime's
// and the process's, on a registry of their own.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sakk_http_request_duration_seconds", Help: "Time to answer HTTP requests on the public port, by route pattern and status code.",
		Buckets: latencyBuckets,
	}, []string{"route", "code"})
	m.sessions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sakk_sessions_created_total", Help: "Checkout sessions created, by environment.",
	}, []string{"environment"})
	m.sessionsBy = [2]prometheus.Counter{m.sessions.WithLabelValues("sandbox"), m.sessions.WithLabelValues("live")}
	m.payments = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sakk_payments_total", Help: "Payment attempts that reached a status (completed, failed, requires_action), by gateway and method.",
	}, []string{"gateway", "method", "outcome"})
	m.refunds = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sakk_refunds_total", Help: "Refunds that reached a final status (succeeded, failed).",
	}, []string{"outcome"})
	m.otp = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sakk_otp_codes_total", Help: "One-time codes sent, failed to send, verified and refused, by channel.",
	}, []string{"channel", "result"})
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sakk_rate_limited_total", Help: "Requests refused by a rate limit, by the limit's kind.",
	}, []string{"limit"})
	m.gateway = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sakk_gateway_call_duration_seconds", Help: "Time of calls to payment gateways, by gateway, operation and outcome.",
		Buckets: latencyBuckets,
	}, []string{"gateway", "operation", "outcome"})
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sakk_webhook_deliveries_total", Help: "Webhook delivery attempts, by result: delivered, retry (will be tried again), failed (given up), manual.",
	}, []string{"result"})
	m.commitBatch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "sakk_store_commit_batch_size", Help: "Transactions that shared one commit (SQLite group commit; 1 on PostgreSQL).",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
	})
	m.commitTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "sakk_store_commit_duration_seconds", Help: "Time of store commits (the fsync on SQLite).",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	})
	m.routes.Store(&map[routeKey]prometheus.Observer{})
	m.reg.MustRegister(m.requests, m.sessions, m.payments, m.refunds, m.otp, m.rateLimited, m.gateway, m.webhooks,
		m.commitBatch, m.commitTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, Timeout: 10 * time.Second})
}

// Register adds a collector of the caller's (the backlog, build info).
func (m *Metrics) Register(c prometheus.Collector) error { return m.reg.Register(c) }

// Request records one answered request. pattern is the ServeMux pattern
// that matched ("" when none did), so the label set is the routing table.
func (m *Metrics) Request(pattern string, code int, took time.Duration) {
	if m == nil {
		return
	}
	if code == 0 {
		code = http.StatusOK // nothing written: net/http answers 200
	}
	k := routeKey{pattern, code}
	o, ok := (*m.routes.Load())[k]
	if !ok {
		o = m.bindRoute(k)
	}
	o.Observe(took.Seconds())
}

func (m *Metrics) bindRoute(k routeKey) prometheus.Observer {
	m.routeMu.Lock()
	defer m.routeMu.Unlock()
	old := *m.routes.Load()
	if o, ok := old[k]; ok {
		return o
	}
	route := k.pattern
	if route == "" {
		route = "unmatched"
	}
	code := "other"
	if k.code >= 100 && k.code <= 599 {
		code = strconv.Itoa(k.code)
	}
	o := m.requests.WithLabelValues(route, code)
	next := make(map[routeKey]prometheus.Observer, len(old)+1)
	for kk, v := range old {
		next[kk] = v
	}
	next[k] = o
	m.routes.Store(&next)
	return o
}

// SessionCreated counts a new checkout session; live is its environment.
func (m *Metrics) SessionCreated(live bool) {
	if m == nil {
		return
	}
	i := 0
	if live {
		i = 1
	}
	m.sessionsBy[i].Inc()
}

// Payment counts an attempt reaching outcome (a payment status).
func (m *Metrics) Payment(gateway, method, outcome string) {
	if m == nil {
		return
	}
	m.payments.WithLabelValues(oneOf(gateway, gateways), oneOf(method, methods), outcome).Inc()
}

// Refund counts a refund reaching outcome (a final refund status).
func (m *Metrics) Refund(outcome string) {
	if m == nil {
		return
	}
	m.refunds.WithLabelValues(outcome).Inc()
}

// OTP results.
const (
	OTPSent       = "sent"
	OTPSendFailed = "send_failed"
	OTPVerified   = "verified"
	OTPFailed     = "failed"
)

// OTP counts a one-time code event on channel ("email", "phone").
func (m *Metrics) OTP(channel, result string) {
	if m == nil {
		return
	}
	m.otp.WithLabelValues(oneOf(channel, channels), result).Inc()
}

// RateLimited counts a refusal under a rate limiter's key, labelled with
// the key's kind ("checkout", "pp:process" …), never the key itself.
func (m *Metrics) RateLimited(key string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(oneOf(LimitKind(key), limitKinds)).Inc()
}

// LimitKind is the kind of a rate limiter's key: its first part, and for
// the Public Payment API's ("pp:…") its second, which names the route.
func LimitKind(key string) string {
	first, rest, _ := strings.Cut(key, ":")
	if first != "pp" {
		return first
	}
	second, _, _ := strings.Cut(rest, ":")
	return key[:len(first)+1+len(second)]
}

// GatewayCall records one call to a gateway: operation is charge, fetch
// or refund; outcome approved, declined, action_required, unknown, error …
func (m *Metrics) GatewayCall(gateway, operation, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.gateway.WithLabelValues(oneOf(gateway, gateways), operation, outcome).Observe(took.Seconds())
}

// Webhook delivery results.
const (
	WebhookDelivered = "delivered"
	WebhookRetry     = "retry"
	WebhookFailed    = "failed"
	WebhookManual    = "manual"
)

// WebhookDelivery counts one delivery attempt by its result.
func (m *Metrics) WebhookDelivery(result string) {
	if m == nil {
		return
	}
	m.webhooks.WithLabelValues(result).Inc()
}

// Commit records one store commit of batch transactions.
func (m *Metrics) Commit(batch int, took time.Duration) {
	if m == nil {
		return
	}
	m.commitBatch.Observe(float64(batch))
	m.commitTime.Observe(took.Seconds())
}

// Backlog is the work waiting in the store, read when /metrics is
// scraped. On PostgreSQL every instance reports the same shared numbers:
// aggregate with max(), not sum().
type Backlog struct {
	OutboxDepth     int           // events not yet routed plus deliveries still pending
	OutboxOldest    time.Duration // age of the oldest of those; 0 when none
	PendingAttempts int           // payment attempts waiting for a gateway's answer (the reconciler's work)
}

// WatchBacklog exports what read returns at each scrape.
func (m *Metrics) WatchBacklog(read func(context.Context) (Backlog, error)) error {
	return m.reg.Register(backlogCollector{read: read})
}

var (
	outboxDepthDesc  = prometheus.NewDesc("sakk_outbox_depth", "Events waiting for webhook delivery (not yet routed, or deliveries pending).", nil, nil)
	outboxOldestDesc = prometheus.NewDesc("sakk_outbox_oldest_age_seconds", "Age of the oldest undelivered event; 0 when the outbox is empty.", nil, nil)
	pendingDesc      = prometheus.NewDesc("sakk_reconciler_pending_attempts", "Payment attempts waiting for a gateway's answer, which the reconciler settles.", nil, nil)
)

type backlogCollector struct {
	read func(context.Context) (Backlog, error)
}

func (c backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDepthDesc
	ch <- outboxOldestDesc
	ch <- pendingDesc
}

func (c backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := c.read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxDepthDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(outboxDepthDesc, prometheus.GaugeValue, float64(b.OutboxDepth))
	ch <- prometheus.MustNewConstMetric(outboxOldestDesc, prometheus.GaugeValue, b.OutboxOldest.Seconds())
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(b.PendingAttempts))
}

// The values a label may take; anything else is "other", so that no
// client-chosen text can grow the number of series.
var (
	gateways   = []string{"sandbox", "stripe", "paypal", "moyasar", "myfatoorah", "alyapay"}
	methods    = []string{"card", "paypal", "myfatoorah", "applepay", "googlepay"}
	channels   = []string{"email", "phone"}
	limitKinds = []string{"checkout", "merchant", "forgot", "paylink", "pp:auth", "pp:tokenize", "pp:otp-request", "pp:otp-verify", "pp:process", "pp:callback"}
)

func oneOf(v string, allowed []string) string {
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	return "other"
}
