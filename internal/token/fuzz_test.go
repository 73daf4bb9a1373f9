package token_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/token"
)

// FuzzVerify: whatever a client sends as a token, Verify answers
// invalid_token, or the claims of a token the ring issued (or a legacy
// EdDSA key signed) — never those of an edited one, and never a token of
// another type.
func FuzzVerify(f *testing.F) {
	st := storetest.Open(f, store.SQLite)
	clk := newClock()
	box := newBox(f)
	legacy := legacyKey(f, st, box, "session-2026-10", start.Add(-20*24*time.Hour), start.Add(10*24*time.Hour))
	r := token.NewRing(st, box, clk.Now, token.Options{})
	issued := map[string]token.Claims{} // by jti
	var all []string
	for _, c := range []token.Claims{
		session(),
		{Type: token.TypeSDK, ApplicationID: "app_1", Environment: pay.Live, IntegrationType: "frontend", Permissions: []string{"payment:create_session"}, Modules: []string{"web"}, Origin: "https://shop.example"},
		{Type: token.TypeVerification, ApplicationID: "app_1", Environment: pay.Sandbox, SessionID: "sess_1", Identifier: "a@example.com", Channel: "email"},
	} {
		tok, _, err := r.Issue(f.Context(), c, time.Hour)
		if err != nil {
			f.Fatal(err)
		}
		got, err := r.Verify(f.Context(), tok, c.Type)
		if err != nil {
			f.Fatal(err)
		}
		issued[got.ID] = got
		all = append(all, tok)
	}
	// A token of the key the previous version signed with: the EdDSA path.
	old := handToken(f, "EdDSA", "session-2026-10", sessionPayload(start, time.Hour), ed25519Signer(legacy))
	got, err := r.Verify(f.Context(), old, token.TypeSession)
	if err != nil {
		f.Fatal(err)
	}
	issued[got.ID] = got
	all = append(all, old)
	for _, tok := range all {
		f.Add(tok, uint8(0), uint16(0), byte(0))
		segs := strings.Split(tok, ".")
		f.Add(segs[0]+"."+segs[1]+".", uint8(1), uint16(0), byte(0))
		f.Add(segs[0]+".e30."+segs[2], uint8(2), uint16(0), byte(0))
	}
	f.Add("eyJhbGciOiJub25lIn0.e30.", uint8(0), uint16(0), byte(0))
	// Signing keys are random, so the seeds above verify only in the
	// process that issued them; an empty tok stands for a token issued
	// here with one byte changed.
	f.Add("", uint8(0), uint16(100), byte('A'))
	types := []token.Type{token.TypeSession, token.TypeSDK, token.TypeVerification}
	f.Fuzz(func(t *testing.T, tok string, which uint8, pos uint16, b byte) {
		want := types[int(which)%len(types)]
		if tok == "" {
			orig := all[int(which)%len(all)]
			i := int(pos) % len(orig)
			if orig[i] == b {
				return
			}
			tok = orig[:i] + string(b) + orig[i+1:]
		}
		c, err := r.Verify(t.Context(), tok, want)
		if err != nil {
			if pay.KindOf(err) != pay.Unauthenticated || pay.CodeOf(err) != "invalid_token" {
				t.Fatalf("Verify(%q) = %v, want invalid_token", tok, err)
			}
			return
		}
		orig, ok := issued[c.ID]
		if !ok || c.Type != want || orig.Type != want || c.ApplicationID != orig.ApplicationID || c.SessionID != orig.SessionID ||
			c.Identifier != orig.Identifier || c.Origin != orig.Origin || !slices.Equal(c.Permissions, orig.Permissions) || !c.ExpiresAt.Equal(orig.ExpiresAt) {
			t.Fatalf("Verify(%q) accepted %+v; issued %+v", tok, c, orig)
		}
	})
}
