// Package checkout carries out sakk's use cases on payment sessions:
// opening a session, reading where its payment stands, and (as the
// payment flows arrive) verifying the customer, charging, refunding,
// expiring and reconciling. Each use case validates its input, decides by
// the domain's rules and writes its changes and their events in one
// transaction. The HTTP surfaces translate their own wire formats to and
// from these calls.
package checkout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/sakkhq/sakk/internal/memo"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/token"
)

// SessionTTL is how long a session (and its session token) stays open.
const SessionTTL = time.Hour

// IdempotencyTTL is how long a response to an Idempotency-Key is kept.
const IdempotencyTTL = 24 * time.Hour

// Limits on a session's contents, so that one request cannot make the
// store or the hosted page carry unbounded data.
const (
	MaxItems       = 500
	MaxTextLen     = 255
	MaxQuantity    = 1_000_000
	maxMetadataLen = 16 << 10
)

// Codes of the errors CreateSession returns, which the surfaces map to
// their own spellings.
const (
	CodeInvalidAmount   = "invalid_amount"
	CodeInvalidCurrency = "invalid_currency"
	CodeInvalidItems    = "invalid_items"
	CodeAmountMismatch  = "amount_mismatch"
	CodeInvalidURL      = "invalid_url"
	CodeIdempotencyKey  = "idempotency_key_reused"
)

// Tokens issues the platform's signed tokens.
type Tokens interface {
	Issue(ctx context.Context, c token.Claims, ttl time.Duration) (string, time.Time, error)
}

// AppCacheTTL is how long an application's settings (currencies, rate
// limit, names) are remembered: a change made elsewhere applies within it.
const AppCacheTTL = 10 * time.Second

// Service runs the checkout use cases.
type Service struct {
	store     *store.Store
	tokens    Tokens
	now       func() time.Time
	publicURL string
	apps      *memo.Cache[string, app]
	flow      PaymentFlow
	statuses  *memo.Cache[statusKey, cachedStatus]
	gen       atomic.Uint64 // counts committed changes, for statuses
}

// app is an application with its merchant's name, as sessions need them.
type app struct {
	pay.Application
	MerchantName string
}

// New returns a Service. publicURL is the base of hosted-page links.
func New(st *store.Store, tokens Tokens, now func() time.Time, publicURL string) *Service {
	s := &Service{
		store: st, tokens: tokens, now: now, publicURL: strings.TrimSuffix(publicURL, "/"),
		apps:     memo.New[string, app](AppCacheTTL, 10_000, now),
		statuses: memo.New[statusKey, cachedStatus](StatusCacheTTL, 100_000, now),
	}
	st.OnInvalidate(ApplicationTopic, func(id string) {
		if id == "" {
			s.apps.Clear()
			return
		}
		s.apps.Forget(id)
	})
	return s
}

// Application reads an application, remembered for AppCacheTTL.
func (s *Service) Application(ctx context.Context, id string) (pay.Application, error) {
	a, err := s.app(ctx, id)
	return a.Application, err
}

func (s *Service) app(ctx context.Context, id string) (app, error) {
	if a, ok := s.apps.Get(id); ok {
		return a, nil
	}
	application, err := s.store.Application(ctx, id)
	if err != nil {
		return app{}, fmt.Errorf("checkout: %w", err)
	}
	m, err := s.store.Merchant(ctx, application.MerchantID)
	if err != nil {
		return app{}, fmt.Errorf("checkout: %w", err)
	}
	a := app{application, m.Name}
	s.apps.Put(id, a, time.Time{})
	return a, nil
}

// NewSession is a request to open a session. Amounts arrive already
// parsed exactly, in Currency.
type NewSession struct {
	ApplicationID   string
	Environment     pay.Environment
	Currency        money.Currency
	Total           money.Amount
	Items           []pay.Item
	VendorReference string
	Metadata        []byte // raw JSON object, or nil
	ReturnURL       string
	CancelURL       string
	CustomerEmail   string
	CustomerPhone   string
	// CustomerLocked marks a customer the merchant's backend set: the
	// session counts as verified for it, and only it may pay.
	CustomerLocked bool
	Gateway        string // "" lets routing choose at payment time
	Locale         string
	// RedirectURL, for the hosted redirect flow, is where the buyer is sent
	// back to; its host must be a verified domain of the application.
	RedirectURL string
	// TTL, when set and shorter than SessionTTL, is how long the session
	// stays open (an application's partner transaction expiry).
	TTL time.Duration
}

// Opened is a session just created, with its token.
type Opened struct {
	Session      pay.Session
	Token        string
	TokenExpires time.Time
	CheckoutURL  string
}

// Idempotency identifies a retriable request: its key and a hash of what
// the request asks (a retry must ask the same).
type Idempotency struct {
	Key         string
	RequestHash string
}

// HashRequest is the RequestHash of a request body.
func HashRequest(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Response is a surface's rendered answer, stored for idempotent replay.
type Response struct {
	Status int
	Body   []byte
}

// OpenSession validates and stores a new session, issues its session
// token, and returns render's answer. With idem set, the answer is stored
// in the session's own transaction, and a retry with the same key gets
// that same answer back (a different request under the key is a
// Conflict), so a retried request never opens a second session.
func (s *Service) OpenSession(ctx context.Context, req NewSession, idem *Idempotency, render func(Opened) (Response, error)) (Response, error) {
	now := s.now().UTC()
	if idem != nil {
		if r, ok, err := s.replay(ctx, req.ApplicationID, req.Environment, *idem, now); ok || err != nil {
			return r, err
		}
	}
	sess, err := s.validate(ctx, req, now)
	if err != nil {
		return Response{}, err
	}
	issue := s.issuer(ctx, sess)
	if idem == nil {
		return s.openPlain(ctx, sess, issue, render, nil)
	}
	// With an idempotency key the rendered answer, token included, is
	// stored in the session's transaction, so the token comes first. It is
	// issued outside the transaction: issuing may create a signing key in
	// a transaction of its own, and the embedded store has one writer.
	opened, err := issue()
	if err != nil {
		return Response{}, err
	}
	resp, err := render(opened)
	if err != nil {
		return Response{}, err
	}
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateSession(ctx, sess); err != nil {
			return err
		}
		return tx.SaveIdempotentResponse(ctx, store.IdempotentResponse{
			ApplicationID: req.ApplicationID, Environment: req.Environment, Key: idem.Key,
			RequestHash: idem.RequestHash, Status: resp.Status, Body: resp.Body, CreatedAt: now,
		}, now.Add(-IdempotencyTTL))
	})
	if pay.CodeOf(err) == "idempotency_key_used" {
		// A concurrent request with the same key committed first: ours
		// rolled back, and its answer is the answer.
		r, _, err := s.replay(ctx, req.ApplicationID, req.Environment, *idem, now)
		return r, err
	}
	if err != nil {
		return Response{}, fmt.Errorf("checkout: open session: %w", err)
	}
	s.flow.Metrics.SessionCreated(sess.Environment == pay.Live)
	return resp, nil
}

// issuer returns what issues sess's session token.
func (s *Service) issuer(ctx context.Context, sess pay.Session) func() (Opened, error) {
	return func() (Opened, error) {
		tok, exp, err := s.tokens.Issue(ctx, token.Claims{
			Type: token.TypeSession, ApplicationID: sess.ApplicationID, Environment: sess.Environment, SessionID: sess.ID,
		}, SessionTTL)
		if err != nil {
			return Opened{}, fmt.Errorf("checkout: open session: %w", err)
		}
		return Opened{Session: sess, Token: tok, TokenExpires: exp, CheckoutURL: s.CheckoutURL(tok)}, nil
	}
}

// openPlain stores a session opened without an idempotency key: in one
// statement (store.WithStatement), or with also (when not nil) in one
// transaction that may run more than once (store.WithRerunnableTx): also
// only writes. Nothing of the token is stored, so the token is signed
// (tens of microseconds of CPU) while the insert waits for its group's
// commit (an fsync) instead of before it: the request is as long as the
// longer of the two, not their sum. The answer still waits for both, so
// nobody holds a token of a session that is not durably stored.
func (s *Service) openPlain(ctx context.Context, sess pay.Session, issue func() (Opened, error), render func(Opened) (Response, error), also func(*store.Tx) error) (Response, error) {
	type issued struct {
		opened Opened
		err    error
	}
	signed := make(chan issued, 1)
	go func() {
		o, err := issue()
		signed <- issued{o, err}
	}()
	var err error
	if also == nil {
		err = s.store.WithStatement(ctx, func(tx *store.Tx) error { return tx.CreateSession(ctx, sess) })
	} else {
		err = s.store.WithRerunnableTx(ctx, func(tx *store.Tx) error {
			if err := tx.CreateSession(ctx, sess); err != nil {
				return err
			}
			return also(tx)
		})
	}
	is := <-signed
	if err != nil {
		return Response{}, fmt.Errorf("checkout: open session: %w", err)
	}
	s.flow.Metrics.SessionCreated(sess.Environment == pay.Live)
	if is.err != nil {
		// The session is stored but nobody can reach it: it expires
		// unused, like any session whose buyer never came.
		return Response{}, is.err
	}
	return render(is.opened)
}

func (s *Service) replay(ctx context.Context, appID string, env pay.Environment, idem Idempotency, now time.Time) (Response, bool, error) {
	stored, err := s.store.IdempotentResponse(ctx, appID, env, idem.Key, now.Add(-IdempotencyTTL))
	if pay.KindOf(err) == pay.NotFound {
		return Response{}, false, nil
	}
	if err != nil {
		return Response{}, false, fmt.Errorf("checkout: idempotency: %w", err)
	}
	if stored.RequestHash != idem.RequestHash {
		return Response{}, false, pay.Errorf(pay.Conflict, CodeIdempotencyKey,
			"this Idempotency-Key was already used with a different request; use a new key for a new request")
	}
	return Response{Status: stored.Status, Body: stored.Body}, true, nil
}

// CheckoutURL is the hosted page of a session token.
func (s *Service) CheckoutURL(sessionToken string) string {
	return s.publicURL + "/checkout/" + sessionToken
}

// validate checks a request against the rules of a session and returns
// the session to store.
func (s *Service) validate(ctx context.Context, req NewSession, now time.Time) (pay.Session, error) {
	cur := req.Currency
	if _, ok := money.Lookup(string(cur)); !ok {
		return pay.Session{}, pay.Errorf(pay.Invalid, CodeInvalidCurrency, "%q is not an ISO 4217 currency code", cur)
	}
	app, err := s.app(ctx, req.ApplicationID)
	if err != nil {
		return pay.Session{}, err
	}
	if !app.Accepts(cur) {
		return pay.Session{}, pay.Errorf(pay.Invalid, CodeInvalidCurrency, "this application does not accept %s", cur)
	}
	if req.Total.Currency != cur || !req.Total.IsPositive() {
		return pay.Session{}, pay.Errorf(pay.Invalid, CodeInvalidAmount, "total must be greater than 0")
	}
	if len(req.Items) == 0 {
		return pay.Session{}, pay.Errorf(pay.Invalid, CodeInvalidItems, "items must hold at least one item")
	}
	if len(req.Items) > MaxItems {
		return pay.Session{}, pay.Errorf(pay.Invalid, CodeInvalidItems, "items may hold at most %d items", MaxItems)
	}
	sum := money.New(0, cur)
	for i, it := range req.Items {
		if err := checkItem(i, it, cur); err != nil {
			return pay.Session{}, err
		}
		line, err := it.UnitPrice.Mul(it.Quantity)
		if err == nil {
			sum, err = sum.Add(line)
		}
		if err != nil {
			return pay.Session{}, pay.Errorf(pay.Invalid, CodeInvalidItems, "items add up to more than sakk can represent")
		}
	}
	if sum != req.Total {
		return pay.Session{}, pay.Errorf(pay.Invalid, CodeAmountMismatch,
			"total %s does not match the sum of the items, %s", money.Format(req.Total), money.Format(sum))
	}
	if tooLong(req.VendorReference) || tooLong(req.CustomerEmail) || tooLong(req.CustomerPhone) {
		return pay.Session{}, pay.Errorf(pay.Invalid, "invalid_field", "vendor_reference, customer_email and customer_phone are limited to %d characters", MaxTextLen)
	}
	if len(req.Metadata) > maxMetadataLen {
		return pay.Session{}, pay.Errorf(pay.Invalid, "invalid_metadata", "metadata is limited to %d bytes", maxMetadataLen)
	}
	for _, u := range []string{req.ReturnURL, req.CancelURL} {
		if u != "" && !isWebURL(u) {
			return pay.Session{}, pay.Errorf(pay.Invalid, CodeInvalidURL, "%q is not an absolute http(s) URL", u)
		}
	}
	if req.RedirectURL != "" {
		if err := s.CheckRedirect(ctx, req.ApplicationID, req.RedirectURL); err != nil {
			return pay.Session{}, err
		}
	}
	returnURL := req.ReturnURL
	if returnURL == "" {
		returnURL = req.RedirectURL
	}
	items := make([]pay.Item, len(req.Items))
	copy(items, req.Items)
	return pay.Session{
		ID:              pay.NewID(pay.PrefixSession),
		ApplicationID:   req.ApplicationID,
		Environment:     req.Environment,
		Status:          pay.SessionInit,
		Amount:          req.Total,
		Items:           items,
		Customer:        customerOf(req),
		Gateway:         req.Gateway,
		Locale:          req.Locale,
		VendorReference: req.VendorReference,
		Metadata:        req.Metadata,
		ReturnURL:       returnURL,
		CancelURL:       req.CancelURL,
		ExpiresAt:       now.Add(ttlOf(req)),
		CreatedAt:       now,
		UpdatedAt:       now,
	}, nil
}

// customerOf is a new session's customer. A locked customer counts as
// verified by its email address, else its phone number.
func customerOf(req NewSession) pay.Customer {
	c := pay.Customer{Email: req.CustomerEmail, Phone: req.CustomerPhone, Locked: req.CustomerLocked}
	switch {
	case !c.Locked:
	case c.Email != "":
		c.VerifiedIdentifier, c.VerifiedChannel = c.Email, "email"
	case c.Phone != "":
		c.VerifiedIdentifier, c.VerifiedChannel = c.Phone, "phone"
	}
	return c
}

// tooLong reports whether s has more than MaxTextLen characters: counted
// as the text rule of the HTTP surfaces and docs/openapi.yaml's maxLength
// count them, so that a name in Arabic gets as many letters as one in
// English (in bytes it would get half).
func tooLong(s string) bool {
	return len(s) > MaxTextLen && utf8.RuneCountInString(s) > MaxTextLen
}

func checkItem(i int, it pay.Item, cur money.Currency) error {
	bad := func(format string, args ...any) error {
		return pay.Errorf(pay.Invalid, CodeInvalidItems, "items[%d]: %s", i, fmt.Sprintf(format, args...))
	}
	switch {
	case strings.TrimSpace(it.Reference) == "":
		return bad("id is required")
	case strings.TrimSpace(it.Name) == "":
		return bad("name is required")
	case tooLong(it.Reference) || tooLong(it.Name):
		return bad("id and name are limited to %d characters", MaxTextLen)
	case !utf8.ValidString(it.Reference) || !utf8.ValidString(it.Name):
		return bad("id and name must be valid UTF-8")
	case it.UnitPrice.Currency != cur:
		return bad("price must be in %s", cur)
	case it.UnitPrice.IsNegative():
		return bad("price cannot be negative")
	case it.Quantity < 1 || it.Quantity > MaxQuantity:
		return bad("quantity must be a whole number from 1 to %d", MaxQuantity)
	}
	return nil
}

// ApplicationTopic is the store invalidation topic of the application
// cache; its keys are application ids. A writer that changes an
// application outside this package invalidates it (ForgetApplication, or
// store.Invalidate where there is no Service).
const ApplicationTopic = "application"

// ForgetApplication drops a changed application from the cache of every
// instance, so the change applies everywhere at once.
func (s *Service) ForgetApplication(ctx context.Context, id string) {
	s.apps.Forget(id)
	s.store.Invalidate(ctx, ApplicationTopic, id)
}

// ttlOf is how long a new session stays open: SessionTTL, or the
// request's shorter TTL.
func ttlOf(req NewSession) time.Duration {
	if req.TTL > 0 && req.TTL < SessionTTL {
		return req.TTL
	}
	return SessionTTL
}
