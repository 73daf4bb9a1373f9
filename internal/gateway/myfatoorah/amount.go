package myfatoorah

import (
	"encoding/json"
	"strings"

	"github.com/sakkhq/sakk/internal/money"
)

// MyFatoorah's amounts (InvoiceAmount, InvoiceValue, Amount of MakeRefund,
// InvoiceValue of GetPaymentStatus) are JSON numbers in major units with
// the currency's decimals: 2.500 KWD, 179.90 SAR. sakk keeps integers of
// ISO 4217 minor units, so the conversion is a matter of where the decimal
// point goes and is done on digits, never through float64.

// toDecimal renders a as the JSON number MyFatoorah takes: its major
// units with exactly the currency's decimals ("17.990" for 17990 KWD,
// "1234" for 1234 of a zero-decimal currency). ok is false for an amount
// that is not positive or a currency the money package does not know:
// nothing else could be carried exactly.
func toDecimal(a money.Amount) (json.Number, bool) {
	if a.Minor <= 0 || a.Currency.Exponent() < 0 {
		return "", false
	}
	return json.Number(money.Format(a)), true
}

// fromDecimal reads a JSON number MyFatoorah sent (InvoiceValue, a
// refund's Amount) as an amount of cur, exactly: more decimals than cur
// has are accepted only when they are zeros ("25.0000" KWD is 25000),
// a non-zero digit beyond them, an exponent ("1e3") or a negative value is
// refused rather than rounded, and so is anything that is not a number.
func fromDecimal(n json.Number, cur money.Currency) (money.Amount, bool) {
	s := strings.TrimSpace(string(n))
	a, err := money.Parse(s, cur)
	if err != nil || a.Minor < 0 {
		return money.Amount{}, false
	}
	return a, true
}
