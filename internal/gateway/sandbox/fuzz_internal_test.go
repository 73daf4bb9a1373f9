package sandbox

import (
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/money"
)

// fuzzSimulator is a simulator with a fixed key and clock.
func fuzzSimulator(f *testing.F) *Simulator {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	s, err := New(Options{PublicURL: "https://pay.example.com", Key: key, Now: func() time.Time { return time.Unix(1_773_576_000, 0) }})
	if err != nil {
		f.Fatal(err)
	}
	return s
}

// FuzzReference: a charge reference comes back from browsers (the 3-D
// Secure page's link) and from merchants (refunds). Only one the
// simulator made decodes, and it encodes back to itself.
func FuzzReference(f *testing.F) {
	s := fuzzSimulator(f)
	for _, r := range []reference{
		{behaviour: approve, gateway: "stripe", amount: money.New(179900, "MAD")},
		{behaviour: approve, action: approval, gateway: "paypal", amount: money.New(1, "KWD"), id: [idLen]byte{1, 2, 3}},
	} {
		f.Add(s.encodeReference(r))
	}
	f.Add("sbx_")
	f.Add("sbx_AQAAAAA")
	f.Fuzz(func(t *testing.T, ref string) {
		r, ok := s.decodeReference(ref)
		if !ok {
			return
		}
		if again := s.encodeReference(r); again != ref {
			t.Fatalf("%q decodes to %+v, which encodes to %q", ref, r, again)
		}
	})
}

// FuzzToken: a card token is what the browser hands payments/process.
// Only one the simulator issued verifies, to the behaviour of its card.
func FuzzToken(f *testing.F) {
	s := fuzzSimulator(f)
	want := map[string]behaviour{}
	for _, n := range []string{"4242424242424242", "4000000000000002", "4000000000003220", "4000000000000119"} {
		tok, err := s.Tokenize(Card{Number: n, ExpMonth: 12, ExpYear: 2030, CVC: "123"})
		if err != nil {
			f.Fatal(err)
		}
		b, err := s.parseToken("fuzz", tok)
		if err != nil {
			f.Fatal(err)
		}
		want[tok] = b
		f.Add(tok)
	}
	f.Add("tok_")
	f.Fuzz(func(t *testing.T, tok string) {
		b, err := s.parseToken("fuzz", tok)
		if err != nil {
			return
		}
		if w, issued := want[tok]; !issued || w != b {
			t.Fatalf("token %q not issued here verifies (behaviour %v)", tok, b)
		}
	})
}
