package moyasar

import (
	"crypto/sha1"
	"fmt"
	"strings"

	"github.com/sakkhq/sakk/internal/money"
)

// Moyasar writes every amount as an integer in the currency's minor unit
// ("the smallest currency unit", halalas for SAR). For the currencies it
// charges in, its SDKs' fraction table agrees with ISO 4217: three decimals
// for BHD and KWD, two for the others. The table below is what this
// package sends; a currency whose exponent here differs from the money
// package's is converted exactly or refused, never rounded.

// supported lists the currencies Moyasar documents (its "Multi-Currency"
// guide: SAR by default, the others once Moyasar enables them for the
// account), SAR first: the conformance suite's default.
var supported = []money.Currency{"SAR", "AED", "BHD", "KWD", "QAR", "USD"}

// moyasarExponents is the number of decimals of each currency in Moyasar's
// API, from Moyasar's SDKs (currency_util fractions; two where not listed).
// It covers more than supported so that the conversions are tested on
// 0- and 3-decimal currencies Moyasar may add.
var moyasarExponents = map[money.Currency]int{
	"SAR": 2, "AED": 2, "QAR": 2, "USD": 2,
	"BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3, "LYD": 3,
	"JPY": 0, "KRW": 0, "CLP": 0, "VND": 0, "XOF": 0, "XAF": 0, "ISK": 0,
	// ISO gives these two decimals; Moyasar's table none.
	"HUF": 0, "IDR": 0,
}

// maxExact is the largest integer every JSON parser on the way carries
// exactly (2^53-1, where IEEE doubles stop being exact).
const maxExact = 1<<53 - 1

// currencies returns the supported currencies the money package knows.
func currencies() []money.Currency {
	out := make([]money.Currency, 0, len(supported))
	for _, c := range supported {
		if c.Exponent() >= 0 {
			out = append(out, c)
		}
	}
	return out
}

// moyasarExponent is the number of decimals of c in Moyasar's API; -1 for
// a currency the table does not know.
func moyasarExponent(c money.Currency) int {
	if e, ok := moyasarExponents[c]; ok {
		return e
	}
	return -1
}

var pow10 = [...]int64{1, 10, 100, 1000, 10000}

// toMoyasar converts a to Moyasar's integer amount. ok is false when
// Moyasar cannot carry a exactly: a fraction Moyasar has no digit for, an
// unknown currency, a negative amount or one beyond maxExact.
func toMoyasar(a money.Amount) (v int64, ok bool) {
	e, me := a.Currency.Exponent(), moyasarExponent(a.Currency)
	if e < 0 || me < 0 || e >= len(pow10) || me >= len(pow10) || a.Minor < 0 || a.Minor > maxExact {
		return 0, false
	}
	switch {
	case me >= e:
		m := pow10[me-e]
		if a.Minor > maxExact/m {
			return 0, false
		}
		v = a.Minor * m
	default:
		d := pow10[e-me]
		if a.Minor%d != 0 {
			return 0, false
		}
		v = a.Minor / d
	}
	return v, true
}

// fromMoyasar converts Moyasar's amount v in currency cur back to a
// money.Amount. ok is false when cur is unknown, v is negative or beyond
// maxExact, or v has digits the ISO minor unit cannot hold.
func fromMoyasar(v int64, cur string) (a money.Amount, ok bool) {
	c := money.Currency(strings.ToUpper(cur))
	e, me := c.Exponent(), moyasarExponent(c)
	if e < 0 || me < 0 || e >= len(pow10) || me >= len(pow10) || v < 0 || v > maxExact {
		return money.Amount{}, false
	}
	switch {
	case e >= me:
		m := pow10[e-me]
		if v > maxExact/m {
			return money.Amount{}, false
		}
		return money.Amount{Minor: v * m, Currency: c}, true
	default:
		d := pow10[me-e]
		if v%d != 0 {
			return money.Amount{}, false
		}
		return money.Amount{Minor: v / d, Currency: c}, true
	}
}

// givenIDNamespace is the UUID namespace of the given_ids sakk derives: a
// random UUID chosen once for sakk. It must never change, or repeats of
// attempts made before the change would charge again.
var givenIDNamespace = [16]byte{0x3a, 0x0e, 0x5c, 0x4f, 0x8b, 0x1d, 0x5e, 0x27, 0x9f, 0x60, 0x2c, 0x41, 0x7d, 0x93, 0xb8, 0x05}

// GivenID returns the given_id Charge sends for an idempotency key: the
// version-5 (name-based, SHA-1) UUID of the key in sakk's namespace, so
// that every repeat of one attempt names the same Moyasar payment, and
// different keys name different ones.
func GivenID(key string) string {
	h := sha1.New()
	h.Write(givenIDNamespace[:])
	h.Write([]byte(key))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
