package sandbox_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/sandbox"
	"github.com/sakkhq/sakk/internal/pay"
)

func TestTokenizeAccepts(t *testing.T) {
	e := newEnv(t, nil) // the clock reads 2026-03-15
	cases := []sandbox.Card{
		{Number: sandbox.CardApproved, ExpMonth: 12, ExpYear: 2030, CVC: "123"},
		{Number: "4242 4242 4242 4242", ExpMonth: 1, ExpYear: 2027, CVC: "1234"},
		{Number: "4242-4242-4242-4242", ExpMonth: 3, ExpYear: 2026, CVC: "000"}, // good through the end of this month
		{Number: "5555555555554444", ExpMonth: 6, ExpYear: 30, CVC: "123"},      // two-digit year
		{Number: "378282246310005", ExpMonth: 6, ExpYear: 2076, CVC: "1234"},    // 15 digits; 50 years ahead
		{Number: "6011111111111117", ExpMonth: 6, ExpYear: 2030, CVC: "123"},
	}
	for _, c := range cases {
		tok, err := e.sim.Tokenize(c)
		if err != nil {
			t.Errorf("Tokenize(%+v): %v", c, err)
			continue
		}
		if !strings.HasPrefix(tok, "tok_") {
			t.Errorf("Tokenize(%+v) = %q, want a tok_ prefix", c, tok)
		}
	}
}

func TestTokenizeRefuses(t *testing.T) {
	e := newEnv(t, nil) // the clock reads 2026-03-15
	good := sandbox.Card{Number: sandbox.CardApproved, ExpMonth: 12, ExpYear: 2030, CVC: "123"}
	cases := []struct {
		name string
		edit func(*sandbox.Card)
		code string
	}{
		{"Luhn check fails", func(c *sandbox.Card) { c.Number = "4242424242424241" }, sandbox.CodeInvalidNumber},
		{"letters", func(c *sandbox.Card) { c.Number = "4242x24242424242" }, sandbox.CodeInvalidNumber},
		{"too short", func(c *sandbox.Card) { c.Number = "42424242426" }, sandbox.CodeInvalidNumber},
		{"too long", func(c *sandbox.Card) { c.Number = "42424242424242424242" }, sandbox.CodeInvalidNumber},
		{"empty", func(c *sandbox.Card) { c.Number = "" }, sandbox.CodeInvalidNumber},
		{"huge", func(c *sandbox.Card) { c.Number = strings.Repeat("0", 1<<16) }, sandbox.CodeInvalidNumber},
		{"non-ASCII digits", func(c *sandbox.Card) { c.Number = "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢" }, sandbox.CodeInvalidNumber},
		{"month 0", func(c *sandbox.Card) { c.ExpMonth = 0 }, sandbox.CodeInvalidExpiryMonth},
		{"month 13", func(c *sandbox.Card) { c.ExpMonth = 13 }, sandbox.CodeInvalidExpiryMonth},
		{"last month", func(c *sandbox.Card) { c.ExpMonth, c.ExpYear = 2, 2026 }, sandbox.CodeExpiredCard},
		{"last year", func(c *sandbox.Card) { c.ExpYear = 2025 }, sandbox.CodeExpiredCard},
		{"year 1999", func(c *sandbox.Card) { c.ExpYear = 1999 }, sandbox.CodeInvalidExpiryYear},
		{"year 51 years ahead", func(c *sandbox.Card) { c.ExpYear = 2077 }, sandbox.CodeInvalidExpiryYear},
		{"negative year", func(c *sandbox.Card) { c.ExpYear = -1 }, sandbox.CodeInvalidExpiryYear},
		{"CVC of 2 digits", func(c *sandbox.Card) { c.CVC = "12" }, sandbox.CodeInvalidCVC},
		{"CVC of 5 digits", func(c *sandbox.Card) { c.CVC = "12345" }, sandbox.CodeInvalidCVC},
		{"CVC with a letter", func(c *sandbox.Card) { c.CVC = "12a" }, sandbox.CodeInvalidCVC},
		{"empty CVC", func(c *sandbox.Card) { c.CVC = "" }, sandbox.CodeInvalidCVC},
	}
	for _, c := range cases {
		card := good
		c.edit(&card)
		tok, err := e.sim.Tokenize(card)
		if err == nil {
			t.Errorf("%s: Tokenize = %q, want an error", c.name, tok)
			continue
		}
		if pay.KindOf(err) != pay.Invalid || pay.CodeOf(err) != c.code {
			t.Errorf("%s: error %v (kind %v, code %q), want invalid %q", c.name, err, pay.KindOf(err), pay.CodeOf(err), c.code)
		}
		if card.Number != "" && len(card.Number) < 64 && strings.Contains(err.Error(), card.Number) {
			t.Errorf("%s: the error %q shows the card number", c.name, err)
		}
	}
}

// TestExpiryBoundary: a card is good through the last instant of its
// expiry month, UTC.
func TestExpiryBoundary(t *testing.T) {
	e := newEnv(t, nil)
	card := sandbox.Card{Number: sandbox.CardApproved, ExpMonth: 3, ExpYear: 2026, CVC: "123"}
	e.clock.Advance(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC).Sub(start) - time.Nanosecond)
	if _, err := e.sim.Tokenize(card); err != nil {
		t.Errorf("on the last instant of its month: %v", err)
	}
	e.clock.Advance(time.Nanosecond)
	if _, err := e.sim.Tokenize(card); pay.CodeOf(err) != sandbox.CodeExpiredCard {
		t.Errorf("on the first instant after its month: error %v, want expired_card", err)
	}
}

// TestTokenDoesNotLeakNumber: neither the token nor its decoded bytes
// hold the card number or any run of it beyond the last four digits.
func TestTokenDoesNotLeakNumber(t *testing.T) {
	e := newEnv(t, nil)
	for _, number := range []string{sandbox.CardApproved, sandbox.CardThreeDSecure, "5555555555554444", "378282246310005"} {
		tok := e.token(t, number)
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, "tok_"))
		if err != nil {
			t.Fatalf("token %q is not base64url after its prefix: %v", tok, err)
		}
		// Any 6 consecutive digits of the number, other than within the
		// last four, would be a leak (first six are the BIN).
		for i := 0; i+6 <= len(number)-4+3; i++ {
			run := number[i : i+6]
			if strings.Contains(tok, run) || strings.Contains(string(raw), run) {
				t.Errorf("token of %s…%s holds the digits %q", number[:4], number[len(number)-4:], run)
			}
		}
		if !strings.Contains(string(raw), number[len(number)-4:]) {
			t.Errorf("token of …%s lacks the last four digits (kept for display)", number[len(number)-4:])
		}
	}
	// Two tokens of one card differ, so a token says nothing about
	// which card another token came from.
	if a, b := e.token(t, sandbox.CardApproved), e.token(t, sandbox.CardApproved); a == b {
		t.Errorf("two tokens of one card are equal: %q", a)
	}
}

// tokenRefused charges tok and requires the Invalid invalid_payment_token
// error.
func tokenRefused(t *testing.T, c gateway.Connector, tok, what string) {
	t.Helper()
	res, err := c.Charge(t.Context(), chargeReq(usd(1000), tok))
	if pay.KindOf(err) != pay.Invalid || pay.CodeOf(err) != gateway.CodeInvalidPaymentToken {
		t.Errorf("%s: Charge = (%+v, %v), want invalid %s", what, res, err, gateway.CodeInvalidPaymentToken)
	}
	if gateway.ChargeOutcome(res, err) == gateway.Approved {
		t.Errorf("%s: approved", what)
	}
}

func TestTamperedTokenRefused(t *testing.T) {
	e := newEnv(t, nil)
	c := e.sim.Connector("stripe")
	tok := e.token(t, sandbox.CardDeclined)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	// Every single-character change after the prefix, including the
	// behaviour byte (a declined card made to look approved).
	for i := len("tok_"); i < len(tok); i++ {
		b := []byte(tok)
		b[i] = alphabet[(strings.IndexByte(alphabet, b[i])+1)%len(alphabet)]
		tokenRefused(t, c, string(b), fmt.Sprintf("token changed at byte %d", i))
	}
	for _, bad := range []string{"", "tok_", "tok_" + strings.Repeat("A", 51), tok[:len(tok)-1], tok + "A", "sbx_" + tok[4:], strings.ToUpper(tok)} {
		tokenRefused(t, c, bad, "malformed token "+bad)
	}
}

func TestTokenFromAnotherKeyRefused(t *testing.T) {
	a, b := newEnv(t, nil), newEnv(t, nil)
	tokenRefused(t, b.sim.Connector("stripe"), a.token(t, sandbox.CardApproved), "token of another key")
}

func TestTokenFromSameKeyWorksOnAnotherInstance(t *testing.T) {
	a := newEnv(t, nil)
	b := newEnv(t, a.key)
	res, err := b.sim.Connector("stripe").Charge(t.Context(), chargeReq(usd(1000), a.token(t, sandbox.CardApproved)))
	if err != nil || res.Outcome != gateway.Approved {
		t.Errorf("token of instance A charged on B: (%+v, %v), want approved", res, err)
	}
}

func TestTokenExpires(t *testing.T) {
	e := newEnv(t, nil)
	c := e.sim.Connector("stripe")
	tok := e.token(t, sandbox.CardApproved)
	e.clock.Advance(sandbox.TokenTTL - time.Second)
	if _, err := c.Charge(t.Context(), chargeReq(usd(1000), tok)); err != nil {
		t.Fatalf("a token just before its TTL: %v", err)
	}
	e.clock.Advance(time.Second)
	tokenRefused(t, c, tok, "a token at its TTL")
}
