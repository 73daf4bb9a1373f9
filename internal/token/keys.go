package token

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/store"
)

// signSlack is how long after its retirement an instance may still sign
// with a key: a rotation on another instance is seen at the next refresh of
// the keys in memory. A key verifies for MaxTokenTTL plus this after it
// retires, so no token it signed expires after it does.
const signSlack = refreshEvery

// publishLead is how long a new key is published before it signs: longer
// than refreshEvery, so that every instance has read it, and verifies its
// tokens, before the first of them exists. A rotation takes effect this
// much later; the key that signs until then keeps signing.
const publishLead = refreshEvery + 10*time.Second

// pruneAfter is how long an expired key stays in the store before Prune
// deletes it (for an operator who wants to know what signed an old token).
const pruneAfter = 7 * 24 * time.Hour

// key is one signing key in memory.
type key struct {
	kid string
	// alg is algorithm, or legacyAlgorithm for a key that only verifies;
	// a token is checked with its key only if its header names this alg.
	alg       string
	signsFrom time.Time
	retires   time.Time
	expires   time.Time
	// secret and header are an HS256 key's: the secret opened from the
	// vault, and the JWS header, base64url-encoded.
	secret []byte
	header string
	// public is a legacy EdDSA key's public half.
	public ed25519.PublicKey
	// broken says why the key is unusable (its secret could not be opened,
	// its public key is malformed): its tokens are refused, and it signs
	// nothing.
	broken error
}

// signs reports whether k may sign at all: an HS256 key whose secret opened.
func (k *key) signs() bool { return k.alg == algorithm && k.broken == nil }

// keySet is the keys in memory at one moment. It is never changed once
// published; a reload publishes a new one.
type keySet struct {
	byKID   map[string]*key
	ordered []*key // the latest to start signing first
	// signerErr says why a key that signs now or will is broken: its
	// secret could not be opened (another encryption key). No token can be
	// signed; those of the other keys still verify.
	signerErr error
	// checkedAt is when the store was last read (or tried) for this set.
	checkedAt time.Time
}

// signerAt is the key that signs at now: of those started and not
// retired, the latest to start; nil when there is none.
func (ks *keySet) signerAt(now time.Time) *key {
	for _, k := range ks.ordered {
		if k.signs() && !now.Before(k.signsFrom) && now.Before(k.retires) {
			return k
		}
	}
	return nil
}

// upcoming reports whether a key is published to sign after now.
func (ks *keySet) upcoming(now time.Time) bool {
	for _, k := range ks.ordered {
		if k.signs() && now.Before(k.signsFrom) {
			return true
		}
	}
	return false
}

// current returns the keys in memory, reading them from the store first
// when they are older than refreshEvery.
func (r *Ring) current(ctx context.Context) (*keySet, error) {
	ks := r.keys.Load()
	if ks != nil && r.now().Sub(ks.checkedAt) < refreshEvery {
		return ks, nil
	}
	return r.reload(ctx, ks, refreshEvery)
}

// reload reads the keys from the store, unless another goroutine already
// replaced seen, or the keys in memory are younger than minAge: callers
// racing to reload share one read, and tokens with unknown kids cause at
// most one read per minAge.
//
// When the read fails but keys are known, those stay in use (a database
// blip must not refuse every token) and the next attempt waits minAge.
func (r *Ring) reload(ctx context.Context, seen *keySet, minAge time.Duration) (*keySet, error) {
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	ks := r.keys.Load()
	now := r.now()
	if ks != nil && (ks != seen || now.Sub(ks.checkedAt) < minAge) {
		return ks, nil
	}
	fresh, err := r.load(ctx, now)
	if err != nil {
		if ks == nil {
			return nil, err
		}
		stale := *ks
		stale.checkedAt = now
		r.keys.Store(&stale)
		return &stale, nil
	}
	r.keys.Store(fresh)
	return fresh, nil
}

// forceReload reads the keys from the store now, after this process
// changed them.
func (r *Ring) forceReload(ctx context.Context) error {
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	fresh, err := r.load(ctx, r.now())
	if err != nil {
		return err
	}
	r.keys.Store(fresh)
	return nil
}

// load reads the keys that have not expired at now. It opens the secret of
// every HS256 one, retired or not, since each verifies its tokens with it;
// of a legacy EdDSA key it needs only the public half.
func (r *Ring) load(ctx context.Context, now time.Time) (*keySet, error) {
	rows, err := r.store.SigningKeys(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	ks := &keySet{byKID: make(map[string]*key, len(rows)), checkedAt: now}
	for _, row := range rows {
		k := &key{kid: row.KID, alg: row.Algorithm, signsFrom: row.SignsFrom, retires: row.RetiresAt, expires: row.ExpiresAt}
		switch row.Algorithm {
		case algorithm:
			k.secret, k.broken = r.openSecret(row)
			k.header = encodeHeader(row.KID)
			if k.broken != nil && ks.signerErr == nil && now.Before(row.RetiresAt) {
				ks.signerErr = k.broken
			}
		case legacyAlgorithm:
			if k.public, err = publicKey(row.PublicKey); err != nil {
				k.broken = fmt.Errorf("signing key %s: %w", row.KID, err)
			}
		default:
			continue // not a key this version can use
		}
		ks.byKID[k.kid] = k
		ks.ordered = append(ks.ordered, k)
	}
	return ks, nil
}

// openSecret opens an HS256 key's sealed secret.
func (r *Ring) openSecret(row store.SigningKey) ([]byte, error) {
	secret, err := r.box.Open(row.SealedPrivateKey)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", row.KID, err)
	}
	if len(secret) != secretSize {
		return nil, fmt.Errorf("signing key %s: sealed secret has %d bytes, want %d", row.KID, len(secret), secretSize)
	}
	return []byte(secret), nil
}

// encodeHeader returns a key's JWS header, base64url-encoded. kid comes
// first, as in the Checkout API's documented tokens.
func encodeHeader(kid string) string {
	h, _ := json.Marshal(struct { // cannot fail: three strings
		KID string `json:"kid"`
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	}{kid, algorithm, "JWT"})
	return base64.RawURLEncoding.EncodeToString(h)
}

// signer returns the key to sign with now, creating one first when there
// is none. Within publishLead of the signing key's retirement, it
// publishes the key that follows it (unless one is), so that instances
// know the successor before it signs.
func (r *Ring) signer(ctx context.Context) (*key, error) {
	ks, err := r.current(ctx)
	if err != nil {
		return nil, err
	}
	if ks.signerErr != nil {
		return nil, ks.signerErr
	}
	now := r.now()
	if k := ks.signerAt(now); k != nil {
		if !now.Add(publishLead).Before(k.retires) && !ks.upcoming(now) {
			// On failure, the next token tries again; until the key
			// retires, this one signs.
			r.create(ctx, k.retires, false)
		}
		return k, nil
	}
	// No key signs: the first start, the first token after an upgrade from
	// a version that signed EdDSA, or every key retired unnoticed. The new
	// key signs at once; instances that do not know it yet read the
	// keys again on its first token.
	if _, err := r.create(ctx, now, false); err != nil {
		return nil, err
	}
	ks = r.keys.Load()
	if ks.signerErr != nil {
		return nil, ks.signerErr
	}
	if k := ks.signerAt(r.now()); k != nil {
		return k, nil
	}
	return nil, errors.New("no signing key after creating one")
}

// Rotate publishes a new key that signs from publishLead on (every
// instance has read it by then) and returns its kid. The keys it replaces
// sign until then, and keep verifying the tokens they signed for
// Options.MaxTokenTTL (plus a minute) after.
func (r *Ring) Rotate(ctx context.Context) (kid string, err error) {
	kid, err = r.create(ctx, r.now().UTC().Add(publishLead), true)
	if err != nil {
		return "", fmt.Errorf("token: rotate: %w", err)
	}
	return kid, nil
}

// RotateNow is Rotate with the new key signing at once: for a key that
// must stop signing now (compromised), or when no other instance runs.
// Another running instance refuses the new key's tokens until it reads
// the keys again (at most MissReloadEvery after its last read).
func (r *Ring) RotateNow(ctx context.Context) (kid string, err error) {
	kid, err = r.create(ctx, r.now().UTC(), true)
	if err != nil {
		return "", fmt.Errorf("token: rotate: %w", err)
	}
	return kid, nil
}

// create stores a new signing key that signs from from on, and reloads the
// keys, returning the kid of the key that signs at from. Unless rotate, it
// first checks, in the same transaction, that no key signs at from yet:
// instances starting (or nearing a retirement) together then create one
// key, not one each. With rotate, the keys signing at or after from retire
// at from. The check and insert are serialised by the store's signing-key
// lock (PostgreSQL) or its single writer (SQLite), and within this process
// by createMu.
func (r *Ring) create(ctx context.Context, from time.Time, rotate bool) (string, error) {
	r.createMu.Lock()
	defer r.createMu.Unlock()
	if ks := r.keys.Load(); !rotate && ks != nil {
		if k := ks.signerAt(from); k != nil {
			return k.kid, nil // another goroutine of this process just made it
		}
	}
	now := r.now().UTC()
	from = from.UTC()
	secret := make([]byte, secretSize)
	rand.Read(secret) // never fails: see crypto/rand.Read
	var kid string
	err := r.store.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockSigningKeys(ctx); err != nil {
			return err
		}
		if !rotate {
			keys, err := tx.SigningKeys(ctx, now)
			if err != nil {
				return err
			}
			for _, k := range keys {
				if k.Algorithm == algorithm && !from.Before(k.SignsFrom) && from.Before(k.RetiresAt) {
					kid = k.KID // another instance made it
					return nil
				}
			}
			if onlyLegacyDue(keys, from) {
				// The first HS256 key after an upgrade from a version that
				// signed EdDSA. The EdDSA keys sign nothing any more: retired
				// now, they (and the JWKS listing them) go once the tokens
				// they signed have expired, not a rotation period later.
				if _, err := tx.RetireSigningKeys(ctx, from, from.Add(r.opts.MaxTokenTTL+signSlack)); err != nil {
					return err
				}
			}
		} else if _, err := tx.RetireSigningKeys(ctx, from, from.Add(r.opts.MaxTokenTTL+signSlack)); err != nil {
			return err
		}
		base := kidPrefix + "-" + from.Format("2006-01")
		used, err := tx.SigningKeyIDs(ctx, base)
		if err != nil {
			return err
		}
		kid = nextKID(base, used)
		retires := from.Add(r.opts.RotateEvery)
		if err := tx.CreateSigningKey(ctx, store.SigningKey{
			KID: kid, Algorithm: algorithm,
			PublicKey:        "", // an HMAC key has no public half
			SealedPrivateKey: r.box.Seal(string(secret)),
			CreatedAt:        now, SignsFrom: from, RetiresAt: retires, ExpiresAt: retires.Add(r.opts.MaxTokenTTL + signSlack),
		}); err != nil {
			return err
		}
		// Key creation is rare and already holds the lock: the moment to
		// drop keys long expired.
		_, err = tx.DeleteSigningKeys(ctx, now.Add(-pruneAfter), monthStart(now))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("create signing key: %w", err)
	}
	if err := r.forceReload(ctx); err != nil {
		return "", err
	}
	return kid, nil
}

// onlyLegacyDue reports whether keys due to sign after from remain, all of
// them legacy EdDSA ones. (RetireSigningKeys retires every such key: an
// HS256 key published to sign later must keep its turn.)
func onlyLegacyDue(keys []store.SigningKey, from time.Time) bool {
	due := false
	for _, k := range keys {
		if from.Before(k.RetiresAt) {
			if k.Algorithm == algorithm {
				return false
			}
			due = true
		}
	}
	return due
}

// nextKID names a new key of base's month: base itself, or base-N with N
// one more than the highest number used so far (base counts as 1).
func nextKID(base string, used []string) string {
	highest := 0
	for _, kid := range used {
		if kid == base {
			highest = max(highest, 1)
			continue
		}
		if n, err := strconv.Atoi(strings.TrimPrefix(kid, base+"-")); err == nil && n > highest {
			highest = n
		}
	}
	if highest == 0 {
		return base
	}
	return base + "-" + strconv.Itoa(highest+1)
}

// monthStart is the first instant of t's month, in UTC.
func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// Prune deletes the keys that expired more than seven days ago and returns
// how many. Keys of the current month are kept whatever their expiry, so
// that a kid is never given to a second key. Creating a key prunes too.
func (r *Ring) Prune(ctx context.Context) (int64, error) {
	now := r.now()
	var n int64
	err := r.store.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		n, err = tx.DeleteSigningKeys(ctx, now.Add(-pruneAfter), monthStart(now))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("token: prune: %w", err)
	}
	return n, nil
}

// jwk is a legacy EdDSA key's Ed25519 public key as RFC 8037 writes it in
// a JWK.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	KID string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS returns, as a JWK Set (RFC 7517) for GET /.well-known/jwks.json,
// the public keys of the legacy EdDSA keys not yet expired: those of the
// tokens issued before sakk signed with HMAC. HS256 keys have no public
// half, and nothing outside sakk verifies its tokens. After an upgrade the
// first HS256 key retires the EdDSA ones, so the set empties MaxTokenTTL
// (plus a minute) later, and stays empty. It is served from memory: a
// change on another instance shows within a minute.
func (r *Ring) JWKS(ctx context.Context) ([]byte, error) {
	ks, err := r.current(ctx)
	if err != nil {
		return nil, fmt.Errorf("token: jwks: %w", err)
	}
	now := r.now()
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range ks.ordered {
		if k.alg == legacyAlgorithm && k.broken == nil && now.Before(k.expires) {
			set.Keys = append(set.Keys, jwk{
				Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.public),
				KID: k.kid, Alg: legacyAlgorithm, Use: "sig",
			})
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("token: jwks: %w", err)
	}
	return b, nil
}
