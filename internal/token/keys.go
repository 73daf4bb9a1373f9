package token

import (
	"context"
	"crypto/ed25519"
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
	kid       string
	public    ed25519.PublicKey
	signsFrom time.Time
	retires   time.Time
	expires   time.Time
	// private and header are set on the keys that sign now or will: their
	// private half opened from the vault, and their JWS header,
	// base64url-encoded.
	private ed25519.PrivateKey
	header  string
}

// keySet is the keys in memory at one moment. It is never changed once
// published; a reload publishes a new one.
type keySet struct {
	byKID   map[string]*key
	ordered []*key // the latest to start signing first
	// signerErr says why a key that signs now or will has no private
	// half: it could not be opened (another encryption key). Tokens still
	// verify; none can be signed.
	signerErr error
	// checkedAt is when the store was last read (or tried) for this set.
	checkedAt time.Time
}

// signerAt is the key that signs at now: of those started and not
// retired, the latest to start; nil when there is none.
func (ks *keySet) signerAt(now time.Time) *key {
	for _, k := range ks.ordered {
		if k.private != nil && !now.Before(k.signsFrom) && now.Before(k.retires) {
			return k
		}
	}
	return nil
}

// upcoming reports whether a key is published to sign after now.
func (ks *keySet) upcoming(now time.Time) bool {
	for _, k := range ks.ordered {
		if k.private != nil && now.Before(k.signsFrom) {
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

// load reads the keys that have not expired at now, and opens the private
// half of those not retired (the one signing, and any published to sign
// later).
func (r *Ring) load(ctx context.Context, now time.Time) (*keySet, error) {
	rows, err := r.store.SigningKeys(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	ks := &keySet{byKID: make(map[string]*key, len(rows)), checkedAt: now}
	for _, row := range rows {
		if row.Algorithm != algorithm {
			continue // not a key this version can use
		}
		pub, err := publicKey(row.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", row.KID, err)
		}
		k := &key{kid: row.KID, public: pub, signsFrom: row.SignsFrom, retires: row.RetiresAt, expires: row.ExpiresAt}
		if ks.signerErr == nil && now.Before(row.RetiresAt) {
			if k.private, ks.signerErr = r.openPrivate(row, pub); ks.signerErr == nil {
				k.header = encodeHeader(row.KID)
			}
		}
		ks.byKID[k.kid] = k
		ks.ordered = append(ks.ordered, k)
	}
	return ks, nil
}

// openPrivate opens a key's sealed private half (an Ed25519 seed) and
// checks that it belongs to the public one.
func (r *Ring) openPrivate(row store.SigningKey, pub ed25519.PublicKey) (ed25519.PrivateKey, error) {
	seed, err := r.box.Open(row.SealedPrivateKey)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", row.KID, err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("signing key %s: sealed private key has %d bytes, want %d", row.KID, len(seed), ed25519.SeedSize)
	}
	priv := ed25519.NewKeyFromSeed([]byte(seed))
	if !pub.Equal(priv.Public()) {
		return nil, fmt.Errorf("signing key %s: private key does not match the public key", row.KID)
	}
	return priv, nil
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
	// No key signs: the first start, or every key retired unnoticed. The
	// new key signs at once; instances that do not know it yet read the
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
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return "", err
	}
	var kid string
	err = r.store.WithTx(ctx, func(tx *store.Tx) error {
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
			PublicKey:        base64.RawURLEncoding.EncodeToString(pub),
			SealedPrivateKey: r.box.Seal(string(priv.Seed())),
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

// jwk is an Ed25519 public key as RFC 8037 writes it in a JWK.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	KID string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS returns the public keys of every key not yet expired as a JWK Set
// (RFC 7517), for GET /.well-known/jwks.json. It is served from memory:
// a key another instance created appears within a minute.
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
		if now.Before(k.expires) {
			set.Keys = append(set.Keys, jwk{
				Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.public),
				KID: k.kid, Alg: algorithm, Use: "sig",
			})
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("token: jwks: %w", err)
	}
	return b, nil
}
