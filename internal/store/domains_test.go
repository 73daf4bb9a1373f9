package store_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

func TestDomainVerificationColumns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		app, other := newApp(t, st), newApp(t, st)
		tx := func(f func(tx *store.Tx) error) error { return st.WithTx(ctx, f) }
		read := func() pay.Domain {
			t.Helper()
			d, err := st.Domain(ctx, app.ID, "shop.example.com")
			if err != nil {
				t.Fatal(err)
			}
			return d
		}

		// A row as 00001 wrote it, without a token: the first token set
		// sticks, a later one does not replace it.
		want := pay.Domain{ApplicationID: app.ID, Domain: "shop.example.com", CreatedAt: now}
		if err := tx(func(tx *store.Tx) error { return tx.AddDomain(ctx, want) }); err != nil {
			t.Fatal(err)
		}
		for _, token := range []string{"first", "second"} {
			if err := tx(func(tx *store.Tx) error { return tx.SetDomainToken(ctx, app.ID, want.Domain, token) }); err != nil {
				t.Fatal(err)
			}
		}
		want.VerificationToken = "first"
		if diff := cmp.Diff(want, read()); diff != "" {
			t.Errorf("after SetDomainToken (-want +got):\n%s", diff)
		}

		// Adding it again keeps the token it has.
		again := want
		again.VerificationToken, again.CreatedAt = "other", now.Add(time.Hour)
		if err := tx(func(tx *store.Tx) error { return tx.AddDomain(ctx, again) }); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, read()); diff != "" {
			t.Errorf("after adding again (-want +got):\n%s", diff)
		}

		failedAt := now.Add(time.Minute)
		if err := tx(func(tx *store.Tx) error {
			return tx.RecordDomainCheckFailure(ctx, app.ID, want.Domain, failedAt, "no TXT record")
		}); err != nil {
			t.Fatal(err)
		}
		want.LastCheckedAt, want.LastError = failedAt, "no TXT record"
		if diff := cmp.Diff(want, read()); diff != "" {
			t.Errorf("after a failed check (-want +got):\n%s", diff)
		}

		verifiedAt := now.Add(2 * time.Minute)
		if err := tx(func(tx *store.Tx) error { return tx.MarkDomainVerified(ctx, app.ID, want.Domain, verifiedAt) }); err != nil {
			t.Fatal(err)
		}
		want.Verified, want.VerifiedAt, want.LastCheckedAt, want.LastError = true, verifiedAt, verifiedAt, ""
		if diff := cmp.Diff(want, read()); diff != "" {
			t.Errorf("after a successful check (-want +got):\n%s", diff)
		}
		// A failure recorded after the success (a slower concurrent check)
		// changes nothing.
		if err := tx(func(tx *store.Tx) error {
			return tx.RecordDomainCheckFailure(ctx, app.ID, want.Domain, verifiedAt.Add(time.Second), "late")
		}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, read()); diff != "" {
			t.Errorf("after a late failure (-want +got):\n%s", diff)
		}
		// A second success (a concurrent check) keeps the first time.
		if err := tx(func(tx *store.Tx) error {
			return tx.MarkDomainVerified(ctx, app.ID, want.Domain, verifiedAt.Add(time.Minute))
		}); err != nil {
			t.Fatal(err)
		}
		want.LastCheckedAt = verifiedAt.Add(time.Minute)
		if diff := cmp.Diff(want, read()); diff != "" {
			t.Errorf("after a second success (-want +got):\n%s", diff)
		}
		// Re-adding unverified keeps verified_at.
		if err := tx(func(tx *store.Tx) error { return tx.AddDomain(ctx, again) }); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, read()); diff != "" {
			t.Errorf("after re-adding a verified domain (-want +got):\n%s", diff)
		}

		// Another application sees none of it and cannot touch it.
		if _, err := st.Domain(ctx, other.ID, want.Domain); pay.KindOf(err) != pay.NotFound {
			t.Errorf("Domain of another application: %v, want NotFound", err)
		}
		for name, f := range map[string]func(tx *store.Tx) error{
			"MarkDomainVerified": func(tx *store.Tx) error { return tx.MarkDomainVerified(ctx, other.ID, want.Domain, now) },
			"RemoveDomain":       func(tx *store.Tx) error { return tx.RemoveDomain(ctx, other.ID, want.Domain) },
		} {
			if err := tx(f); pay.KindOf(err) != pay.NotFound {
				t.Errorf("%s of another application's domain: %v, want NotFound", name, err)
			}
		}
		if diff := cmp.Diff(want, read()); diff != "" {
			t.Errorf("after another application's attempts (-want +got):\n%s", diff)
		}

		if err := tx(func(tx *store.Tx) error { return tx.RemoveDomain(ctx, app.ID, want.Domain) }); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Domain(ctx, app.ID, want.Domain); pay.KindOf(err) != pay.NotFound {
			t.Errorf("Domain after RemoveDomain: %v, want NotFound", err)
		}
		if err := tx(func(tx *store.Tx) error { return tx.RemoveDomain(ctx, app.ID, want.Domain) }); pay.KindOf(err) != pay.NotFound {
			t.Errorf("RemoveDomain twice: %v, want NotFound", err)
		}
	})
}
