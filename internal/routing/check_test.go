package routing_test

import (
	"net"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway/stripe/stripetest"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/routing"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/vault"
)

// TestCheckConnection asks Stripe's own mock with a key it accepts and a
// key it refuses, and Moyasar at an address where nothing listens.
func TestCheckConnection(t *testing.T) {
	mock := stripetest.MockURL(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	st := storetest.Open(t, store.SQLite)
	ctx := t.Context()
	box, err := vault.New(vault.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	created, err := merchant.New(st, box, time.Now).CreateApplication(ctx, merchant.NewApplication{Name: "Shop", Environment: pay.Live})
	if err != nil {
		t.Fatal(err)
	}
	app := created.Application.ID
	reg := routing.New(st, box, nil, routing.Builtin(routing.BaseURLs{"stripe": mock, "moyasar": closed}), time.Now)

	if _, err := reg.CheckConnection(ctx, app, pay.Sandbox, "stripe"); pay.CodeOf(err) != "gateway_not_found" {
		t.Errorf("a gateway not set up: %v, want gateway_not_found", err)
	}
	set := func(env pay.Environment, name string, settings map[string]string) {
		t.Helper()
		if _, err := reg.Set(ctx, app, env, name, settings, false); err != nil {
			t.Fatal(err)
		}
	}
	set(pay.Sandbox, "stripe", map[string]string{"secretKey": "sk_test_" + stripetest.RandomHex(12), "publishableKey": "pk_test_x"})
	// stripe-mock takes any test-mode key and refuses a live one.
	set(pay.Live, "stripe", map[string]string{"secretKey": "sk_live_" + stripetest.RandomHex(12), "publishableKey": "pk_live_x"})
	set(pay.Sandbox, "moyasar", map[string]string{"secretKey": "sk_test_x", "publishableKey": "pk_test_x"})

	if c, err := reg.CheckConnection(ctx, app, pay.Sandbox, "stripe"); err != nil || !c.OK || c.Took <= 0 {
		t.Errorf("stripe with a test key: %+v, %v; want OK", c, err)
	}
	if c, err := reg.CheckConnection(ctx, app, pay.Live, "stripe"); err != nil || c.OK || c.Code != "invalid_request" || c.Message == "" {
		t.Errorf("stripe with a refused key: %+v, %v; want refused", c, err)
	}
	if c, err := reg.CheckConnection(ctx, app, pay.Sandbox, "moyasar"); err != nil || c.OK || c.Code != "gateway_unavailable" {
		t.Errorf("moyasar where nothing listens: %+v, %v; want unavailable", c, err)
	}
}
