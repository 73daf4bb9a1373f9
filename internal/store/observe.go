package store

import (
	"context"
	"database/sql"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/sakkhq/sakk/internal/metrics"
)

// observer reports the store's commits to the metrics and its
// transactions as spans, once serve has set them; nil until then
// (commands other than serve never set them).
type observer struct {
	m atomic.Pointer[metrics.Metrics]
	t atomic.Pointer[trace.Tracer]
}

func (o *observer) commit(batch int, took time.Duration) { o.m.Load().Commit(batch, took) }

func (o *observer) tracer() trace.Tracer {
	if t := o.t.Load(); t != nil {
		return *t
	}
	return nil
}

// Observe makes the store report each commit's batch size and time to m
// and, with a tracer (nil: none), each transaction as a span.
func (s *Store) Observe(m *metrics.Metrics, t trace.Tracer) {
	s.obs.m.Store(m)
	if t != nil {
		s.obs.t.Store(&t)
	}
}

// traced runs a transaction (or a statement) inside a span named name
// when a tracer is set. On SQLite the span covers the wait for the group
// commit too: it ends when the commit that carried the transaction has
// returned.
func (s *Store) traced(ctx context.Context, name string, run func(context.Context) error) error {
	t := s.obs.tracer()
	if t == nil {
		return run(ctx)
	}
	ctx, span := t.Start(ctx, name, trace.WithAttributes(attribute.String("db.system", string(s.engine))))
	defer span.End()
	err := run(ctx)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "transaction failed")
	}
	return err
}

// Backlog reads the work waiting in the store at now: the webhook outbox
// (events not yet routed to endpoints, deliveries still pending) and the
// payment attempts whose outcome the reconciler must learn. Each count is
// served by a partial or leading-column index.
func (s *Store) Backlog(ctx context.Context, now time.Time) (metrics.Backlog, error) {
	var b metrics.Backlog
	var unrouted, pending int
	var oldestEvent, oldestDelivery sql.NullInt64
	err := s.r.QueryRowContext(ctx,
		`SELECT COUNT(*), MIN(created_at) FROM events WHERE routed_at IS NULL`).Scan(&unrouted, &oldestEvent)
	if err != nil {
		return b, wrap("backlog", err)
	}
	err = s.r.QueryRowContext(ctx,
		`SELECT COUNT(*), MIN(created_at) FROM webhook_deliveries WHERE status = 'pending'`).Scan(&pending, &oldestDelivery)
	if err != nil {
		return b, wrap("backlog", err)
	}
	err = s.r.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM payments WHERE status IN ('pending', 'requires_action')`).Scan(&b.PendingAttempts)
	if err != nil {
		return b, wrap("backlog", err)
	}
	b.OutboxDepth = unrouted + pending
	var oldest time.Time
	for _, v := range []sql.NullInt64{oldestEvent, oldestDelivery} {
		if t := fromDB(v.Int64); v.Valid && (oldest.IsZero() || t.Before(oldest)) {
			oldest = t
		}
	}
	if !oldest.IsZero() && now.After(oldest) {
		b.OutboxOldest = now.Sub(oldest)
	}
	return b, nil
}
