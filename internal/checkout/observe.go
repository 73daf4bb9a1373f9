package checkout

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/metrics"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/tracing"
)

// observed is a connector whose calls are timed, by operation and
// outcome, in the metrics, and traced as spans (either may be nil).
type observed struct {
	gateway.Connector
	m *metrics.Metrics
	t trace.Tracer
}

// start opens the span of one call, when tracing.
func (c observed) start(ctx context.Context, op string) (context.Context, trace.Span) {
	if c.t == nil {
		return ctx, trace.SpanFromContext(ctx) // not recording: the calls below do nothing
	}
	return c.t.Start(ctx, "gateway."+op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("gateway.name", c.Name()), attribute.String("gateway.operation", op)))
}

func (c observed) finish(span trace.Span, op, outcome string, start time.Time, err error) {
	c.m.GatewayCall(c.Name(), op, outcome, time.Since(start))
	if c.t != nil {
		span.SetAttributes(attribute.String("gateway.outcome", outcome))
		tracing.Fail(span, err)
		span.End()
	}
}

func (c observed) Charge(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
	ctx, span := c.start(ctx, "charge")
	start := time.Now()
	res, err := c.Connector.Charge(ctx, req)
	c.finish(span, "charge", chargeOutcome(res, err), start, err)
	return res, err
}

func (c observed) Fetch(ctx context.Context, req gateway.FetchRequest) (gateway.ChargeResult, error) {
	ctx, span := c.start(ctx, "fetch")
	start := time.Now()
	res, err := c.Connector.Fetch(ctx, req)
	c.finish(span, "fetch", chargeOutcome(res, err), start, err)
	return res, err
}

func (c observed) Refund(ctx context.Context, req gateway.RefundRequest) (gateway.RefundResult, error) {
	ctx, span := c.start(ctx, "refund")
	start := time.Now()
	res, err := c.Connector.Refund(ctx, req)
	outcome := string(res.Status)
	if err != nil {
		outcome = errorOutcome(err)
	}
	c.finish(span, "refund", outcome, start, err)
	return res, err
}

// chargeOutcome is a charge's or fetch's outcome as a label: the gateway's
// verdict, or what kind of failure the call met.
func chargeOutcome(res gateway.ChargeResult, err error) string {
	if err != nil {
		return errorOutcome(err)
	}
	if res.Outcome == "" {
		return "unknown"
	}
	return string(res.Outcome)
}

func errorOutcome(err error) string {
	if pay.KindOf(err) == pay.Invalid {
		return "refused"
	}
	return "error"
}
