package paypal

import (
	"slices"
	"testing"

	"github.com/sakkhq/sakk/internal/money"
)

func TestToPayPal(t *testing.T) {
	cases := []struct {
		minor int64
		cur   money.Currency
		want  string // "" means refused
	}{
		{1799, "USD", "17.99"},
		{100001, "EUR", "1000.01"},
		{1, "GBP", "0.01"},
		{1234, "JPY", "1234"}, // no decimals for ISO or PayPal
		{120000, "HUF", "1200"},
		{120050, "HUF", ""}, // PayPal takes no fillér: refused, never rounded
		{99900, "TWD", "999"},
		{99901, "TWD", ""},
		{12345, "KWD", ""}, // PayPal takes no 3-decimal currency
		{12340, "BHD", ""},
		{1000, "OMR", ""},
		{1000, "JOD", ""},
		{1000, "MAD", ""}, // a 2-decimal currency PayPal does not take
		{0, "USD", ""},
		{-100, "USD", ""},
		{100, "ZZZ", ""},
	}
	for _, c := range cases {
		got, ok := toPayPal(money.Amount{Minor: c.minor, Currency: c.cur})
		if c.want == "" {
			if ok {
				t.Errorf("toPayPal(%d %s) = %q, want refused", c.minor, c.cur, got)
			}
			continue
		}
		if !ok || got != c.want {
			t.Errorf("toPayPal(%d %s) = %q, %v, want %q", c.minor, c.cur, got, ok, c.want)
		}
		// And back, exactly.
		back, ok := fromPayPal(&moneyJSON{CurrencyCode: string(c.cur), Value: got})
		if !ok || back != (money.Amount{Minor: c.minor, Currency: c.cur}) {
			t.Errorf("fromPayPal(%s %q) = %v, %v, want %d minor units", c.cur, got, back, ok, c.minor)
		}
	}
}

func TestFromPayPal(t *testing.T) {
	cases := []struct {
		cur, value string
		want       int64
		ok         bool
	}{
		{"USD", "17.99", 1799, true},
		{"USD", "17.9", 1790, true},
		{"USD", "17", 1700, true},
		{"USD", "17.990", 1799, true}, // trailing zeros are still exact
		{"USD", "17.991", 0, false},   // a digit sakk cannot hold: never rounded
		{"JPY", "1234", 1234, true},
		{"JPY", "1234.5", 0, false},
		{"HUF", "1200", 120000, true},
		{"HUF", "1200.50", 120050, true},
		{"KWD", "12.345", 12345, true}, // 3 decimals come back exactly
		{"BHD", "0.001", 1, true},
		{"OMR", "1.2345", 0, false},
		{"JOD", "7.000", 7000, true},
		{"USD", "1e3", 0, false},
		{"USD", ".5", 0, false},
		{"USD", "", 0, false},
		{"ZZZ", "1.00", 0, false},
	}
	for _, c := range cases {
		got, ok := fromPayPal(&moneyJSON{CurrencyCode: c.cur, Value: c.value})
		if ok != c.ok || (ok && got != (money.Amount{Minor: c.want, Currency: money.Currency(c.cur)})) {
			t.Errorf("fromPayPal(%s %q) = %v, %v, want %d, %v", c.cur, c.value, got, ok, c.want, c.ok)
		}
	}
	if _, ok := fromPayPal(nil); ok {
		t.Error("fromPayPal(nil) is an amount")
	}
}

func TestCurrencies(t *testing.T) {
	got := currencies()
	if len(got) == 0 || got[0] != "USD" {
		t.Fatalf("currencies() = %v, want USD first", got)
	}
	for _, c := range []money.Currency{"USD", "EUR", "GBP", "JPY", "AUD", "CAD", "CHF", "MXN", "BRL"} {
		if !slices.Contains(got, c) {
			t.Errorf("currencies() lacks %s, which PayPal supports", c)
		}
	}
	for _, c := range []money.Currency{"KWD", "BHD", "OMR", "JOD", "MAD", "SAR", "AED", "RUB", "HUF", "TWD"} {
		if slices.Contains(got, c) {
			t.Errorf("currencies() has %s", c)
		}
	}
	for _, c := range got {
		if c.Exponent() < 0 {
			t.Errorf("currencies() has %s, unknown to the money package", c)
		}
	}
}
