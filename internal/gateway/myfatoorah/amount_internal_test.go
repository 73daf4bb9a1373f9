package myfatoorah

import (
	"encoding/json"
	"testing"

	"github.com/sakkhq/sakk/internal/money"
)

// TestAmounts checks the conversion both ways in 0-, 2- and 3-decimal
// currencies: every digit carried, nothing rounded.
func TestAmounts(t *testing.T) {
	out := []struct {
		a    money.Amount
		want json.Number
	}{
		{money.Amount{Minor: 12345, Currency: "KWD"}, "12.345"},
		{money.Amount{Minor: 1, Currency: "BHD"}, "0.001"},
		{money.Amount{Minor: 17990, Currency: "OMR"}, "17.990"},
		{money.Amount{Minor: 100000, Currency: "JOD"}, "100.000"},
		{money.Amount{Minor: 1799, Currency: "SAR"}, "17.99"},
		{money.Amount{Minor: 5, Currency: "EGP"}, "0.05"},
		{money.Amount{Minor: 1234, Currency: "JPY"}, "1234"},
		{money.Amount{Minor: 9007199254740993, Currency: "KWD"}, "9007199254740.993"}, // beyond float64's exact integers
	}
	for _, c := range out {
		got, ok := toDecimal(c.a)
		if !ok || got != c.want {
			t.Errorf("toDecimal(%v) = %q, %v; want %q", c.a, got, ok, c.want)
		}
		back, ok := fromDecimal(got, c.a.Currency)
		if !ok || back != c.a {
			t.Errorf("fromDecimal(%q, %s) = %v, %v; want %v", got, c.a.Currency, back, ok, c.a)
		}
	}
	for _, a := range []money.Amount{{Minor: 0, Currency: "KWD"}, {Minor: -1, Currency: "KWD"}, {Minor: 1, Currency: "ZZZ"}} {
		if got, ok := toDecimal(a); ok {
			t.Errorf("toDecimal(%v) = %q, want refused", a, got)
		}
	}
	in := []struct {
		n    json.Number
		cur  money.Currency
		want int64
		ok   bool
	}{
		{"17.99", "KWD", 17990, true}, // MyFatoorah's doubles drop trailing zeros
		{"25", "KWD", 25000, true},
		{"25.0000", "KWD", 25000, true},
		{"12.3456", "KWD", 0, false}, // a fourth non-zero decimal: refused, not rounded
		{"17.999", "SAR", 0, false},
		{"1234", "JPY", 1234, true},
		{"1234.5", "JPY", 0, false},
		{"1234.0", "JPY", 1234, true},
		{"1e3", "KWD", 0, false},
		{"-1.000", "KWD", 0, false},
		{"", "KWD", 0, false},
	}
	for _, c := range in {
		got, ok := fromDecimal(c.n, c.cur)
		if ok != c.ok || (ok && got != (money.Amount{Minor: c.want, Currency: c.cur})) {
			t.Errorf("fromDecimal(%q, %s) = %v, %v; want %d, %v", c.n, c.cur, got, ok, c.want, c.ok)
		}
	}
}
