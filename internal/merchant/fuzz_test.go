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

// FuzzAuthenticate: whatever a client sends as an API key, only a key
// issued for that kind authenticates, and anything else is the one
// invalid_key answer.
func FuzzAuthenticate(f *testing.F) {
	st := storetest.Open(f, store.SQLite)
	box, err := vault.New(vault.NewKey())
	if err != nil {
		f.Fatal(err)
	}
	ms := merchant.New(st, box, time.Now)
	app, err := ms.CreateApplication(f.Context(), merchant.NewApplication{Name: "Shop", Environment: pay.Sandbox})
	if err != nil {
		f.Fatal(err)
	}
	issued := map[pay.KeyKind]string{pay.SecretKey: app.Keys.Secret, pay.PublicKey: app.Keys.Public, pay.ClientToken: app.Keys.ClientToken}
	kinds := []pay.KeyKind{pay.SecretKey, pay.PublicKey, pay.ClientToken}
	for i, k := range kinds {
		f.Add(issued[k], uint8(i), uint16(0), byte(0))
		f.Add(issued[k], uint8(i+1), uint16(0), byte(0))
	}
	f.Add("sk_test_\x00", uint8(0), uint16(0), byte(0))
	// Keys are random, so the seeds above authenticate only in the
	// process that made them; an empty key stands for a key made here
	// with one byte changed.
	f.Add("", uint8(0), uint16(12), byte('x'))
	f.Fuzz(func(t *testing.T, key string, which uint8, pos uint16, b byte) {
		kind := kinds[int(which)%len(kinds)]
		if key == "" {
			orig := issued[kind]
			i := int(pos) % len(orig)
			if orig[i] == b {
				return
			}
			key = orig[:i] + string(b) + orig[i+1:]
		}
		k, err := ms.Authenticate(t.Context(), key, kind)
		if err != nil {
			if pay.KindOf(err) != pay.Unauthenticated || pay.CodeOf(err) != "invalid_key" {
				t.Fatalf("Authenticate(%q) = %v, want invalid_key", key, err)
			}
			return
		}
		if key != issued[kind] || k.ApplicationID != app.Application.ID {
			t.Fatalf("Authenticate(%q, %v) accepted %+v", key, kind, k)
		}
	})
}
