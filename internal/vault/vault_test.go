package vault

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestSealOpen(t *testing.T) {
	box, err := New(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{"", "whsec_abc", strings.Repeat("é", 1000)} {
		sealed := box.Seal(plain)
		if strings.Contains(sealed, plain) && plain != "" {
			t.Errorf("sealed value %q shows the plaintext", sealed)
		}
		got, err := box.Open(sealed)
		if err != nil || got != plain {
			t.Errorf("Open(Seal(%q)) = %q, %v", plain, got, err)
		}
	}
	if a, b := box.Seal("x"), box.Seal("x"); a == b {
		t.Error("two seals of one value are equal: nonce reused")
	}
}

func TestOpenRefusesOtherKeyAndTampering(t *testing.T) {
	a, _ := New(NewKey())
	b, _ := New(NewKey())
	sealed := a.Seal("secret")
	if _, err := b.Open(sealed); !errors.Is(err, ErrOpen) {
		t.Errorf("open under another key: err = %v, want ErrOpen", err)
	}
	tampered := sealed[:len(sealed)-2] + "AA"
	if tampered == sealed {
		tampered = sealed[:len(sealed)-2] + "BB"
	}
	for _, bad := range []string{tampered, "secret", "v1:", "v1:!!!", ""} {
		if _, err := a.Open(bad); !errors.Is(err, ErrOpen) {
			t.Errorf("Open(%q): err = %v, want ErrOpen", bad, err)
		}
	}
}

func TestNewRefusesBadKeys(t *testing.T) {
	for _, key := range []string{"", "short", "c2hvcnQ=", strings.Repeat("A", 60)} {
		if _, err := New(key); err == nil {
			t.Errorf("New(%q) accepted a bad key", key)
		}
	}
}

func TestLoadOrCreateKeyFileAgreesUnderRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "encryption.key")
	keys := make([]string, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := LoadOrCreateKeyFile(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if k != keys[0] {
			t.Fatalf("racing creators got different keys: %q and %q", keys[0], k)
		}
	}
	if _, err := New(keys[0]); err != nil {
		t.Fatalf("created key does not load: %v", err)
	}
	again, err := LoadOrCreateKeyFile(path)
	if err != nil || again != keys[0] {
		t.Fatalf("reload = %q, %v; want %q", again, err, keys[0])
	}
}

func TestDeriveIsStablePerPurposeAndKey(t *testing.T) {
	key := NewKey()
	a, _ := New(key)
	b, _ := New(key)
	other, _ := New(NewKey())
	if !bytes.Equal(a.Derive("otp", 32), b.Derive("otp", 32)) {
		t.Fatal("the same key and purpose derive different keys")
	}
	if bytes.Equal(a.Derive("otp", 32), a.Derive("sandbox", 32)) {
		t.Fatal("two purposes derive the same key")
	}
	if bytes.Equal(a.Derive("otp", 32), other.Derive("otp", 32)) {
		t.Fatal("two encryption keys derive the same key")
	}
	if n := len(a.Derive("otp", 48)); n != 48 {
		t.Fatalf("derived %d bytes, want 48", n)
	}
}
