package money_test

import (
	"testing"

	"github.com/sakkhq/sakk/internal/money"
)

func TestTable(t *testing.T) {
	all := money.Currencies()
	// The count changes only with an ISO 4217 amendment; a different number
	// means an entry was lost or added by accident.
	if len(all) != 165 {
		t.Errorf("table has %d currencies, want 165", len(all))
	}
	seen := make(map[money.Currency]bool)
	for i, info := range all {
		c := string(info.Code)
		if len(c) != 3 || !isUpper(c) {
			t.Errorf("code %q is not three upper-case ASCII letters", c)
		}
		if seen[info.Code] {
			t.Errorf("code %s appears twice", c)
		}
		seen[info.Code] = true
		if i > 0 && all[i-1].Code >= info.Code {
			t.Errorf("table not sorted: %s before %s (Lookup's binary search needs order)", all[i-1].Code, c)
		}
		switch info.Exponent {
		case 0, 2, 3, 4:
		default:
			t.Errorf("%s: exponent %d, want 0, 2, 3 or 4", c, info.Exponent)
		}
		if info.Name == "" || info.Symbol == "" {
			t.Errorf("%s: empty name or symbol: %+v", c, info)
		}
		for _, s := range []string{info.Name, info.Symbol} {
			if s != "" && (s[0] == ' ' || s[len(s)-1] == ' ') {
				t.Errorf("%s: %q has surrounding space", c, s)
			}
		}
		if got, ok := money.Lookup(c); !ok || got != info {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v", c, got, ok, info)
		}
		if got := info.Code.Exponent(); got != info.Exponent {
			t.Errorf("%s.Exponent() = %d, want %d", c, got, info.Exponent)
		}
	}
}

// knownExponents states exponents independently of the table, per ISO 4217
// List One. Every non-2 exponent of the table is here, so
// TestNon2ExponentsListed can check that no other currency strays from 2.
func knownExponents() map[money.Currency]int {
	return map[money.Currency]int{
		// 0 decimals.
		"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
		"PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
		"XPF": 0,
		// 3 decimals.
		"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
		// 4 decimals.
		"CLF": 4, "UYW": 4,
	}
}

func TestKnownExponents(t *testing.T) {
	twos := []money.Currency{
		"MAD", "SAR", "USD", "EUR", "AED", "EGP", "GBP", "HUF", "TWD", "QAR",
		"DZD", "IDR", "INR", "CNY", "XCD", "XCG", "ZWG", "SLE", "VED", "XAD",
	}
	for _, c := range twos {
		if got := c.Exponent(); got != 2 {
			t.Errorf("%s.Exponent() = %d, want 2", c, got)
		}
	}
	for c, want := range knownExponents() {
		if got := c.Exponent(); got != want {
			t.Errorf("%s.Exponent() = %d, want %d", c, got, want)
		}
	}
}

func TestNon2ExponentsListed(t *testing.T) {
	known := knownExponents()
	for _, info := range money.Currencies() {
		want, listed := known[info.Code]
		if !listed {
			want = 2
		}
		if info.Exponent != want {
			t.Errorf("%s: exponent %d, want %d", info.Code, info.Exponent, want)
		}
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		code string
		want money.Info
		ok   bool
	}{
		{"MAD", money.Info{Code: "MAD", Name: "Moroccan Dirham", Exponent: 2, Symbol: "د.م."}, true},
		{"SAR", money.Info{Code: "SAR", Name: "Saudi Riyal", Exponent: 2, Symbol: "ر.س"}, true},
		{"USD", money.Info{Code: "USD", Name: "US Dollar", Exponent: 2, Symbol: "$"}, true},
		{"EUR", money.Info{Code: "EUR", Name: "Euro", Exponent: 2, Symbol: "€"}, true},
		{"JPY", money.Info{Code: "JPY", Name: "Yen", Exponent: 0, Symbol: "¥"}, true},
		{"KWD", money.Info{Code: "KWD", Name: "Kuwaiti Dinar", Exponent: 3, Symbol: "د.ك"}, true},
		{"CLF", money.Info{Code: "CLF", Name: "Unidad de Fomento", Exponent: 4, Symbol: "UF"}, true},
		{"AED", money.Info{Code: "AED", Name: "UAE Dirham", Exponent: 2, Symbol: "د.إ"}, true},
		{"ZWG", money.Info{Code: "ZWG", Name: "Zimbabwe Gold", Exponent: 2, Symbol: "ZiG"}, true},
		{"BOV", money.Info{Code: "BOV", Name: "Mvdol", Exponent: 2, Symbol: "BOV"}, true},

		// Not exact.
		{"mad", money.Info{}, false},
		{"Mad", money.Info{}, false},
		{" MAD", money.Info{}, false},
		{"MAD ", money.Info{}, false},
		{"MA", money.Info{}, false},
		{"MADX", money.Info{}, false},
		{"", money.Info{}, false},
		{"M\x00D", money.Info{}, false},

		// No minor unit in ISO 4217.
		{"XAU", money.Info{}, false}, {"XAG", money.Info{}, false},
		{"XPT", money.Info{}, false}, {"XPD", money.Info{}, false},
		{"XTS", money.Info{}, false}, {"XXX", money.Info{}, false},
		{"XSU", money.Info{}, false}, {"XUA", money.Info{}, false},
		{"XDR", money.Info{}, false},
		{"XBA", money.Info{}, false}, {"XBB", money.Info{}, false},
		{"XBC", money.Info{}, false}, {"XBD", money.Info{}, false},

		// Withdrawn.
		{"ANG", money.Info{}, false}, {"BGN", money.Info{}, false},
		{"CUC", money.Info{}, false}, {"HRK", money.Info{}, false},
		{"SLL", money.Info{}, false}, {"ZWL", money.Info{}, false},
		{"VEF", money.Info{}, false}, {"MRO", money.Info{}, false},
		{"STD", money.Info{}, false}, {"LTL", money.Info{}, false},
	}
	for _, tc := range tests {
		got, ok := money.Lookup(tc.code)
		if ok != tc.ok || got != tc.want {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v, %v", tc.code, got, ok, tc.want, tc.ok)
		}
		wantExp := -1
		if tc.ok {
			wantExp = tc.want.Exponent
		}
		if got := money.Currency(tc.code).Exponent(); got != wantExp {
			t.Errorf("Currency(%q).Exponent() = %d, want %d", tc.code, got, wantExp)
		}
	}
}

func TestCurrenciesIsACopy(t *testing.T) {
	first := money.Currencies()
	first[0] = money.Info{Code: "ZZZ", Exponent: 9}
	clear(first[1:])
	if _, ok := money.Lookup("ZZZ"); ok {
		t.Error("changing Currencies' result added a currency")
	}
	second := money.Currencies()
	if second[0].Code != "AED" || second[1].Code != "AFN" {
		t.Errorf("changing Currencies' result changed the table: it now starts %v, %v", second[0], second[1])
	}
	if _, ok := money.Lookup("AFN"); !ok {
		t.Error("changing Currencies' result removed AFN")
	}
}

func isUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
