package pay

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"time"
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

// NewID returns prefix + "_" + 24 lower-case base32hex characters
// (0-9, a-v), e.g. "sess_0kb7m3q9v2…": 48 bits of the time in
// milliseconds, then 72 random bits from crypto/rand. The time first makes
// ids of one kind sort in the order they were made, so a new row's key
// lands next to the last one's in its table's primary-key index, instead
// of on a random page of it: committing a group of new sessions then
// writes a page or two of that index, not one per session (the embedded
// store's writer spent a third more time per session on random ids). The
// random bits make an id impossible to guess and a collision negligible,
// even among ids of one millisecond, so knowing an id grants nothing
// (tenancy is still checked on every read). Ids made before keep their
// form: nothing reads an id's characters.
func NewID(prefix string) string {
	var b [15]byte // 15 bytes = 120 bits = exactly 24 base32 characters, no padding
	ms := uint64(time.Now().UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	rand.Read(b[6:]) // never returns an error: since Go 1.24 it crashes the program instead
	return prefix + "_" + idEncoding.EncodeToString(b[:])
}

// idEncoding is base32hex in lower case: its alphabet is in ASCII order,
// so ids sort as the bytes they encode do.
var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

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
