package stripe

import (
	"math"
	"testing"

	"github.com/sakkhq/sakk/internal/money"
)

func TestToStripe(t *testing.T) {
	cases := []struct {
		cur   money.Currency
		minor int64
		want  int64
		ok    bool
	}{
		{"USD", 1799, 1799, true},
		{"EUR", 1, 1, true},
		{"HUF", 1799, 1799, true}, // two decimals for charges; only payouts are whole forints
		{"JPY", 1234, 1234, true},
		{"UGX", 5000, 5000, true},
		{"KRW", 1, 1, true},
		{"ISK", 1234, 123400, true}, // whole krónur, written in hundredths
		{"KWD", 12340, 12340, true},
		{"KWD", 12345, 0, false}, // Stripe needs the last digit 0; never rounded
		{"BHD", 10, 10, true},
		{"JOD", 1, 0, false},
		{"OMR", 990, 990, true},
		{"TND", 1005, 0, false},
		{"MGA", 1200, 12, true}, // ISO has 2 decimals, Stripe whole ariary
		{"MGA", 1250, 0, false},
		{"IQD", 1000, 100, true}, // not offered (see currencies); Stripe's default of two decimals
		{"ZZZ", 100, 0, false},
		{"USD", math.MaxInt64, math.MaxInt64, true},
		{"ISK", math.MaxInt64 / 10, 0, false}, // overflow
	}
	for _, c := range cases {
		got, ok := toStripe(money.Amount{Minor: c.minor, Currency: c.cur})
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("toStripe(%d %s) = %d, %v; want %d, %v", c.minor, c.cur, got, ok, c.want, c.ok)
		}
	}
}

func TestFromStripe(t *testing.T) {
	cases := []struct {
		v    int64
		cur  string
		want money.Amount
		ok   bool
	}{
		{1799, "usd", money.Amount{Minor: 1799, Currency: "USD"}, true},
		{1234, "jpy", money.Amount{Minor: 1234, Currency: "JPY"}, true},
		{123400, "isk", money.Amount{Minor: 1234, Currency: "ISK"}, true},
		{123450, "isk", money.Amount{}, false}, // a fraction of a króna sakk cannot hold
		{12340, "kwd", money.Amount{Minor: 12340, Currency: "KWD"}, true},
		{12, "mga", money.Amount{Minor: 1200, Currency: "MGA"}, true},
		{5000, "ugx", money.Amount{Minor: 5000, Currency: "UGX"}, true},
		{1, "zzz", money.Amount{}, false},
		{math.MaxInt64, "mga", money.Amount{}, false},
	}
	for _, c := range cases {
		got, ok := fromStripe(c.v, c.cur)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("fromStripe(%d, %s) = %v, %v; want %v, %v", c.v, c.cur, got, ok, c.want, c.ok)
		}
	}
}

// TestRoundTrip checks, for every currency the connector offers, that an
// amount Stripe can carry comes back exactly, and that one it cannot is
// refused rather than changed.
func TestRoundTrip(t *testing.T) {
	for _, cur := range currencies() {
		for _, m := range []int64{1, 7, 10, 99, 100, 1234, 12340, 99999999} {
			a := money.Amount{Minor: m, Currency: cur}
			v, ok := toStripe(a)
			if !ok {
				if m%granularity(cur) == 0 && stripeExponent(cur) >= cur.Exponent() {
					t.Errorf("toStripe(%v) refused an amount Stripe can carry", a)
				}
				continue
			}
			back, ok := fromStripe(v, string(cur))
			if !ok || back != a {
				t.Errorf("%v → Stripe %d → %v, %v", a, v, back, ok)
			}
		}
	}
}

func TestCurrencies(t *testing.T) {
	cs := currencies()
	if len(cs) < 100 || cs[0] != "USD" {
		t.Fatalf("currencies() = %d codes starting %v, want Stripe's list with USD first", len(cs), cs[:1])
	}
	for _, c := range []money.Currency{"KWD", "BHD", "JOD", "OMR", "TND", "JPY", "ISK", "UGX", "EUR", "MAD", "SAR", "AED"} {
		if !containsCurrency(cs, c) {
			t.Errorf("currencies() lacks %s", c)
		}
	}
	for _, c := range []money.Currency{"MGA", "IQD", "LYD", "CLF", "UYW", "BGN"} {
		if containsCurrency(cs, c) {
			t.Errorf("currencies() has %s", c)
		}
	}
}

func containsCurrency(cs []money.Currency, c money.Currency) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}
