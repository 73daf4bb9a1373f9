package gateways

import (
	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/stripe"
)

// BaseURLs point connectors at stand-ins instead of the gateways, by
// gateway name: for tests only; production leaves it nil.
type BaseURLs map[string]string

// Builtin are the factories of the connectors sakk is built with.
func Builtin(base BaseURLs) map[string]Factory {
	return map[string]Factory{
		"stripe": {
			Settings: []string{"secretKey", "publishableKey", "webhookSecret"},
			Required: []string{"secretKey", "publishableKey"},
			Public:   []string{"publishableKey"},
			New: func(s map[string]string) (gateway.Connector, error) {
				return stripe.New(stripe.Config{
					SecretKey: s["secretKey"], PublishableKey: s["publishableKey"], WebhookSecret: s["webhookSecret"],
					BaseURL: base["stripe"],
				})
			},
		},
	}
}
