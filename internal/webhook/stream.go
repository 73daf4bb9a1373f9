package webhook

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/sakkhq/sakk/internal/pay"
)

// Event streams (sakk listen): an application's events, rendered as its
// webhook endpoints of one format would receive them, sent over a
// long-lived connection to a developer's machine, which re-posts each
// signed to a local URL. Streams read the outbox and never touch the
// deliveries: what endpoints receive is unchanged.

// Rendered is one event as an endpoint of one format receives it: the
// type name, the id receivers de-duplicate on, and the body to sign.
type Rendered struct {
	Type string
	ID   string
	Body []byte
}

// Sign sets the headers of a request carrying r exactly as sakk signs a
// delivery to an endpoint of format f whose secret is secret.
func Sign(h http.Header, f pay.WebhookFormat, r Rendered, secret string, at time.Time) {
	sign(h, f, message(r), []string{secret}, at)
}

const (
	// streamPoll is how often a stream looks for new events. It polls the
	// store, so it sees the events every instance commits.
	streamPoll = 200 * time.Millisecond
	// streamLag is how far back each poll looks again: an event's time is
	// set before its transaction commits, so one may become visible after
	// a later one; ids already sent are skipped.
	streamLag = 5 * time.Second
	// streamBatch bounds one poll's read.
	streamBatch = 1000
	// keepaliveEvery is the longest a stream stays silent: proxies close
	// idle connections.
	keepaliveEvery = 15 * time.Second
)

// Stream sends to send, rendered for format f, each event of appID's env
// created from from on, in the order of their times, until ctx ends or a
// send fails; keepalive is called after each keepaliveEvery of silence.
// Delivery is at most once per stream (a reconnecting client resumes at
// its reconnection).
func (d *Dispatcher) Stream(ctx context.Context, appID string, env pay.Environment, f pay.WebhookFormat, from time.Time,
	send func(Rendered) error, keepalive func() error) error {
	app, err := d.store.Application(ctx, appID)
	if err != nil {
		return fmt.Errorf("webhook: stream: %w", err)
	}
	m, err := d.store.Merchant(ctx, app.MerchantID)
	if err != nil {
		return fmt.Errorf("webhook: stream: %w", err)
	}
	n := names{merchant: m.Name, store: app.Name}
	seen := map[string]time.Time{}
	cursor, quiet := from, time.Now()
	tick := time.NewTicker(streamPoll)
	defer tick.Stop()
	for {
		events, err := d.store.EventsSince(ctx, appID, env, cursor.Add(-streamLag), streamBatch)
		if err != nil {
			return fmt.Errorf("webhook: stream: %w", err)
		}
		for _, e := range events {
			if _, dup := seen[e.ID]; dup || e.CreatedAt.Before(from) {
				continue
			}
			seen[e.ID] = e.CreatedAt
			if e.CreatedAt.After(cursor) {
				cursor = e.CreatedAt
			}
			msg, ok, err := render(f, e, n)
			if err != nil || !ok {
				continue // as the dispatcher: the format has no such event
			}
			if err := send(Rendered(msg)); err != nil {
				return err
			}
			quiet = time.Now()
		}
		for id, at := range seen {
			if at.Before(cursor.Add(-2 * streamLag)) {
				delete(seen, id)
			}
		}
		if time.Since(quiet) >= keepaliveEvery {
			if err := keepalive(); err != nil {
				return err
			}
			quiet = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
