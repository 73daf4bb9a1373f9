package merchant_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/testclock"
	"github.com/sakkhq/sakk/internal/vault"
)

// start is the test clock's first reading. It has microsecond precision,
// the store's unit, so times round-trip through the store unchanged.
var start = time.Date(2026, 11, 22, 10, 30, 0, 123456000, time.UTC)

type fixture struct {
	st    *store.Store
	svc   *merchant.Service
	box   *vault.Box
	clock *testclock.Clock
}

func newFixture(t *testing.T, st *store.Store) *fixture {
	t.Helper()
	box, err := vault.New(vault.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	c := testclock.New(start)
	return &fixture{st: st, svc: merchant.New(st, box, c.Now), box: box, clock: c}
}

func (f *fixture) createApp(t *testing.T, name string, env pay.Environment) merchant.CreatedApplication {
	t.Helper()
	created, err := f.svc.CreateApplication(t.Context(), merchant.NewApplication{Name: name, MerchantName: "Acme " + name, Environment: env})
	if err != nil {
		t.Fatalf("CreateApplication(%q, %s): %v", name, env, err)
	}
	return created
}

// storedKeys lists an application's stored keys of one environment and kind.
func (f *fixture) storedKeys(t *testing.T, appID string, env pay.Environment, kind pay.KeyKind) []pay.APIKey {
	t.Helper()
	var keys []pay.APIKey
	err := f.st.WithTx(t.Context(), func(tx *store.Tx) error {
		var err error
		keys, err = tx.APIKeys(t.Context(), appID, env, kind)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func (f *fixture) merchantByName(t *testing.T, name string) (pay.Merchant, error) {
	t.Helper()
	var m pay.Merchant
	err := f.st.WithTx(t.Context(), func(tx *store.Tx) error {
		var err error
		m, err = tx.MerchantByName(t.Context(), name)
		return err
	})
	return m, err
}

func (f *fixture) countMerchants(t *testing.T) int {
	t.Helper()
	n, err := f.st.CountMerchants(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// wantError fails unless err has kind and (when not empty) code.
func wantError(t *testing.T, err error, kind pay.Kind, code string) {
	t.Helper()
	if pay.KindOf(err) != kind || (code != "" && pay.CodeOf(err) != code) {
		t.Fatalf("err = %v (kind %v, code %q), want kind %v, code %q", err, pay.KindOf(err), pay.CodeOf(err), kind, code)
	}
}

// keyPrefixes are written out rather than built from KeyKind.Prefix and
// KeyTag: merchants' code and secret scanners depend on these exact strings.
var keyPrefixes = map[pay.Environment]map[pay.KeyKind]string{
	pay.Sandbox: {pay.SecretKey: "sk_test_", pay.PublicKey: "pk_test_", pay.ClientToken: "tk_test_"},
	pay.Live:    {pay.SecretKey: "sk_live_", pay.PublicKey: "pk_live_", pay.ClientToken: "tk_live_"},
}

// keyPattern matches a key of kind in env: its prefix, then 32 base-62
// characters.
func keyPattern(kind pay.KeyKind, env pay.Environment) *regexp.Regexp {
	return regexp.MustCompile(`^` + keyPrefixes[env][kind] + `[0-9A-Za-z]{32}$`)
}

func TestCreateApplication(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		for _, env := range []pay.Environment{pay.Sandbox, pay.Live} {
			t.Run(string(env), func(t *testing.T) {
				f := newFixture(t, st)
				ctx := t.Context()
				created, err := f.svc.CreateApplication(ctx, merchant.NewApplication{
					Name: "  Web shop  ", MerchantName: " Acme " + string(env) + " ", Environment: env,
				})
				if err != nil {
					t.Fatal(err)
				}
				keys := map[pay.KeyKind]string{
					pay.SecretKey: created.Keys.Secret, pay.PublicKey: created.Keys.Public, pay.ClientToken: created.Keys.ClientToken,
				}
				for kind, text := range keys {
					if !keyPattern(kind, env).MatchString(text) {
						t.Errorf("%s key %q does not match %s", kind, text, keyPattern(kind, env))
					}
				}
				if created.Environment != env {
					t.Errorf("Environment = %q, want %q", created.Environment, env)
				}

				wantApp := pay.Application{
					ID:          created.Application.ID,
					MerchantID:  created.Merchant.ID,
					Name:        "Web shop",
					Permissions: merchant.DefaultPermissions,
					Modules:     merchant.DefaultModules,
					CreatedAt:   start,
				}
				if diff := cmp.Diff(wantApp, created.Application); diff != "" {
					t.Errorf("returned application (-want +got):\n%s", diff)
				}
				if !strings.HasPrefix(created.Application.ID, pay.PrefixApplication+"_") {
					t.Errorf("application id %q lacks prefix %s_", created.Application.ID, pay.PrefixApplication)
				}
				stored, err := st.Application(ctx, created.Application.ID)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(wantApp, stored); diff != "" {
					t.Errorf("stored application (-want +got):\n%s", diff)
				}

				wantMerchant := pay.Merchant{ID: created.Merchant.ID, Name: "Acme " + string(env), CreatedAt: start}
				if diff := cmp.Diff(wantMerchant, created.Merchant); diff != "" {
					t.Errorf("returned merchant (-want +got):\n%s", diff)
				}
				m, err := f.merchantByName(t, "Acme "+string(env))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(wantMerchant, m); diff != "" {
					t.Errorf("stored merchant (-want +got):\n%s", diff)
				}

				// Exactly one key of each kind, in this environment only.
				other := pay.Live
				if env == pay.Live {
					other = pay.Sandbox
				}
				for kind := range keys {
					if n := len(f.storedKeys(t, created.Application.ID, env, kind)); n != 1 {
						t.Errorf("%d stored %s keys in %s, want 1", n, kind, env)
					}
					if n := len(f.storedKeys(t, created.Application.ID, other, kind)); n != 0 {
						t.Errorf("%d stored %s keys in %s, want 0", n, kind, other)
					}
				}
			})
		}
	})
}

func TestCreateApplicationReusesMerchant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		create := func(name, merchantName string) merchant.CreatedApplication {
			t.Helper()
			c, err := f.svc.CreateApplication(ctx, merchant.NewApplication{Name: name, MerchantName: merchantName, Environment: pay.Sandbox})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		web := create("Web", "Acme")
		f.clock.Set(start.Add(time.Hour))
		ios := create("iOS", "  Acme ")
		if ios.Merchant != web.Merchant {
			t.Errorf("second app's merchant = %+v, want the first's %+v", ios.Merchant, web.Merchant)
		}
		if ios.Application.ID == web.Application.ID || ios.Application.MerchantID != web.Merchant.ID {
			t.Errorf("apps %+v and %+v: want two applications of merchant %s", web.Application, ios.Application, web.Merchant.ID)
		}
		if n := f.countMerchants(t); n != 1 {
			t.Errorf("%d merchants, want 1", n)
		}
		// Without a merchant name, the application's name is the merchant's.
		solo := create("Solo", "")
		if solo.Merchant.Name != "Solo" || solo.Merchant.ID == web.Merchant.ID {
			t.Errorf("merchant of an app without merchant name = %+v, want a new one named Solo", solo.Merchant)
		}
		if n := f.countMerchants(t); n != 2 {
			t.Errorf("%d merchants, want 2", n)
		}
	})
}

func TestCreateApplicationInvalid(t *testing.T) {
	tests := []struct {
		name string
		req  merchant.NewApplication
		code string
	}{
		{"empty name", merchant.NewApplication{Name: "", MerchantName: "Acme", Environment: pay.Sandbox}, "invalid_name"},
		{"blank name", merchant.NewApplication{Name: " \t ", MerchantName: "Acme", Environment: pay.Sandbox}, "invalid_name"},
		{"no environment", merchant.NewApplication{Name: "Web", MerchantName: "Acme"}, "invalid_environment"},
		{"unknown environment", merchant.NewApplication{Name: "Web", MerchantName: "Acme", Environment: "production"}, "invalid_environment"},
		{"key tag as environment", merchant.NewApplication{Name: "Web", MerchantName: "Acme", Environment: "test"}, "invalid_environment"},
		{"upper-case environment", merchant.NewApplication{Name: "Web", MerchantName: "Acme", Environment: "Sandbox"}, "invalid_environment"},
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				created, err := f.svc.CreateApplication(t.Context(), tt.req)
				wantError(t, err, pay.Invalid, tt.code)
				if diff := cmp.Diff(merchant.CreatedApplication{}, created); diff != "" {
					t.Errorf("result on error is not zero (-want +got):\n%s", diff)
				}
				// An application needs its merchant (foreign key), created
				// in the same transaction: no merchant means nothing at all.
				if n := f.countMerchants(t); n != 0 {
					t.Errorf("%d merchants stored after a refused request, want 0", n)
				}
			})
		}
	})
}

func TestKeysStoredHashed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		app := f.createApp(t, "Web", pay.Sandbox)
		for kind, text := range map[pay.KeyKind]string{
			pay.SecretKey: app.Keys.Secret, pay.PublicKey: app.Keys.Public, pay.ClientToken: app.Keys.ClientToken,
		} {
			t.Run(string(kind), func(t *testing.T) {
				rows := f.storedKeys(t, app.Application.ID, pay.Sandbox, kind)
				if len(rows) != 1 {
					t.Fatalf("%d stored %s keys, want 1", len(rows), kind)
				}
				row := rows[0]
				sum := sha256.Sum256([]byte(text))
				want := pay.APIKey{
					ID:            row.ID,
					ApplicationID: app.Application.ID,
					Environment:   pay.Sandbox,
					Kind:          kind,
					Prefix:        text[:12],
					Hash:          hex.EncodeToString(sum[:]),
					CreatedAt:     start,
				}
				if diff := cmp.Diff(want, row); diff != "" {
					t.Errorf("stored key (-want +got):\n%s", diff)
				}
				if h := merchant.HashKey(text); h != want.Hash {
					t.Errorf("HashKey = %s, want hex SHA-256 %s", h, want.Hash)
				}
				// Neither the key nor its secret part (after the visible
				// prefix) appears in any field of the row.
				dump := fmt.Sprintf("%#v", row)
				for _, s := range []string{text, text[12:], text[len(text)-8:]} {
					if strings.Contains(dump, s) {
						t.Errorf("stored row %s contains %q of the key", dump, s)
					}
				}
				byHash, err := st.APIKeyByHash(t.Context(), merchant.HashKey(text))
				if err != nil {
					t.Fatal(err)
				}
				if byHash.ID != row.ID {
					t.Errorf("APIKeyByHash found %s, want %s", byHash.ID, row.ID)
				}
			})
		}
	})
}

func TestAuthenticate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		sandbox := f.createApp(t, "Web", pay.Sandbox)
		live := f.createApp(t, "Shop", pay.Live)

		valid := []struct {
			key  string
			kind pay.KeyKind
			app  merchant.CreatedApplication
		}{
			{sandbox.Keys.Secret, pay.SecretKey, sandbox},
			{sandbox.Keys.Public, pay.PublicKey, sandbox},
			{sandbox.Keys.ClientToken, pay.ClientToken, sandbox},
			{live.Keys.Secret, pay.SecretKey, live},
			{live.Keys.Public, pay.PublicKey, live},
			{live.Keys.ClientToken, pay.ClientToken, live},
		}
		for _, v := range valid {
			k, err := f.svc.Authenticate(ctx, v.key, v.kind)
			if err != nil {
				t.Errorf("Authenticate(%s key %s…): %v", v.kind, v.key[:12], err)
				continue
			}
			if k.ApplicationID != v.app.Application.ID || k.Kind != v.kind || k.Environment != v.app.Environment || k.Hash != merchant.HashKey(v.key) {
				t.Errorf("Authenticate(%s key %s…) = %+v, want %s key of %s in %s", v.kind, v.key[:12], k, v.kind, v.app.Application.ID, v.app.Environment)
			}
		}

		secret := sandbox.Keys.Secret
		flip := "a"
		if secret[len(secret)-1] == 'a' {
			flip = "b"
		}
		tampered := secret[:len(secret)-1] + flip

		// Keys the service cannot make, written straight to the store: two
		// of another kind than their text says, one revoked. The prefix
		// check alone must refuse the pk_ text stored as a secret key.
		mislabelled := "sk_test_" + strings.Repeat("M", 32)
		wrongPrefix := "pk_test_" + strings.Repeat("W", 32)
		revoked := "sk_test_" + strings.Repeat("R", 32)
		err := st.WithTx(ctx, func(tx *store.Tx) error {
			for _, k := range []pay.APIKey{
				{ApplicationID: sandbox.Application.ID, Kind: pay.PublicKey, Hash: merchant.HashKey(mislabelled)},
				{ApplicationID: sandbox.Application.ID, Kind: pay.SecretKey, Hash: merchant.HashKey(wrongPrefix)},
				{ApplicationID: sandbox.Application.ID, Kind: pay.SecretKey, Hash: merchant.HashKey(revoked), RevokedAt: start.Add(-time.Second)},
			} {
				k.ID, k.Environment, k.Prefix, k.CreatedAt = pay.NewID(pay.PrefixKey), pay.Sandbox, "sk_test_XXXX", start.Add(-time.Hour)
				if err := tx.CreateAPIKey(ctx, k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		denied := []struct {
			name string
			key  string
			kind pay.KeyKind
		}{
			{"public key as secret", sandbox.Keys.Public, pay.SecretKey},
			{"client token as secret", sandbox.Keys.ClientToken, pay.SecretKey},
			{"secret key as public", sandbox.Keys.Secret, pay.PublicKey},
			{"secret key as client token", sandbox.Keys.Secret, pay.ClientToken},
			{"public key as client token", live.Keys.Public, pay.ClientToken},
			{"unknown key", "sk_test_" + strings.Repeat("A", 32), pay.SecretKey},
			{"wrong prefix", "xk" + secret[2:], pay.SecretKey},
			{"no prefix", secret[len("sk_test_"):], pay.SecretKey},
			{"tampered", tampered, pay.SecretKey},
			{"truncated", secret[:len(secret)-1], pay.SecretKey},
			{"padded", secret + " ", pay.SecretKey},
			{"visible prefix only", secret[:12], pay.SecretKey},
			{"empty", "", pay.SecretKey},
			{"its hash", merchant.HashKey(secret), pay.SecretKey},
			{"stored as another kind", mislabelled, pay.SecretKey},
			{"public text stored as secret", wrongPrefix, pay.SecretKey},
			{"revoked", revoked, pay.SecretKey},
		}
		var first error
		for _, d := range denied {
			t.Run(d.name, func(t *testing.T) {
				k, err := f.svc.Authenticate(ctx, d.key, d.kind)
				wantError(t, err, pay.Unauthenticated, "invalid_key")
				if diff := cmp.Diff(pay.APIKey{}, k); diff != "" {
					t.Errorf("key returned with the error (-want +got):\n%s", diff)
				}
				// Every refusal reads the same, so that a caller learns
				// nothing about which check failed.
				if first == nil {
					first = err
					return
				}
				if err.Error() != first.Error() || pay.MessageOf(err) != pay.MessageOf(first) {
					t.Errorf("error %q (message %q) differs from %q (message %q)", err, pay.MessageOf(err), first, pay.MessageOf(first))
				}
			})
		}
	})
}

func TestRotateSecretKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		app := f.createApp(t, "Web", pay.Sandbox)
		appID := app.Application.ID
		liveKeys, err := f.svc.IssueKeys(ctx, appID, pay.Live)
		if err != nil {
			t.Fatal(err)
		}
		works := func(key string, kind pay.KeyKind) bool {
			t.Helper()
			_, err := f.svc.Authenticate(ctx, key, kind)
			if err != nil && pay.KindOf(err) != pay.Unauthenticated {
				t.Fatalf("Authenticate: %v", err)
			}
			return err == nil
		}
		check := func(when string, want map[string]bool) {
			t.Helper()
			for key, ok := range want {
				kind := map[string]pay.KeyKind{"sk": pay.SecretKey, "pk": pay.PublicKey, "tk": pay.ClientToken}[key[:2]]
				if got := works(key, kind); got != ok {
					t.Errorf("%s: key %s… works = %t, want %t", when, key[:12], got, ok)
				}
			}
		}

		old := app.Keys.Secret
		r, err := f.svc.RotateSecretKey(ctx, appID, pay.Sandbox, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !keyPattern(pay.SecretKey, pay.Sandbox).MatchString(r.Secret) || r.Secret == old {
			t.Errorf("new secret %q: want a fresh sandbox secret key", r.Secret)
		}
		expiry := start.Add(24 * time.Hour)
		if merchant.DefaultRotationGrace != 24*time.Hour {
			t.Errorf("DefaultRotationGrace = %v, want 24h", merchant.DefaultRotationGrace)
		}
		if diff := cmp.Diff(merchant.Rotated{Secret: r.Secret, OldExpiresAt: expiry, OldKeyPrefixes: []string{old[:12]}}, r); diff != "" {
			t.Errorf("Rotated (-want +got):\n%s", diff)
		}
		untouched := map[string]bool{
			app.Keys.Public: true, app.Keys.ClientToken: true,
			liveKeys.Secret: true, liveKeys.Public: true, liveKeys.ClientToken: true,
		}
		check("at rotation", map[string]bool{old: true, r.Secret: true})
		check("at rotation", untouched)

		f.clock.Set(expiry.Add(-time.Microsecond))
		check("just before the grace ends", map[string]bool{old: true, r.Secret: true})
		f.clock.Set(expiry)
		check("when the grace ends", map[string]bool{old: false, r.Secret: true})
		f.clock.Set(expiry.Add(365 * 24 * time.Hour))
		check("a year later", map[string]bool{old: false, r.Secret: true})
		check("a year later", untouched)

		// Only the sandbox secret keys changed in the store.
		for _, k := range f.storedKeys(t, appID, pay.Live, pay.SecretKey) {
			if !k.ExpiresAt.IsZero() {
				t.Errorf("live secret key %s expires at %v, want never", k.Prefix, k.ExpiresAt)
			}
		}
		for _, kind := range []pay.KeyKind{pay.PublicKey, pay.ClientToken} {
			for _, k := range f.storedKeys(t, appID, pay.Sandbox, kind) {
				if !k.ExpiresAt.IsZero() {
					t.Errorf("sandbox %s key %s expires at %v, want never", kind, k.Prefix, k.ExpiresAt)
				}
			}
		}
	})
}

func TestRotateSecretKeyTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		app := f.createApp(t, "Web", pay.Sandbox)
		appID := app.Application.ID
		keyA := app.Keys.Secret

		first, err := f.svc.RotateSecretKey(ctx, appID, pay.Sandbox, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		keyB := first.Secret
		t1 := start.Add(time.Hour)
		f.clock.Set(t1)
		// A longer grace the second time must not extend a's expiry.
		second, err := f.svc.RotateSecretKey(ctx, appID, pay.Sandbox, 48*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		keyC := second.Secret
		if want := t1.Add(48 * time.Hour); !second.OldExpiresAt.Equal(want) {
			t.Errorf("second rotation: OldExpiresAt = %v, want %v", second.OldExpiresAt, want)
		}

		wantExpiry := map[string]time.Time{
			keyA[:12]: start.Add(24 * time.Hour), // the first rotation's, kept
			keyB[:12]: t1.Add(48 * time.Hour),
			keyC[:12]: {},
		}
		keys := f.storedKeys(t, appID, pay.Sandbox, pay.SecretKey)
		if len(keys) != 3 {
			t.Fatalf("%d stored sandbox secret keys, want 3", len(keys))
		}
		for _, k := range keys {
			if want := wantExpiry[k.Prefix]; !k.ExpiresAt.Equal(want) {
				t.Errorf("key %s expires at %v, want %v", k.Prefix, k.ExpiresAt, want)
			}
		}

		for _, step := range []struct {
			at      time.Time
			a, b, c bool // whether each key works
		}{
			{start.Add(24*time.Hour - time.Microsecond), true, true, true},
			{start.Add(24 * time.Hour), false, true, true},
			{t1.Add(48*time.Hour - time.Microsecond), false, true, true},
			{t1.Add(48 * time.Hour), false, false, true},
		} {
			f.clock.Set(step.at)
			for key, want := range map[string]bool{keyA: step.a, keyB: step.b, keyC: step.c} {
				_, err := f.svc.Authenticate(ctx, key, pay.SecretKey)
				if got := err == nil; got != want {
					t.Errorf("at %v: key %s… works = %t (err %v), want %t", step.at, key[:12], got, err, want)
				}
			}
		}

		// A third rotation after a has expired leaves it out of the keys
		// it reports on.
		third, err := f.svc.RotateSecretKey(ctx, appID, pay.Sandbox, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{keyC[:12]}, third.OldKeyPrefixes); diff != "" {
			t.Errorf("third rotation: OldKeyPrefixes (-want +got):\n%s", diff)
		}
	})
}

func TestRotateSecretKeyRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		app := f.createApp(t, "Web", pay.Sandbox)
		tests := []struct {
			name  string
			appID string
			env   pay.Environment
			grace time.Duration
			kind  pay.Kind
			code  string
		}{
			{"negative grace", app.Application.ID, pay.Sandbox, -time.Second, pay.Invalid, "invalid_grace"},
			{"bad environment", app.Application.ID, "staging", time.Hour, pay.Invalid, "invalid_environment"},
			{"unknown app", "app_missing", pay.Sandbox, time.Hour, pay.NotFound, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r, err := f.svc.RotateSecretKey(t.Context(), tt.appID, tt.env, tt.grace)
				wantError(t, err, tt.kind, tt.code)
				if r.Secret != "" {
					t.Errorf("a secret came back with the error: %q", r.Secret)
				}
				keys := f.storedKeys(t, app.Application.ID, pay.Sandbox, pay.SecretKey)
				if len(keys) != 1 || !keys[0].ExpiresAt.IsZero() {
					t.Errorf("stored secret keys after a refused rotation: %+v, want the one original, not expiring", keys)
				}
			})
		}
	})
}

func TestIssueKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		app := f.createApp(t, "Web", pay.Sandbox)
		appID := app.Application.ID

		live, err := f.svc.IssueKeys(ctx, appID, pay.Live)
		if err != nil {
			t.Fatal(err)
		}
		again, err := f.svc.IssueKeys(ctx, appID, pay.Sandbox)
		if err != nil {
			t.Fatal(err)
		}
		all := []struct {
			keys merchant.Keys
			env  pay.Environment
		}{{app.Keys, pay.Sandbox}, {live, pay.Live}, {again, pay.Sandbox}}
		seen := map[string]bool{}
		for _, set := range all {
			for kind, text := range map[pay.KeyKind]string{pay.SecretKey: set.keys.Secret, pay.PublicKey: set.keys.Public, pay.ClientToken: set.keys.ClientToken} {
				if !keyPattern(kind, set.env).MatchString(text) {
					t.Errorf("%s %s key %q does not match %s", set.env, kind, text, keyPattern(kind, set.env))
				}
				if seen[text] {
					t.Errorf("key %s… issued twice", text[:12])
				}
				seen[text] = true
				// Every key issued so far still works, in its environment.
				k, err := f.svc.Authenticate(ctx, text, kind)
				if err != nil {
					t.Errorf("Authenticate(%s %s key): %v", set.env, kind, err)
				} else if k.Environment != set.env || k.ApplicationID != appID {
					t.Errorf("Authenticate(%s %s key) = %+v, want environment %s of %s", set.env, kind, k, set.env, appID)
				}
			}
		}
		for env, want := range map[pay.Environment]int{pay.Sandbox: 2, pay.Live: 1} {
			for _, kind := range []pay.KeyKind{pay.SecretKey, pay.PublicKey, pay.ClientToken} {
				if n := len(f.storedKeys(t, appID, env, kind)); n != want {
					t.Errorf("%d stored %s %s keys, want %d", n, env, kind, want)
				}
			}
		}

		_, err = f.svc.IssueKeys(ctx, "app_missing", pay.Live)
		wantError(t, err, pay.NotFound, "")
		_, err = f.svc.IssueKeys(ctx, appID, "prod")
		wantError(t, err, pay.Invalid, "invalid_environment")
		if n := len(f.storedKeys(t, appID, "prod", pay.SecretKey)); n != 0 {
			t.Errorf("%d keys stored for a refused environment", n)
		}
	})
}

func TestAddProduct(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		app := f.createApp(t, "Web", pay.Sandbox)
		other := f.createApp(t, "Other", pay.Sandbox)
		appID := app.Application.ID

		p, err := f.svc.AddProduct(ctx, merchant.NewProduct{
			ApplicationID: appID, StoreCode: " MUG-1 ", Title: " Mug ", Price: money.New(5000, "MAD"),
			ImageURL: "https://img.example.com/mug.png",
		})
		if err != nil {
			t.Fatal(err)
		}
		want := pay.Product{
			ID: p.ID, ApplicationID: appID, StoreCode: "MUG-1", Title: "Mug", Price: money.New(5000, "MAD"),
			ImageURL: "https://img.example.com/mug.png", CreatedAt: start,
		}
		if diff := cmp.Diff(want, p); diff != "" {
			t.Errorf("AddProduct returned (-want +got):\n%s", diff)
		}
		if !strings.HasPrefix(p.ID, pay.PrefixProduct+"_") {
			t.Errorf("product id %q lacks prefix %s_", p.ID, pay.PrefixProduct)
		}
		stored, err := st.ProductByStoreCode(ctx, appID, "MUG-1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, stored); diff != "" {
			t.Errorf("stored product (-want +got):\n%s", diff)
		}

		// A product without an image, and the same store code in another
		// application, are both fine.
		for _, req := range []merchant.NewProduct{
			{ApplicationID: appID, StoreCode: "CUP", Title: "Cup", Price: money.New(1, "KWD")},
			{ApplicationID: other.Application.ID, StoreCode: "MUG-1", Title: "Mug", Price: money.New(100, "JPY"), ImageURL: "http://img.example.com/m.png"},
		} {
			if _, err := f.svc.AddProduct(ctx, req); err != nil {
				t.Errorf("AddProduct(%+v): %v", req, err)
			}
		}

		valid := merchant.NewProduct{ApplicationID: appID, StoreCode: "TEE", Title: "T-shirt", Price: money.New(9900, "MAD")}
		tests := []struct {
			name   string
			change func(*merchant.NewProduct)
			kind   pay.Kind
			code   string
		}{
			{"duplicate store code", func(r *merchant.NewProduct) { r.StoreCode = "MUG-1" }, pay.Conflict, "store_code_taken"},
			{"duplicate after trimming", func(r *merchant.NewProduct) { r.StoreCode = "  MUG-1" }, pay.Conflict, "store_code_taken"},
			{"zero price", func(r *merchant.NewProduct) { r.Price = money.New(0, "MAD") }, pay.Invalid, "invalid_price"},
			{"negative price", func(r *merchant.NewProduct) { r.Price = money.New(-100, "MAD") }, pay.Invalid, "invalid_price"},
			{"no currency", func(r *merchant.NewProduct) { r.Price = money.New(100, "") }, pay.Invalid, "invalid_currency"},
			{"unknown currency", func(r *merchant.NewProduct) { r.Price = money.New(100, "XYZ") }, pay.Invalid, "invalid_currency"},
			{"lower-case currency", func(r *merchant.NewProduct) { r.Price = money.New(100, "mad") }, pay.Invalid, "invalid_currency"},
			{"empty store code", func(r *merchant.NewProduct) { r.StoreCode = "" }, pay.Invalid, "invalid_store_code"},
			{"blank store code", func(r *merchant.NewProduct) { r.StoreCode = "  " }, pay.Invalid, "invalid_store_code"},
			{"empty title", func(r *merchant.NewProduct) { r.Title = "" }, pay.Invalid, "invalid_title"},
			{"blank title", func(r *merchant.NewProduct) { r.Title = "\t" }, pay.Invalid, "invalid_title"},
			{"javascript image", func(r *merchant.NewProduct) { r.ImageURL = "javascript:alert(1)" }, pay.Invalid, "invalid_url"},
			{"relative image path", func(r *merchant.NewProduct) { r.ImageURL = "/img/tee.png" }, pay.Invalid, "invalid_url"},
			{"bare image name", func(r *merchant.NewProduct) { r.ImageURL = "tee.png" }, pay.Invalid, "invalid_url"},
			{"scheme-relative image", func(r *merchant.NewProduct) { r.ImageURL = "//img.example.com/tee.png" }, pay.Invalid, "invalid_url"},
			{"data image", func(r *merchant.NewProduct) { r.ImageURL = "data:image/png;base64,AAAA" }, pay.Invalid, "invalid_url"},
			{"ftp image", func(r *merchant.NewProduct) { r.ImageURL = "ftp://img.example.com/tee.png" }, pay.Invalid, "invalid_url"},
			{"image with userinfo", func(r *merchant.NewProduct) { r.ImageURL = "https://u:p@img.example.com/tee.png" }, pay.Invalid, "invalid_url"},
			{"unknown app", func(r *merchant.NewProduct) { r.ApplicationID = "app_missing" }, pay.NotFound, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req := valid
				tt.change(&req)
				p, err := f.svc.AddProduct(ctx, req)
				wantError(t, err, tt.kind, tt.code)
				if p.ID != "" {
					t.Errorf("a product came back with the error: %+v", p)
				}
				if code := strings.TrimSpace(req.StoreCode); code != "MUG-1" {
					if _, err := st.ProductByStoreCode(ctx, req.ApplicationID, code); pay.KindOf(err) != pay.NotFound {
						t.Errorf("product %q after a refused request: err = %v, want NotFound", code, err)
					}
				}
			})
		}
		// The refused duplicate left the original alone.
		again, err := st.ProductByStoreCode(ctx, appID, "MUG-1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, again); diff != "" {
			t.Errorf("MUG-1 after the refused duplicate (-want +got):\n%s", diff)
		}
	})
}

func TestAddWebhook(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		app := f.createApp(t, "Web", pay.Sandbox)
		appID := app.Application.ID
		secretPattern := regexp.MustCompile(`^whsec_[0-9A-Za-z]{32}$`)

		accepted := []merchant.NewWebhook{
			{ApplicationID: appID, Environment: pay.Sandbox, URL: "http://localhost:9000/hook", Format: pay.WebhookCheckout},
			{ApplicationID: appID, Environment: pay.Sandbox, URL: "https://shop.example.com/hooks", Format: pay.WebhookPayment},
			{ApplicationID: appID, Environment: pay.Live, URL: "https://shop.example.com/hooks?src=sakk", Format: pay.WebhookPayment},
		}
		secrets := map[string]bool{}
		want := map[pay.Environment][]pay.WebhookEndpoint{}
		for i, req := range accepted {
			// Endpoints list in the order they were added.
			at := start.Add(time.Duration(i) * time.Second)
			f.clock.Set(at)
			w, secret, err := f.svc.AddWebhook(ctx, req)
			if err != nil {
				t.Fatalf("AddWebhook(%+v): %v", req, err)
			}
			if !secretPattern.MatchString(secret) || secrets[secret] {
				t.Errorf("secret %q: want a fresh whsec_ and 32 base-62 characters", secret)
			}
			secrets[secret] = true
			if w.SealedSecret == secret || strings.Contains(w.SealedSecret, secret[len("whsec_"):]) {
				t.Errorf("SealedSecret %q holds the secret %q in the clear", w.SealedSecret, secret)
			}
			opened, err := f.box.Open(w.SealedSecret)
			if err != nil || opened != secret {
				t.Errorf("vault.Open(SealedSecret) = %q, %v; want %q", opened, err, secret)
			}
			wantW := pay.WebhookEndpoint{
				ID: w.ID, ApplicationID: appID, Environment: req.Environment, URL: req.URL, Format: req.Format,
				SealedSecret: w.SealedSecret, Enabled: true, CreatedAt: at,
			}
			if diff := cmp.Diff(wantW, w); diff != "" {
				t.Errorf("AddWebhook returned (-want +got):\n%s", diff)
			}
			want[req.Environment] = append(want[req.Environment], wantW)
		}
		other, err := vault.New(vault.NewKey())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.Open(want[pay.Live][0].SealedSecret); err == nil {
			t.Error("a box with another key opened the sealed secret")
		}

		check := func() {
			t.Helper()
			for _, env := range []pay.Environment{pay.Sandbox, pay.Live} {
				got, err := st.WebhookEndpoints(ctx, appID, env)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want[env], got); diff != "" {
					t.Errorf("stored %s endpoints (-want +got):\n%s", env, diff)
				}
			}
		}
		check()

		valid := merchant.NewWebhook{ApplicationID: appID, Environment: pay.Live, URL: "https://shop.example.com/live", Format: pay.WebhookCheckout}
		tests := []struct {
			name   string
			change func(*merchant.NewWebhook)
			kind   pay.Kind
			code   string
		}{
			{"live over http", func(r *merchant.NewWebhook) { r.URL = "http://shop.example.com/live" }, pay.Invalid, "invalid_url"},
			{"live to localhost over http", func(r *merchant.NewWebhook) { r.URL = "http://localhost:9000/hook" }, pay.Invalid, "invalid_url"},
			{"userinfo", func(r *merchant.NewWebhook) { r.URL = "https://user:pass@shop.example.com/live" }, pay.Invalid, "invalid_url"},
			{"user only", func(r *merchant.NewWebhook) { r.URL = "https://user@shop.example.com/live" }, pay.Invalid, "invalid_url"},
			{"sandbox userinfo", func(r *merchant.NewWebhook) { r.Environment, r.URL = pay.Sandbox, "http://u:p@localhost:9000/hook" }, pay.Invalid, "invalid_url"},
			{"no scheme", func(r *merchant.NewWebhook) { r.Environment, r.URL = pay.Sandbox, "localhost:9000/hook" }, pay.Invalid, "invalid_url"},
			{"relative", func(r *merchant.NewWebhook) { r.Environment, r.URL = pay.Sandbox, "/hook" }, pay.Invalid, "invalid_url"},
			{"ftp", func(r *merchant.NewWebhook) { r.Environment, r.URL = pay.Sandbox, "ftp://shop.example.com/hook" }, pay.Invalid, "invalid_url"},
			{"empty URL", func(r *merchant.NewWebhook) { r.URL = "" }, pay.Invalid, "invalid_url"},
			{"no format", func(r *merchant.NewWebhook) { r.Format = "" }, pay.Invalid, "invalid_format"},
			{"unknown format", func(r *merchant.NewWebhook) { r.Format = "json" }, pay.Invalid, "invalid_format"},
			{"no environment", func(r *merchant.NewWebhook) { r.Environment = "" }, pay.Invalid, "invalid_environment"},
			{"unknown environment", func(r *merchant.NewWebhook) { r.Environment = "test" }, pay.Invalid, "invalid_environment"},
			{"unknown app", func(r *merchant.NewWebhook) { r.ApplicationID = "app_missing" }, pay.NotFound, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req := valid
				tt.change(&req)
				w, secret, err := f.svc.AddWebhook(ctx, req)
				wantError(t, err, tt.kind, tt.code)
				if w.ID != "" || secret != "" {
					t.Errorf("an endpoint came back with the error: %+v, secret %q", w, secret)
				}
				check()
			})
		}
	})
}
