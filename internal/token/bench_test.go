package token_test

import (
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/token"
)

func benchRing(b *testing.B) *token.Ring {
	b.Helper()
	return token.NewRing(storetest.Open(b, store.SQLite), newBox(b), time.Now, token.Options{})
}

// BenchmarkVerify measures a check of a token never seen (cold: the HMAC
// and the claims) and of one seen before (warm: the status-poll case,
// answered from the cache).
func BenchmarkVerify(b *testing.B) {
	c := session()
	b.Run("cold", func(b *testing.B) {
		r := benchRing(b)
		// Unique tokens made before the timer starts; more than the cache
		// holds, so the numbers include evictions.
		toks := make([]string, min(b.N, 20_000))
		for i := range toks {
			tok, _, err := r.Issue(b.Context(), c, time.Hour)
			if err != nil {
				b.Fatal(err)
			}
			toks[i] = tok
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if i > 0 && i%len(toks) == 0 {
				b.StopTimer()
				r = benchRing(b) // a new ring: an empty cache, so every token is cold again
				for j := range toks {
					toks[j], _, _ = r.Issue(b.Context(), c, time.Hour)
				}
				b.StartTimer()
			}
			if _, err := r.Verify(b.Context(), toks[i%len(toks)], token.TypeSession); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		r := benchRing(b)
		tok, _, err := r.Issue(b.Context(), c, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Verify(b.Context(), tok, token.TypeSession); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("warm-parallel", func(b *testing.B) {
		r := benchRing(b)
		tok, _, err := r.Issue(b.Context(), c, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := r.Verify(b.Context(), tok, token.TypeSession); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkIssue(b *testing.B) {
	r := benchRing(b)
	c := session()
	if _, _, err := r.Issue(b.Context(), c, time.Hour); err != nil { // creates the key
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.Issue(b.Context(), c, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}
