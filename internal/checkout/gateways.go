package checkout

import (
	"slices"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/sandbox"
	"github.com/sakkhq/sakk/internal/pay"
)

// GatewayNames are the gateways a session may name, as the Public Payment
// API spells them.
var GatewayNames = []string{"moyasar", "myfatoorah", "paypal", "stripe"}

// Gateways finds the connector that charges an environment through a
// named gateway. In the sandbox the simulator answers under every name;
// in live only the connectors configured for the installation do.
type Gateways struct {
	Sandbox *sandbox.Simulator
	Live    map[string]gateway.Connector
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
