package checkout

import (
	"context"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/metrics"
	"github.com/sakkhq/sakk/internal/pay"
)

// observed is a connector whose calls are timed, by operation and
// outcome, in the metrics.
type observed struct {
	gateway.Connector
	m *metrics.Metrics
}

func (c observed) Charge(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
	start := time.Now()
	res, err := c.Connector.Charge(ctx, req)
	c.m.GatewayCall(c.Name(), "charge", chargeOutcome(res, err), time.Since(start))
	return res, err
}

func (c observed) Fetch(ctx context.Context, req gateway.FetchRequest) (gateway.ChargeResult, error) {
	start := time.Now()
	res, err := c.Connector.Fetch(ctx, req)
	c.m.GatewayCall(c.Name(), "fetch", chargeOutcome(res, err), time.Since(start))
	return res, err
}

func (c observed) Refund(ctx context.Context, req gateway.RefundRequest) (gateway.RefundResult, error) {
	start := time.Now()
	res, err := c.Connector.Refund(ctx, req)
	outcome := string(res.Status)
	if err != nil {
		outcome = errorOutcome(err)
	}
	c.m.GatewayCall(c.Name(), "refund", outcome, time.Since(start))
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
