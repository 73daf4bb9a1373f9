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
// One that verifies carries a behaviour a card can have, and any one
// character of it changed is refused. (Tokens hold random bytes, so the
// seeds verify only in the process that issued them; the mutation of a
// token issued here covers the rest.)
func FuzzToken(f *testing.F) {
	s := fuzzSimulator(f)
	var issued []string
	for _, n := range []string{"4242424242424242", "4000000000000002", "4000000000003220", "4000000000000119"} {
		tok, err := s.Tokenize(Card{Number: n, ExpMonth: 12, ExpYear: 2030, CVC: "123"})
		if err != nil {
			f.Fatal(err)
		}
		issued = append(issued, tok)
		f.Add(tok, uint8(0), uint16(0), byte(0))
	}
	f.Add("", uint8(1), uint16(20), byte('A'))
	f.Add("tok_", uint8(0), uint16(0), byte(0))
	f.Fuzz(func(t *testing.T, tok string, which uint8, pos uint16, c byte) {
		if tok == "" { // one character of a token issued here, changed
			orig := issued[int(which)%len(issued)]
			i := len(tokenPrefix) + int(pos)%(len(orig)-len(tokenPrefix))
			if orig[i] == c {
				return
			}
			if _, err := s.parseToken("fuzz", orig[:i]+string(c)+orig[i+1:]); err == nil {
				t.Fatalf("%q with byte %d changed to %q verifies", orig, i, c)
			}
			return
		}
		b, err := s.parseToken("fuzz", tok)
		if err != nil {
			return
		}
		if !b.valid() || b == offSiteOnly {
			t.Fatalf("token %q verifies to behaviour %v", tok, b)
		}
		for i := len(tokenPrefix); i < len(tok); i++ {
			c := byte('A')
			if tok[i] == c {
				c = 'B'
			}
			if _, err := s.parseToken("fuzz", tok[:i]+string(c)+tok[i+1:]); err == nil {
				t.Fatalf("%q with byte %d changed verifies", tok, i)
			}
		}
	})
}
