package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"net/url"
	"strings"

	"github.com/sakkhq/sakk/internal/money"
)

// action is what a charge waits for before it has an outcome. Written into
// references as one byte: never renumber.
type action uint8

const (
	noAction     action = iota // the outcome is known at once
	authenticate               // a 3-D Secure challenge
	approval                   // an off-site approval page (PayPal, MyFatoorah)
)

// reference is what a charge's reference ("sbx_…") says about it. Like a
// token, it is self-describing and authenticated, so that any instance can
// answer Fetch and Refund for it, and render its challenge page, from the
// reference alone; only the shopper's answer to a challenge and the sum of
// refunds need memory (see Simulator).
type reference struct {
	behaviour behaviour
	action    action
	gateway   string       // the connector name that made it; another name's Fetch does not see it
	amount    money.Amount // what the charge is for; captured in full when approved
	id        [idLen]byte  // from the idempotency key: the same key gives the same charge
}

// Reference layout, before base64url: version, behaviour, action, name
// length and name, currency (3 bytes), amount in minor units (uvarint),
// id, then the first 12 bytes of HMAC-SHA256 over all that under the
// reference key.
const (
	refPrefix  = "sbx_"
	refVersion = 1
	refMAC     = 12
	idLen      = 10
	maxNameLen = 32
	maxRefLen  = 200 // longer than any reference New can make; bounds decoding
)

func (s *Simulator) encodeReference(r reference) string {
	p := make([]byte, 0, 64)
	p = append(p, refVersion, byte(r.behaviour), byte(r.action), byte(len(r.gateway)))
	p = append(p, r.gateway...)
	p = append(p, r.amount.Currency...)
	p = binary.AppendUvarint(p, uint64(r.amount.Minor))
	p = append(p, r.id[:]...)
	p = append(p, mac(s.refKey, p)[:refMAC]...)
	return refPrefix + base64.RawURLEncoding.EncodeToString(p)
}

// decodeReference verifies and reads ref. Any failure is the same false:
// for a caller, a forged reference and an unknown one are both "no such
// charge".
func (s *Simulator) decodeReference(ref string) (reference, bool) {
	raw, ok := strings.CutPrefix(ref, refPrefix)
	// encoding/base64 skips \r and \n even when strict: without this, one
	// reference would have many spellings, some holding line breaks.
	if !ok || len(ref) > maxRefLen || strings.ContainsAny(raw, "\r\n") {
		return reference{}, false
	}
	p, err := strictBase64.DecodeString(raw)
	if err != nil || len(p) < refMAC {
		return reference{}, false
	}
	payload, sum := p[:len(p)-refMAC], p[len(p)-refMAC:]
	if !hmac.Equal(sum, mac(s.refKey, payload)[:refMAC]) {
		return reference{}, false
	}
	// The MAC is good, so the payload is one this package wrote; the
	// checks below guard against a future layout, not against forgery.
	if len(payload) < 4 || payload[0] != refVersion {
		return reference{}, false
	}
	r := reference{behaviour: behaviour(payload[1]), action: action(payload[2])}
	n := int(payload[3])
	rest := payload[4:]
	if len(rest) < n+3 {
		return reference{}, false
	}
	r.gateway, rest = string(rest[:n]), rest[n:]
	r.amount.Currency, rest = money.Currency(rest[:3]), rest[3:]
	minor, k := binary.Uvarint(rest)
	if k <= 0 || len(rest[k:]) != idLen {
		return reference{}, false
	}
	r.amount.Minor = int64(minor)
	copy(r.id[:], rest[k:])
	if !r.behaviour.valid() || r.action > approval {
		return reference{}, false
	}
	return r, true
}

// chargeID derives a charge's id from the gateway name and its
// idempotency key, so that a repeated Charge finds the same charge (and
// makes the same reference) even on another instance or after a restart.
func (s *Simulator) chargeID(gateway, idempotencyKey string) [idLen]byte {
	var id [idLen]byte
	copy(id[:], mac(s.idKey, []byte(gateway+"\x00"+idempotencyKey)))
	return id
}

// refundReference derives a refund's reference ("re_sbx_…") from its
// charge and its idempotency key, for the same reason as chargeID.
func (s *Simulator) refundReference(chargeRef, idempotencyKey string) string {
	sum := mac(s.idKey, []byte("refund\x00"+chargeRef+"\x00"+idempotencyKey))
	return "re_sbx_" + strings.ToLower(base32.StdEncoding.EncodeToString(sum[:15]))
}

// challengeURL is where a charge that needs the shopper sends the browser:
// the challenge page, with the return URL and a signature over reference
// and return URL. The signature keeps the page from being an open
// redirect (nobody can make sakk send a browser to a URL of their choice)
// and stands in for a CSRF token: only the shopper holding the link can
// answer the challenge.
func (s *Simulator) challengeURL(ref, returnURL string) string {
	q := url.Values{"return": {returnURL}, "sig": {s.linkSig(ref, returnURL)}}
	return s.publicURL + ChallengePath + ref + "?" + q.Encode()
}

func (s *Simulator) linkSig(ref, returnURL string) string {
	return base64.RawURLEncoding.EncodeToString(mac(s.linkKey, []byte(ref+"\x00"+returnURL))[:16])
}

func (s *Simulator) checkLinkSig(ref, returnURL, sig string) bool {
	return hmac.Equal([]byte(sig), []byte(s.linkSig(ref, returnURL)))
}

// mac returns HMAC-SHA256 of msg under key.
func mac(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// subkey derives the key for one purpose from the key given to New, so that
// a token can never pass for a reference or a link signature, whatever
// their bytes.
func subkey(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("sakk/gateway/sandbox/" + purpose))
	return m.Sum(nil)
}

// strictBase64 decodes only the canonical encoding, in which the unused
// bits of the last character are zero: otherwise four spellings of one
// token would all verify, and "changed" would not mean "refused".
var strictBase64 = base64.RawURLEncoding.Strict()
