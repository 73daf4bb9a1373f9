package pay

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

// ID prefixes, one per kind of thing, so an id says what it names and one
// kind of id cannot be passed where another is expected unnoticed. They are
// stored and shown to merchants: never change one.
const (
	PrefixMerchant    = "mer"
	PrefixApplication = "app"
	PrefixSession     = "sess"
	PrefixPayment     = "pay"
	PrefixRefund      = "re"
	PrefixEvent       = "evt"
	PrefixWebhook     = "whe"
	PrefixKey         = "key"
	PrefixProduct     = "prod"
	PrefixDomain      = "dom"
	PrefixPaymentLink = "plink"
)

// NewID returns prefix + "_" + 24 lower-case base32 characters holding 120
// random bits from crypto/rand, e.g. "sess_k3jq4…". 120 bits make a
// collision negligible and an id impossible to guess, so knowing an id
// grants nothing (tenancy is still checked on every read).
func NewID(prefix string) string {
	var b [15]byte  // 15 bytes = 120 bits = exactly 24 base32 characters, no padding
	rand.Read(b[:]) // never returns an error: since Go 1.24 it crashes the program instead
	return prefix + "_" + strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// NewUUID returns a random (version 4, RFC 9562) UUID in its canonical
// lower-case form, e.g. "0b5c5f8e-7d1a-4c39-9e0f-2a6b8d4c1e77". The
// Checkout API's webhook event ids are UUIDs.
func NewUUID() string {
	var b [16]byte
	rand.Read(b[:])         // never returns an error, as in NewID
	b[6] = b[6]&0x0f | 0x40 // version 4: random
	b[8] = b[8]&0x3f | 0x80 // variant 10: RFC 9562
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}
