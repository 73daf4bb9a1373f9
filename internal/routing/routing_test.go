package routing_test

import (
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway/sandbox"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/routing"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/vault"
)

func TestRegistry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		box, err := vault.New(vault.NewKey())
		if err != nil {
			t.Fatal(err)
		}
		key := make([]byte, 32)
		rand.Read(key)
		sim, err := sandbox.New(sandbox.Options{PublicURL: "http://127.0.0.1:1", Key: key})
		if err != nil {
			t.Fatal(err)
		}
		created, err := merchant.New(st, box, time.Now).CreateApplication(ctx, merchant.NewApplication{Name: "Shop", Environment: pay.Live})
		if err != nil {
			t.Fatal(err)
		}
		app := created.Application.ID
		reg := routing.New(st, box, sim, routing.Builtin(nil), time.Now)

		// Nothing set: the sandbox simulates every gateway, live has none.
		if names, _ := reg.Available(ctx, app, pay.Sandbox, ""); !slices.Equal(names, routing.Names) {
			t.Errorf("sandbox gateways %v, want %v", names, routing.Names)
		}
		if names, _ := reg.Available(ctx, app, pay.Live, ""); len(names) != 0 {
			t.Errorf("live gateways %v, want none", names)
		}
		if _, err := reg.Connector(ctx, app, pay.Live, "stripe"); pay.CodeOf(err) != "gateway_unavailable" {
			t.Errorf("live stripe without an account: %v, want gateway_unavailable", err)
		}

		// Refused settings name the problem and store nothing.
		for _, bad := range []map[string]string{
			{"secretKey": "sk_live_abc"}, // publishableKey missing
			{"secretKey": "sk_live_abc", "publishableKey": "pk_live_x", "oops": "1"}, // unknown setting
			{"secretKey": "sk_live_abc", "publishableKey": "pk_test_x"},              // live and test keys mixed
		} {
			if _, err := reg.Set(ctx, app, pay.Live, "stripe", bad, false); pay.KindOf(err) != pay.Invalid {
				t.Errorf("Set(%v) = %v, want Invalid", bad, err)
			}
		}
		if _, err := reg.Set(ctx, app, pay.Live, "bitcoin", map[string]string{}, false); pay.CodeOf(err) != "invalid_gateway" {
			t.Errorf("unknown gateway: %v", err)
		}

		secret := "sk_live_" + strings.Repeat("s", 24)
		public, err := reg.Set(ctx, app, pay.Live, "stripe", map[string]string{
			"secretKey": secret, "publishableKey": "pk_live_abc", "webhookSecret": "whsec_abc",
		}, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(public) != 1 || public["publishableKey"] != "pk_live_abc" {
			t.Errorf("public settings %v, want only the publishable key", public)
		}
		if _, err := reg.Set(ctx, app, pay.Live, "myfatoorah", map[string]string{"token": "tok", "country": "KWT"}, false); err != nil {
			t.Fatal(err)
		}
		creds, err := st.GatewayCredentials(ctx, app, pay.Live)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range creds {
			if strings.Contains(c.SealedConfig, secret) || strings.Contains(c.SealedConfig, "whsec_abc") || strings.Contains(c.PublicConfig, "sk_") {
				t.Errorf("a secret is stored in clear: %+v", c)
			}
		}
		if names, _ := reg.Available(ctx, app, pay.Live, ""); !slices.Equal(names, []string{"stripe", "myfatoorah"}) {
			t.Errorf("live gateways %v, want [stripe myfatoorah] (the default first)", names)
		}

		// Routing by currency: the gateway routed for a session's
		// currency comes before the default; a currency has one gateway.
		if _, err := reg.Configure(ctx, app, pay.Live, "myfatoorah", routing.Config{Currencies: []money.Currency{"KWD", "SAR"}}); err != nil {
			t.Fatal(err)
		}
		for cur, want := range map[money.Currency][]string{"KWD": {"myfatoorah", "stripe"}, "USD": {"stripe", "myfatoorah"}} {
			if names, _ := reg.Available(ctx, app, pay.Live, cur); !slices.Equal(names, want) {
				t.Errorf("live gateways in %s %v, want %v", cur, names, want)
			}
		}
		if _, err := reg.Configure(ctx, app, pay.Live, "stripe", routing.Config{Default: true, Currencies: []money.Currency{"KWD"}}); err != nil {
			t.Fatal(err)
		}
		setups, err := reg.Setups(ctx, app, pay.Live)
		if err != nil || len(setups) != 2 {
			t.Fatalf("setups %+v, %v", setups, err)
		}
		for _, su := range setups {
			want := map[string][]string{"myfatoorah": {"SAR"}, "stripe": {"KWD"}}[su.Gateway]
			if !slices.Equal(su.Currencies, want) {
				t.Errorf("%s routes %v, want %v", su.Gateway, su.Currencies, want)
			}
		}
		if got := setups[1].Settings; got["secretKey"] != "sk_…ssss" || got["publishableKey"] != "pk_live_abc" || got["webhookSecret"] != "set" {
			t.Errorf("stripe's settings shown as %v", got)
		}
		if _, err := reg.Configure(ctx, app, pay.Live, "paypal", routing.Config{Currencies: []money.Currency{"USD"}}); pay.KindOf(err) != pay.Invalid {
			t.Errorf("routing to a gateway not set up: %v, want Invalid", err)
		}

		conn, err := reg.Connector(ctx, app, pay.Live, "stripe")
		if err != nil || conn.Name() != "stripe" {
			t.Fatalf("live stripe: %v, %v", conn, err)
		}
		if again, _ := reg.Connector(ctx, app, pay.Live, "stripe"); again != conn {
			t.Error("the same account built two connectors")
		}
		// The sandbox environment still simulates: the account is live's.
		if c, _ := reg.Connector(ctx, app, pay.Sandbox, "stripe"); c == conn {
			t.Error("the sandbox used the live account")
		}
		accounts, err := reg.Accounts(ctx, "stripe", "")
		if err != nil || len(accounts) != 1 || accounts[0].ApplicationID != app || accounts[0].Environment != pay.Live {
			t.Errorf("stripe accounts %+v, %v", accounts, err)
		}
		if err := reg.Remove(ctx, app, pay.Live, "stripe"); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Connector(ctx, app, pay.Live, "stripe"); pay.CodeOf(err) != "gateway_unavailable" {
			t.Errorf("after Remove: %v, want gateway_unavailable", err)
		}
	})
}
