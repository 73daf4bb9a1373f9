package pay

import (
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"time"
)

var allPrefixes = []string{
	PrefixMerchant, PrefixApplication, PrefixSession, PrefixPayment, PrefixRefund,
	PrefixEvent, PrefixWebhook, PrefixKey, PrefixProduct, PrefixDomain, PrefixPaymentLink,
}

func TestPrefixes(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range allPrefixes {
		if !regexp.MustCompile(`^[a-z]+$`).MatchString(p) {
			t.Errorf("prefix %q is not lower-case letters only", p)
		}
		if seen[p] {
			t.Errorf("prefix %q used twice", p)
		}
		seen[p] = true
	}
}

func TestNewIDFormat(t *testing.T) {
	for _, p := range allPrefixes {
		re := regexp.MustCompile(`^` + p + `_[0-9a-v]{24}$`)
		if id := NewID(p); !re.MatchString(id) {
			t.Errorf("NewID(%q) = %q, want a match of %s", p, id, re)
		}
	}
}

// Ids made later sort after ids made earlier.
func TestNewIDOrdered(t *testing.T) {
	first := NewID(PrefixSession)
	time.Sleep(2 * time.Millisecond)
	if second := NewID(PrefixSession); second <= first {
		t.Errorf("%q made after %q sorts before it", second, first)
	}
}

func TestNewIDUnique(t *testing.T) {
	const count = 10000
	seen := make(map[string]bool, count)
	for range count {
		id := NewID(PrefixSession)
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestNewUUID(t *testing.T) {
	const count = 10000
	seen := make(map[string]bool, count)
	for range count {
		u := NewUUID()
		if !uuidRE.MatchString(u) {
			t.Fatalf("NewUUID() = %q, not a canonical UUID", u)
		}
		b, err := hex.DecodeString(strings.ReplaceAll(u, "-", ""))
		if err != nil || len(b) != 16 {
			t.Fatalf("NewUUID() = %q: decoding: %v, %d bytes", u, err, len(b))
		}
		if v := b[6] >> 4; v != 4 {
			t.Fatalf("NewUUID() = %q: version %d, want 4", u, v)
		}
		if v := b[8] >> 6; v != 0b10 {
			t.Fatalf("NewUUID() = %q: variant bits %02b, want 10", u, v)
		}
		if seen[u] {
			t.Fatalf("NewUUID repeated %q", u)
		}
		seen[u] = true
	}
}
