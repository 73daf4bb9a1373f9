package checkout

import (
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/textrule"
)

// FuzzCursor: a cursor is text from outside. Whatever decodes names a
// position the store can be asked about (its id meets the text rule),
// and encodes back to a cursor naming the same position.
func FuzzCursor(f *testing.F) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	for _, c := range []string{encodeCursor(at, "pay_abc"), encodeCursor(at, "sess_x.y"), encodeKeyCursor("a@example.com"), "", "eyJ4IjoxfQ", "MS4A", "azoA"} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, c string) {
		if pos, err := decodeCursor(c); err == nil {
			if textrule.Check("id", pos.ID, textrule.Rule{}) != nil {
				t.Fatalf("cursor %q decodes to id %q", c, pos.ID)
			}
			again, err := decodeCursor(encodeCursor(pos.CreatedAt, pos.ID))
			if err != nil || !again.CreatedAt.Equal(pos.CreatedAt) || again.ID != pos.ID {
				t.Fatalf("cursor %q: %v %q does not round-trip: %v %q (%v)", c, pos.CreatedAt, pos.ID, again.CreatedAt, again.ID, err)
			}
		}
		if key, err := decodeKeyCursor(c); err == nil {
			if textrule.Check("key", key, textrule.Rule{}) != nil {
				t.Fatalf("cursor %q decodes to key %q", c, key)
			}
			if again, err := decodeKeyCursor(encodeKeyCursor(key)); err != nil || again != key {
				t.Fatalf("key cursor %q: %q does not round-trip: %q (%v)", c, key, again, err)
			}
		}
	})
}
