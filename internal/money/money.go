// Package money represents amounts of money exactly, as an int64 count of
// a currency's minor units (cents, fils, santimat ...) plus an ISO 4217
// currency, and converts them to and from decimal text.
//
// Nothing here goes through floating point. Parse and ParseNumber read
// decimal text digit by digit and refuse, rather than round, anything they
// cannot represent exactly: more decimals than the currency has, values
// beyond int64, exponent notation. Arithmetic is checked: a sum that would
// overflow, or that mixes currencies, is an error instead of a wrong total.
//
// The package imports only the standard library; every other sakk package
// that handles an amount uses this one.
package money

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Amount is an exact amount of money: Minor units of Currency, so 1799.00
// MAD is Amount{Minor: 179900, Currency: "MAD"}. The zero Amount has no
// currency, so arithmetic on it fails with ErrCurrency.
type Amount struct {
	Minor    int64    // amount in the currency's minor units (cents, fils, ...)
	Currency Currency // ISO 4217 code; its Exponent says where the decimal point goes
}

// Errors the functions of this package return, wrapped with a message for
// the human who sent the amount. Test for them with errors.Is; the message
// (Error()) is safe to show to an API caller.
var (
	ErrSyntax    = errors.New("money: malformed amount")                    // text is not a plain decimal number
	ErrPrecision = errors.New("money: more decimals than the currency has") // a non-zero digit beyond the currency's exponent
	ErrOverflow  = errors.New("money: amount out of range")                 // beyond int64 minor units
	ErrCurrency  = errors.New("money: wrong currency")                      // unknown currency, or two different ones
)

// MaxTextLen is the longest text Parse and ParseNumber read, in bytes. No
// amount that fits in int64 minor units needs more than 21 bytes
// ("-922337203685477.5808" in CLF); the slack allows for trailing
// fractional zeros, and the bound keeps a hostile string of a million zeros
// from costing a million steps. Longer text is ErrSyntax, whatever its
// value.
const MaxTextLen = 64

// moneyError carries a message for humans and, through Unwrap, the sentinel
// callers branch on; keeping them apart lets the message name the input
// without making errors.Is depend on its wording.
type moneyError struct {
	kind error
	msg  string
}

func (e *moneyError) Error() string { return e.msg }
func (e *moneyError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &moneyError{kind: kind, msg: "money: " + fmt.Sprintf(format, args...)}
}

// New returns minor units of c. It does not check c: use Lookup, or Parse,
// where the currency comes from outside.
func New(minor int64, c Currency) Amount {
	return Amount{Minor: minor, Currency: c}
}

// Parse reads s, a decimal amount in the currency's major unit such as
// "1799.00", into minor units of c. The grammar is JSON's number without
// the exponent:
//
//	amount = [ "-" ] int [ "." digit { digit } ]
//	int    = "0" | digit1-9 { digit }
//
// Only ASCII digits count; there is no "+", no space, no grouping
// separator, no exponent ("1e3" is refused rather than guessed at, though it
// is valid JSON), and no "-0": zero has one spelling. Fractional digits
// beyond c's exponent are accepted when they are all zeros ("1799.000" is
// 179900 in MAD), since the value is still exact; a non-zero one is
// ErrPrecision, never rounded.
//
// Errors: ErrCurrency for an unknown c, ErrSyntax for text outside the
// grammar or longer than MaxTextLen, ErrPrecision, and ErrOverflow for a
// value beyond int64 minor units.
func Parse(s string, c Currency) (Amount, error) {
	exp := c.Exponent()
	if exp < 0 {
		return Amount{}, unknownCurrency(c)
	}
	if s == "" {
		return Amount{}, errorf(ErrSyntax, "empty amount")
	}
	if len(s) > MaxTextLen {
		// s is not quoted: it may be huge, and echoing it helps nobody.
		return Amount{}, errorf(ErrSyntax, "amount is %d bytes long; at most %d are allowed", len(s), MaxTextLen)
	}

	// Split s into sign, integer digits and fraction digits, checking the
	// grammar; no value is computed until the text is known to be good, so
	// that a syntax error is never reported as an overflow.
	rest := s
	neg := false
	if rest[0] == '-' {
		neg = true
		rest = rest[1:]
	}
	n := leadingDigits(rest)
	intPart, rest := rest[:n], rest[n:]
	if intPart == "" {
		switch {
		case s[0] == '+':
			return Amount{}, syntaxError(s, "has a '+' sign; only '-' is allowed")
		case strings.HasPrefix(rest, "."):
			return Amount{}, syntaxError(s, "needs a digit before the '.'")
		}
		return Amount{}, syntaxError(s, "is not a decimal number")
	}
	var frac string
	if strings.HasPrefix(rest, ".") {
		n := leadingDigits(rest[1:])
		frac, rest = rest[1:1+n], rest[1+n:]
		if frac == "" {
			return Amount{}, syntaxError(s, "needs a digit after the '.'")
		}
	}
	switch {
	case strings.HasPrefix(rest, "e") || strings.HasPrefix(rest, "E"):
		return Amount{}, syntaxError(s, "uses exponent notation; spell out the digits")
	case rest != "":
		return Amount{}, syntaxError(s, "is not a decimal number")
	case len(intPart) > 1 && intPart[0] == '0':
		return Amount{}, syntaxError(s, "has a leading zero")
	case neg && strings.Trim(intPart+frac, "0") == "":
		return Amount{}, syntaxError(s, "is a negative zero; write it without the '-'")
	}

	// Digits past the exponent must be zeros; the loop below reads only
	// the first exp fractional digits.
	if len(frac) > exp && strings.Trim(frac[exp:], "0") != "" {
		return Amount{}, errorf(ErrPrecision, "%q has more decimals than %s allows (%d)", s, c, exp)
	}

	// Accumulate the magnitude in a uint64 so that MinInt64, whose
	// magnitude is one more than MaxInt64, needs no special case.
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	var v uint64
	push := func(d uint64) bool {
		if v > (limit-d)/10 {
			return false
		}
		v = v*10 + d
		return true
	}
	ok := true
	for i := 0; ok && i < len(intPart); i++ {
		ok = push(uint64(intPart[i] - '0'))
	}
	for i := 0; ok && i < exp; i++ {
		d := uint64(0) // frac shorter than exp: "1799.5" in MAD is 1799.50
		if i < len(frac) {
			d = uint64(frac[i] - '0')
		}
		ok = push(d)
	}
	if !ok {
		return Amount{}, overflowError(s, c, neg)
	}
	if neg {
		// For v == 1<<63 the conversion wraps to MinInt64 and negating
		// MinInt64 gives MinInt64 again: the right answer.
		return Amount{Minor: -int64(v), Currency: c}, nil
	}
	return Amount{Minor: int64(v), Currency: c}, nil
}

// ParseNumber is Parse for a JSON number token, as json.Decoder produces
// with UseNumber: {"price": 1799.00} gives json.Number("1799.00"), which
// is 179900 MAD. The grammar and errors are Parse's, so an exponent such as
// 1e3, valid JSON though it is, is ErrSyntax.
func ParseNumber(n json.Number, c Currency) (Amount, error) {
	return Parse(string(n), c)
}

// leadingDigits returns how many bytes at the start of s are ASCII digits.
func leadingDigits(s string) int {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}

func syntaxError(s, why string) error {
	return errorf(ErrSyntax, "%q %s (an amount looks like \"1799.00\" or \"-5.25\")", s, why)
}

func overflowError(s string, c Currency, neg bool) error {
	if neg {
		return errorf(ErrOverflow, "%q is below the smallest %s amount, %s", s, c, Format(Amount{Minor: math.MinInt64, Currency: c}))
	}
	return errorf(ErrOverflow, "%q is above the largest %s amount, %s", s, c, Format(Amount{Minor: math.MaxInt64, Currency: c}))
}

func unknownCurrency(c Currency) error {
	if len(c) > 16 { // not a code at all; echoing it would only bloat the message
		return errorf(ErrCurrency, "unknown currency (want an upper-case ISO 4217 code such as \"USD\")")
	}
	return errorf(ErrCurrency, "unknown currency %q (want an upper-case ISO 4217 code such as \"USD\")", string(c))
}

// Format writes a in its currency's major unit with exactly Exponent
// decimals: "1799.00" for 179900 MAD, "-5.250" for -5250 KWD, "100" for 100
// JPY. Parse reads the result back to a. For a currency the table lacks,
// where the point's place is unknown, it writes the bare minor units.
func Format(a Amount) string {
	exp := max(a.Currency.Exponent(), 0)
	mag := uint64(a.Minor)
	if a.Minor < 0 {
		mag = -mag // two's complement: right for MinInt64 too
	}
	digits := strconv.FormatUint(mag, 10)
	if len(digits) <= exp {
		digits = strings.Repeat("0", exp+1-len(digits)) + digits
	}
	var b strings.Builder
	b.Grow(len(digits) + 2)
	if a.Minor < 0 {
		b.WriteByte('-')
	}
	b.WriteString(digits[:len(digits)-exp])
	if exp > 0 {
		b.WriteByte('.')
		b.WriteString(digits[len(digits)-exp:])
	}
	return b.String()
}

// String returns a formatted with its currency code, "1799.00 MAD", for
// logs and messages.
func (a Amount) String() string {
	if a.Currency == "" {
		return Format(a)
	}
	return Format(a) + " " + string(a.Currency)
}

// IsZero reports whether a is zero, in whatever currency.
func (a Amount) IsZero() bool { return a.Minor == 0 }

// IsPositive reports whether a is greater than zero.
func (a Amount) IsPositive() bool { return a.Minor > 0 }

// IsNegative reports whether a is less than zero.
func (a Amount) IsNegative() bool { return a.Minor < 0 }

// Add returns a + b. Both must be in the same known currency (ErrCurrency),
// and the sum must fit in int64 minor units (ErrOverflow).
func (a Amount) Add(b Amount) (Amount, error) {
	if err := sameCurrency("add", a, b); err != nil {
		return Amount{}, err
	}
	s := a.Minor + b.Minor
	// Overflow happened iff a and b have the same sign and s has the other.
	if (a.Minor^s)&(b.Minor^s) < 0 {
		return Amount{}, errorf(ErrOverflow, "%s + %s is out of range", a, b)
	}
	return Amount{Minor: s, Currency: a.Currency}, nil
}

// Sub returns a - b, with the checks of Add.
func (a Amount) Sub(b Amount) (Amount, error) {
	if err := sameCurrency("subtract", a, b); err != nil {
		return Amount{}, err
	}
	d := a.Minor - b.Minor
	// Overflow happened iff a and b have different signs and d's sign
	// differs from a's.
	if (a.Minor^b.Minor)&(a.Minor^d) < 0 {
		return Amount{}, errorf(ErrOverflow, "%s - %s is out of range", a, b)
	}
	return Amount{Minor: d, Currency: a.Currency}, nil
}

// Mul returns a × q, such as a unit price times a quantity. a's currency
// must be known (ErrCurrency) and the product must fit in int64 minor
// units (ErrOverflow). A negative q is allowed; whether a quantity may be
// negative is the caller's rule, not arithmetic's.
func (a Amount) Mul(q int64) (Amount, error) {
	if a.Currency.Exponent() < 0 {
		return Amount{}, unknownCurrency(a.Currency)
	}
	p := a.Minor * q
	// Dividing back catches every overflow but one: MinInt64 × -1 wraps to
	// MinInt64, and MinInt64 / -1 wraps back to MinInt64.
	if q != 0 && (p/q != a.Minor || (q == -1 && a.Minor == math.MinInt64)) {
		return Amount{}, errorf(ErrOverflow, "%s × %d is out of range", a, q)
	}
	return Amount{Minor: p, Currency: a.Currency}, nil
}

// Cmp returns -1, 0 or +1 as a is less than, equal to or greater than b.
// Amounts in different currencies do not compare (ErrCurrency).
func (a Amount) Cmp(b Amount) (int, error) {
	if err := sameCurrency("compare", a, b); err != nil {
		return 0, err
	}
	switch {
	case a.Minor < b.Minor:
		return -1, nil
	case a.Minor > b.Minor:
		return +1, nil
	}
	return 0, nil
}

// Sum returns the total of amounts, all of which must be in c; with no
// amounts it is zero c. Taking c explicitly, rather than from the first
// amount, gives an empty cart a total and catches a cart whose every line
// is in the wrong currency.
func Sum(c Currency, amounts ...Amount) (Amount, error) {
	if c.Exponent() < 0 {
		return Amount{}, unknownCurrency(c)
	}
	total := Amount{Currency: c}
	for _, a := range amounts {
		var err error
		if total, err = total.Add(a); err != nil {
			return Amount{}, err
		}
	}
	return total, nil
}

// sameCurrency checks that a and b can meet in one operation: same
// currency, and one the table knows.
func sameCurrency(op string, a, b Amount) error {
	if a.Currency != b.Currency {
		return errorf(ErrCurrency, "cannot %s %s and %s: the currencies differ", op, a, b)
	}
	if a.Currency.Exponent() < 0 {
		return unknownCurrency(a.Currency)
	}
	return nil
}
