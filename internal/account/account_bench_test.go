package account_test

import (
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/vault"
)

// BenchmarkLogin times a failed sign-in with a wrong password and with an
// unknown email, side by side, at the production hashing cost: the two
// must take about the same time, so timing tells no one which emails
// have accounts.
//
//	go test -run '^$' -bench Login -benchtime 40x ./internal/account/
func BenchmarkLogin(b *testing.B) {
	st, err := store.Open(b.Context(), storetest.Options(b, store.SQLite))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	box, err := vault.New(vault.NewKey())
	if err != nil {
		b.Fatal(err)
	}
	// Throttling would turn most attempts into refusals: allow them all.
	svc := account.New(st, box, time.Now, account.Options{AccountFailures: 1 << 30, AddressFailures: 1 << 30, Slowdown: time.Nanosecond})
	if _, err := svc.CreateUser(b.Context(), account.NewUser{Email: "owner@bench.example", Password: "the right password",
		Role: pay.Owner, MerchantName: "Bench"}, account.CLI); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, email string }{
		{"wrong-password", "owner@bench.example"},
		{"unknown-email", "nobody@bench.example"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				_, err := svc.Login(b.Context(), account.LoginRequest{Email: c.email, Password: "a wrong password", IP: "192.0.2.1"}, "")
				if pay.CodeOf(err) != "invalid_credentials" {
					b.Fatalf("login: %v", err)
				}
			}
		})
	}
}
