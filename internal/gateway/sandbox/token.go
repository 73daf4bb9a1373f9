package sandbox

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/pay"
)

// Test cards (SURFACES.md §3). Any expiry in the future and any 3- or
// 4-digit CVC work with them. Any other number that passes the Luhn check
// is approved like CardApproved, so a tester's own well-formed number
// behaves like a good card; a number that fails the check is refused by
// Tokenize.
const (
	CardApproved          = "4242424242424242" // approved
	CardDeclined          = "4000000000000002" // declined: card_declined
	CardInsufficientFunds = "4000000000009995" // declined: insufficient_funds
	CardThreeDSecure      = "4000000000003220" // action required: 3-D Secure challenge, then approved or declined
	CardProcessingError   = "4000000000000119" // declined: processing_error, retryable
)

// Error codes of Tokenize (Kind Invalid), spelled as Stripe's tokenizer
// spells them so the hosted page can treat every tokenizer alike. The
// messages never contain the card number.
const (
	CodeInvalidNumber      = "invalid_number"
	CodeInvalidExpiryMonth = "invalid_expiry_month"
	CodeInvalidExpiryYear  = "invalid_expiry_year"
	CodeExpiredCard        = "expired_card"
	CodeInvalidCVC         = "invalid_cvc"
)

// TokenTTL is how long a token from Tokenize can be charged: the hosted
// page charges it seconds after making it, and a session lives an hour.
const TokenTTL = time.Hour

// Card is what the shopper typed on the hosted page.
type Card struct {
	Number   string // 12 to 19 digits; spaces and hyphens between them are ignored
	ExpMonth int    // 1 to 12
	ExpYear  int    // four digits, or two (30 is 2030)
	CVC      string // 3 or 4 digits
}

// behaviour is what a card does when charged. It is written into tokens
// and references as one byte: never renumber.
type behaviour uint8

const (
	approve behaviour = iota + 1
	decline
	insufficientFunds
	threeDS
	processingError
	offSiteOnly // no card: an off-site approval alone (the "paypal" and "myfatoorah" sandboxes)
)

func (b behaviour) valid() bool { return approve <= b && b <= offSiteOnly }

// testCards maps each documented number to its behaviour; every other
// valid number approves.
var testCards = map[string]behaviour{
	CardApproved:          approve,
	CardDeclined:          decline,
	CardInsufficientFunds: insufficientFunds,
	CardThreeDSecure:      threeDS,
	CardProcessingError:   processingError,
}

// Token layout, before base64url: version, behaviour, last four digits,
// expiry (Unix seconds, big-endian), 8 random bytes (so that two tokens of
// one card differ), then the first 16 bytes of HMAC-SHA256 over all that
// under the token key. Only the last four digits of the number are kept:
// the token is shown to the browser and stored with the payment.
const (
	tokenPrefix  = "tok_"
	tokenVersion = 1
	tokenPayload = 1 + 1 + 4 + 8 + 8
	tokenMAC     = 16
	tokenLen     = tokenPayload + tokenMAC
)

// Tokenize checks card the way a gateway's browser tokenizer does and
// returns a token ("tok_…") that Charge accepts as PaymentToken for
// TokenTTL. The token is self-describing and authenticated: it carries the
// card's behaviour, its last four digits and its expiry, signed with the
// simulator's key, so any sakk instance sharing the key can charge it and
// none has to remember it. It does not contain the card number.
//
// Errors are Kind Invalid with one of the Code* codes above.
func (s *Simulator) Tokenize(card Card) (string, error) {
	const op = "sandbox.Tokenize"
	number, ok := cardNumber(card.Number)
	if !ok {
		return "", tokenizeError(op, CodeInvalidNumber, "the card number is not a valid card number")
	}
	if card.ExpMonth < 1 || card.ExpMonth > 12 {
		return "", tokenizeError(op, CodeInvalidExpiryMonth, "the card's expiration month is invalid")
	}
	now := s.now().UTC()
	year := card.ExpYear
	if 0 <= year && year < 100 {
		year += 2000
	}
	if year < 2000 || year > now.Year()+50 {
		return "", tokenizeError(op, CodeInvalidExpiryYear, "the card's expiration year is invalid")
	}
	// A card is good through the last day of its expiry month; UTC,
	// since the shopper's time zone is unknown (a day's grace either way
	// does not matter to a simulator).
	if !now.Before(time.Date(year, time.Month(card.ExpMonth)+1, 1, 0, 0, 0, 0, time.UTC)) {
		return "", tokenizeError(op, CodeExpiredCard, "the card has expired")
	}
	if !allDigits(card.CVC) || len(card.CVC) < 3 || len(card.CVC) > 4 {
		return "", tokenizeError(op, CodeInvalidCVC, "the card's security code is invalid")
	}

	b, ok := testCards[number]
	if !ok {
		b = approve
	}
	p := make([]byte, 0, tokenLen)
	p = append(p, tokenVersion, byte(b))
	p = append(p, number[len(number)-4:]...)
	p = binary.BigEndian.AppendUint64(p, uint64(now.Add(TokenTTL).Unix()))
	var nonce [8]byte
	rand.Read(nonce[:]) // never fails: since Go 1.24 it crashes the program instead
	p = append(p, nonce[:]...)
	p = append(p, mac(s.tokenKey, p)[:tokenMAC]...)
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(p), nil
}

// parseToken verifies tok and returns the behaviour it carries. Forged,
// altered, truncated, expired tokens and tokens signed with another key
// are all the same Invalid error: a caller learns nothing about why.
func (s *Simulator) parseToken(op, tok string) (behaviour, error) {
	bad := gateway.Invalid(op, gateway.CodeInvalidPaymentToken, "the payment token is invalid or has expired; tokenize the card again", nil)
	raw, ok := strings.CutPrefix(tok, tokenPrefix)
	// As for references: base64 would skip line breaks.
	if !ok || len(raw) != base64.RawURLEncoding.EncodedLen(tokenLen) || strings.ContainsAny(raw, "\r\n") {
		return 0, bad
	}
	p, err := strictBase64.DecodeString(raw)
	if err != nil || len(p) != tokenLen {
		return 0, bad
	}
	payload, sum := p[:tokenPayload], p[tokenPayload:]
	if !hmac.Equal(sum, mac(s.tokenKey, payload)[:tokenMAC]) {
		return 0, bad
	}
	b := behaviour(payload[1])
	expires := int64(binary.BigEndian.Uint64(payload[6:14]))
	if payload[0] != tokenVersion || !b.valid() || b == offSiteOnly || s.now().Unix() >= expires {
		return 0, bad
	}
	return b, nil
}

// cardNumber returns number's digits with spaces and hyphens removed, and
// whether they make a plausible card number: 12 to 19 digits passing the
// Luhn check.
func cardNumber(number string) (string, bool) {
	if len(number) > 64 { // nothing longer is a card number with separators
		return "", false
	}
	digits := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, number)
	if len(digits) < 12 || len(digits) > 19 || !allDigits(digits) || !luhn(digits) {
		return "", false
	}
	return digits, true
}

// luhn reports whether the ASCII digits pass the Luhn (mod 10) check:
// doubling every second digit from the right, the digit sum is a multiple
// of ten.
func luhn(digits string) bool {
	sum := 0
	for i := range len(digits) {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func tokenizeError(op, code, message string) error {
	return &pay.Error{Kind: pay.Invalid, Code: code, Message: message, Op: op}
}
