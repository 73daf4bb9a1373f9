package routing

import (
	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/moyasar"
	"github.com/sakkhq/sakk/internal/gateway/myfatoorah"
	"github.com/sakkhq/sakk/internal/gateway/paypal"
	"github.com/sakkhq/sakk/internal/gateway/stripe"
)

// BaseURLs point connectors at stand-ins instead of the gateways, by
// gateway name: for tests only; production leaves it nil.
type BaseURLs map[string]string

// Builtin are the factories of the connectors sakk is built with, with
// each gateway's settings as `sakk gateways set` takes them:
//
//	stripe      secretKey, publishableKey (public), webhookSecret
//	paypal      clientId (public), clientSecret, webhookId, mode ("sandbox" for PayPal's sandbox)
//	moyasar     secretKey, publishableKey (public), webhookSecret
//	myfatoorah  token, country (KWT, SAU, ARE, QAT, BHR, OMN, JOR, EGY), test ("true" for its test environment), webhookSecret
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
		"paypal": {
			Settings: []string{"clientId", "clientSecret", "webhookId", "mode"},
			Required: []string{"clientId", "clientSecret"},
			Public:   []string{"clientId"},
			New: func(s map[string]string) (gateway.Connector, error) {
				url := base["paypal"]
				if url == "" && s["mode"] == "sandbox" {
					url = paypal.SandboxBaseURL
				}
				return paypal.New(paypal.Config{
					ClientID: s["clientId"], ClientSecret: s["clientSecret"], WebhookID: s["webhookId"], BaseURL: url,
				})
			},
		},
		"moyasar": {
			Settings: []string{"secretKey", "publishableKey", "webhookSecret"},
			Required: []string{"secretKey", "publishableKey"},
			Public:   []string{"publishableKey"},
			New: func(s map[string]string) (gateway.Connector, error) {
				return moyasar.New(moyasar.Config{
					SecretKey: s["secretKey"], PublishableKey: s["publishableKey"], WebhookSecret: s["webhookSecret"],
					BaseURL: base["moyasar"],
				})
			},
		},
		"myfatoorah": {
			Settings: []string{"token", "country", "test", "webhookSecret"},
			Required: []string{"token", "country"},
			New: func(s map[string]string) (gateway.Connector, error) {
				return myfatoorah.New(myfatoorah.Config{
					Token: s["token"], Country: s["country"], Test: s["test"] == "true", WebhookSecret: s["webhookSecret"],
					BaseURL: base["myfatoorah"],
				})
			},
		},
	}
}
