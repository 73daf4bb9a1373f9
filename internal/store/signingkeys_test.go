package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

func signingKey(kid string, created, retires, expires time.Time) store.SigningKey {
	return store.SigningKey{
		KID: kid, Algorithm: "EdDSA", PublicKey: "pub-" + kid, SealedPrivateKey: "v1:sealed-" + kid,
		CreatedAt: created, SignsFrom: created, RetiresAt: retires, ExpiresAt: expires,
	}
}

func TestSigningKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		day := 24 * time.Hour
		expired := signingKey("session-2026-10", now.Add(-40*day), now.Add(-10*day), now.Add(-9*day))
		retired := signingKey("session-2026-11", now.Add(-10*day), now.Add(-time.Hour), now.Add(23*time.Hour))
		active := signingKey("session-2026-11-2", now.Add(-time.Hour), now.Add(29*day), now.Add(30*day))
		other := signingKey("session-2026-110", now.Add(-time.Hour), now.Add(time.Hour), now.Add(2*time.Hour))
		err := st.WithTx(ctx, func(tx *store.Tx) error {
			for _, k := range []store.SigningKey{expired, retired, active, other} {
				if err := tx.CreateSigningKey(ctx, k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		got, err := st.SigningKeys(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		// Newest first; ties on created_at by kid, descending.
		if diff := cmp.Diff([]store.SigningKey{other, active, retired}, got); diff != "" {
			t.Errorf("SigningKeys(now): -want +got\n%s", diff)
		}

		err = st.WithTx(ctx, func(tx *store.Tx) error { return tx.CreateSigningKey(ctx, active) })
		if pay.KindOf(err) != pay.Conflict {
			t.Errorf("second key with kid %s: %v, want a conflict", active.KID, err)
		}

		err = st.WithTx(ctx, func(tx *store.Tx) error {
			kids, err := tx.SigningKeyIDs(ctx, "session-2026-11")
			if err != nil {
				return err
			}
			want := map[string]bool{"session-2026-11": true, "session-2026-11-2": true}
			if len(kids) != len(want) || !want[kids[0]] || !want[kids[1]] {
				t.Errorf("SigningKeyIDs(session-2026-11) = %v, want the kids of %v", kids, want)
			}
			kids, err = tx.SigningKeyIDs(ctx, "session-2026-12")
			if err != nil || len(kids) != 0 {
				t.Errorf("SigningKeyIDs(session-2026-12) = %v, %v; want none", kids, err)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		// Retiring stops the keys still signing (active, other) now and
		// lowers their expiry, but never raises one (other's).
		at, until := now.Add(time.Minute), now.Add(time.Minute+3*time.Hour)
		err = st.WithTx(ctx, func(tx *store.Tx) error {
			n, err := tx.RetireSigningKeys(ctx, at, until)
			if n != 2 {
				t.Errorf("RetireSigningKeys retired %d keys, want 2", n)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err = st.SigningKeys(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		active.RetiresAt, active.ExpiresAt = at, until
		other.RetiresAt = at
		if diff := cmp.Diff([]store.SigningKey{other, active, retired}, got); diff != "" {
			t.Errorf("after RetireSigningKeys: -want +got\n%s", diff)
		}

		// Only keys both expired before the first bound and created before
		// the second go.
		err = st.WithTx(ctx, func(tx *store.Tx) error {
			if n, err := tx.DeleteSigningKeys(ctx, now.Add(-9*day), now); n != 0 || err != nil {
				t.Errorf("DeleteSigningKeys at the expiry: %d, %v; want 0 deleted", n, err)
			}
			if n, err := tx.DeleteSigningKeys(ctx, now, now.Add(-40*day)); n != 0 || err != nil {
				t.Errorf("DeleteSigningKeys at the creation: %d, %v; want 0 deleted", n, err)
			}
			n, err := tx.DeleteSigningKeys(ctx, now.Add(-8*day), now.Add(-39*day))
			if n != 1 {
				t.Errorf("DeleteSigningKeys deleted %d keys, want 1", n)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err = st.SigningKeys(ctx, now.Add(-100*day))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Errorf("after DeleteSigningKeys: %d keys, want 3", len(got))
		}
	})
}

// Transactions that take the signing-key lock, look for a key and insert
// one only when there is none, run one after the other: several instances
// create one key, not one each.
func TestLockSigningKeysSerialisesCreation(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			ctx := t.Context()
			opts := storetest.Options(t, engine)
			var instances []*store.Store
			for range 2 {
				st, err := store.Open(ctx, opts)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				if err := st.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				instances = append(instances, st)
			}
			var wg sync.WaitGroup
			for i := range 6 {
				st := instances[i%2]
				wg.Go(func() {
					err := st.WithTx(ctx, func(tx *store.Tx) error {
						if err := tx.LockSigningKeys(ctx); err != nil {
							return err
						}
						keys, err := tx.SigningKeys(ctx, now)
						if err != nil || len(keys) > 0 {
							return err
						}
						// Widen the window in which an unserialised
						// transaction would also find none.
						time.Sleep(20 * time.Millisecond)
						kid := pay.NewID("kid")
						return tx.CreateSigningKey(ctx, signingKey(kid, now, now.Add(time.Hour), now.Add(2*time.Hour)))
					})
					if err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			keys, err := instances[0].SigningKeys(ctx, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 1 {
				t.Errorf("%d keys created, want 1", len(keys))
			}
		})
	}
}
