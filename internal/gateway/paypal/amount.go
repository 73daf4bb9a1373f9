package paypal

import (
	"slices"
	"strconv"

	"github.com/sakkhq/sakk/internal/money"
)

// PayPal writes every amount as a decimal string in the currency's major
// unit ("money.value" in its OpenAPI documents: "An integer for currencies
// like JPY that are not typically fractional"), with the number of decimals
// its "Currency codes" reference gives each currency:
//
//   - HUF, JPY and TWD "do not support decimals. If you pass a decimal
//     amount, an error occurs." JPY has no decimals for ISO 4217 either;
//     HUF and TWD have two, so only whole forints and dollars can be sent;
//   - every other supported currency is sent with two decimals, as ISO
//     4217 has them.
//
// No currency PayPal supports has three decimals: KWD, BHD, OMR and JOD
// are not PayPal currencies and are refused when a session is created
// (Capabilities.Currencies). sakk never rounds a shopper's amount, so
// toPayPal refuses what does not convert exactly.

// supported lists the currencies PayPal's REST APIs take, as its
// "Currency codes" reference lists them, USD first (the conformance
// suite's default). BRL, CNY and MYR are listed with the note "supported
// as a payment currency and a currency balance for in-country PayPal
// accounts only": they are kept, since a merchant with such an account
// can charge them, and PayPal refuses them for others
// (CURRENCY_NOT_SUPPORTED), which reads as a refusal, never as a charge.
// RUB, on older copies of the page, is left out: PayPal stopped serving
// Russia in 2022 and its current page no longer lists it.
var supported = []money.Currency{
	"USD", "AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP",
	"HKD", "HUF", "ILS", "JPY", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN",
	"SEK", "SGD", "THB", "TWD",
}

// noDecimals are the supported currencies PayPal takes in whole units.
var noDecimals = []money.Currency{"HUF", "JPY", "TWD"}

// currencies returns what Capabilities.Currencies lists: the supported
// currencies the money package knows, except HUF and TWD. Those two have
// two decimals for ISO 4217 and none at PayPal, so a price such as
// 1299.50 HUF, valid for sakk, could not be charged: sessions in them
// would be accepted and then fail when the shopper pays, which the
// contract forbids (Capabilities has no way yet to say "whole units
// only"). Charge still converts whole HUF and TWD amounts exactly (and
// refuses the others), should a caller send them.
func currencies() []money.Currency {
	out := make([]money.Currency, 0, len(supported))
	for _, c := range supported {
		if c.Exponent() >= 0 && (!slices.Contains(noDecimals, c) || c.Exponent() == 0) {
			out = append(out, c)
		}
	}
	return out
}

// paypalDecimals is how many decimals PayPal takes for c.
func paypalDecimals(c money.Currency) int {
	if slices.Contains(noDecimals, c) {
		return 0
	}
	return c.Exponent()
}

// toPayPal renders a as PayPal's money.value. ok is false when a's
// currency is not one PayPal supports, when a is not positive, or when a
// has a fraction PayPal has no digit for (HUF 12.50).
func toPayPal(a money.Amount) (value string, ok bool) {
	if !slices.Contains(supported, a.Currency) || a.Minor <= 0 {
		return "", false
	}
	e, pe := a.Currency.Exponent(), paypalDecimals(a.Currency)
	switch {
	case e < 0 || pe > e:
		return "", false
	case pe == e:
		return money.Format(a), true
	}
	d := int64(1)
	for range e - pe {
		d *= 10
	}
	if a.Minor%d != 0 {
		return "", false
	}
	return strconv.FormatInt(a.Minor/d, 10), true
}

// fromPayPal reads PayPal's money object back, exactly: a value with a
// non-zero digit beyond the ISO minor unit, an unknown currency or a
// malformed value is not an amount sakk can record, and ok is false.
func fromPayPal(m *moneyJSON) (money.Amount, bool) {
	if m == nil {
		return money.Amount{}, false
	}
	a, err := money.Parse(m.Value, money.Currency(m.CurrencyCode))
	if err != nil {
		return money.Amount{}, false
	}
	return a, true
}

// moneyJSON is PayPal's money object.
type moneyJSON struct {
	CurrencyCode string `json:"currency_code"`
	Value        string `json:"value"`
}
