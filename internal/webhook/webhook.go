// Package webhook delivers the outbox's events to merchants' endpoints as
// signed HTTP requests, in the format each endpoint chose: the Checkout
// API's (X-Alya-* headers, transaction.* events) or the Public Payment
// API's (Sakk-Signature, payment.* events).
//
// How an event travels. The engine writes it to the events table in the
// transaction of the change it records (store.Tx.AddEvent). The
// dispatcher then works in two steps, each its own short transaction:
//
//  1. Routing: it takes events not yet routed, creates one delivery row per
//     enabled endpoint of the event's application environment whose format
//     subscribes to the event, and marks the event routed, all in one
//     transaction. Deliveries are rows the dispatcher creates (no trigger,
//     no cursor over event times): a cursor over created_at would skip an
//     event whose transaction took its time stamp before a later one's but
//     committed after the cursor moved on, whereas "routed_at IS NULL" finds
//     every committed event whatever its commit order, on every engine.
//  2. Delivery: it claims due deliveries under a lease, sends them outside
//     any transaction, and records each attempt with the delivery's next
//     state. On PostgreSQL the claim locks rows FOR UPDATE SKIP LOCKED, so
//     instances take disjoint work; the lease (claimed_until) expires if an
//     instance dies mid-request, and another instance then sends it again.
//
// Guarantees. At least once: a delivery leaves "pending" only when a 2xx
// has been recorded or the retry window has run out, and a crash at any
// point leaves it pending (or leased until the lease ends), so it is sent
// again; receivers de-duplicate on the event id. Per-subject order: a
// subject's (session's) later delivery to an endpoint is not claimed while
// an earlier one to that endpoint is pending, or while an earlier event of
// the subject is still unrouted. Exactly once is not promised: a receiver
// that answers 2xx after the lease ended may see the event twice.
//
// Retries: 5 s, 10 s and 15 s after the first three failures (the
// vendor's schedule), then growing delays up to 12 h, for 3 days after the
// delivery was created; the last attempt is at the 3-day mark. An
// endpoint that has not answered 2xx for 3 days is disabled, with the
// reason recorded for the merchant.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/sakkhq/sakk/internal/metrics"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/vault"
)

// RetryWindow is how long a delivery is retried, and how long an endpoint
// may fail before it is disabled.
const RetryWindow = 72 * time.Hour

// retryDelays are the waits after the first, second, … failure; the last
// one repeats until RetryWindow ends.
var retryDelays = []time.Duration{
	5 * time.Second, 10 * time.Second, 15 * time.Second,
	time.Minute, 5 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 12 * time.Hour,
}

// nextAttempt returns when to try again after the failed attempt number
// `attempts` (from 1) of a delivery created at created, or ok=false when
// the failure at `now` ends the retry window.
func nextAttempt(created, now time.Time, attempts int) (time.Time, bool) {
	deadline := created.Add(RetryWindow)
	if !now.Before(deadline) {
		return time.Time{}, false
	}
	delay := retryDelays[min(attempts, len(retryDelays))-1]
	next := now.Add(delay)
	if next.After(deadline) {
		next = deadline
	}
	return next, true
}

// Lease is how long a claimed delivery is an instance's alone. It must
// exceed Timeout by far: a lease that ran out mid-request would let a
// second instance send the same event at the same time.
const Lease = 60 * time.Second

// ExcerptLimit bounds the part of a response that is recorded.
const ExcerptLimit = 1024

// Options configure a Dispatcher; the zero value of each field is a
// sensible default.
type Options struct {
	Logger *slog.Logger
	// Now is the clock (time.Now when nil). Tests move it to reach retry
	// times and the 3-day window without sleeping.
	Now func() time.Time
	// PollInterval is how often Run looks for work when nobody calls
	// Notify; 1 s when zero.
	PollInterval time.Duration
	// Concurrency is how many requests one dispatcher has in flight;
	// DefaultConcurrency when zero.
	Concurrency int
	// Metrics counts delivery attempts by result; nil counts nothing.
	Metrics *metrics.Metrics
	// Tracer makes a span of each delivery attempt; nil makes none.
	Tracer trace.Tracer
}

// Dispatcher routes and delivers events. Every instance runs one; they
// share the work through the store.
type Dispatcher struct {
	store   *store.Store
	vault   *vault.Box
	log     *slog.Logger
	now     func() time.Time
	poll    time.Duration
	workers int
	live    *http.Client // guarded against private addresses
	sandbox *http.Client // may reach localhost
	wake    chan struct{}
	metrics *metrics.Metrics
	tracer  trace.Tracer
}

// New returns a Dispatcher over st; box opens the endpoints' secrets.
func New(st *store.Store, box *vault.Box, o Options) *Dispatcher {
	d := &Dispatcher{
		store: st, vault: box, log: o.Logger, now: o.Now, poll: o.PollInterval, workers: o.Concurrency,
		wake: make(chan struct{}, 1), metrics: o.Metrics, tracer: o.Tracer,
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.poll <= 0 {
		d.poll = time.Second
	}
	if d.workers <= 0 {
		d.workers = DefaultConcurrency
	}
	// An endpoint keeps a connection open for each request it may have in
	// flight, so that a busy one is not dialled anew for most of them.
	d.live, d.sandbox = newClient(true, perEndpoint(d.workers)), newClient(false, perEndpoint(d.workers))
	return d
}

// DefaultConcurrency is how many requests a dispatcher has in flight
// unless told otherwise: half of them may go to one endpoint, so one
// endpoint answering in 10 ms takes 3 200 events a second from one
// instance. A freed slot waits for the next claim (a commit) before it is
// filled again, so an endpoint answering at once still needs more than a
// few: with 16 to one endpoint, 2 000 payments a second left their events
// a growing backlog (p50 0.9 s behind at the end of 6 s), with 32 they
// arrive 4 ms after the payment's answer (p99 15 ms).
const DefaultConcurrency = 64

// Notify tells Run that events were committed, so it looks at once
// instead of at its next poll. It never blocks; call it after a commit.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run routes and delivers until ctx ends, then returns once the requests
// in flight have finished and been recorded (at most Timeout later).
//
// Its workers never wait for each other: a slot freed by an answered
// request is filled by the next due delivery at once, and one endpoint
// holds at most half the slots (perEndpoint), so a slow or dead endpoint
// delays only its own deliveries. A slot is freed when the endpoint has
// answered, not when the answer is recorded: the delivery stays claimed
// until then, and the write waits for its group's commit (an fsync)
// without holding a request's place.
func (d *Dispatcher) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	pool := newPool(d.workers)
	defer pool.wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-pool.freed:
		case <-timer.C:
		}
		more, err := d.fill(ctx, pool)
		if err != nil && ctx.Err() == nil {
			d.log.WarnContext(ctx, "webhook dispatch", "err", err)
		}
		if more {
			d.Notify() // free slots and due work remain: go round again now
		}
		timer.Reset(d.poll)
	}
}

// pool is Run's requests in flight: how many, and to which endpoints.
type pool struct {
	size  int
	freed chan struct{} // a request finished (buffered 1: a wake-up, not a count)

	mu     sync.Mutex
	total  int
	by     map[string]int // endpoint id → requests in flight
	flight sync.WaitGroup
}

func newPool(size int) *pool {
	return &pool{size: size, freed: make(chan struct{}, 1), by: map[string]int{}}
}

// perEndpoint is how many of the pool's requests may go to one endpoint.
func (p *pool) perEndpoint() int { return perEndpoint(p.size) }

// perEndpoint is how many of a pool of size requests may go to one
// endpoint: half, so that one slow endpoint leaves the others room.
func perEndpoint(size int) int { return max(1, size/2) }

// free is how many more requests may start, and the endpoints that may
// take no more.
func (p *pool) free() (int, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var full []string
	for id, n := range p.by {
		if n >= p.perEndpoint() {
			full = append(full, id)
		}
	}
	return p.size - p.total, full
}

// start runs send in the pool unless endpoint has its share already, and
// reports whether it did. send's slot is freed when it calls answered, or
// at its end.
func (p *pool) start(endpoint string, send func(answered func())) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.by[endpoint] >= p.perEndpoint() || p.total >= p.size {
		return false
	}
	p.total++
	p.by[endpoint]++
	p.flight.Go(func() {
		var once sync.Once
		free := func() {
			once.Do(func() {
				p.mu.Lock()
				p.total--
				if p.by[endpoint]--; p.by[endpoint] == 0 {
					delete(p.by, endpoint)
				}
				p.mu.Unlock()
				select {
				case p.freed <- struct{}{}:
				default:
				}
			})
		}
		send(free)
		free()
	})
	return true
}

func (p *pool) wait() { p.flight.Wait() }

// fill routes a batch of waiting events and starts due deliveries in the
// pool's free slots. more reports that events to route, or slots and due
// deliveries, may remain. Routing and claiming share one transaction: a
// commit each made every round of Run wait for two of the embedded
// store's commits, and an endpoint's share of the slots sat free
// meanwhile.
func (d *Dispatcher) fill(ctx context.Context, p *pool) (more bool, err error) {
	free, full := p.free()
	now := d.now().UTC()
	token := pay.NewID("lease")
	var routed int
	var claimed []store.ClaimedDelivery
	err = d.store.WithRerunnableTx(ctx, func(tx *store.Tx) error {
		var err error
		claimed = nil
		if routed, err = d.routeIn(ctx, tx, now); err != nil || free == 0 {
			return err
		}
		claimed, err = tx.ClaimDueWebhookDeliveries(ctx, now, now.Add(Lease), token, free, full...)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("webhook: route and claim: %w", err)
	}
	var surplus []string
	for _, c := range claimed {
		ok := p.start(c.Target.Endpoint.ID, func(answered func()) {
			// Not cut short by ctx: a dispatcher told to stop finishes and
			// records what it started, rather than leaving it to be
			// repeated when the lease ends.
			d.send(context.WithoutCancel(ctx), c, false, answered)
		})
		if !ok {
			surplus = append(surplus, c.Delivery.ID)
		}
	}
	if len(surplus) > 0 {
		// More of one endpoint's deliveries than its share: back to the
		// queue at once, for the next free slot or another instance.
		if err := d.store.WithTx(ctx, func(tx *store.Tx) error {
			return tx.ReleaseWebhookDeliveries(ctx, surplus, claimed[0].Token)
		}); err != nil {
			return false, fmt.Errorf("webhook: release: %w", err)
		}
	}
	return routed == routeBatch || free > 0 && len(claimed) == free && len(surplus) < len(claimed), nil
}

// Pass counts what one RunOnce did.
type Pass struct {
	Routed    int // events routed
	Attempted int // requests sent
	Delivered int // of which answered 2xx
}

// routeBatch and maxRounds bound one pass, so that Run gets back to its
// loop (and to ctx) regularly however much work is waiting.
const (
	routeBatch = 200
	maxRounds  = 50
)

// RunOnce routes every waiting event, then delivers what is due until
// nothing is (a delivered event may make its subject's next one due at
// once). Run calls it in a loop; tests call it to step the dispatcher.
func (d *Dispatcher) RunOnce(ctx context.Context) (Pass, error) {
	var p Pass
	for range maxRounds {
		n, err := d.route(ctx)
		p.Routed += n
		if err != nil {
			return p, err
		}
		if n < routeBatch {
			break
		}
	}
	for range maxRounds {
		if ctx.Err() != nil {
			return p, nil
		}
		claimed, err := d.claim(ctx)
		if err != nil {
			return p, err
		}
		if len(claimed) == 0 {
			break
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, c := range claimed {
			wg.Go(func() {
				// Not cut short by ctx: a dispatcher told to stop
				// finishes and records what it started, rather than
				// leaving it to be repeated when the lease ends.
				a, _ := d.send(context.WithoutCancel(ctx), c, false, nil)
				mu.Lock()
				p.Attempted++
				if a.Delivered {
					p.Delivered++
				}
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	return p, nil
}

// route creates the deliveries of one batch of unrouted events.
func (d *Dispatcher) route(ctx context.Context) (int, error) {
	var n int
	err := d.store.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		n, err = d.routeIn(ctx, tx, d.now().UTC())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("webhook: route: %w", err)
	}
	return n, nil
}

// routeIn creates, in tx, the deliveries of one batch of unrouted events,
// and answers how many events it routed.
func (d *Dispatcher) routeIn(ctx context.Context, tx *store.Tx, now time.Time) (int, error) {
	n := 0
	events, err := tx.UnroutedEvents(ctx, routeBatch)
	if err != nil {
		return 0, err
	}
	type appEnv struct {
		app string
		env pay.Environment
	}
	endpoints := map[appEnv][]pay.WebhookEndpoint{}
	appNames := map[string]names{}
	for _, e := range events {
		key := appEnv{e.ApplicationID, e.Environment}
		ws, ok := endpoints[key]
		if !ok {
			if ws, err = tx.EnabledWebhookEndpoints(ctx, e.ApplicationID, e.Environment); err != nil {
				return 0, err
			}
			endpoints[key] = ws
		}
		appName, ok := appNames[e.ApplicationID]
		if !ok && len(ws) > 0 {
			if appName, err = d.names(ctx, tx, e.ApplicationID); err != nil {
				return 0, err
			}
			appNames[e.ApplicationID] = appName
		}
		// Each format renders once per event, so every endpoint of a
		// format gets the same body and event id.
		rendered := map[pay.WebhookFormat]*message{}
		for _, w := range ws {
			m, seen := rendered[w.Format]
			if !seen {
				msg, ok, err := render(w.Format, e, appName)
				if err != nil {
					d.log.WarnContext(ctx, "webhook: skipping an event its payload cannot be mapped for",
						"event", e.ID, "type", e.Type, "format", w.Format, "err", err)
				}
				if ok && err == nil {
					m = &msg
				}
				rendered[w.Format] = m
			}
			// The filter is by the format's own type names, the ones
			// its receivers see.
			if m == nil || !w.Wants(m.Type) {
				continue
			}
			if _, err := tx.CreateWebhookDelivery(ctx, store.WebhookDelivery{
				ID: pay.NewID(prefixDelivery), EndpointID: w.ID, EventID: e.ID,
				ApplicationID: e.ApplicationID, Environment: e.Environment, SubjectID: e.SubjectID, Seq: e.Seq,
				EventType: m.Type, MessageID: m.ID, Body: m.Body,
				Status: store.DeliveryPending, NextAttemptAt: now, CreatedAt: now,
			}); err != nil {
				return 0, err
			}
		}
		if err := tx.MarkEventRouted(ctx, e.ID, now); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// names reads an application's display names.
func (d *Dispatcher) names(ctx context.Context, tx *store.Tx, appID string) (names, error) {
	app, err := tx.Application(ctx, appID)
	if err != nil {
		return names{}, err
	}
	m, err := d.store.Merchant(ctx, app.MerchantID)
	if err != nil {
		return names{}, err
	}
	return names{merchant: m.Name, store: app.Name}, nil
}

// prefixDelivery and prefixAttempt name the ids of deliveries and
// attempts ("whd_…", "wha_…").
const (
	prefixDelivery = "whd"
	prefixAttempt  = "wha"
)

// claim leases a batch of due deliveries.
func (d *Dispatcher) claim(ctx context.Context) ([]store.ClaimedDelivery, error) {
	return d.claimSome(ctx, d.workers, nil)
}

// claimSome leases up to limit due deliveries to endpoints other than
// skip.
func (d *Dispatcher) claimSome(ctx context.Context, limit int, skip []string) ([]store.ClaimedDelivery, error) {
	now := d.now().UTC()
	token := pay.NewID("lease")
	var claimed []store.ClaimedDelivery
	err := d.store.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		claimed, err = tx.ClaimDueWebhookDeliveries(ctx, now, now.Add(Lease), token, limit, skip...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("webhook: claim: %w", err)
	}
	return claimed, nil
}

// Attempt is the outcome of one request, as recorded.
type Attempt struct {
	DeliveryID      string
	StatusCode      int // 0: no response
	Latency         time.Duration
	ResponseExcerpt string
	Error           string
	Delivered       bool
}

// send makes one attempt of a claimed delivery and records it with the
// delivery's next state. manual attempts (tests, re-sends) do not move
// the retry schedule, and their failures do not count against the
// endpoint. The error is about recording; how the request went is in the
// Attempt. answered, when not nil, is called once the endpoint answered
// (or failed to), before the recording.
func (d *Dispatcher) send(ctx context.Context, c store.ClaimedDelivery, manual bool, answered func()) (Attempt, error) {
	del, w := c.Delivery, c.Target.Endpoint
	if d.tracer != nil {
		var span trace.Span
		ctx, span = d.tracer.Start(ctx, "webhook.delivery", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("webhook.event_type", del.EventType), attribute.Bool("webhook.manual", manual)))
		defer span.End()
	}
	started := d.now().UTC()
	a := d.attempt(ctx, c, started)
	if answered != nil {
		answered()
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(attribute.Bool("webhook.delivered", a.Delivered), attribute.Int("http.response.status_code", a.StatusCode))
		if !a.Delivered {
			span.SetStatus(codes.Error, describe(a))
		}
	}

	o := store.DeliveryOutcome{Status: del.Status, NextAttemptAt: del.NextAttemptAt, At: d.now().UTC()}
	result := metrics.WebhookManual
	switch {
	case a.Delivered:
		o.Status, o.DeliveredAt = store.DeliveryDelivered, o.At
		result = metrics.WebhookDelivered
	case manual && del.EventType == TestEvent:
		o.Status = store.DeliveryFailed // a test is one attempt
	case manual:
		// A re-send that failed leaves the delivery where it stood.
	default:
		next, ok := nextAttempt(del.CreatedAt, o.At, del.Attempts+1)
		if ok {
			o.NextAttemptAt, result = next, metrics.WebhookRetry
		} else {
			o.Status, result = store.DeliveryFailed, metrics.WebhookFailed
		}
	}
	d.metrics.WebhookDelivery(result)
	err := d.store.WithRerunnableTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.FinishWebhookAttempt(ctx, c.Token, store.WebhookAttempt{
			ID: pay.NewID(prefixAttempt), DeliveryID: del.ID, StartedAt: started, Latency: a.Latency,
			StatusCode: a.StatusCode, ResponseExcerpt: a.ResponseExcerpt, Error: a.Error, Manual: manual,
		}, o)
		if err != nil || !ok {
			return err // !ok: the lease ran out and another instance owns the delivery now
		}
		if a.Delivered {
			if !c.Target.Failing {
				// No streak to end, as of the claim: a failure recorded
				// since then keeps its streak until the next success
				// claimed after it.
				return nil
			}
			return tx.WebhookEndpointSucceeded(ctx, w.ID)
		}
		if manual {
			return nil
		}
		since, err := tx.WebhookEndpointFailed(ctx, w.ID, o.At)
		if err != nil || o.At.Sub(since) < RetryWindow {
			return err
		}
		reason := fmt.Sprintf("disabled on %s: no 2xx answer since %s (last attempt: %s)",
			o.At.Format(time.RFC3339), since.Format(time.RFC3339), describe(a))
		d.log.WarnContext(ctx, "webhook: disabling a failing endpoint", "endpoint", w.ID, "application", w.ApplicationID, "reason", reason)
		return tx.DisableWebhookEndpoint(ctx, w.ID, reason)
	})
	if err != nil {
		d.log.ErrorContext(ctx, "webhook: record attempt", "delivery", del.ID, "err", err)
		return a, fmt.Errorf("webhook: record attempt: %w", err)
	}
	return a, nil
}

// describe says in a few words how an attempt went, for reasons and logs.
func describe(a Attempt) string {
	if a.Error != "" {
		return a.Error
	}
	return fmt.Sprintf("HTTP %d", a.StatusCode)
}

// attempt makes one signed request. It never fails: what went wrong is
// in the Attempt.
func (d *Dispatcher) attempt(ctx context.Context, c store.ClaimedDelivery, at time.Time) Attempt {
	del, w := c.Delivery, c.Target.Endpoint
	a := Attempt{DeliveryID: del.ID}
	secrets, err := d.secrets(c.Target, at)
	if err != nil {
		a.Error = err.Error()
		return a
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(del.Body))
	if err != nil {
		a.Error = "invalid endpoint URL: " + err.Error()
		return a
	}
	req.Header.Set("User-Agent", "sakk-webhooks/1")
	sign(req.Header, w.Format, message{Type: del.EventType, ID: del.MessageID, Body: del.Body}, secrets, at)
	client := d.sandbox
	if w.Environment == pay.Live {
		client = d.live
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		a.Latency = time.Since(start)
		a.Error = errorText(err)
		return a
	}
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, ExcerptLimit))
	resp.Body.Close()
	a.Latency = time.Since(start)
	a.StatusCode = resp.StatusCode
	a.ResponseExcerpt = strings.ToValidUTF8(string(excerpt), "\uFFFD")
	a.Delivered = resp.StatusCode >= 200 && resp.StatusCode < 300
	if !a.Delivered {
		a.Error = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	return a
}

// errorText is a transport error without the request line net/http
// wraps around it, which repeats what the delivery already records.
func errorText(err error) string {
	var forbiddenAddr *ForbiddenAddressError
	if errors.As(err, &forbiddenAddr) {
		return forbiddenAddr.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
		return fmt.Sprintf("no answer within %s", Timeout)
	}
	return err.Error()
}

// secrets opens an endpoint's signing secrets, current first, then the
// previous one while its overlap lasts.
func (d *Dispatcher) secrets(t store.WebhookTarget, at time.Time) ([]string, error) {
	current, err := d.vault.Open(t.Endpoint.SealedSecret)
	if err != nil {
		return nil, fmt.Errorf("cannot open the endpoint's secret: %w", err)
	}
	secrets := []string{current}
	if t.PreviousSealedSecret != "" && at.Before(t.PreviousSecretUntil) {
		prev, err := d.vault.Open(t.PreviousSealedSecret)
		if err != nil {
			return nil, fmt.Errorf("cannot open the endpoint's previous secret: %w", err)
		}
		secrets = append(secrets, prev)
	}
	return secrets, nil
}

// Test sends a test event to an endpoint now, once, whether or not the
// endpoint is enabled, and returns the attempt. The delivery is recorded
// like any other. An endpoint that did not answer 2xx is not an error:
// the Attempt says what happened. The id alone finds the endpoint: a
// caller acting for a merchant checks first that it is the merchant's.
func (d *Dispatcher) Test(ctx context.Context, endpointID string) (Attempt, error) {
	t, err := d.store.WebhookEndpoint(ctx, endpointID)
	if err != nil {
		return Attempt{}, fmt.Errorf("webhook: test: %w", err)
	}
	w := t.Endpoint
	now := d.now().UTC()
	m := testMessage(w, now)
	del := store.WebhookDelivery{
		ID: pay.NewID(prefixDelivery), EndpointID: w.ID, EventID: m.ID, ApplicationID: w.ApplicationID,
		Environment: w.Environment, SubjectID: "test:" + m.ID, EventType: m.Type, MessageID: m.ID, Body: m.Body,
		Status: store.DeliveryPending, NextAttemptAt: now, CreatedAt: now,
	}
	// The test delivery is created already leased, so no dispatcher picks
	// it up while this call sends it.
	var c store.ClaimedDelivery
	err = d.store.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateWebhookDelivery(ctx, del); err != nil {
			return err
		}
		var err error
		c, err = tx.ClaimWebhookDelivery(ctx, del.ID, now, now.Add(Lease), pay.NewID("lease"))
		return err
	})
	if err != nil {
		return Attempt{}, fmt.Errorf("webhook: test: %w", err)
	}
	return d.send(context.WithoutCancel(ctx), c, true, nil)
}

// Resend sends a delivery again now, once, whatever its status, outside
// the per-subject order (a person asked for it). Success marks it
// delivered; a failure leaves its status and retry schedule as they were.
// A delivery being attempted at this moment is a Conflict. As with Test,
// a caller acting for a merchant checks first that the delivery is the
// merchant's.
func (d *Dispatcher) Resend(ctx context.Context, deliveryID string) (Attempt, error) {
	now := d.now().UTC()
	var c store.ClaimedDelivery
	err := d.store.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		c, err = tx.ClaimWebhookDelivery(ctx, deliveryID, now, now.Add(Lease), pay.NewID("lease"))
		return err
	})
	if err != nil {
		return Attempt{}, fmt.Errorf("webhook: resend: %w", err)
	}
	return d.send(context.WithoutCancel(ctx), c, true, nil)
}
