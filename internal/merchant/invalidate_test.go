package merchant_test

import (
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/vault"
)

// TestRevokedKeyRefusedOnEveryInstance: two instances on one PostgreSQL
// database; the second has the secret key cached when the first revokes
// it, and refuses it at once, well before the cache's own KeyCacheTTL.
func TestRevokedKeyRefusedOnEveryInstance(t *testing.T) {
	opts := storetest.Options(t, store.Postgres) // skips without PostgreSQL
	ctx := t.Context()
	box, err := vault.New(vault.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	var svcs []*merchant.Service
	for range 2 {
		st, err := store.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, merchant.New(st, box, time.Now))
	}
	one, two := svcs[0], svcs[1]
	created, err := one.CreateApplication(ctx, merchant.NewApplication{Name: "Shop", Environment: pay.Live})
	if err != nil {
		t.Fatal(err)
	}
	k, err := two.Authenticate(ctx, created.Keys.Secret, pay.SecretKey) // now in two's cache
	if err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	if _, err := one.RevokeKey(ctx, created.Application.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := two.Authenticate(ctx, created.Keys.Secret, pay.SecretKey); err != nil {
			t.Logf("refused on the other instance %v after the revocation (cache lifetime %v)", time.Since(revoked), merchant.KeyCacheTTL)
			return
		}
		if time.Since(revoked) > merchant.KeyCacheTTL/2 {
			t.Fatalf("the other instance still accepts the revoked key %v after the revocation", time.Since(revoked))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
