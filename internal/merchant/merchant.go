// Package merchant manages what a merchant sets up before taking payments:
// merchants, applications, API keys (shown once, stored hashed, rotated),
// verified domains, catalog products and webhook endpoints. Both the admin
// CLI and the HTTP APIs go through it, so its rules hold whichever way a
// change arrives.
package merchant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/memo"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/vault"
)

// DefaultRotationGrace is how long a rotated secret key keeps working, so
// that a merchant can deploy the new key without an outage.
const DefaultRotationGrace = 24 * time.Hour

// DefaultPermissions are what a new application's SDK tokens may do: the
// frontend flow (link catalog products, verify a customer, open a session).
// Inline prices and preset customers need an explicit grant.
var DefaultPermissions = []string{"payment:create_session", "payment:send_otp", "payment:verify_otp", "product:link"}

// Permissions are every permission an SDK token can carry (SURFACES.md
// §2). product:create and customer:* reach backend tokens only.
var Permissions = []string{
	"payment:create_session", "payment:send_otp", "payment:verify_otp",
	"product:link", "product:create", "customer:create", "customer:select",
}

// Modules are the SDK modules an application can enable.
var Modules = []string{"web", "cart", "product_item"}

// DefaultModules are the SDK modules a new application enables.
var DefaultModules = []string{"web", "cart", "product_item"}

// KeyCacheTTL is how long a verified key is remembered. A key revoked,
// rotated or deleted through this package is forgotten at once on every
// instance (store.Invalidate); one changed behind its back (or whose
// invalidation was lost) may still be accepted that long. Verifying
// against the store on every request would cost more than most requests.
const KeyCacheTTL = 10 * time.Second

// keysTopic is the store invalidation topic of the key cache; its keys
// are key hashes.
const keysTopic = "api_key"

// Service carries out merchant set-up.
type Service struct {
	store *store.Store
	vault *vault.Box
	now   func() time.Time
	keys  *memo.Cache[string, pay.APIKey] // by hash of the key text
	proof *prover                         // how VerifyDomain checks a domain
}

// New returns a Service. now is the clock (time.Now in production).
func New(st *store.Store, box *vault.Box, now func() time.Time) *Service {
	s := &Service{
		store: st, vault: box, now: now,
		keys:  memo.New[string, pay.APIKey](KeyCacheTTL, 10_000, now),
		proof: newProver(DomainVerifier{}),
	}
	st.OnInvalidate(keysTopic, func(hash string) {
		if hash == "" {
			s.keys.Clear()
			return
		}
		s.keys.Forget(hash)
	})
	return s
}

// forgetKeys drops keys from the cache of every instance, after the
// write that changed them.
func (s *Service) forgetKeys(ctx context.Context, hashes ...string) {
	for _, h := range hashes {
		s.keys.Forget(h)
		s.store.Invalidate(ctx, keysTopic, h)
	}
}

// Keys are the texts of one environment's keys. They exist only in the
// answer to the call that created them.
type Keys struct {
	Secret      string
	Public      string
	ClientToken string
}

// NewApplication is a request to create an application.
type NewApplication struct {
	Name         string
	MerchantName string // an existing merchant of that name is reused
	MerchantID   string // else an existing merchant, by id
	Environment  pay.Environment
}

// CreatedApplication is the answer to CreateApplication.
type CreatedApplication struct {
	Application pay.Application
	Merchant    pay.Merchant
	Environment pay.Environment
	Keys        Keys
}

// CreateApplication creates an application (and its merchant when new)
// with a full set of keys for the requested environment.
func (s *Service) CreateApplication(ctx context.Context, req NewApplication) (CreatedApplication, error) {
	var out CreatedApplication
	name, merchantName := strings.TrimSpace(req.Name), strings.TrimSpace(req.MerchantName)
	if name == "" {
		return out, pay.Errorf(pay.Invalid, "invalid_name", "an application needs a name")
	}
	if merchantName == "" && req.MerchantID == "" {
		merchantName = name
	}
	if !req.Environment.Valid() {
		return out, pay.Errorf(pay.Invalid, "invalid_environment", "environment must be sandbox or live, not %q", req.Environment)
	}
	now := s.now().UTC()
	err := s.store.WithTx(ctx, func(tx *store.Tx) error {
		var m pay.Merchant
		var err error
		if req.MerchantID != "" {
			m, err = tx.Merchant(ctx, req.MerchantID)
		} else if m, err = tx.MerchantByName(ctx, merchantName); pay.KindOf(err) == pay.NotFound {
			m = pay.Merchant{ID: pay.NewID(pay.PrefixMerchant), Name: merchantName, CreatedAt: now}
			err = tx.CreateMerchant(ctx, m)
		}
		if err != nil {
			return err
		}
		app := pay.Application{
			ID:          pay.NewID(pay.PrefixApplication),
			MerchantID:  m.ID,
			Name:        name,
			Permissions: slices.Clone(DefaultPermissions),
			Modules:     slices.Clone(DefaultModules),
			CreatedAt:   now,
		}
		if err := tx.CreateApplication(ctx, app); err != nil {
			return err
		}
		keys, err := issueKeys(ctx, tx, app.ID, req.Environment, now)
		if err != nil {
			return err
		}
		out = CreatedApplication{Application: app, Merchant: m, Environment: req.Environment, Keys: keys}
		return nil
	})
	if err != nil {
		return CreatedApplication{}, fmt.Errorf("merchant: create application: %w", err)
	}
	return out, nil
}

// IssueKeys creates a full new set of keys for one environment of an
// existing application (for instance its live keys, once it goes live).
// Earlier keys keep working.
func (s *Service) IssueKeys(ctx context.Context, appID string, env pay.Environment) (Keys, error) {
	if !env.Valid() {
		return Keys{}, pay.Errorf(pay.Invalid, "invalid_environment", "environment must be sandbox or live, not %q", env)
	}
	var keys Keys
	err := s.store.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Application(ctx, appID); err != nil {
			return err
		}
		var err error
		keys, err = issueKeys(ctx, tx, appID, env, s.now().UTC())
		return err
	})
	if err != nil {
		return Keys{}, fmt.Errorf("merchant: issue keys: %w", err)
	}
	return keys, nil
}

func issueKeys(ctx context.Context, tx *store.Tx, appID string, env pay.Environment, now time.Time) (Keys, error) {
	var keys Keys
	for _, k := range []struct {
		kind pay.KeyKind
		dst  *string
	}{{pay.SecretKey, &keys.Secret}, {pay.PublicKey, &keys.Public}, {pay.ClientToken, &keys.ClientToken}} {
		text, stored := newKey(appID, env, k.kind, now)
		if err := tx.CreateAPIKey(ctx, stored); err != nil {
			return Keys{}, err
		}
		*k.dst = text
	}
	return keys, nil
}

// newKey makes a key's text, e.g. sk_test_ followed by 32 base-62
// characters (190 bits from crypto/rand), and the record that stores it.
func newKey(appID string, env pay.Environment, kind pay.KeyKind, now time.Time) (string, pay.APIKey) {
	text := kind.Prefix() + "_" + env.KeyTag() + "_" + randomBase62(32)
	return text, pay.APIKey{
		ID:            pay.NewID(pay.PrefixKey),
		ApplicationID: appID,
		Environment:   env,
		Kind:          kind,
		Prefix:        visiblePrefix(text),
		Hash:          HashKey(text),
		CreatedAt:     now,
	}
}

// visiblePrefix is the part of a key shown in listings and logs: the kind,
// the environment and four random characters.
func visiblePrefix(key string) string {
	const n = len("sk_test_") + 4
	if len(key) <= n {
		return key
	}
	return key[:n]
}

// HashKey is how keys are stored and looked up.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func randomBase62(n int) string {
	b := make([]byte, n)
	// 248 = 4×62: rejecting bytes at or above it keeps every character
	// equally likely.
	for i := 0; i < n; {
		var one [1]byte
		rand.Read(one[:])
		if one[0] < 248 {
			b[i] = base62[one[0]%62]
			i++
		}
	}
	return string(b)
}

// Authenticate finds the active key of the wanted kind with this text. Any
// failure (unknown, expired, revoked, wrong kind) is the same
// Unauthenticated error: a caller learns nothing about which.
func (s *Service) Authenticate(ctx context.Context, key string, kind pay.KeyKind) (pay.APIKey, error) {
	denied := pay.Errorf(pay.Unauthenticated, "invalid_key", "the key is invalid, expired or revoked")
	if !strings.HasPrefix(key, kind.Prefix()+"_") {
		return pay.APIKey{}, denied
	}
	hash := HashKey(key)
	k, cached := s.keys.Get(hash)
	if !cached {
		var err error
		k, err = s.store.APIKeyByHash(ctx, hash)
		if pay.KindOf(err) == pay.NotFound {
			return pay.APIKey{}, denied
		}
		if err != nil {
			return pay.APIKey{}, fmt.Errorf("merchant: authenticate: %w", err)
		}
		// Only found keys are remembered, so unknown keys cannot fill the
		// cache; and never past their own expiry.
		s.keys.Put(hash, k, k.ExpiresAt)
	}
	if k.Kind != kind || !k.ActiveAt(s.now()) {
		return pay.APIKey{}, denied
	}
	return k, nil
}

// Rotated is the answer to RotateSecretKey.
type Rotated struct {
	Secret         string    // the new secret key, shown once
	OldExpiresAt   time.Time // when the previous secret keys stop working
	OldKeyPrefixes []string  // which keys that applies to
}

// RotateSecretKey issues a new secret key for one environment; the
// previous ones keep working for grace (DefaultRotationGrace when zero),
// then stop. A negative grace is refused.
func (s *Service) RotateSecretKey(ctx context.Context, appID string, env pay.Environment, grace time.Duration) (Rotated, error) {
	if grace < 0 {
		return Rotated{}, pay.Errorf(pay.Invalid, "invalid_grace", "the grace period cannot be negative")
	}
	if grace == 0 {
		grace = DefaultRotationGrace
	}
	if !env.Valid() {
		return Rotated{}, pay.Errorf(pay.Invalid, "invalid_environment", "environment must be sandbox or live, not %q", env)
	}
	now := s.now().UTC()
	out := Rotated{OldExpiresAt: now.Add(grace)}
	var shortened []string // hashes of the keys whose end moved
	err := s.store.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Application(ctx, appID); err != nil {
			return err
		}
		old, err := tx.APIKeys(ctx, appID, env, pay.SecretKey)
		if err != nil {
			return err
		}
		for _, k := range old {
			// Keys already on their way out keep their earlier end.
			if !k.ActiveAt(now) || !k.ExpiresAt.IsZero() && !k.ExpiresAt.After(out.OldExpiresAt) {
				continue
			}
			if err := tx.ExpireAPIKey(ctx, k.ID, out.OldExpiresAt); err != nil {
				return err
			}
			shortened = append(shortened, k.Hash)
			out.OldKeyPrefixes = append(out.OldKeyPrefixes, k.Prefix)
		}
		text, stored := newKey(appID, env, pay.SecretKey, now)
		out.Secret = text
		return tx.CreateAPIKey(ctx, stored)
	})
	s.forgetKeys(ctx, shortened...)
	if err != nil {
		return Rotated{}, fmt.Errorf("merchant: rotate secret key: %w", err)
	}
	return out, nil
}

// NewProduct is a request to add a catalog product.
type NewProduct struct {
	ApplicationID string
	StoreCode     string
	Title         string
	Price         money.Amount
	ImageURL      string
}

// AddProduct adds a catalog product. A store code is unique within its
// application.
func (s *Service) AddProduct(ctx context.Context, req NewProduct) (pay.Product, error) {
	code, title := strings.TrimSpace(req.StoreCode), strings.TrimSpace(req.Title)
	if code == "" {
		return pay.Product{}, pay.Errorf(pay.Invalid, "invalid_store_code", "a product needs a store code")
	}
	if err := checkProduct(title, req.Price, req.ImageURL); err != nil {
		return pay.Product{}, err
	}
	p := pay.Product{
		ID:            pay.NewID(pay.PrefixProduct),
		ApplicationID: req.ApplicationID,
		StoreCode:     code,
		Title:         title,
		Price:         req.Price,
		ImageURL:      req.ImageURL,
		CreatedAt:     s.now().UTC(),
	}
	err := s.store.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Application(ctx, req.ApplicationID); err != nil {
			return err
		}
		return tx.CreateProduct(ctx, p)
	})
	if pay.KindOf(err) == pay.Conflict {
		return pay.Product{}, pay.Errorf(pay.Conflict, "store_code_taken", "the application already has a product with store code %q", code)
	}
	if err != nil {
		return pay.Product{}, fmt.Errorf("merchant: add product: %w", err)
	}
	return p, nil
}

// checkProduct applies the rules every product's fields obey, when it is
// added and whenever it changes.
func checkProduct(title string, price money.Amount, imageURL string) error {
	switch {
	case title == "":
		return pay.Errorf(pay.Invalid, "invalid_title", "a product needs a title")
	case !price.IsPositive():
		return pay.Errorf(pay.Invalid, "invalid_price", "a product's price must be greater than zero")
	case price.Currency.Exponent() < 0:
		return pay.Errorf(pay.Invalid, "invalid_currency", "%q is not a currency sakk knows: give an upper-case ISO 4217 code such as MAD", price.Currency)
	}
	if imageURL != "" {
		if err := checkURL(imageURL, "image URL", false); err != nil {
			return err
		}
	}
	return nil
}

// Products lists an application's catalog, by store code.
func (s *Service) Products(ctx context.Context, appID string) ([]pay.Product, error) {
	if _, err := s.store.Application(ctx, appID); err != nil {
		return nil, fmt.Errorf("merchant: products: %w", err)
	}
	ps, err := s.store.Products(ctx, appID)
	if err != nil {
		return nil, fmt.Errorf("merchant: products: %w", err)
	}
	if ps == nil {
		ps = []pay.Product{} // a list, even when empty
	}
	return ps, nil
}

// Product reads one product of an application by its store code. Another
// application's product is as unknown as one never added.
func (s *Service) Product(ctx context.Context, appID, storeCode string) (pay.Product, error) {
	p, err := s.store.ProductByStoreCode(ctx, appID, strings.TrimSpace(storeCode))
	if pay.KindOf(err) == pay.NotFound {
		return pay.Product{}, ProductNotFound(storeCode)
	}
	if err != nil {
		return pay.Product{}, fmt.Errorf("merchant: product: %w", err)
	}
	return p, nil
}

// ProductPatch is a change to a product; nil fields stay as they are. The
// store code is the product's name in sessions and links, so it stays.
type ProductPatch struct {
	Title    *string
	Price    *money.Amount
	ImageURL *string
}

// UpdateProduct changes a product and returns it before and after. The
// result obeys AddProduct's rules. Sessions and payment links made before
// keep the title and price they copied.
func (s *Service) UpdateProduct(ctx context.Context, appID, storeCode string, p ProductPatch) (before, after pay.Product, err error) {
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		before, err = tx.ProductByStoreCode(ctx, appID, strings.TrimSpace(storeCode))
		if err != nil {
			return err
		}
		after = before
		if p.Title != nil {
			after.Title = strings.TrimSpace(*p.Title)
		}
		if p.Price != nil {
			after.Price = *p.Price
		}
		if p.ImageURL != nil {
			after.ImageURL = *p.ImageURL
		}
		if err := checkProduct(after.Title, after.Price, after.ImageURL); err != nil {
			return err
		}
		return tx.UpdateProduct(ctx, after)
	})
	if pay.KindOf(err) == pay.NotFound {
		return pay.Product{}, pay.Product{}, ProductNotFound(storeCode)
	}
	if err != nil {
		return pay.Product{}, pay.Product{}, fmt.Errorf("merchant: update product: %w", err)
	}
	return before, after, nil
}

// DeleteProduct removes a product from the catalog and returns what it
// was. Sessions and payment links hold copies of their lines, so those
// made from it keep working; new sessions can no longer name it.
func (s *Service) DeleteProduct(ctx context.Context, appID, storeCode string) (pay.Product, error) {
	var p pay.Product
	err := s.store.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		if p, err = tx.ProductByStoreCode(ctx, appID, strings.TrimSpace(storeCode)); err != nil {
			return err
		}
		return tx.DeleteProduct(ctx, appID, p.StoreCode)
	})
	if pay.KindOf(err) == pay.NotFound {
		return pay.Product{}, ProductNotFound(storeCode)
	}
	if err != nil {
		return pay.Product{}, fmt.Errorf("merchant: delete product: %w", err)
	}
	return p, nil
}

// ProductNotFound is the one answer for a product that does not exist or
// is another application's.
func ProductNotFound(storeCode string) error {
	return pay.Errorf(pay.NotFound, "product_not_found", "the application has no product with store code %q", storeCode)
}

// NewWebhook is a request to add a webhook endpoint.
type NewWebhook struct {
	ApplicationID string
	Environment   pay.Environment
	URL           string
	Format        pay.WebhookFormat
	Events        []string // the event types to receive; none: all
}

// AddWebhook adds an endpoint and returns its signing secret, which is
// shown this once and stored sealed.
func (s *Service) AddWebhook(ctx context.Context, req NewWebhook) (pay.WebhookEndpoint, string, error) {
	if !req.Environment.Valid() {
		return pay.WebhookEndpoint{}, "", pay.Errorf(pay.Invalid, "invalid_environment", "environment must be sandbox or live, not %q", req.Environment)
	}
	if !req.Format.Valid() {
		return pay.WebhookEndpoint{}, "", pay.Errorf(pay.Invalid, "invalid_format", "format must be checkout or payment, not %q", req.Format)
	}
	// Live endpoints receive real payment data: TLS only.
	if err := checkURL(req.URL, "webhook URL", req.Environment == pay.Live); err != nil {
		return pay.WebhookEndpoint{}, "", err
	}
	events, err := checkEvents(req.Events)
	if err != nil {
		return pay.WebhookEndpoint{}, "", err
	}
	secret := newWebhookSecret()
	w := pay.WebhookEndpoint{
		ID:            pay.NewID(pay.PrefixWebhook),
		ApplicationID: req.ApplicationID,
		Environment:   req.Environment,
		URL:           req.URL,
		Format:        req.Format,
		SealedSecret:  s.vault.Seal(secret),
		Enabled:       true,
		Events:        events,
		CreatedAt:     s.now().UTC(),
	}
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Application(ctx, req.ApplicationID); err != nil {
			return err
		}
		return tx.CreateWebhookEndpoint(ctx, w)
	})
	if err != nil {
		return pay.WebhookEndpoint{}, "", fmt.Errorf("merchant: add webhook: %w", err)
	}
	return w, secret, nil
}

// maxWebhookEvents bounds an endpoint's event filter: there are far fewer
// event types than this.
const maxWebhookEvents = 50

// checkEvents checks an event filter and returns it without repeats. A
// name is the format's event type (transaction.approved, payment.paid …);
// an unknown one simply never matches, so a type added later can be
// asked for before it exists.
func checkEvents(ts []string) ([]string, error) {
	if len(ts) > maxWebhookEvents {
		return nil, pay.Errorf(pay.Invalid, "invalid_events", "at most %d event types, not %d", maxWebhookEvents, len(ts))
	}
	var out []string
	for _, t := range ts {
		// The store keeps the list comma-separated.
		if t == "" || len(t) > 100 || strings.ContainsAny(t, ", \t\n") {
			return nil, pay.Errorf(pay.Invalid, "invalid_events", "%q is not an event type", t)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// WebhookPatch changes an endpoint; nil fields stay.
type WebhookPatch struct {
	URL     *string
	Format  *pay.WebhookFormat
	Events  *[]string // empty: every event
	Enabled *bool
}

// UpdateWebhook changes an endpoint of an application environment and
// returns it before and after. Enabling clears the reason it was
// disabled for (the dispatcher's, after days of failures); its pending
// deliveries resume.
func (s *Service) UpdateWebhook(ctx context.Context, appID string, env pay.Environment, id string, p WebhookPatch) (before, after pay.WebhookEndpoint, err error) {
	before, err = s.WebhookEndpoint(ctx, appID, env, id)
	if err != nil {
		return before, after, err
	}
	after = before
	if p.URL != nil {
		if err := checkURL(*p.URL, "webhook URL", env == pay.Live); err != nil {
			return before, after, err
		}
		after.URL = *p.URL
	}
	if p.Format != nil {
		if !p.Format.Valid() {
			return before, after, pay.Errorf(pay.Invalid, "invalid_format", "format must be checkout or payment, not %q", *p.Format)
		}
		after.Format = *p.Format
	}
	if p.Events != nil {
		if after.Events, err = checkEvents(*p.Events); err != nil {
			return before, after, err
		}
	}
	if p.Enabled != nil && *p.Enabled != before.Enabled {
		after.Enabled, after.DisabledReason = *p.Enabled, ""
		if !after.Enabled {
			after.DisabledReason = "disabled by the merchant"
		}
	}
	err = s.store.WithTx(ctx, func(tx *store.Tx) error { return tx.UpdateWebhookEndpoint(ctx, after) })
	if pay.KindOf(err) == pay.NotFound {
		return before, after, endpointNotFound(id)
	}
	if err != nil {
		return before, after, fmt.Errorf("merchant: update webhook: %w", err)
	}
	return before, after, nil
}

// DeleteWebhook removes an endpoint of an application environment, with
// its delivery log; events not yet sent to it are not sent.
func (s *Service) DeleteWebhook(ctx context.Context, appID string, env pay.Environment, id string) (pay.WebhookEndpoint, error) {
	e, err := s.WebhookEndpoint(ctx, appID, env, id)
	if err != nil {
		return e, err
	}
	err = s.store.WithTx(ctx, func(tx *store.Tx) error { return tx.DeleteWebhookEndpoint(ctx, id) })
	if pay.KindOf(err) == pay.NotFound {
		return e, endpointNotFound(id)
	}
	if err != nil {
		return e, fmt.Errorf("merchant: delete webhook: %w", err)
	}
	return e, nil
}

// checkURL accepts absolute http(s) URLs with a host; httpsOnly refuses
// plain http.
func checkURL(raw, what string, httpsOnly bool) error {
	u, err := url.Parse(raw)
	if err == nil && u.Host != "" && (u.Scheme == "https" || u.Scheme == "http" && !httpsOnly) && u.User == nil {
		return nil
	}
	if httpsOnly {
		return pay.Errorf(pay.Invalid, "invalid_url", "the %s must be an absolute https:// URL, not %q", what, raw)
	}
	return pay.Errorf(pay.Invalid, "invalid_url", "the %s must be an absolute http(s):// URL, not %q", what, raw)
}

// DefaultWebhookOverlap is how long a rotated webhook secret keeps
// signing beside its successor when the caller does not say: a day to
// deploy the new secret to every receiver.
const DefaultWebhookOverlap = 24 * time.Hour

// MaxWebhookOverlap bounds a rotation's overlap: a secret being replaced,
// perhaps because it leaked, must not sign for months.
const MaxWebhookOverlap = 30 * 24 * time.Hour

// RotateWebhookSecret gives an endpoint a new signing secret, returned
// this once and stored sealed. The current secret keeps signing beside it
// until previousUntil = now + overlap, so a receiver that still checks the
// old one accepts every request meanwhile (Sakk-Signature carries one v1
// per secret; the Checkout format has room for one signature, made with
// the new secret). An overlap of 0 ends the old secret at once; a
// negative one or one above MaxWebhookOverlap is refused. A rotation
// during an earlier one's overlap ends that overlap: only the secret
// being replaced keeps signing. The id alone finds the endpoint: a caller
// acting for a merchant checks first that it is the merchant's
// (WebhookEndpoint).
func (s *Service) RotateWebhookSecret(ctx context.Context, endpointID string, overlap time.Duration) (newSecret string, previousUntil time.Time, err error) {
	if overlap < 0 || overlap > MaxWebhookOverlap {
		return "", time.Time{}, pay.Errorf(pay.Invalid, "invalid_overlap",
			"the overlap must be from 0 (the old secret stops at once) to %s, not %s", MaxWebhookOverlap, overlap)
	}
	secret := newWebhookSecret()
	previousUntil = s.now().UTC().Add(overlap)
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		return tx.RotateWebhookSecret(ctx, endpointID, s.vault.Seal(secret), previousUntil)
	})
	if pay.KindOf(err) == pay.NotFound {
		return "", time.Time{}, endpointNotFound(endpointID)
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("merchant: rotate webhook secret: %w", err)
	}
	return secret, previousUntil, nil
}

// newWebhookSecret is a signing secret: "whsec_" and 32 base-62
// characters. The HMAC key is the whole text.
func newWebhookSecret() string { return "whsec_" + randomBase62(32) }

// WebhookEndpoints lists the endpoints of an application environment,
// oldest first, with why each disabled one was disabled.
func (s *Service) WebhookEndpoints(ctx context.Context, appID string, env pay.Environment) ([]pay.WebhookEndpoint, error) {
	ws, err := s.store.WebhookEndpoints(ctx, appID, env)
	if err != nil {
		return nil, fmt.Errorf("merchant: webhook endpoints: %w", err)
	}
	return ws, nil
}

// WebhookEndpoint reads one endpoint of an application environment. An
// endpoint of another application or environment is as unknown as one
// that does not exist.
func (s *Service) WebhookEndpoint(ctx context.Context, appID string, env pay.Environment, id string) (pay.WebhookEndpoint, error) {
	t, err := s.store.WebhookEndpoint(ctx, id)
	if pay.KindOf(err) == pay.NotFound || err == nil && (t.Endpoint.ApplicationID != appID || t.Endpoint.Environment != env) {
		return pay.WebhookEndpoint{}, endpointNotFound(id)
	}
	if err != nil {
		return pay.WebhookEndpoint{}, fmt.Errorf("merchant: webhook endpoint: %w", err)
	}
	return t.Endpoint, nil
}

// WebhookDeliveries lists the most recent deliveries of an application
// environment, newest first.
func (s *Service) WebhookDeliveries(ctx context.Context, appID string, env pay.Environment, limit int) ([]store.WebhookDelivery, error) {
	ds, err := s.store.EnvironmentWebhookDeliveries(ctx, appID, env, limit)
	if err != nil {
		return nil, fmt.Errorf("merchant: webhook deliveries: %w", err)
	}
	return ds, nil
}

// SessionWebhookDeliveries lists the deliveries of a session's events,
// oldest first (at most 100).
func (s *Service) SessionWebhookDeliveries(ctx context.Context, appID string, env pay.Environment, sessionID string) ([]store.WebhookDelivery, error) {
	ds, err := s.store.SubjectWebhookDeliveries(ctx, appID, env, sessionID, 100)
	if err != nil {
		return nil, fmt.Errorf("merchant: session webhook deliveries: %w", err)
	}
	return ds, nil
}

// WebhookDelivery reads one delivery of an application environment,
// under the same rule as WebhookEndpoint.
func (s *Service) WebhookDelivery(ctx context.Context, appID string, env pay.Environment, id string) (store.WebhookDelivery, error) {
	d, err := s.store.WebhookDelivery(ctx, id)
	if pay.KindOf(err) == pay.NotFound || err == nil && (d.ApplicationID != appID || d.Environment != env) {
		return store.WebhookDelivery{}, pay.Errorf(pay.NotFound, "webhook_delivery_not_found", "no webhook delivery %q", id)
	}
	if err != nil {
		return store.WebhookDelivery{}, fmt.Errorf("merchant: webhook delivery: %w", err)
	}
	return d, nil
}

func endpointNotFound(id string) error {
	return pay.Errorf(pay.NotFound, "webhook_endpoint_not_found", "no webhook endpoint %q", id)
}

// WebhookAttempts lists the attempts of a delivery, oldest first. The
// caller has read the delivery through WebhookDelivery, which checked
// whose it is.
func (s *Service) WebhookAttempts(ctx context.Context, deliveryID string) ([]store.WebhookAttempt, error) {
	as, err := s.store.WebhookAttempts(ctx, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("merchant: webhook attempts: %w", err)
	}
	return as, nil
}
