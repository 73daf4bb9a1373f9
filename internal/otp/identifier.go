package otp

import (
	"strings"
	"unicode/utf8"

	"github.com/sakkhq/sakk/internal/pay"
)

// Channel is how a code reaches a shopper, and so what its identifier is.
type Channel string

const (
	Email Channel = "email" // identifier: an email address
	Phone Channel = "phone" // identifier: an E.164 phone number
)

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool { return c == Email || c == Phone }

// CodeInvalidIdentifier is the code of the error NormalizeIdentifier
// returns for a malformed email address or phone number.
const CodeInvalidIdentifier = "invalid_identifier"

// maxEmailLen is the longest address SMTP can carry (RFC 5321: a 256-octet
// path, less its angle brackets).
const maxEmailLen = 254

// NormalizeIdentifier returns the one spelling of an email address or phone
// number under which its codes are stored, sent and checked, so that
// " Ali@Shop.MA" and "ali@shop.ma" are one shopper:
//
//   - an email address is trimmed and lower-cased, and must be a plain
//     ASCII local@domain (no display name, no comments, no quoted local
//     part) of at most 254 characters whose domain has at least two
//     labels. Internationalised domains are accepted in their xn-- form.
//   - a phone number loses spaces, dashes, dots and parentheses; a leading
//     00 becomes +; it must then be + and 8 to 15 digits, the first not 0
//     (E.164: a country code never starts with 0). Numbers without a
//     country code are refused rather than guessed.
//
// Anything else is an Invalid error with code "invalid_identifier".
func NormalizeIdentifier(ch Channel, raw string) (string, error) {
	switch ch {
	case Email:
		if id, ok := normalizeEmail(raw); ok {
			return id, nil
		}
		return "", pay.Errorf(pay.Invalid, CodeInvalidIdentifier, "the email address is not valid")
	case Phone:
		if id, ok := normalizePhone(raw); ok {
			return id, nil
		}
		return "", pay.Errorf(pay.Invalid, CodeInvalidIdentifier, "the phone number is not valid: give it in international form, e.g. +212612345678")
	}
	return "", pay.Errorf(pay.Invalid, CodeInvalidIdentifier, "unknown verification channel")
}

func normalizeEmail(raw string) (string, bool) {
	s := strings.TrimSpace(raw)
	if len(s) > maxEmailLen {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			// Before lower-casing, which maps some non-ASCII letters
			// (the Kelvin sign) to ASCII ones.
			return "", false
		}
	}
	s = strings.ToLower(s)
	local, domain, ok := strings.Cut(s, "@")
	if !ok || !validLocalPart(local) || !validDomain(domain) {
		return "", false
	}
	return s, true
}

// validLocalPart accepts RFC 5322's dot-atom: atext runs joined by single
// dots. Quoted local parts are legal but unused in practice, and refusing
// them keeps every stored address free of spaces and quotes.
func validLocalPart(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for part := range strings.SplitSeq(s, ".") {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			if !isAtext(part[i]) {
				return false
			}
		}
	}
	return true
}

func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// validDomain accepts a host name of two or more labels of letters, digits
// and inner hyphens, each at most 63 characters. It also refuses the "@"
// of a second at-sign, since '@' is no label character.
func validDomain(s string) bool {
	if len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func normalizePhone(raw string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.TrimSpace(raw) {
		switch r {
		case ' ', '\t', '\u00a0', '-', '.', '(', ')':
			continue
		}
		b.WriteRune(r)
	}
	s := b.String()
	if rest, ok := strings.CutPrefix(s, "00"); ok {
		s = "+" + rest
	}
	digits, ok := strings.CutPrefix(s, "+")
	if !ok || len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return "", false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", false
		}
	}
	return s, true
}

// Sandbox test identifiers (SURFACES.md section 3): in the sandbox, codes
// for these are never sent and are always TestCode.
const (
	TestEmailDomain = "example.com"
	TestPhonePrefix = "+2126000000"
	TestCode        = "000000"
)

// IsTestIdentifier reports whether a normalised identifier is one of the
// sandbox's test identifiers: an address at exactly example.com (not a
// subdomain), or a phone number starting +2126000000.
func IsTestIdentifier(ch Channel, identifier string) bool {
	switch ch {
	case Email:
		_, domain, _ := strings.Cut(identifier, "@")
		return domain == TestEmailDomain
	case Phone:
		return strings.HasPrefix(identifier, TestPhonePrefix)
	}
	return false
}
