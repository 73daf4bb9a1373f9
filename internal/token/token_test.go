package token_test

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
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

func b64json(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// storeKey writes a signing key row as given.
func storeKey(t testing.TB, st *store.Store, k store.SigningKey) {
	t.Helper()
	if err := st.WithTx(t.Context(), func(tx *store.Tx) error { return tx.CreateSigningKey(t.Context(), k) }); err != nil {
		t.Fatal(err)
	}
}

// legacyKey stores an EdDSA key the way the versions that signed EdDSA did
// (the Ed25519 seed sealed, the public key in unpadded base64url, expiring
// a day and a minute after it retires), and returns its private key, to
// sign tokens with by hand.
func legacyKey(t testing.TB, st *store.Store, box *vault.Box, kid string, signsFrom, retires time.Time) ed25519.PrivateKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	storeKey(t, st, store.SigningKey{
		KID: kid, Algorithm: "EdDSA", PublicKey: base64.RawURLEncoding.EncodeToString(pub),
		SealedPrivateKey: box.Seal(string(priv.Seed())),
		CreatedAt:        signsFrom.Add(-time.Minute), SignsFrom: signsFrom, RetiresAt: retires, ExpiresAt: retires.Add(24*time.Hour + time.Minute),
	})
	return priv
}

// storedSecret opens the sealed secret of the stored key kid.
func storedSecret(t testing.TB, st *store.Store, box *vault.Box, kid string) []byte {
	t.Helper()
	keys, err := st.SigningKeys(t.Context(), start)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.KID == kid {
			secret, err := box.Open(k.SealedPrivateKey)
			if err != nil {
				t.Fatal(err)
			}
			return []byte(secret)
		}
	}
	t.Fatalf("no stored key %s", kid)
	return nil
}

// signer signs a token's "header.payload".
type signer func(signing []byte) []byte

func hmacSigner(h func() hash.Hash, secret []byte) signer {
	return func(signing []byte) []byte {
		mac := hmac.New(h, secret)
		mac.Write(signing)
		return mac.Sum(nil)
	}
}

func ed25519Signer(priv ed25519.PrivateKey) signer {
	return func(signing []byte) []byte { return ed25519.Sign(priv, signing) }
}

// sessionPayload is the payload of a session token issued at iat for ttl,
// as the ring writes it.
func sessionPayload(iat time.Time, ttl time.Duration) map[string]any {
	return map[string]any{
		"typ": "session", "app": "app_1", "env": "sandbox", "sid": "sess_1", "iss": "sakk",
		"iat": iat.Unix(), "exp": iat.Add(ttl).Unix(), "jti": rand.Text(),
	}
}

// handToken signs payload by hand, under a header of alg and kid (none
// when kid is empty).
func handToken(t testing.TB, alg, kid string, payload map[string]any, sign signer) string {
	t.Helper()
	h := map[string]string{"alg": alg, "typ": "JWT"}
	if kid != "" {
		h["kid"] = kid
	}
	signing := b64json(t, h) + "." + b64json(t, payload)
	return signing + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(signing)))
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
			"header kid":            b64json(t, map[string]string{"kid": otherKid, "alg": "HS256", "typ": "JWT"}) + "." + segs[1] + "." + segs[2],
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

// A token's alg must be its key's, and one of the two sakk knows. Refused:
// HS256 tokens with a forged secret; HS256 tokens naming a legacy EdDSA
// key (the classic confusion: its public key as the HMAC secret); EdDSA
// tokens naming an HS256 key, whatever signs them (its secret as an
// Ed25519 seed, its HMAC, a real EdDSA key of the ring); "none"; and every
// other alg, even keyed with the real secret.
func TestOtherAlgorithmsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		clk := newClock()
		box := newBox(t)
		const legacyKid = "session-2026-10"
		legacy := legacyKey(t, st, box, legacyKid, start.Add(-20*24*time.Hour), start.Add(10*24*time.Hour))
		legacyPub := legacy.Public().(ed25519.PublicKey)
		r := token.NewRing(st, box, clk.Now, token.Options{})
		kid := kidOf(t, issue(t, r, session(), time.Hour))
		secret := storedSecret(t, st, box, kid)
		jwks, err := r.JWKS(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		payload := sessionPayload(clk.Now(), time.Hour)
		signed := func(alg, kid string, sign signer) string { return handToken(t, alg, kid, payload, sign) }
		junk := func([]byte) []byte { return make([]byte, 64) }

		// The forgeries below differ from these only in what they name or
		// sign with.
		wantValid(t, r, "HS256 signed with its key's secret", signed("HS256", kid, hmacSigner(sha256.New, secret)), token.TypeSession)
		wantValid(t, r, "EdDSA signed with the legacy key", signed("EdDSA", legacyKid, ed25519Signer(legacy)), token.TypeSession)

		tests := map[string]string{
			"none":                     signed("none", kid, func([]byte) []byte { return nil }),
			"None":                     signed("None", kid, func([]byte) []byte { return nil }),
			"empty alg":                signed("", kid, func([]byte) []byte { return nil }),
			"HS256, forged secret":     signed("HS256", kid, hmacSigner(sha256.New, []byte(rand.Text()+rand.Text()))),
			"HS256, empty secret":      signed("HS256", kid, hmacSigner(sha256.New, nil)),
			"HS256, the kid as secret": signed("HS256", kid, hmacSigner(sha256.New, []byte(kid))),
			"HS384, the secret":        signed("HS384", kid, hmacSigner(sha512.New384, secret)),
			"HS512, the secret":        signed("HS512", kid, hmacSigner(sha512.New, secret)),
			"RS256":                    signed("RS256", kid, junk),
			"ES256":                    signed("ES256", kid, junk),
			"PS256":                    signed("PS256", kid, junk),
			"Ed25519":                  signed("Ed25519", legacyKid, ed25519Signer(legacy)),
		}
		for name, forged := range tests {
			_, err := r.Verify(t.Context(), forged, token.TypeSession)
			wantInvalid(t, name, err)
		}

		// A token of one alg naming a key of the other: refused by the key
		// lookup, before any signature is checked.
		confused := map[string]string{
			"HS256 naming EdDSA, raw key":     signed("HS256", legacyKid, hmacSigner(sha256.New, legacyPub)),
			"HS256 naming EdDSA, base64url":   signed("HS256", legacyKid, hmacSigner(sha256.New, []byte(base64.RawURLEncoding.EncodeToString(legacyPub)))),
			"HS256 naming EdDSA, the JWKS":    signed("HS256", legacyKid, hmacSigner(sha256.New, jwks)),
			"HS256 naming EdDSA, its seed":    signed("HS256", legacyKid, hmacSigner(sha256.New, legacy.Seed())),
			"HS256 naming EdDSA, HS secret":   signed("HS256", legacyKid, hmacSigner(sha256.New, secret)),
			"EdDSA naming HS256, secret seed": signed("EdDSA", kid, ed25519Signer(ed25519.NewKeyFromSeed(secret))),
			"EdDSA naming HS256, its HMAC":    signed("EdDSA", kid, hmacSigner(sha256.New, secret)),
			"EdDSA naming HS256, legacy key":  signed("EdDSA", kid, ed25519Signer(legacy)),
		}
		for name, forged := range confused {
			_, err := r.Verify(t.Context(), forged, token.TypeSession)
			wantInvalid(t, name, err)
			if !errors.Is(err, jwt.ErrTokenUnverifiable) || errors.Is(err, jwt.ErrTokenSignatureInvalid) {
				t.Errorf("%s: refused by %v, want by the key lookup", name, err)
			}
		}
	})
}

func TestUnknownOrMissingKidRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		clk := newClock()
		r := token.NewRing(st, newBox(t), clk.Now, token.Options{})
		kid := kidOf(t, issue(t, r, session(), time.Hour))
		forgedSecret := hmacSigner(sha256.New, []byte(rand.Text()+rand.Text()))
		_, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		payload := sessionPayload(clk.Now(), time.Hour)
		tests := map[string]string{
			"unknown kid":         handToken(t, "HS256", "session-1999-01", payload, forgedSecret),
			"unknown EdDSA kid":   handToken(t, "EdDSA", "session-1999-02", payload, ed25519Signer(priv)),
			"next kid":            handToken(t, "HS256", kid+"-2", payload, forgedSecret),
			"known kid, our key?": handToken(t, "HS256", kid, payload, forgedSecret),
			"no kid":              handToken(t, "HS256", "", payload, forgedSecret),
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
		if want := `{"kid":"session-2026-11","alg":"HS256","typ":"JWT"}`; string(header) != want {
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

		if got := liveKids(t, st, clk.Now()); !cmp.Equal(got, []string{newKid, oldKid}) {
			t.Errorf("keys verifying before the old key expires: %v", got)
		}
		clk.Set(oldExpires)
		if got := liveKids(t, st, clk.Now()); !cmp.Equal(got, []string{newKid}) {
			t.Errorf("keys verifying once the old key expired: %v, want [%s]", got, newKid)
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
		if got := liveKids(t, st, clk.Now()); !cmp.Equal(got, []string{first + "-2", first}) {
			t.Errorf("keys half a minute before retirement: %v, want the successor published", got)
		}
		clk.Advance(31 * time.Second)
		second := kidOf(t, issue(t, r, session(), time.Hour))
		if second == first || second != first+"-2" {
			t.Errorf("after retirement, signed with %s, want %s-2", second, first)
		}
		wantValid(t, r, "token of the retired key", late, token.TypeSession)
		clk.Advance(time.Hour + time.Minute)
		if got := liveKids(t, st, clk.Now()); !cmp.Equal(got, []string{second}) {
			t.Errorf("keys once the retired key expired: %v, want [%s]", got, second)
		}
	})
}

// liveKids lists the kids of the stored keys that still verify at at,
// newest first.
func liveKids(t *testing.T, st *store.Store, at time.Time) []string {
	t.Helper()
	keys, err := st.SigningKeys(t.Context(), at)
	if err != nil {
		t.Fatal(err)
	}
	kids := []string{}
	for _, k := range keys {
		kids = append(kids, k.KID)
	}
	return kids
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

// Each key's secret is stored sealed: the database alone does not reveal
// it, and the vault opens it to the 32 bytes that sign the ring's tokens.
// A ring with another encryption key can neither sign nor verify them. A
// retired key whose secret cannot be opened refuses its tokens only; an
// upcoming one stops signing too.
func TestSecretStoredSealed(t *testing.T) {
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
		if k.Algorithm != "HS256" || k.PublicKey != "" {
			t.Errorf("algorithm %q, public key %q; want HS256 and none", k.Algorithm, k.PublicKey)
		}
		opened, err := box.Open(k.SealedPrivateKey)
		if err != nil {
			t.Fatalf("the vault does not open the stored secret: %v", err)
		}
		secret := []byte(opened)
		if len(secret) != 32 {
			t.Fatalf("opened secret has %d bytes, want 32", len(secret))
		}
		for _, enc := range []string{
			string(secret), base64.StdEncoding.EncodeToString(secret), base64.RawStdEncoding.EncodeToString(secret),
			base64.RawURLEncoding.EncodeToString(secret), strings.ToLower(hexString(secret)),
		} {
			if strings.Contains(k.SealedPrivateKey, enc) {
				t.Errorf("the stored key contains the secret in clear (%q)", enc)
			}
		}
		// The stored secret is the one that signed the token, and a token
		// signed with it by hand verifies.
		_, _, segs := parts(t, tok)
		if got := base64.RawURLEncoding.EncodeToString(hmacSigner(sha256.New, secret)([]byte(segs[0] + "." + segs[1]))); got != segs[2] {
			t.Error("the stored secret is not the one that signed the token")
		}
		hand := handToken(t, "HS256", k.KID, sessionPayload(clk.Now(), time.Hour), hmacSigner(sha256.New, secret))
		wantValid(t, r, "a token signed by hand with the stored secret", hand, token.TypeSession)

		other := token.NewRing(st, newBox(t), clk.Now, token.Options{})
		if _, _, err := other.Issue(ctx, session(), time.Hour); err == nil {
			t.Error("a ring with another encryption key signed a token")
		}
		_, err = other.Verify(ctx, tok, token.TypeSession)
		wantInvalid(t, "verify on a ring with another encryption key", err)

		// A retired key sealed under another encryption key.
		foreign, foreignSecret := newBox(t), []byte((rand.Text() + rand.Text())[:32])
		storeKey(t, st, store.SigningKey{
			KID: "session-2026-10", Algorithm: "HS256", SealedPrivateKey: foreign.Seal(string(foreignSecret)),
			CreatedAt: start.Add(-30 * 24 * time.Hour), SignsFrom: start.Add(-30 * 24 * time.Hour), RetiresAt: start.Add(-time.Hour), ExpiresAt: start.Add(23 * time.Hour),
		})
		fresh := token.NewRing(st, box, clk.Now, token.Options{})
		for name, secret := range map[string][]byte{"its secret": foreignSecret, "no secret": nil} {
			_, err = fresh.Verify(ctx, handToken(t, "HS256", "session-2026-10", sessionPayload(clk.Now(), time.Hour), hmacSigner(sha256.New, secret)), token.TypeSession)
			wantInvalid(t, "a token of the key whose secret cannot be opened, signed with "+name, err)
		}
		wantValid(t, fresh, "the signing key's token beside it", tok, token.TypeSession)
		if _, _, err := fresh.Issue(ctx, session(), time.Hour); err != nil {
			t.Errorf("a retired key that cannot be opened stopped signing: %v", err)
		}

		// An upcoming key sealed under another encryption key.
		storeKey(t, st, store.SigningKey{
			KID: "session-2026-11-2", Algorithm: "HS256", SealedPrivateKey: foreign.Seal(string(foreignSecret)),
			CreatedAt: start, SignsFrom: start.Add(time.Hour), RetiresAt: start.Add(30 * 24 * time.Hour), ExpiresAt: start.Add(31 * 24 * time.Hour),
		})
		fresh = token.NewRing(st, box, clk.Now, token.Options{})
		if _, _, err := fresh.Issue(ctx, session(), time.Hour); err == nil {
			t.Error("signed with an upcoming key that cannot be opened")
		}
		wantValid(t, fresh, "the signing key's token beside an upcoming key that cannot be opened", tok, token.TypeSession)
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

// Keys of a version that signed EdDSA, as it stored them: the tokens they
// signed keep verifying until they expire, and the JWKS (RFC 8037 form)
// lists the keys until they expire; they never sign. The first Sign
// creates an HS256 key that signs at once, and retires them, so that the
// JWKS is empty a day and a minute later.
func TestLegacyEdDSAKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		clk := newClock()
		box := newBox(t)
		empty, err := token.NewRing(st, box, clk.Now, token.Options{}).JWKS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(empty) != `{"keys":[]}` {
			t.Errorf("JWKS of an empty store: %s", empty)
		}

		// The old version's signing key, and the successor it published to
		// sign a minute from now.
		signing := legacyKey(t, st, box, "session-2026-11", start.Add(-9*24*time.Hour), start.Add(time.Minute))
		next := legacyKey(t, st, box, "session-2026-11-2", start.Add(time.Minute), start.Add(time.Minute+30*24*time.Hour))
		// A token it signed an hour ago, for a day.
		old := handToken(t, "EdDSA", "session-2026-11", sessionPayload(start.Add(-time.Hour), 24*time.Hour), ed25519Signer(signing))

		r := token.NewRing(st, box, clk.Now, token.Options{})
		wantValid(t, r, "the old version's token", old, token.TypeSession)
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
		jwk := func(kid string, priv ed25519.PrivateKey) map[string]string {
			x := base64.RawURLEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
			return map[string]string{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}
		}
		want := []map[string]string{jwk("session-2026-11-2", next), jwk("session-2026-11", signing)}
		if diff := cmp.Diff(want, set.Keys); diff != "" {
			t.Fatalf("JWKS: -want +got\n%s", diff)
		}
		// A plain Ed25519 check with its JWKS key verifies the old token.
		_, _, segs := parts(t, old)
		pub, err := base64.RawURLEncoding.DecodeString(set.Keys[1]["x"])
		if err != nil {
			t.Fatal(err)
		}
		sig, err := base64.RawURLEncoding.DecodeString(segs[2])
		if err != nil {
			t.Fatal(err)
		}
		if !ed25519.Verify(ed25519.PublicKey(pub), []byte(segs[0]+"."+segs[1]), sig) {
			t.Error("the old token does not verify with its JWKS key")
		}

		// The first Sign: a new HS256 key, signing at once.
		tok := issue(t, r, session(), time.Hour)
		h, _, _ := parts(t, tok)
		if h["alg"] != "HS256" || h["kid"] != "session-2026-11-3" {
			t.Errorf("first token after the upgrade has header %v, want HS256 and kid session-2026-11-3", h)
		}
		keys, err := st.SigningKeys(ctx, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			switch {
			case k.Algorithm == "HS256":
				if k.KID != "session-2026-11-3" || !k.SignsFrom.Equal(start) {
					t.Errorf("HS256 key %s signs from %v, want session-2026-11-3 from %v", k.KID, k.SignsFrom, start)
				}
			case !k.RetiresAt.Equal(start) || !k.ExpiresAt.Equal(start.Add(24*time.Hour+time.Minute)):
				t.Errorf("EdDSA key %s retires %v, expires %v; want retired now, expiring in a day and a minute", k.KID, k.RetiresAt, k.ExpiresAt)
			}
		}
		if len(keys) != 3 {
			t.Errorf("%d keys after the first Sign, want 3", len(keys))
		}

		// The old successor's turn comes and goes: it never signs.
		clk.Advance(2 * time.Minute)
		if got := kidOf(t, issue(t, r, session(), time.Hour)); got != "session-2026-11-3" {
			t.Errorf("after the old successor's start, signed with %s, want session-2026-11-3", got)
		}
		clk.Set(start.Add(22 * time.Hour))
		wantValid(t, r, "the old version's token near its exp", old, token.TypeSession)
		if got := jwksKids(t, r); !cmp.Equal(got, []string{"session-2026-11-2", "session-2026-11"}) {
			t.Errorf("JWKS before the EdDSA keys expire: %v", got)
		}
		clk.Set(start.Add(24*time.Hour + time.Minute))
		b, err = r.JWKS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != `{"keys":[]}` {
			t.Errorf("JWKS once the EdDSA keys expired: %s, want none", b)
		}
		if got := kidOf(t, issue(t, r, session(), time.Hour)); got != "session-2026-11-3" {
			t.Errorf("a day later, signed with %s, want session-2026-11-3", got)
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
