package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// now is a fixed clock with microsecond precision, the store's unit.
var now = time.Date(2026, 11, 22, 10, 30, 0, 123456000, time.UTC)

func mad(minor int64) money.Amount { return money.New(minor, "MAD") }

func newApp(t testing.TB, st *store.Store) pay.Application {
	t.Helper()
	m := pay.Merchant{ID: pay.NewID(pay.PrefixMerchant), Name: "Shop " + t.Name(), CreatedAt: now}
	app := pay.Application{
		ID: pay.NewID(pay.PrefixApplication), MerchantID: m.ID, Name: "App",
		Permissions: []string{"payment:create_session", "product:link"}, Modules: []string{"web"}, CreatedAt: now,
	}
	err := st.WithTx(t.Context(), func(tx *store.Tx) error {
		if err := tx.CreateMerchant(t.Context(), m); err != nil {
			return err
		}
		return tx.CreateApplication(t.Context(), app)
	})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func newSession(t *testing.T, st *store.Store, app pay.Application, env pay.Environment) pay.Session {
	t.Helper()
	s := pay.Session{
		ID: pay.NewID(pay.PrefixSession), ApplicationID: app.ID, Environment: env, Status: pay.SessionInit,
		Amount: mad(189900),
		Items: []pay.Item{
			{Reference: "PRODUCT_123", Name: "Wireless Headphones", UnitPrice: mad(179900), Quantity: 1},
			{Reference: "MUG", ProductID: "prod_x", Name: "Mug", UnitPrice: mad(5000), Quantity: 2, ImageURL: "https://img.example.com/mug.png"},
		},
		Customer:        pay.Customer{Email: "buyer@example.com", Locked: true, VerifiedIdentifier: "buyer@example.com", VerifiedChannel: "email"},
		VendorReference: "order-42",
		Metadata:        json.RawMessage(`{"cart":"c1"}`),
		ReturnURL:       "https://shop.example.com/done",
		ExpiresAt:       now.Add(time.Hour), CreatedAt: now, UpdatedAt: now,
	}
	if err := st.WithTx(t.Context(), func(tx *store.Tx) error { return tx.CreateSession(t.Context(), s) }); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestApplicationsKeysDomainsProducts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		app := newApp(t, st)
		got, err := st.Application(ctx, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(app, got); diff != "" {
			t.Errorf("application round trip (-want +got):\n%s", diff)
		}
		if _, err := st.Application(ctx, "app_missing"); pay.KindOf(err) != pay.NotFound {
			t.Errorf("missing application: err = %v, want NotFound", err)
		}

		key := pay.APIKey{ID: pay.NewID(pay.PrefixKey), ApplicationID: app.ID, Environment: pay.Live, Kind: pay.SecretKey,
			Prefix: "sk_live_abcd", Hash: strings.Repeat("ab", 32), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := st.WithTx(ctx, func(tx *store.Tx) error { return tx.CreateAPIKey(ctx, key) }); err != nil {
			t.Fatal(err)
		}
		gotKey, err := st.APIKeyByHash(ctx, key.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(key, gotKey); diff != "" {
			t.Errorf("key round trip (-want +got):\n%s", diff)
		}
		dup := key
		dup.ID = pay.NewID(pay.PrefixKey)
		err = st.WithTx(ctx, func(tx *store.Tx) error { return tx.CreateAPIKey(ctx, dup) })
		if pay.KindOf(err) != pay.Conflict {
			t.Errorf("second key with the same hash: err = %v, want Conflict", err)
		}

		for _, d := range []pay.Domain{
			{ApplicationID: app.ID, Domain: "shop.example.com", Verified: true, CreatedAt: now},
			{ApplicationID: app.ID, Domain: "shop.example.com", Verified: false, CreatedAt: now}, // never un-verifies
			{ApplicationID: app.ID, Domain: "b.example.com", Verified: false, CreatedAt: now},
		} {
			if err := st.WithTx(ctx, func(tx *store.Tx) error { return tx.AddDomain(ctx, d) }); err != nil {
				t.Fatal(err)
			}
		}
		domains, err := st.Domains(ctx, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDomains := []pay.Domain{
			{ApplicationID: app.ID, Domain: "b.example.com", Verified: false, CreatedAt: now},
			{ApplicationID: app.ID, Domain: "shop.example.com", Verified: true, CreatedAt: now},
		}
		if diff := cmp.Diff(wantDomains, domains); diff != "" {
			t.Errorf("domains (-want +got):\n%s", diff)
		}

		p := pay.Product{ID: pay.NewID(pay.PrefixProduct), ApplicationID: app.ID, StoreCode: "SKU-1024",
			Title: "Headphones", Price: money.New(1799000, "KWD"), CreatedAt: now}
		if err := st.WithTx(ctx, func(tx *store.Tx) error { return tx.CreateProduct(ctx, p) }); err != nil {
			t.Fatal(err)
		}
		gotP, err := st.ProductByStoreCode(ctx, app.ID, "SKU-1024")
		if err != nil || !cmp.Equal(p, gotP) {
			t.Errorf("product = %+v, %v; want %+v", gotP, err, p)
		}
		p.ID = pay.NewID(pay.PrefixProduct)
		err = st.WithTx(ctx, func(tx *store.Tx) error { return tx.CreateProduct(ctx, p) })
		if pay.KindOf(err) != pay.Conflict {
			t.Errorf("store code used twice in one application: err = %v, want Conflict", err)
		}
		other := newApp(t, st)
		p.ApplicationID = other.ID
		if err := st.WithTx(ctx, func(tx *store.Tx) error { return tx.CreateProduct(ctx, p) }); err != nil {
			t.Errorf("same store code in another application: %v", err)
		}
		if _, err := st.ProductByStoreCode(ctx, other.ID, "SKU-missing"); pay.KindOf(err) != pay.NotFound {
			t.Errorf("unknown store code: err = %v, want NotFound", err)
		}
	})
}

func TestSessionRoundTripAndTenancy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		app, other := newApp(t, st), newApp(t, st)
		s := newSession(t, st, app, pay.Sandbox)
		got, err := st.Session(ctx, app.ID, pay.Sandbox, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(s, got); diff != "" {
			t.Errorf("session round trip (-want +got):\n%s", diff)
		}
		// Another application, or the other environment of the same one,
		// sees exactly what it sees for an id that does not exist.
		for _, c := range []struct {
			app string
			env pay.Environment
			id  string
		}{{other.ID, pay.Sandbox, s.ID}, {app.ID, pay.Live, s.ID}, {app.ID, pay.Sandbox, "sess_missing"}} {
			_, err := st.Session(ctx, c.app, c.env, c.id)
			if pay.KindOf(err) != pay.NotFound || pay.MessageOf(err) != "session not found" {
				t.Errorf("Session(%s, %s, %s): err = %v, want the one NotFound", c.app, c.env, c.id, err)
			}
		}
	})
}

func TestSessionStatusCompareAndSet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		app := newApp(t, st)
		s := newSession(t, st, app, pay.Sandbox)
		set := func(from, to pay.SessionStatus) error {
			return st.WithTx(ctx, func(tx *store.Tx) error { return tx.SetSessionStatus(ctx, s.ID, from, to, now) })
		}
		if err := set(pay.SessionInit, pay.SessionPending); err != nil {
			t.Fatal(err)
		}
		// A caller that decided from a status the session has left changes
		// nothing.
		if err := set(pay.SessionInit, pay.SessionCancelled); !errors.Is(err, store.ErrStale) {
			t.Errorf("stale from-status: err = %v, want ErrStale", err)
		}
		if err := set(pay.SessionPending, pay.SessionCompleted); err != nil {
			t.Fatal(err)
		}
		// A final status is never overwritten, by any late event.
		for _, to := range []pay.SessionStatus{pay.SessionInit, pay.SessionPending, pay.SessionFailed, pay.SessionCancelled, pay.SessionExpired} {
			if err := set(pay.SessionCompleted, to); pay.CodeOf(err) != "invalid_transition" {
				t.Errorf("completed → %s: err = %v, want invalid_transition", to, err)
			}
		}
		got, err := st.Session(ctx, app.ID, pay.Sandbox, s.ID)
		if err != nil || got.Status != pay.SessionCompleted {
			t.Fatalf("status = %q, %v; want completed", got.Status, err)
		}
		if err := set(pay.SessionCompleted, pay.SessionRefunded); err != nil {
			t.Errorf("completed → refunded: %v", err)
		}
	})
}

// Many writers racing to move one session out of init: exactly one wins,
// on both engines, and the others are told so.
func TestConcurrentTransitionsHaveOneWinner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		app := newApp(t, st)
		s := newSession(t, st, app, pay.Sandbox)
		var wins, stale atomic.Int32
		var wg sync.WaitGroup
		for i := range 20 {
			to := []pay.SessionStatus{pay.SessionCompleted, pay.SessionFailed, pay.SessionCancelled, pay.SessionExpired}[i%4]
			wg.Go(func() {
				err := st.WithTx(ctx, func(tx *store.Tx) error {
					cur, err := tx.Session(ctx, app.ID, pay.Sandbox, s.ID)
					if err != nil {
						return err
					}
					if cur.Status != pay.SessionInit {
						return store.ErrStale
					}
					if err := tx.SetSessionStatus(ctx, s.ID, cur.Status, to, now); err != nil {
						return err
					}
					_, err = tx.AddEvent(ctx, pay.Event{ID: pay.NewID(pay.PrefixEvent), ApplicationID: app.ID,
						Environment: pay.Sandbox, Type: "session." + string(to), SubjectID: s.ID, Payload: []byte(`{}`), CreatedAt: now})
					return err
				})
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, store.ErrStale):
					stale.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || stale.Load() != 19 {
			t.Errorf("wins = %d, stale = %d; want 1 and 19", wins.Load(), stale.Load())
		}
		events, err := st.Events(ctx, s.ID)
		if err != nil || len(events) != 1 {
			t.Errorf("events = %d, %v; want exactly the winner's", len(events), err)
		}
	})
}

func TestSessionIsPaidAtMostOnceEvenBelowTheCode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		app := newApp(t, st)
		s := newSession(t, st, app, pay.Sandbox)
		attempt := func(status pay.PaymentStatus) error {
			p := pay.Payment{ID: pay.NewID(pay.PrefixPayment), SessionID: s.ID, ApplicationID: app.ID, Environment: pay.Sandbox,
				Gateway: "sandbox", Status: status, Amount: s.Amount, Refunded: mad(0), CreatedAt: now, UpdatedAt: now}
			return st.WithTx(ctx, func(tx *store.Tx) error { return tx.CreatePayment(ctx, p) })
		}
		for _, status := range []pay.PaymentStatus{pay.PaymentFailed, pay.PaymentFailed, pay.PaymentCompleted} {
			if err := attempt(status); err != nil {
				t.Fatalf("attempt %s: %v", status, err)
			}
		}
		if err := attempt(pay.PaymentCompleted); pay.KindOf(err) != pay.Conflict {
			t.Errorf("second completed payment of one session: err = %v, want Conflict", err)
		}
	})
}

func TestPaymentRoundTripAndTransitions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		app := newApp(t, st)
		s := newSession(t, st, app, pay.Live)
		p := pay.Payment{ID: pay.NewID(pay.PrefixPayment), SessionID: s.ID, ApplicationID: app.ID, Environment: pay.Live,
			Gateway: "stripe", Status: pay.PaymentPending, Amount: s.Amount, Refunded: mad(0),
			GatewayReference: "pi_123", CreatedAt: now, UpdatedAt: now}
		if err := st.WithTx(ctx, func(tx *store.Tx) error { return tx.CreatePayment(ctx, p) }); err != nil {
			t.Fatal(err)
		}
		got, err := st.Payment(ctx, app.ID, pay.Live, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(p, got); diff != "" {
			t.Errorf("payment round trip (-want +got):\n%s", diff)
		}
		if _, err := st.Payment(ctx, app.ID, pay.Sandbox, p.ID); pay.KindOf(err) != pay.NotFound {
			t.Errorf("payment from the other environment: err = %v, want NotFound", err)
		}
		later := now.Add(time.Minute)
		err = st.WithTx(ctx, func(tx *store.Tx) error {
			return tx.SetPaymentStatus(ctx, p.ID, pay.PaymentPending, pay.PaymentFailed, later)
		})
		if err != nil {
			t.Fatal(err)
		}
		err = st.WithTx(ctx, func(tx *store.Tx) error {
			return tx.SetPaymentStatus(ctx, p.ID, pay.PaymentFailed, pay.PaymentCompleted, later)
		})
		if pay.CodeOf(err) != "invalid_transition" {
			t.Errorf("failed → completed: err = %v, want invalid_transition", err)
		}
		got, _ = st.Payment(ctx, app.ID, pay.Live, p.ID)
		if got.Status != pay.PaymentFailed || !got.UpdatedAt.Equal(later) {
			t.Errorf("after transitions: status %s updated %v; want failed at %v", got.Status, got.UpdatedAt, later)
		}
	})
}

// An event is stored if and only if the change it records commits.
func TestOutboxCommitsWithItsChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		app := newApp(t, st)
		s := newSession(t, st, app, pay.Sandbox)
		event := func(typ string) pay.Event {
			return pay.Event{ID: pay.NewID(pay.PrefixEvent), ApplicationID: app.ID, Environment: pay.Sandbox,
				Type: typ, SubjectID: s.ID, Payload: json.RawMessage(`{"status":"x"}`), CreatedAt: now}
		}
		boom := errors.New("boom")
		err := st.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.SetSessionStatus(ctx, s.ID, pay.SessionInit, pay.SessionPending, now); err != nil {
				return err
			}
			if _, err := tx.AddEvent(ctx, event("rolled.back")); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want boom", err)
		}
		if got, _ := st.Session(ctx, app.ID, pay.Sandbox, s.ID); got.Status != pay.SessionInit {
			t.Errorf("rolled back change kept: status %s", got.Status)
		}
		for _, typ := range []string{"payment.pending", "payment.completed"} {
			err := st.WithTx(ctx, func(tx *store.Tx) error {
				_, err := tx.AddEvent(ctx, event(typ))
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		events, err := st.Events(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range events {
			got = append(got, e.Type+"#"+string(rune('0'+e.Seq)))
		}
		if diff := cmp.Diff([]string{"payment.pending#1", "payment.completed#2"}, got); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

func TestSettingsFirstWriterWins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		if _, ok, err := st.Setting(ctx, "k"); ok || err != nil {
			t.Fatalf("unset setting: ok=%v err=%v", ok, err)
		}
		values := make([]string, 10)
		var wg sync.WaitGroup
		for i := range values {
			wg.Go(func() {
				v, err := st.InitSetting(ctx, "k", pay.NewID("v"))
				if err != nil {
					t.Error(err)
				}
				values[i] = v
			})
		}
		wg.Wait()
		for _, v := range values {
			if v != values[0] {
				t.Fatalf("racing writers disagree: %v", values)
			}
		}
	})
}

func TestReadyNeedsMigrations(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			ctx := t.Context()
			st, err := store.Open(ctx, storetest.Options(t, engine))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.Ready(ctx); err == nil {
				t.Error("Ready before migrating: nil, want an error")
			}
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if err := st.Ready(ctx); err != nil {
				t.Errorf("Ready after migrating: %v", err)
			}
		})
	}
}

// Instances starting at the same moment on one empty database all come up:
// the schema is migrated once, under a lock, and the others wait for it.
func TestConcurrentMigrations(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			opts := storetest.Options(t, engine)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					st, err := store.Open(ctx, opts)
					if err != nil {
						t.Error(err)
						return
					}
					defer st.Close()
					if err := st.Migrate(ctx); err != nil {
						t.Errorf("concurrent migrate: %v", err)
						return
					}
					if err := st.Ready(ctx); err != nil {
						t.Errorf("ready after concurrent migrate: %v", err)
					}
				})
			}
			wg.Wait()
		})
	}
}

func TestOpenRefusesUnknownDatabase(t *testing.T) {
	_, err := store.Open(t.Context(), store.Options{Database: "mysql://u:hunter2@db/x"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v; want a refusal that hides the password", err)
	}
}
