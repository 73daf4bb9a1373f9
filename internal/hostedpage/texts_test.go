package hostedpage

import (
	"testing"

	"github.com/sakkhq/sakk/internal/money"
)

func TestEveryLocaleHasEveryText(t *testing.T) {
	for lang, words := range texts {
		for key := range texts["en"] {
			if words[key] == "" {
				t.Errorf("%s lacks %q", lang, key)
			}
		}
		for key := range words {
			if _, ok := texts["en"][key]; !ok {
				t.Errorf("%s has %q, which en lacks", lang, key)
			}
		}
	}
}

func TestFormatAmount(t *testing.T) {
	for _, tc := range []struct {
		a          money.Amount
		lang, want string
	}{
		{money.New(179900, "MAD"), "en", "1,799.00\u00a0MAD"},
		{money.New(179900, "MAD"), "fr", "1\u202f799,00\u00a0MAD"},
		{money.New(1234567, "KWD"), "en", "1,234.567\u00a0KWD"},
		{money.New(1000000, "JPY"), "ar", "1,000,000\u00a0JPY"},
		{money.New(5, "USD"), "en", "0.05\u00a0USD"},
		{money.New(99900, "USD"), "en", "999.00\u00a0USD"},
	} {
		if got := formatAmount(tc.a, tc.lang); got != tc.want {
			t.Errorf("formatAmount(%v, %s) = %q, want %q", tc.a, tc.lang, got, tc.want)
		}
	}
}

func TestChooseLocale(t *testing.T) {
	for _, tc := range []struct{ query, session, accept, want string }{
		{"", "", "", "en"},
		{"ar", "fr", "en", "ar"},
		{"", "fr", "ar", "fr"},
		{"", "", "de-DE, fr-CA;q=0.8", "fr"},
		{"AR-ma", "", "", "ar"},
		{"zz", "", "", "en"},
	} {
		if got := chooseLocale(tc.query, tc.session, tc.accept); got != tc.want {
			t.Errorf("chooseLocale(%q, %q, %q) = %q, want %q", tc.query, tc.session, tc.accept, got, tc.want)
		}
	}
}
