package checkout

import (
	"context"
	"slices"

	"go.opentelemetry.io/otel/trace"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/sandbox"
	"github.com/sakkhq/sakk/internal/metrics"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// GatewayNames are the gateways a session may name, as the Public Payment
// API spells them.
var GatewayNames = []string{"moyasar", "myfatoorah", "paypal", "stripe"}

// Gateways finds the connector that charges an environment through a
// named gateway. In the sandbox the simulator answers under every name;
// in live only the connectors configured for the installation do.
//
// With Accounts set, it decides instead: merchants' own accounts per
// application environment (internal/routing), the simulator for the
// rest of the sandbox.
type Gateways struct {
	Sandbox  *sandbox.Simulator
	Live     map[string]gateway.Connector
	Accounts Accounts

	// Set by UsePaymentFlow: every call is timed and traced (observe.go).
	metrics *metrics.Metrics
	tracer  trace.Tracer
}

// Accounts finds the connector of an application environment's account
// at a gateway (*routing.Registry).
type Accounts interface {
	Connector(ctx context.Context, appID string, env pay.Environment, name string) (gateway.Connector, error)
	Available(ctx context.Context, appID string, env pay.Environment, currency money.Currency) ([]string, error)
	Public(ctx context.Context, appID string, env pay.Environment, name string) (map[string]string, error)
}

// For returns the connector that charges appID's env through name.
func (g Gateways) For(ctx context.Context, appID string, env pay.Environment, name string) (gateway.Connector, error) {
	var c gateway.Connector
	var err error
	if g.Accounts != nil {
		c, err = g.Accounts.Connector(ctx, appID, env, name)
	} else {
		c, err = g.Connector(env, name)
	}
	if err != nil || (g.metrics == nil && g.tracer == nil) {
		return c, err
	}
	return observed{Connector: c, m: g.metrics, t: g.tracer}, nil
}

// PublicFor returns what a browser may see of appID's env account at
// name (a publishable key); empty for the simulator.
func (g Gateways) PublicFor(ctx context.Context, appID string, env pay.Environment, name string) (map[string]string, error) {
	if g.Accounts != nil {
		return g.Accounts.Public(ctx, appID, env, name)
	}
	return map[string]string{}, nil
}

// AvailableFor lists the gateways that can charge appID's env in
// currency, the one to use first: routed for the currency, else the
// default.
func (g Gateways) AvailableFor(ctx context.Context, appID string, env pay.Environment, currency money.Currency) ([]string, error) {
	if g.Accounts != nil {
		return g.Accounts.Available(ctx, appID, env, currency)
	}
	return g.Available(env), nil
}

// Connector returns the connector for name in env, or an Invalid
// "gateway_unavailable" error naming what is available.
func (g Gateways) Connector(env pay.Environment, name string) (gateway.Connector, error) {
	if !slices.Contains(GatewayNames, name) {
		return nil, pay.Errorf(pay.Invalid, "invalid_gateway", "gateway must be one of %v", GatewayNames)
	}
	if env == pay.Sandbox && g.Sandbox != nil {
		return g.Sandbox.Connector(name), nil
	}
	if c := g.Live[name]; c != nil && env == pay.Live {
		return c, nil
	}
	return nil, pay.Errorf(pay.Invalid, "gateway_unavailable", "%s is not configured for the %s environment; available: %v", name, env, g.Available(env))
}

// Available lists the gateways that can charge in env, sorted.
func (g Gateways) Available(env pay.Environment) []string {
	if env == pay.Sandbox {
		if g.Sandbox == nil {
			return []string{}
		}
		return slices.Clone(GatewayNames)
	}
	names := []string{}
	for _, n := range GatewayNames {
		if g.Live[n] != nil {
			names = append(names, n)
		}
	}
	return names
}
