package moyasar_test

import (
	"math"
	"regexp"
	"testing"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/moyasar"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

func TestAmountConversion(t *testing.T) {
	cases := []struct {
		a  money.Amount
		v  int64
		ok bool
	}{
		{money.Amount{Minor: 17990, Currency: "SAR"}, 17990, true}, // 179.90 SAR in halalas
		{money.Amount{Minor: 1, Currency: "USD"}, 1, true},
		{money.Amount{Minor: 12345, Currency: "KWD"}, 12345, true}, // 12.345 KWD in fils: every digit kept
		{money.Amount{Minor: 1, Currency: "BHD"}, 1, true},
		{money.Amount{Minor: 12345, Currency: "OMR"}, 12345, true},
		{money.Amount{Minor: 100001, Currency: "JOD"}, 100001, true},
		{money.Amount{Minor: 1234, Currency: "JPY"}, 1234, true}, // zero-decimal both ways
		{money.Amount{Minor: 7, Currency: "ISK"}, 7, true},
		{money.Amount{Minor: 1200, Currency: "HUF"}, 12, true},    // 12.00 HUF: Moyasar has no decimals
		{money.Amount{Minor: 1250, Currency: "HUF"}, 0, false},    // 12.50 HUF cannot be carried: refused
		{money.Amount{Minor: 1000, Currency: "EUR"}, 0, false},    // not in Moyasar's table
		{money.Amount{Minor: 1000, Currency: "ZZZ"}, 0, false},    // unknown currency
		{money.Amount{Minor: -5, Currency: "SAR"}, 0, false},      // negative
		{money.Amount{Minor: 1 << 53, Currency: "SAR"}, 0, false}, // beyond exact JSON numbers
		{money.Amount{Minor: 1<<53 - 1, Currency: "SAR"}, 1<<53 - 1, true},
		{money.Amount{Minor: math.MaxInt64, Currency: "KWD"}, 0, false},
	}
	for _, c := range cases {
		v, ok := moyasar.ToMoyasar(c.a)
		if v != c.v || ok != c.ok {
			t.Errorf("ToMoyasar(%v) = %d, %v; want %d, %v", c.a, v, ok, c.v, c.ok)
			continue
		}
		if !ok {
			continue
		}
		back, ok := moyasar.FromMoyasar(v, string(c.a.Currency))
		if !ok || back != c.a {
			t.Errorf("FromMoyasar(%d, %s) = %v, %v; want %v back", v, c.a.Currency, back, ok, c.a)
		}
	}
	back := []struct {
		v   int64
		cur string
		a   money.Amount
		ok  bool
	}{
		{12345, "kwd", money.Amount{Minor: 12345, Currency: "KWD"}, true}, // lower case accepted
		{12, "HUF", money.Amount{Minor: 1200, Currency: "HUF"}, true},
		{-1, "SAR", money.Amount{}, false},
		{1 << 53, "SAR", money.Amount{}, false},
		{1 << 53 / 10, "HUF", money.Amount{}, false}, // ×100 would pass 2^53
		{100, "XXX", money.Amount{}, false},
	}
	for _, c := range back {
		a, ok := moyasar.FromMoyasar(c.v, c.cur)
		if a != c.a || ok != c.ok {
			t.Errorf("FromMoyasar(%d, %s) = %v, %v; want %v, %v", c.v, c.cur, a, ok, c.a, c.ok)
		}
	}
}

func TestCapabilitiesCurrencies(t *testing.T) {
	c, err := moyasar.New(moyasar.Config{SecretKey: "sk_test_x"})
	if err != nil {
		t.Fatal(err)
	}
	got := c.Capabilities().Currencies
	want := []money.Currency{"SAR", "AED", "BHD", "KWD", "QAR", "USD"}
	if len(got) != len(want) {
		t.Fatalf("Currencies = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Currencies = %v, want %v", got, want)
		}
	}
	got[0] = "XXX" // a copy: the connector's own is untouched
	if c.Capabilities().Currencies[0] != "SAR" {
		t.Error("Capabilities returned the connector's own slice")
	}
	// Currencies Moyasar does not document are refused before anything is
	// sent, with the right code: JPY (zero-decimal), OMR and JOD
	// (three-decimal).
	for _, cur := range []money.Currency{"JPY", "OMR", "JOD", "EUR"} {
		_, err := c.Charge(t.Context(), chargeReq(money.Amount{Minor: 1000, Currency: cur}, "token_x"))
		if pay.KindOf(err) != pay.Invalid || pay.CodeOf(err) != gateway.CodeCurrencyNotSupported {
			t.Errorf("Charge in %s: %v, want invalid %s", cur, err, gateway.CodeCurrencyNotSupported)
		}
	}
}

func TestGivenID(t *testing.T) {
	v5 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := moyasar.GivenID("pay_1"), moyasar.GivenID("pay_2")
	if !v5.MatchString(a) || !v5.MatchString(b) {
		t.Errorf("GivenID = %q, %q: want version-5 UUIDs", a, b)
	}
	if a == b {
		t.Error("two keys gave one given_id")
	}
	if moyasar.GivenID("pay_1") != a {
		t.Error("GivenID is not deterministic")
	}
}
