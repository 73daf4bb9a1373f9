package stripe

import (
	"math"
	"slices"
	"strings"

	"github.com/sakkhq/sakk/internal/money"
)

// Stripe writes every amount as an integer in what it calls the currency's
// minor unit, which is not always ISO 4217's (Stripe's "Supported
// currencies" page, sections "Zero-decimal currencies", "Three-decimal
// currencies" and "Special cases"):
//
//   - zero-decimal currencies are sent in whole units. For most of them
//     ISO's exponent is 0 too; MGA has an ISO exponent of 2, so only whole
//     ariary can be sent;
//   - three-decimal currencies are sent in thousandths, but the last digit
//     must be 0: Stripe's partners take only hundredths;
//   - ISK is zero-decimal for ISO and for the card networks, yet Stripe
//     keeps it two-decimal in its API for backwards compatibility: 5 ISK
//     is sent as 500, and amounts must be divisible by 100;
//   - every other currency is sent in hundredths.
//
// Stripe asks integrations to round to what it can carry; sakk never rounds
// a shopper's amount, so toStripe refuses what does not convert exactly.

// zeroDecimal are the currencies Stripe sends in whole units.
var zeroDecimal = []money.Currency{
	"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG",
	"RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
}

// threeDecimal are the currencies Stripe sends in thousandths, last digit 0.
var threeDecimal = []money.Currency{"BHD", "JOD", "KWD", "OMR", "TND"}

// presentment lists the currencies Stripe charges cards in, as its
// "Supported currencies" page lists them, with USD first (the conformance
// suite's default). Codes the money package does not know (withdrawn ones
// such as BGN, STD, ANG) are dropped by currencies.
//
// MGA is left out on purpose: Stripe takes it in whole ariary only while
// ISO 4217 gives it two decimals, so most MGA prices could not be charged
// and would fail at payment time; leaving it out refuses MGA sessions when
// they are created instead. Stripe also takes IQD and LYD nowhere in its
// documentation, and no 4-decimal currency (CLF, UYW).
var presentment = []money.Currency{
	"USD", "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN",
	"BAM", "BBD", "BDT", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD",
	"BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC",
	"CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ETB", "EUR", "FJD",
	"FKP", "GBP", "GEL", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL",
	"HTG", "HUF", "IDR", "ILS", "INR", "ISK", "JMD", "JOD", "JPY", "KES",
	"KGS", "KHR", "KMF", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
	"LRD", "LSL", "MAD", "MDL", "MKD", "MMK", "MNT", "MOP", "MUR", "MVR",
	"MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD",
	"OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON",
	"RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SEK", "SGD", "SHP", "SLE",
	"SOS", "SRD", "SZL", "THB", "TJS", "TND", "TOP", "TRY", "TTD", "TWD",
	"TZS", "UAH", "UGX", "UYU", "UZS", "VND", "VUV", "WST", "XAF", "XCD",
	"XCG", "XOF", "XPF", "YER", "ZAR", "ZMW",
}

// currencies returns the presentment currencies the money package knows,
// in presentment's order.
func currencies() []money.Currency {
	out := make([]money.Currency, 0, len(presentment))
	for _, c := range presentment {
		if c.Exponent() >= 0 {
			out = append(out, c)
		}
	}
	return out
}

// stripeExponent is the number of decimals of c in Stripe's API.
func stripeExponent(c money.Currency) int {
	switch {
	case slices.Contains(zeroDecimal, c):
		return 0
	case slices.Contains(threeDecimal, c):
		return 3
	}
	return 2
}

// granularity is what every Stripe amount of c must be a multiple of.
func granularity(c money.Currency) int64 {
	switch {
	case slices.Contains(threeDecimal, c):
		return 10
	case c == "ISK":
		return 100
	}
	return 1
}

var pow10 = [...]int64{1, 10, 100, 1000, 10000}

// toStripe converts a to Stripe's integer amount. ok is false when Stripe
// cannot carry a exactly (a fraction Stripe has no digit for, a 3-decimal
// amount not ending in 0), when a's currency is unknown, or on overflow.
func toStripe(a money.Amount) (v int64, ok bool) {
	e := a.Currency.Exponent()
	if e < 0 || e >= len(pow10) {
		return 0, false
	}
	se := stripeExponent(a.Currency)
	switch {
	case se >= e:
		m := pow10[se-e]
		if a.Minor > math.MaxInt64/m || a.Minor < math.MinInt64/m {
			return 0, false
		}
		v = a.Minor * m
	default:
		d := pow10[e-se]
		if a.Minor%d != 0 {
			return 0, false
		}
		v = a.Minor / d
	}
	if v%granularity(a.Currency) != 0 {
		return 0, false
	}
	return v, true
}

// fromStripe converts Stripe's amount v in currency cur (Stripe spells it
// in lower case) back to a money.Amount. ok is false when cur is unknown
// or v has digits the ISO minor unit cannot hold.
func fromStripe(v int64, cur string) (a money.Amount, ok bool) {
	c := money.Currency(strings.ToUpper(cur))
	e := c.Exponent()
	if e < 0 || e >= len(pow10) {
		return money.Amount{}, false
	}
	se := stripeExponent(c)
	switch {
	case e >= se:
		m := pow10[e-se]
		if v > math.MaxInt64/m || v < math.MinInt64/m {
			return money.Amount{}, false
		}
		return money.Amount{Minor: v * m, Currency: c}, true
	default:
		d := pow10[se-e]
		if v%d != 0 {
			return money.Amount{}, false
		}
		return money.Amount{Minor: v / d, Currency: c}, true
	}
}
