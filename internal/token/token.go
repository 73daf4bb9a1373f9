// Package token issues and verifies sakk's own tokens: the Checkout API's
// session tokens, and the Public Payment API's SDK and payment verification
// tokens. All three are JWTs (compact JWS, "alg":"HS256": HMAC-SHA256 with
// a 256-bit secret per key) signed by a Ring of keys kept in the store, so
// that every instance sharing a database signs and verifies with the same
// keys. One key signs at a time; keys rotate (every 30 days, or on demand),
// and a retired key keeps verifying until every token it may have signed
// has expired.
//
// HMAC, not a signature with a public key, because sakk is the only
// verifier of each kind:
//
//   - a session token is the bearer credential of one payment session,
//     presented back to the Checkout API (status, hosted page);
//   - an SDK token is the bearer credential of a merchant's frontend or
//     backend SDK, presented back to the Public Payment API;
//   - a payment verification token, issued by OTP verify, is presented back
//     to process and confirm, and to nothing else.
//
// Merchants learn outcomes through the status API and signed webhooks,
// never by checking a token. The store already held the private halves of
// the Ed25519 keys, sealed by the vault; it holds the secrets sealed the
// same way, so whoever could sign before is whoever can sign and verify
// now: a shared secret moves no trust boundary. A public key would only
// serve a third-party verifier, and no flow has one. And HMAC-SHA256 signs
// in about a seventh of Ed25519's time, and verifies in an eighth.
//
// Keys of the versions that signed EdDSA (Ed25519) stay in the store: they
// verify the tokens they signed until they expire, sign nothing, and are
// all that the JWKS lists.
//
// The payload's claims, by JSON name:
//
//	iss              always "sakk"
//	typ              what the token is for: "session", "sdk" or "payment_verification";
//	                 a token is only ever accepted as what it was issued as
//	app              application id
//	env              environment: "sandbox" or "live"
//	sid              payment session id (session and verification tokens)
//	integrationType  "frontend" or "backend" (SDK tokens)
//	permissions      e.g. ["payment:create_session"] (SDK tokens)
//	modules          e.g. ["web"] (SDK tokens)
//	origin           the origin a frontend SDK token was issued to
//	identifier       the verified email address or phone number (verification tokens)
//	channel          "email" or "phone" (verification tokens)
//	iat, exp         seconds since the Unix epoch
//	jti              random, unique per token
//
// The header names the key: {"kid":"session-2026-11","alg":"HS256","typ":"JWT"}.
// A token's alg must be its key's: an HS256 token naming an EdDSA key, or
// the reverse, is refused.
package token

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/vault"
)

// Type says what a token is for.
type Type string

const (
	TypeSession      Type = "session"              // Checkout API session token: one payment session
	TypeSDK          Type = "sdk"                  // Public Payment API SDK token, frontend or backend
	TypeVerification Type = "payment_verification" // issued by OTP verify; the key to process and confirm
)

// Claims is what a token says. Which fields are set depends on Type (see
// the package documentation); the rest are empty.
type Claims struct {
	Type            Type
	ApplicationID   string
	Environment     pay.Environment
	SessionID       string   // session and verification tokens
	IntegrationType string   // SDK tokens: frontend | backend
	Permissions     []string // SDK tokens
	Modules         []string // SDK tokens
	Origin          string   // frontend SDK tokens
	Identifier      string   // verification tokens: the verified email or phone
	Channel         string   // verification tokens: email | phone
	IssuedAt        time.Time
	ExpiresAt       time.Time
	ID              string // jti
}

// Issuer is every token's "iss".
const Issuer = "sakk"

// Options tunes a Ring; zero values take the defaults.
type Options struct {
	// RotateEvery is how long a key signs before a new one replaces it.
	// Default 30 days.
	RotateEvery time.Duration
	// MaxTokenTTL is the longest lifetime of a token, and so how long a
	// retired key keeps verifying. Default 24 hours.
	MaxTokenTTL time.Duration
}

const (
	// algorithm is the JWS algorithm sakk signs with.
	algorithm = "HS256"
	// legacyAlgorithm is what sakk signed with before: its keys still in
	// the store verify the tokens they signed, and sign nothing.
	legacyAlgorithm = "EdDSA"
	// secretSize is an HS256 key's secret in bytes: SHA-256's output, the
	// least RFC 7518 (section 3.2) allows.
	secretSize = 32
	// kidPrefix starts every key's name. The Checkout API's documentation
	// shows kids like "session-2025-01"; SDK and verification tokens share
	// the ring, and so the names.
	kidPrefix = "session"
	// leeway absorbs clock differences between instances (and clients) in
	// exp and iat checks.
	leeway = 30 * time.Second
	// refreshEvery is the age at which the keys in memory are read again,
	// so that a rotation or a key removed on another instance is seen.
	refreshEvery = time.Minute
	// missReloadEvery bounds the reloads that tokens with an unknown kid
	// cause: such a token reads the keys again at once, unless they were
	// read less than this ago, so that garbage kids cannot make every
	// request read the database. (Keys are published before they sign,
	// see publishLead: an instance meets an unknown kid only when no key
	// signed before, or one signing it was missed.)
	missReloadEvery = 200 * time.Millisecond
	// cacheSize bounds the verified-token cache (entries of a few hundred
	// bytes each).
	cacheSize = 10_000
	// maxTokenLen refuses absurd input before hashing or parsing it; sakk's
	// tokens are well under 1 kB.
	maxTokenLen = 8 << 10
)

// Ring signs and verifies tokens with the signing keys kept in the store.
// It is safe for concurrent use; make one per process and share it.
type Ring struct {
	store  *store.Store
	box    *vault.Box
	now    func() time.Time
	opts   Options
	parser *jwt.Parser

	keys     atomic.Pointer[keySet] // the keys in memory; replaced whole, never changed
	loadMu   sync.Mutex             // one reload at a time
	createMu sync.Mutex             // one key creation at a time in this process
	verified verifiedCache
}

// NewRing returns a Ring over the keys in st, whose secrets box seals. It
// reads nothing yet: the first use loads the keys, and the first Sign on an
// empty store creates one.
func NewRing(st *store.Store, box *vault.Box, now func() time.Time, opts Options) *Ring {
	if opts.RotateEvery <= 0 {
		opts.RotateEvery = 30 * 24 * time.Hour
	}
	if opts.MaxTokenTTL <= 0 {
		opts.MaxTokenTTL = 24 * time.Hour
	}
	r := &Ring{store: st, box: box, now: now, opts: opts}
	r.parser = jwt.NewParser(
		// "none" and every algorithm but these two are refused before any
		// key is looked up; the key func then refuses a token whose alg is
		// not its key's (an HS256 token keyed by an EdDSA public key, say).
		jwt.WithValidMethods([]string{algorithm, legacyAlgorithm}),
		jwt.WithIssuer(Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(now),
		// Refuses base64 with non-zero padding bits, so one token has one
		// spelling.
		jwt.WithStrictDecoding(),
	)
	r.verified.m = make(map[[sha256.Size]byte]verifiedToken)
	return r
}

// Issue signs c as a token valid for ttl (at most Options.MaxTokenTTL)
// from now, setting its IssuedAt, ExpiresAt and ID, and returns the token
// and when it expires. JWT times are whole seconds: exp is now + ttl
// rounded down to the second.
func (r *Ring) Issue(ctx context.Context, c Claims, ttl time.Duration) (string, time.Time, error) {
	if ttl <= 0 || ttl > r.opts.MaxTokenTTL {
		return "", time.Time{}, fmt.Errorf("token: issue: lifetime %v is not in (0, %v]", ttl, r.opts.MaxTokenTTL)
	}
	c.IssuedAt = time.Unix(r.now().Unix(), 0).UTC()
	c.ExpiresAt = c.IssuedAt.Add(ttl)
	c.ID = rand.Text()
	tok, err := r.Sign(ctx, c)
	if err != nil {
		return "", time.Time{}, err
	}
	return tok, c.ExpiresAt, nil
}

// Sign signs c with the newest key, creating one first when there is none
// yet or the newest has retired. c must have a Type and an ExpiresAt at
// most Options.MaxTokenTTL away (a token must never outlive its key);
// IssuedAt defaults to now and ID to a random one. Most callers want Issue.
//
// Creating a key takes a write transaction of its own: do not call Sign
// inside a store transaction (on SQLite, with its one writer, it would wait
// for itself).
func (r *Ring) Sign(ctx context.Context, c Claims) (string, error) {
	now := r.now()
	switch {
	case c.Type == "":
		return "", errors.New("token: sign: claims have no type")
	case c.ExpiresAt.IsZero():
		return "", errors.New("token: sign: claims have no expiry")
	case c.ExpiresAt.Sub(now) > r.opts.MaxTokenTTL:
		return "", fmt.Errorf("token: sign: expiry %v is more than %v away", c.ExpiresAt, r.opts.MaxTokenTTL)
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = now
	}
	if c.ID == "" {
		c.ID = rand.Text()
	}
	k, err := r.signer(ctx)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	payload, err := json.Marshal(toWire(c))
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	// The header is encoded once per key. The token is built in one buffer
	// and its MAC taken over the first two segments in place: crypto/hmac
	// rather than jwt.SigningMethodHS256, which takes and returns strings
	// (five allocations more per token; Issue took a quarter longer).
	enc := base64.RawURLEncoding
	tok := make([]byte, 0, len(k.header)+1+enc.EncodedLen(len(payload))+1+enc.EncodedLen(sha256.Size))
	tok = append(tok, k.header...)
	tok = append(tok, '.')
	tok = enc.AppendEncode(tok, payload)
	mac := hmac.New(sha256.New, k.secret)
	mac.Write(tok)
	var sum [sha256.Size]byte
	tok = append(tok, '.')
	tok = enc.AppendEncode(tok, mac.Sum(sum[:0]))
	return string(tok), nil
}

// invalid is Verify's one answer to every token it refuses, whatever the
// reason: the HTTP layer turns it into each surface's code
// (INVALID_SESSION_TOKEN, …), and the reason goes to the logs only.
func invalid(cause error) error {
	return &pay.Error{Kind: pay.Unauthenticated, Code: "invalid_token", Message: "invalid or expired token",
		Op: "token.Verify", Err: cause}
}

// Verify checks tok (signature by a known key of its alg, issuer, expiry
// and issue time with a 30 s leeway) and that it was issued as want, and
// returns its claims. A refused token is a pay.Unauthenticated error with
// code "invalid_token"; any other error is the store's (the keys could not
// be read).
//
// A token verified once is remembered until it expires, so checking the
// same token again (a status poll) costs a hash and a map lookup, not a
// signature check; it is still refused once its key is gone.
func (r *Ring) Verify(ctx context.Context, tok string, want Type) (Claims, error) {
	if len(tok) > maxTokenLen {
		return Claims{}, invalid(errors.New("token too long"))
	}
	ks, err := r.current(ctx)
	if err != nil {
		return Claims{}, fmt.Errorf("token: verify: %w", err)
	}
	sum := sha256.Sum256([]byte(tok))
	if v, ok := r.verified.get(sum); ok {
		now := r.now()
		if k := ks.byKID[v.kid]; k != nil && now.Before(k.expires) && now.Before(v.claims.ExpiresAt.Add(leeway)) {
			if v.claims.Type != want {
				return Claims{}, invalid(fmt.Errorf("a %q token used as %q", v.claims.Type, want))
			}
			return v.claims.clone(), nil
		}
		// Expired, or its key is gone: the full check below gives the
		// reason, and the entry goes.
		r.verified.remove(sum)
	}

	var kid string
	var storeErr error
	var wc wireClaims
	_, err = r.parser.ParseWithClaims(tok, &wc, func(t *jwt.Token) (any, error) {
		kid, _ = t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("no kid in the header")
		}
		k := ks.byKID[kid]
		if k == nil {
			// Perhaps a key another instance created moments ago.
			fresh, err := r.reload(ctx, ks, missReloadEvery)
			if err != nil {
				storeErr = err
				return nil, err
			}
			if k = fresh.byKID[kid]; k == nil {
				return nil, fmt.Errorf("unknown kid %q", kid)
			}
		}
		if alg := t.Method.Alg(); alg != k.alg {
			return nil, fmt.Errorf("an %s token names the %s key %q", alg, k.alg, kid)
		}
		if k.broken != nil {
			return nil, k.broken
		}
		if !r.now().Before(k.expires) {
			return nil, fmt.Errorf("key %q has expired", kid)
		}
		if k.alg == legacyAlgorithm {
			return k.public, nil
		}
		return k.secret, nil
	})
	if storeErr != nil {
		return Claims{}, fmt.Errorf("token: verify: %w", storeErr)
	}
	if err != nil {
		return Claims{}, invalid(err)
	}
	c := wc.claims()
	r.verified.put(sum, verifiedToken{claims: c, kid: kid})
	if c.Type != want {
		return Claims{}, invalid(fmt.Errorf("a %q token used as %q", c.Type, want))
	}
	return c.clone(), nil
}

// wireClaims is Claims as JSON in a token's payload.
type wireClaims struct {
	Type            Type            `json:"typ"`
	ApplicationID   string          `json:"app,omitempty"`
	Environment     pay.Environment `json:"env,omitempty"`
	SessionID       string          `json:"sid,omitempty"`
	IntegrationType string          `json:"integrationType,omitempty"`
	Permissions     []string        `json:"permissions,omitempty"`
	Modules         []string        `json:"modules,omitempty"`
	Origin          string          `json:"origin,omitempty"`
	Identifier      string          `json:"identifier,omitempty"`
	Channel         string          `json:"channel,omitempty"`
	jwt.RegisteredClaims
}

func toWire(c Claims) wireClaims {
	return wireClaims{
		Type: c.Type, ApplicationID: c.ApplicationID, Environment: c.Environment, SessionID: c.SessionID,
		IntegrationType: c.IntegrationType, Permissions: c.Permissions, Modules: c.Modules, Origin: c.Origin,
		Identifier: c.Identifier, Channel: c.Channel,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: Issuer, IssuedAt: jwt.NewNumericDate(c.IssuedAt), ExpiresAt: jwt.NewNumericDate(c.ExpiresAt), ID: c.ID,
		},
	}
}

// claims converts a verified payload; exp is present (the parser requires
// it), iat may not be.
func (w *wireClaims) claims() Claims {
	c := Claims{
		Type: w.Type, ApplicationID: w.ApplicationID, Environment: w.Environment, SessionID: w.SessionID,
		IntegrationType: w.IntegrationType, Permissions: w.Permissions, Modules: w.Modules, Origin: w.Origin,
		Identifier: w.Identifier, Channel: w.Channel, ID: w.ID,
	}
	if w.IssuedAt != nil {
		c.IssuedAt = w.IssuedAt.UTC()
	}
	if w.ExpiresAt != nil {
		c.ExpiresAt = w.ExpiresAt.UTC()
	}
	return c
}

// clone copies the slices, so that a caller changing its claims cannot
// change the cached ones.
func (c Claims) clone() Claims {
	c.Permissions, c.Modules = slices.Clone(c.Permissions), slices.Clone(c.Modules)
	return c
}

// verifiedToken is a token whose signature and claims were checked once.
type verifiedToken struct {
	claims Claims
	kid    string
}

// verifiedCache remembers verified tokens by the SHA-256 of their text
// (collision-resistant: no other string can stand in for a cached token).
// It holds at most cacheSize entries; when full, an arbitrary entry makes
// room (Go's map iteration starts at a random place), which only costs that
// token one more signature check.
type verifiedCache struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]verifiedToken
}

func (c *verifiedCache) get(sum [sha256.Size]byte) (verifiedToken, bool) {
	c.mu.Lock()
	v, ok := c.m[sum]
	c.mu.Unlock()
	return v, ok
}

func (c *verifiedCache) put(sum [sha256.Size]byte, v verifiedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= cacheSize {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[sum] = v
}

func (c *verifiedCache) remove(sum [sha256.Size]byte) {
	c.mu.Lock()
	delete(c.m, sum)
	c.mu.Unlock()
}

// publicKey returns a legacy EdDSA key's raw Ed25519 public key, stored as
// a JWK's "x" (unpadded base64url).
func publicKey(x string) (ed25519.PublicKey, error) {
	b, err := base64.RawURLEncoding.DecodeString(x)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("not an Ed25519 public key")
	}
	return ed25519.PublicKey(b), nil
}
