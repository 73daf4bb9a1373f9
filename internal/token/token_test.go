package token_test

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/testclock"
	"github.com/sakkhq/sakk/internal/token"
	"github.com/sakkhq/sakk/internal/vault"
)

// start is the test clock's first reading: whole seconds, as JWT times are.
var start = time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)

func newClock() *testclock.Clock { return testclock.New(start) }

func newBox(t testing.TB) *vault.Box {
	t.Helper()
	box, err := vault.New(vault.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// instances opens n stores on one fresh, migrated database of engine, as n
// sakk processes sharing it would.
func instances(t *testing.T, engine store.Engine, n int) ([]*store.Store, store.Options) {
	t.Helper()
	opts := storetest.Options(t, engine)
	var sts []*store.Store
	for range n {
		st, err := store.Open(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		sts = append(sts, st)
	}
	return sts, opts
}

// eachInstances runs f per engine with n stores on one database.
func eachInstances(t *testing.T, n int, f func(t *testing.T, sts []*store.Store, opts store.Options)) {
	t.Helper()
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			sts, opts := instances(t, engine, n)
			f(t, sts, opts)
		})
	}
}

func issue(t *testing.T, r *token.Ring, c token.Claims, ttl time.Duration) string {
	t.Helper()
	tok, _, err := r.Issue(t.Context(), c, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func session() token.Claims {
	return token.Claims{Type: token.TypeSession, ApplicationID: "app_1", Environment: pay.Sandbox, SessionID: "sess_1"}
}

func wantInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if pay.KindOf(err) != pay.Unauthenticated || pay.CodeOf(err) != "invalid_token" {
		t.Errorf("%s: err = %v (kind %v, code %q), want unauthenticated invalid_token", what, err, pay.KindOf(err), pay.CodeOf(err))
	}
}

func wantValid(t *testing.T, r *token.Ring, what, tok string, want token.Type) token.Claims {
	t.Helper()
	c, err := r.Verify(t.Context(), tok, want)
	if err != nil {
		t.Errorf("%s: %v, want valid", what, err)
	}
	return c
}

// parts splits a token and decodes its header and payload.
func parts(t *testing.T, tok string) (header, payload map[string]any, segs []string) {
	t.Helper()
	segs = strings.Split(tok, ".")
	if len(segs) != 3 {
		t.Fatalf("token %q has %d segments", tok, len(segs))
	}
	for i, into := range []*map[string]any{&header, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(segs[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatal(err)
		}
	}
	return header, payload, segs
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	h, _, _ := parts(t, tok)
	kid, _ := h["kid"].(string)
	return kid
}

func b64json(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		clk := newClock()
		r := token.NewRing(st, newBox(t), clk.Now, token.Options{})
		tests := []struct {
			name   string
			claims token.Claims
			ttl    time.Duration
		}{
			{"session", session(), time.Hour},
			{"sdk", token.Claims{
				Type: token.TypeSDK, ApplicationID: "app_2", Environment: pay.Live, IntegrationType: "frontend",
				Permissions: []string{"payment:create_session", "payment:send_otp"}, Modules: []string{"web", "cart"},
				Origin: "https://shop.example.com",
			}, time.Hour},
			{"verification", token.Claims{
				Type: token.TypeVerification, ApplicationID: "app_3", Environment: pay.Sandbox, SessionID: "sess_3",
				Identifier: "buyer@example.com", Channel: "email",
			}, 5 * time.Minute},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tok, exp, err := r.Issue(t.Context(), tt.claims, tt.ttl)
				if err != nil {
					t.Fatal(err)
				}
				if want := start.Add(tt.ttl); !exp.Equal(want) {
					t.Errorf("Issue returned exp %v, want %v", exp, want)
				}
				want := tt.claims
				want.IssuedAt, want.ExpiresAt = start, start.Add(tt.ttl)
				for _, pass := range []string{"first (signature)", "second (cache)"} {
					got, err := r.Verify(t.Context(), tok, tt.claims.Type)
					if err != nil {
						t.Fatalf("%s verify: %v", pass, err)
					}
					if got.ID == "" {
						t.Errorf("%s verify: no jti", pass)
					}
					want.ID = got.ID
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("%s verify: -want +got\n%s", pass, diff)
					}
					// A caller changing its copy changes nothing cached.
					if len(got.Permissions) > 0 {
						got.Permissions[0] = "changed"
					}
				}
				_, payload, _ := parts(t, tok)
				if payload["iss"] != "sakk" || payload["typ"] != string(tt.claims.Type) {
					t.Errorf("payload %v: want iss sakk and typ %s", payload, tt.claims.Type)
				}
			})
		}
		// Two tokens of the same claims differ (jti).
		if a, b := issue(t, r, session(), time.Hour), issue(t, r, session(), time.Hour); a == b {
			t.Error("two tokens issued the same second are equal")
		}
	})
}

// A token is only ever accepted as what it was issued as, whether it is
// checked for the first time or found in the cache.
func TestTypeConfusionRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r := token.NewRing(st, newBox(t), newClock().Now, token.Options{})
		types := []token.Type{token.TypeSession, token.TypeSDK, token.TypeVerification, "", "other"}
		for _, issued := range types[:3] {
			c := session()
			c.Type = issued
			tok := issue(t, r, c, time.Hour)
			for _, pass := range []string{"cold", "warm"} {
				for _, want := range types {
					if want == issued {
						continue
					}
					_, err := r.Verify(t.Context(), tok, want)
					wantInvalid(t, pass+": "+string(issued)+" token verified as "+string(want), err)
				}
				wantValid(t, r, pass+": "+string(issued)+" token as itself", tok, issued)
			}
		}
	})
}

func TestExpiredRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		clk := newClock()
		r := token.NewRing(st, newBox(t), clk.Now, token.Options{})
		tok := issue(t, r, session(), time.Hour)
		clk.Advance(59 * time.Minute)
		wantValid(t, r, "before exp", tok, token.TypeSession)
		clk.Advance(time.Minute + 29*time.Second)
		wantValid(t, r, "within the leeway after exp", tok, token.TypeSession)
		clk.Advance(2 * time.Second)
		_, err := r.Verify(t.Context(), tok, token.TypeSession)
		wantInvalid(t, "past exp and leeway (cached before)", err)
		_, err = r.Verify(t.Context(), tok, token.TypeSession)
		wantInvalid(t, "past exp and leeway (again)", err)

		// Issued in the future (beyond the leeway): refused.
		c := session()
		c.IssuedAt, c.ExpiresAt = clk.Now().Add(time.Minute), clk.Now().Add(time.Hour)
		future, err := r.Sign(t.Context(), c)
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Verify(t.Context(), future, token.TypeSession)
		wantInvalid(t, "iat a minute ahead", err)
	})
}

func TestTamperedRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		clk := newClock()
		r := token.NewRing(st, newBox(t), clk.Now, token.Options{})
		tok := issue(t, r, session(), time.Hour)
		wantValid(t, r, "original", tok, token.TypeSession)
		_, payload, segs := parts(t, tok)

		changed := func(name string, v any) string {
			p := map[string]any{}
			for k, x := range payload {
				p[k] = x
			}
			p[name] = v
			return segs[0] + "." + b64json(t, p) + "." + segs[2]
		}
		sig := []byte(segs[2])
		mid := len(sig) / 2
		if sig[mid] == 'A' {
			sig[mid] = 'B'
		} else {
			sig[mid] = 'A'
		}

		// Another key of the ring, to claim in the header.
		if _, err := r.Rotate(t.Context()); err != nil {
			t.Fatal(err)
		}
		otherKid := kidOf(t, issue(t, r, session(), time.Hour))
		tests := map[string]string{
			"payload app":           changed("app", "app_other"),
			"payload sid":           changed("sid", "sess_other"),
			"payload exp":           changed("exp", float64(clk.Now().Add(24*time.Hour).Unix())),
			"signature":             segs[0] + "." + segs[1] + "." + string(sig),
			"no signature":          segs[0] + "." + segs[1] + ".",
			"header kid":            b64json(t, map[string]string{"kid": otherKid, "alg": "EdDSA", "typ": "JWT"}) + "." + segs[1] + "." + segs[2],
			"four segments":         tok + "." + segs[2],
			"two segments":          segs[0] + "." + segs[1],
			"garbage":               "not a token",
			"empty":                 "",
			"base64 with padding":   tok + "==",
			"trailing padding bits": segs[0] + "." + segs[1] + "." + segs[2][:len(segs[2])-1] + "B",
		}
		for name, forged := range tests {
			_, err := r.Verify(t.Context(), forged, token.TypeSession)
			wantInvalid(t, name, err)
		}
		// Typed as an SDK token, checked as one.
		_, err := r.Verify(t.Context(), changed("typ", "sdk"), token.TypeSDK)
		wantInvalid(t, "payload typ", err)
	})
}

// Tokens claiming another algorithm are refused, including the classic
// confusion: HS256 with the public key as the HMAC secret.
func TestOtherAlgorithmsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		clk := newClock()
		r := token.NewRing(st, newBox(t), clk.Now, token.Options{})
		tok := issue(t, r, session(), time.Hour)
		_, _, segs := parts(t, tok)
		kid := kidOf(t, tok)
		var set struct {
			Keys []struct{ X string }
		}
		jwks, err := r.JWKS(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(jwks, &set); err != nil || len(set.Keys) != 1 {
			t.Fatalf("JWKS %s: %v", jwks, err)
		}
		rawPub, err := base64.RawURLEncoding.DecodeString(set.Keys[0].X)
		if err != nil {
			t.Fatal(err)
		}
		hs256 := func(secret []byte) string {
			h := b64json(t, map[string]string{"kid": kid, "alg": "HS256", "typ": "JWT"})
			mac := hmac.New(sha256.New, secret)
			mac.Write([]byte(h + "." + segs[1]))
			return h + "." + segs[1] + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
		}
		none := func(alg string) string {
			return b64json(t, map[string]string{"kid": kid, "alg": alg, "typ": "JWT"}) + "." + segs[1] + "."
		}
		tests := map[string]string{
			"none":                       none("none"),
			"None":                       none("None"),
			"empty alg":                  none(""),
			"HS256, raw public key":      hs256(rawPub),
			"HS256, base64url of key":    hs256([]byte(set.Keys[0].X)),
			"HS256, the JWKS":            hs256(jwks),
			"EdDSA header, HS256 digest": segs[0] + "." + segs[1] + "." + strings.Split(hs256(rawPub), ".")[2],
		}
		for name, forged := range tests {
			_, err := r.Verify(t.Context(), forged, token.TypeSession)
			wantInvalid(t, name, err)
		}
	})
}

func TestUnknownOrMissingKidRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		clk := newClock()
		r := token.NewRing(st, newBox(t), clk.Now, token.Options{})
		tok := issue(t, r, session(), time.Hour)
		_, _, segs := parts(t, tok)
		_, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		signed := func(header map[string]string) string {
			h := b64json(t, header)
			sig := ed25519.Sign(priv, []byte(h+"."+segs[1]))
			return h + "." + segs[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
		}
		tests := map[string]string{
			"unknown kid":         signed(map[string]string{"kid": "session-1999-01", "alg": "EdDSA", "typ": "JWT"}),
			"next kid":            signed(map[string]string{"kid": kidOf(t, tok) + "-2", "alg": "EdDSA", "typ": "JWT"}),
			"known kid, our key?": signed(map[string]string{"kid": kidOf(t, tok), "alg": "EdDSA", "typ": "JWT"}),
			"no kid":              signed(map[string]string{"alg": "EdDSA", "typ": "JWT"}),
		}
		for name, forged := range tests {
			for range 3 { // again, after the reload an unknown kid may cause
				_, err := r.Verify(t.Context(), forged, token.TypeSession)
				wantInvalid(t, name, err)
			}
			clk.Advance(6 * time.Second)
		}
	})
}

var kidPattern = regexp.MustCompile(`^session-\d{4}-\d{2}(-\d+)?$`)

// Keys are named for their month, numbered within it, never reused.
func TestKidNames(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		clk := newClock()
		r := token.NewRing(st, newBox(t), clk.Now, token.Options{})
		tok := issue(t, r, session(), time.Hour)
		header, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"kid":"session-2026-11","alg":"EdDSA","typ":"JWT"}`; string(header) != want {
			t.Errorf("header %s, want %s", header, want)
		}
		var kids []string
		for range 2 {
			kid, err := r.Rotate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			kids = append(kids, kid)
		}
		clk.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
		kid, err := r.Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(token.PublishLead)
		kids = append(kids, kid, kidOf(t, issue(t, r, session(), time.Hour)))
		if diff := cmp.Diff([]string{"session-2026-11-2", "session-2026-11-3", "session-2026-12", "session-2026-12"}, kids); diff != "" {
			t.Errorf("kids: -want +got\n%s", diff)
		}
		for _, kid := range kids {
			if !kidPattern.MatchString(kid) {
				t.Errorf("kid %q does not look like session-YYYY-MM[-N]", kid)
			}
		}
	})
}

// A rotation publishes the new key, which signs PublishLead later; tokens
// of the old key verify until they expire, and the old key itself is
// dropped MaxTokenTTL (plus a minute) after the new one starts.
func TestRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		clk := newClock()
		r := token.NewRing(st, newBox(t), clk.Now, token.Options{})
		old := issue(t, r, session(), 24*time.Hour)
		oldKid := kidOf(t, old)
		clk.Advance(time.Hour)
		rotatedAt := clk.Now()
		newKid, err := r.Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if newKid == oldKid {
			t.Fatalf("Rotate returned the old kid %s", oldKid)
		}
		// Published first, the new key signs once every instance has read
		// it; until then the old one signs.
		if got := kidOf(t, issue(t, r, session(), time.Hour)); got != oldKid {
			t.Errorf("right after rotation, signed with %s, want still %s", got, oldKid)
		}
		wantValid(t, r, "old token right after rotation", old, token.TypeSession)
		clk.Advance(token.PublishLead)
		if got := kidOf(t, issue(t, r, session(), time.Hour)); got != newKid {
			t.Errorf("after the rotation took effect, signed with %s, want %s", got, newKid)
		}
		rotatedAt = rotatedAt.Add(token.PublishLead)

		keys, err := st.SigningKeys(ctx, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		var oldExpires time.Time
		for _, k := range keys {
			if k.KID == oldKid {
				if !k.RetiresAt.Equal(rotatedAt) {
					t.Errorf("old key retires at %v, want when the new one signs, %v", k.RetiresAt, rotatedAt)
				}
				oldExpires = k.ExpiresAt
			}
		}
		if want := rotatedAt.Add(24*time.Hour + time.Minute); !oldExpires.Equal(want) {
			t.Errorf("old key expires at %v, want %v", oldExpires, want)
		}

		clk.Set(start.Add(24*time.Hour - time.Second))
		wantValid(t, r, "old token just before its exp", old, token.TypeSession)
		clk.Set(start.Add(24*time.Hour + 31*time.Second))
		_, err = r.Verify(ctx, old, token.TypeSession)
		wantInvalid(t, "old token after its exp", err)

		if got := jwksKids(t, r); !cmp.Equal(got, []string{newKid, oldKid}) {
			t.Errorf("JWKS before the old key expires: %v", got)
		}
		clk.Set(oldExpires)
		if got := jwksKids(t, r); !cmp.Equal(got, []string{newKid}) {
			t.Errorf("JWKS once the old key expired: %v, want [%s]", got, newKid)
		}
	})
}

// RotateNow's key signs at once; the old key's tokens keep verifying.
func TestRotateNow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		clk := newClock()
		r := token.NewRing(st, newBox(t), clk.Now, token.Options{})
		old := issue(t, r, session(), time.Hour)
		kid, err := r.RotateNow(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got := kidOf(t, issue(t, r, session(), time.Hour)); got != kid || got == kidOf(t, old) {
			t.Errorf("right after RotateNow, signed with %s, want %s", got, kid)
		}
		wantValid(t, r, "the old key's token", old, token.TypeSession)
	})
}

// With no rotation by hand, the ring publishes the next key as the signing
// one nears its retirement, to sign from then; tokens of the retired key
// still verify.
func TestAutomaticRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		clk := newClock()
		r := token.NewRing(st, newBox(t), clk.Now, token.Options{RotateEvery: 48 * time.Hour, MaxTokenTTL: time.Hour})
		first := kidOf(t, issue(t, r, session(), time.Hour))
		clk.Advance(48*time.Hour - 30*time.Minute)
		late := issue(t, r, session(), time.Hour)
		if got := kidOf(t, late); got != first {
			t.Errorf("before retirement, signed with %s, want %s", got, first)
		}
		clk.Advance(30*time.Minute - 30*time.Second)
		if got := kidOf(t, issue(t, r, session(), time.Hour)); got != first {
			t.Errorf("half a minute before retirement, signed with %s, want %s", got, first)
		}
		if got := jwksKids(t, r); !cmp.Equal(got, []string{first + "-2", first}) {
			t.Errorf("JWKS half a minute before retirement: %v, want the successor published", got)
		}
		clk.Advance(31 * time.Second)
		second := kidOf(t, issue(t, r, session(), time.Hour))
		if second == first || second != first+"-2" {
			t.Errorf("after retirement, signed with %s, want %s-2", second, first)
		}
		wantValid(t, r, "token of the retired key", late, token.TypeSession)
		clk.Advance(time.Hour + time.Minute)
		if got := jwksKids(t, r); !cmp.Equal(got, []string{second}) {
			t.Errorf("JWKS once the retired key expired: %v, want [%s]", got, second)
		}
	})
}

func jwksKids(t *testing.T, r *token.Ring) []string {
	t.Helper()
	b, err := r.JWKS(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct{ KID string }
	}
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	kids := []string{}
	for _, k := range set.Keys {
		kids = append(kids, k.KID)
	}
	return kids
}

// Two instances on one database verify each other's tokens, including
// tokens of keys created after they started, at once.
func TestSecondInstance(t *testing.T) {
	eachInstances(t, 2, func(t *testing.T, sts []*store.Store, _ store.Options) {
		ctx := t.Context()
		clk := newClock()
		box := newBox(t)
		one := token.NewRing(sts[0], box, clk.Now, token.Options{})
		two := token.NewRing(sts[1], box, clk.Now, token.Options{})

		// The very first key signs at once (no token exists yet): an
		// instance that read the keys before it sees its kid as unknown,
		// and reads them again at once, or MissReloadEvery after its last
		// read at most.
		if _, err := two.JWKS(ctx); err != nil {
			t.Fatal(err)
		}
		a := issue(t, one, session(), time.Hour)
		clk.Advance(token.MissReloadEvery)
		wantValid(t, two, "first key's token on the second instance", a, token.TypeSession)

		// A rotation publishes the new key ahead: tokens signed right
		// after it verify on the other instance at once (the old key still
		// signs), and when the new key signs, every instance has read it.
		kid2, err := one.Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b := issue(t, one, session(), time.Hour)
		if got := kidOf(t, b); got != kidOf(t, a) {
			t.Errorf("right after the rotation, signed with %s, want still %s", got, kidOf(t, a))
		}
		wantValid(t, two, "a token signed right after the rotation", b, token.TypeSession)
		clk.Advance(token.PublishLead)
		b2 := issue(t, one, session(), time.Hour)
		if got := kidOf(t, b2); got != kid2 {
			t.Errorf("once the rotation took effect, the first instance signs with %s, want %s", got, kid2)
		}
		wantValid(t, two, "the new key's first token on the second instance", b2, token.TypeSession)
		if got := kidOf(t, issue(t, two, session(), time.Hour)); got != kid2 {
			t.Errorf("second instance signs with %s, want the new %s", got, kid2)
		}

		// The other way round: the second instance rotates.
		kid3, err := two.Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c := issue(t, two, session(), time.Hour)
		wantValid(t, one, "second instance's token right after its rotation", c, token.TypeSession)
		clk.Advance(token.PublishLead)
		d := issue(t, one, session(), time.Hour)
		if got := kidOf(t, d); got != kid3 {
			t.Errorf("first instance signs with %s once the second's rotation took effect, want %s", got, kid3)
		}
		wantValid(t, two, "the first instance's token of the second's new key", d, token.TypeSession)
		for _, tok := range []string{a, b, b2, c, d} {
			wantValid(t, one, "first instance", tok, token.TypeSession)
			wantValid(t, two, "second instance", tok, token.TypeSession)
		}
	})
}

// Instances starting together on an empty database, each signing from
// several goroutines at once, create one key between them.
func TestConcurrentFirstSignCreatesOneKey(t *testing.T) {
	eachInstances(t, 2, func(t *testing.T, sts []*store.Store, _ store.Options) {
		clk := newClock()
		box := newBox(t)
		rings := []*token.Ring{
			token.NewRing(sts[0], box, clk.Now, token.Options{}),
			token.NewRing(sts[1], box, clk.Now, token.Options{}),
		}
		const perRing = 8
		toks := make([]string, 2*perRing)
		ready := make(chan struct{})
		var wg sync.WaitGroup
		for i := range toks {
			wg.Go(func() {
				<-ready
				tok, _, err := rings[i%2].Issue(t.Context(), session(), time.Hour)
				if err != nil {
					t.Error(err)
				}
				toks[i] = tok
			})
		}
		close(ready)
		wg.Wait()
		if t.Failed() {
			return
		}
		keys, err := sts[0].SigningKeys(t.Context(), clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 {
			t.Fatalf("%d keys created, want 1", len(keys))
		}
		for _, tok := range toks {
			if kid := kidOf(t, tok); kid != keys[0].KID {
				t.Errorf("token signed with %s, want %s", kid, keys[0].KID)
			}
			wantValid(t, rings[0], "first ring", tok, token.TypeSession)
			wantValid(t, rings[1], "second ring", tok, token.TypeSession)
		}
	})
}

// The private key is stored sealed: the database alone does not reveal
// it, the vault opens it, and a ring with another encryption key cannot
// sign (but still verifies).
func TestPrivateKeyStoredSealed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		clk := newClock()
		box := newBox(t)
		r := token.NewRing(st, box, clk.Now, token.Options{})
		tok := issue(t, r, session(), time.Hour)
		keys, err := st.SigningKeys(ctx, clk.Now())
		if err != nil || len(keys) != 1 {
			t.Fatalf("keys %v, %v", keys, err)
		}
		k := keys[0]
		if k.Algorithm != "EdDSA" {
			t.Errorf("algorithm %q, want EdDSA", k.Algorithm)
		}
		seed, err := box.Open(k.SealedPrivateKey)
		if err != nil {
			t.Fatalf("the vault does not open the stored private key: %v", err)
		}
		if len(seed) != ed25519.SeedSize {
			t.Fatalf("opened private key has %d bytes, want a %d-byte seed", len(seed), ed25519.SeedSize)
		}
		priv := ed25519.NewKeyFromSeed([]byte(seed))
		pub := priv.Public().(ed25519.PublicKey)
		if got := base64.RawURLEncoding.EncodeToString(pub); got != k.PublicKey {
			t.Errorf("the sealed private key's public half %s is not the stored public key %s", got, k.PublicKey)
		}
		for name, clear := range map[string][]byte{"seed": []byte(seed), "private key": priv} {
			for _, enc := range []string{
				string(clear), base64.StdEncoding.EncodeToString(clear), base64.RawStdEncoding.EncodeToString(clear),
				base64.RawURLEncoding.EncodeToString(clear), strings.ToLower(hexString(clear)),
			} {
				if strings.Contains(k.SealedPrivateKey, enc) {
					t.Errorf("the stored private key contains the %s in clear (%q)", name, enc)
				}
			}
		}
		// The stored private key signs what the stored public key verifies.
		_, _, segs := parts(t, tok)
		sig := ed25519.Sign(priv, []byte(segs[0]+"."+segs[1]))
		if got := base64.RawURLEncoding.EncodeToString(sig); got != segs[2] {
			t.Error("the stored private key is not the one that signed the token")
		}

		other := token.NewRing(st, newBox(t), clk.Now, token.Options{})
		if _, _, err := other.Issue(ctx, session(), time.Hour); err == nil {
			t.Error("a ring with another encryption key signed a token")
		}
		wantValid(t, other, "verify on a ring with another encryption key", tok, token.TypeSession)
	})
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	s := make([]byte, 0, 2*len(b))
	for _, c := range b {
		s = append(s, digits[c>>4], digits[c&15])
	}
	return string(s)
}

// The JWKS lists exactly the keys not yet expired, in the RFC 8037 form,
// and a plain Ed25519 check with its key verifies a token.
func TestJWKS(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		clk := newClock()
		r := token.NewRing(st, newBox(t), clk.Now, token.Options{})
		empty, err := r.JWKS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(empty) != `{"keys":[]}` {
			t.Errorf("JWKS of an empty store: %s", empty)
		}
		k1 := kidOf(t, issue(t, r, session(), time.Hour))
		clk.Advance(2 * time.Hour)
		k2, err := r.Rotate(ctx) // k1 expires 24h01m after k2 signs
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(23 * time.Hour)
		k3, err := r.Rotate(ctx) // k2 expires 24h01m after k3 signs
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Hour + 2*time.Minute + token.PublishLead) // k1 expired a minute ago
		tok := issue(t, r, session(), time.Hour)

		b, err := r.JWKS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var set struct {
			Keys []map[string]string `json:"keys"`
		}
		if err := json.Unmarshal(b, &set); err != nil {
			t.Fatal(err)
		}
		stored, err := st.SigningKeys(ctx, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		var want []map[string]string
		for _, k := range stored {
			want = append(want, map[string]string{"kty": "OKP", "crv": "Ed25519", "x": k.PublicKey, "kid": k.KID, "alg": "EdDSA", "use": "sig"})
		}
		if diff := cmp.Diff(want, set.Keys); diff != "" {
			t.Errorf("JWKS: -want +got\n%s", diff)
		}
		if got := jwksKids(t, r); !cmp.Equal(got, []string{k3, k2}) {
			t.Errorf("JWKS kids %v, want [%s %s] (not the expired %s)", got, k3, k2, k1)
		}

		// Verify tok the way a merchant's code would: find its kid in the
		// JWKS, check the Ed25519 signature over "header.payload".
		h, payload, segs := parts(t, tok)
		var x string
		for _, k := range set.Keys {
			if k["kid"] == h["kid"] {
				x = k["x"]
			}
		}
		pub, err := base64.RawURLEncoding.DecodeString(x)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			t.Fatalf("JWKS key for %v: %q, %v", h["kid"], x, err)
		}
		sig, err := base64.RawURLEncoding.DecodeString(segs[2])
		if err != nil {
			t.Fatal(err)
		}
		if h["alg"] != "EdDSA" || !ed25519.Verify(ed25519.PublicKey(pub), []byte(segs[0]+"."+segs[1]), sig) {
			t.Errorf("token does not verify with its JWKS key (header %v)", h)
		}
		if exp, _ := payload["exp"].(float64); int64(exp) != clk.Now().Add(time.Hour).Unix() {
			t.Errorf("payload exp %v, want %d", payload["exp"], clk.Now().Add(time.Hour).Unix())
		}
	})
}

// A verified token is cached, but once its key is gone from the store (an
// operator removing a compromised key), it is refused within a minute.
func TestCachedTokenRefusedOnceItsKeyIsGone(t *testing.T) {
	eachInstances(t, 1, func(t *testing.T, sts []*store.Store, opts store.Options) {
		clk := newClock()
		r := token.NewRing(sts[0], newBox(t), clk.Now, token.Options{})
		tok := issue(t, r, session(), time.Hour)
		kid := kidOf(t, tok)
		wantValid(t, r, "before removal", tok, token.TypeSession)

		driver, dsn := "pgx", opts.Database
		if dsn == "" {
			driver, dsn = "sqlite", filepath.Join(opts.DataDir, "sakk.db")
		}
		db, err := sql.Open(driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.ExecContext(t.Context(), `DELETE FROM signing_keys WHERE kid = $1`, kid); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute + time.Second)
		_, err = r.Verify(t.Context(), tok, token.TypeSession)
		wantInvalid(t, "cached token after its key was removed", err)
	})
}

func TestIssueAndSignRefuseBadClaims(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	clk := newClock()
	r := token.NewRing(st, newBox(t), clk.Now, token.Options{MaxTokenTTL: 2 * time.Hour})
	ctx := t.Context()
	for _, ttl := range []time.Duration{0, -time.Second, 2*time.Hour + time.Second} {
		if _, _, err := r.Issue(ctx, session(), ttl); err == nil {
			t.Errorf("Issue with lifetime %v: no error", ttl)
		}
	}
	if _, _, err := r.Issue(ctx, session(), 2*time.Hour); err != nil {
		t.Errorf("Issue with the longest lifetime: %v", err)
	}
	noType := session()
	noType.Type = ""
	if _, _, err := r.Issue(ctx, noType, time.Hour); err == nil {
		t.Error("Issue without a type: no error")
	}
	if _, err := r.Sign(ctx, session()); err == nil {
		t.Error("Sign without an expiry: no error")
	}
}

// Prune deletes keys expired over a week ago, but never one of the
// current month, so a kid is never given twice.
func TestPrune(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		clk := newClock()
		clk.Set(time.Date(2026, 10, 10, 0, 0, 0, 0, time.UTC))
		r := token.NewRing(st, newBox(t), clk.Now, token.Options{})
		issue(t, r, session(), time.Hour) // session-2026-10
		clk.Advance(10 * 24 * time.Hour)
		if _, err := r.Rotate(ctx); err != nil { // session-2026-10-2; the first expires Oct 21
			t.Fatal(err)
		}
		clk.Set(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
		// session-2026-11, retired (expiring Nov 2) by session-2026-11-2.
		// Creating a key prunes too: session-2026-10 (expired Oct 21) goes.
		for range 2 {
			if _, err := r.Rotate(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := storedKids(t, st); !cmp.Equal(got, []string{"session-2026-11-2", "session-2026-11", "session-2026-10-2"}) {
			t.Errorf("keys before Prune: %v", got)
		}
		clk.Set(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
		n, err := r.Prune(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Gone: session-2026-10-2 (expired Nov 2, created in October).
		// Kept: session-2026-11, expired as long ago but of this month.
		if got := storedKids(t, st); n != 1 || !cmp.Equal(got, []string{"session-2026-11-2", "session-2026-11"}) {
			t.Errorf("Prune deleted %d keys, leaving %v; want 1, leaving session-2026-11-2 and session-2026-11", n, got)
		}
		kid, err := r.Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if kid != "session-2026-11-3" {
			t.Errorf("after pruning, the next key is %s, want session-2026-11-3", kid)
		}
	})
}

// storedKids lists the kids of every stored key, expired ones included,
// newest first.
func storedKids(t *testing.T, st *store.Store) []string {
	t.Helper()
	keys, err := st.SigningKeys(t.Context(), time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range keys {
		kids = append(kids, k.KID)
	}
	return kids
}
