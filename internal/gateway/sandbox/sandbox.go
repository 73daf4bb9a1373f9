// Package sandbox is the offline payment gateway simulator that serves
// every gateway name in the sandbox environment: Connector("stripe") is the
// simulator answering as Stripe, so a merchant tests the whole flow —
// tokenize a test card, charge it, pass or fail 3-D Secure or an off-site
// approval, refund — with no account anywhere and no network.
//
// Its parts: Tokenize, the stand-in for a gateway's browser tokenizer
// (served at TokensPath by the HTTP layer); the connectors, which
// implement gateway.Connector; and ChallengeHandler, the page a shopper
// sees for a 3-D Secure challenge or an off-site approval (served at
// ChallengePattern).
//
// # State: derived where possible, in memory where not
//
// Tokens and charge references are self-describing and authenticated
// with HMAC-SHA256 under the key given to New: a token carries its card's
// behaviour, last four digits and expiry; a reference carries the
// gateway name, the behaviour, the amount and an id derived from the
// charge's idempotency key. So, on any instance that shares the key and
// after a restart, a token can be charged, a repeated Charge finds the
// same reference (it can never charge twice), Fetch answers every charge
// whose outcome is fixed at charge time, and the challenge page renders;
// none of that needs shared memory, which sakk's request path may not
// assume (several instances behind a load balancer).
//
// Two things cannot be derived: the shopper's answer to a challenge and
// the refunds of a charge. The answer is written through
// Options.Answers (sakk's store), so the callback that follows a
// challenge reads it on whichever instance it reaches; both are also kept
// in a bounded in-memory map (Options.MaxCharges entries, each for
// Options.ChargeTTL). Refunds are per process: a charge the map does not
// hold (another instance made it, the process restarted, or it was
// evicted) counts its refunds from zero, and sakk's own store still
// records every refund and never asks for more than was captured. Without
// Options.Answers, answers are per process too, and a 3-D Secure or
// off-site charge another instance answered reads ActionRequired.
//
// # Tokens
//
// A token ("tok_…") is good for TokenTTL and may be charged more than
// once (no memory says it was used); sakk charges a session at most once
// whatever the token. It holds the last four digits of the card, never the
// number: the browser sees it and sakk stores it.
//
// # Off-site gateways
//
// Under the names "paypal" and "myfatoorah" every charge first answers
// ActionRequired with a link to an approval page; a charge needs no token
// there, and one that has a token behaves, once approved, as its card
// does. Under every other name a charge needs a token and only the 3-D
// Secure card asks for action.
//
// # Webhooks
//
// The simulator sends none: it answers synchronously, and the outcome of
// a challenge is read with Fetch when the browser comes back.
// ParseWebhook refuses everything with an Invalid error.
package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/money"
)

// Paths the HTTP layer serves for the simulator (SURFACES.md §3).
const (
	TokensPath       = "/api/v1/sandbox/tokens"      // POST: Tokenize
	ChallengePath    = "/api/v1/sandbox/3ds/"        // prefix of challenge links; the reference follows
	ChallengePattern = ChallengePath + "{reference}" // http.ServeMux pattern for ChallengeHandler
)

// Limits and defaults.
const (
	minKeyLen        = 32             // bytes of Options.Key
	maxKeyLen        = 256            // longer than any sensible key; keeps config mistakes visible
	maxURLLen        = 2048           // ReturnURL, PublicURL
	maxIdemKeyLen    = 255            // Stripe's limit, which every gateway's keys fit
	defaultCapacity  = 10_000         // charges held in memory
	defaultChargeTTL = 24 * time.Hour // how long a charge's challenge answer and refunds are remembered
	maxRefunds       = 100            // per charge; bounds one charge's memory
)

// Options configure a Simulator.
type Options struct {
	// PublicURL is sakk's public base URL, such as "https://pay.example.com";
	// challenge links start with it. Required.
	PublicURL string
	// Key signs tokens, references and challenge links: at least 32
	// random bytes. Every instance must be given the same key, and it must
	// survive restarts, or tokens and references made before stop
	// verifying. Required.
	Key []byte
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxCharges bounds the charges held in memory; 0 means 10 000.
	// The oldest is forgotten first.
	MaxCharges int
	// ChargeTTL is how long a charge is held in memory; 0 means 24 hours.
	ChargeTTL time.Duration
	// Answers keeps challenge answers where every instance reads them;
	// nil holds them in this process only.
	Answers AnswerStore
}

// AnswerStore keeps the shoppers' answers to challenges, by charge id
// (hex), the first answer standing. *store.Store is one.
type AnswerStore interface {
	PutSandboxAnswer(ctx context.Context, chargeID string, completed bool, at time.Time) (stands bool, err error)
	SandboxAnswer(ctx context.Context, chargeID string) (completed, found bool, err error)
}

// Simulator is the sandbox gateway. It is safe for concurrent use.
type Simulator struct {
	publicURL string
	now       func() time.Time
	capacity  int
	ttl       time.Duration
	answers   AnswerStore // nil: answers are held in memory only

	// Keys derived from Options.Key, one per purpose.
	tokenKey, refKey, linkKey, idKey []byte

	// mu guards the fields below: the in-memory part of the state (see the
	// package comment). It is held only for map work, never for I/O.
	mu      sync.Mutex
	charges map[[idLen]byte]*charge
	order   []queued // insertion order, oldest first, for eviction
	seq     uint64
}

// charge is what the simulator remembers about one charge.
type charge struct {
	ref         string
	r           reference
	returnURL   string   // "" when the charge was rebuilt from its reference alone
	fingerprint [32]byte // of the request, to refuse a reused key with another request; zero when rebuilt
	answer      answer   // to the challenge, when r.action != noAction
	refunded    int64    // minor units refunded so far
	refunds     map[string]refund
	created     time.Time
	seq         uint64 // matches the charge's entry in Simulator.order
}

// answer is the shopper's answer to a challenge; the first one stands.
type answer uint8

const (
	awaiting answer = iota
	completed
	failed
)

type refund struct {
	amount int64
	result gateway.RefundResult
}

type queued struct {
	id  [idLen]byte
	seq uint64
}

// New returns a simulator. It fails when PublicURL is not an absolute
// http(s) URL or Key is shorter than 32 bytes.
func New(o Options) (*Simulator, error) {
	u, err := url.Parse(o.PublicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || len(o.PublicURL) > maxURLLen {
		return nil, errors.New("sandbox: PublicURL must be an absolute http(s) URL without query or fragment")
	}
	if len(o.Key) < minKeyLen || len(o.Key) > maxKeyLen {
		return nil, errors.New("sandbox: Key must be 32 to 256 bytes")
	}
	s := &Simulator{
		publicURL: strings.TrimRight(o.PublicURL, "/"),
		now:       o.Now,
		capacity:  o.MaxCharges,
		ttl:       o.ChargeTTL,
		answers:   o.Answers,
		tokenKey:  subkey(o.Key, "token"),
		refKey:    subkey(o.Key, "reference"),
		linkKey:   subkey(o.Key, "link"),
		idKey:     subkey(o.Key, "id"),
		charges:   make(map[[idLen]byte]*charge),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.capacity <= 0 {
		s.capacity = defaultCapacity
	}
	if s.ttl <= 0 {
		s.ttl = defaultChargeTTL
	}
	return s, nil
}

// Connector returns the simulator answering as the gateway called name,
// such as "stripe" or "paypal". Names are lower-case letters, digits, '-'
// and '_', at most 32 bytes; with any other name every call fails with an
// Invalid error (routing should only ever pass the names it knows).
func (s *Simulator) Connector(name string) gateway.Connector {
	return &connector{sim: s, name: name, offSite: isOffSite(name)}
}

// isOffSite reports whether the shopper approves every charge of the
// gateway called name on the gateway's own pages.
func isOffSite(name string) bool { return name == "paypal" || name == "myfatoorah" }

func validName(name string) bool {
	if name == "" || len(name) > maxNameLen {
		return false
	}
	for i := range len(name) {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// connector is the simulator under one gateway name.
type connector struct {
	sim     *Simulator
	name    string
	offSite bool
}

func (c *connector) Name() string { return c.name }

// Capabilities: everything but webhooks, in every currency the money
// package knows. The sandbox does not copy a real gateway's currency list;
// routing that wants sandbox and live to agree should consult the live
// connector's Capabilities.
func (c *connector) Capabilities() gateway.Capabilities {
	return gateway.Capabilities{
		Refunds:        true,
		PartialRefunds: true,
		ThreeDSecure:   !c.offSite,
		Redirect:       c.offSite,
		StatusFetch:    true,
	}
}

// op names an operation in errors, for logs: "sandbox.stripe.Charge".
func (c *connector) op(method string) string { return "sandbox." + c.name + "." + method }

// Charge answers by the token's behaviour (see the Card* constants) and
// the gateway name (see the package comment). A repeated IdempotencyKey
// returns the first answer; with a different amount, token or return URL
// it is refused (CodeIdempotencyKeyReused).
func (c *connector) Charge(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
	op := c.op("Charge")
	if err := ctx.Err(); err != nil {
		// Nothing was done, but the contract reads every failure to get an
		// answer as an unknown outcome, and so does this one.
		return gateway.ChargeResult{Outcome: gateway.Unknown}, gateway.Unavailable(op, err)
	}
	if err := c.check(op, req.IdempotencyKey, req.Amount); err != nil {
		return gateway.ChargeResult{}, err
	}
	var b behaviour
	switch {
	case req.PaymentToken != "":
		var err error
		if b, err = c.sim.parseToken(op, req.PaymentToken); err != nil {
			return gateway.ChargeResult{}, err
		}
	case c.offSite:
		b = offSiteOnly
	default:
		return gateway.ChargeResult{}, gateway.Invalid(op, gateway.CodeInvalidPaymentToken, "a card payment needs a token from the sandbox tokenizer", nil)
	}
	if !c.offSite && req.Method != "card" {
		return gateway.ChargeResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "the sandbox charges cards only under this gateway name: use method \"card\"", nil)
	}
	act := noAction
	switch {
	case c.offSite:
		act = approval
	case b == threeDS:
		act = authenticate
	}
	if act != noAction && !validReturnURL(req.ReturnURL) {
		return gateway.ChargeResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "this charge needs the shopper to act: ReturnURL must be an absolute http(s) URL", nil)
	}

	r := reference{behaviour: b, action: act, gateway: c.name, amount: req.Amount, id: c.sim.chargeID(c.name, req.IdempotencyKey)}
	ch := &charge{
		ref:         c.sim.encodeReference(r),
		r:           r,
		returnURL:   req.ReturnURL,
		fingerprint: fingerprint(req),
	}

	s := c.sim
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if old := s.lookup(r.id, now); old != nil {
		if old.fingerprint == ([32]byte{}) && old.ref == ch.ref {
			// Rebuilt from its reference by a challenge or a refund on
			// this instance; the same reference means the same charge.
			old.fingerprint = ch.fingerprint
			if old.returnURL == "" {
				old.returnURL = ch.returnURL
			}
		}
		if old.fingerprint != ch.fingerprint {
			return gateway.ChargeResult{}, gateway.Invalid(op, gateway.CodeIdempotencyKeyReused, "this idempotency key was used with a different charge request", nil)
		}
		return s.firstAnswer(old), nil
	}
	ch.created = now
	s.insert(ch)
	return s.firstAnswer(ch), nil
}

// Fetch reads a charge's current state: for a 3-D Secure or off-site
// charge, ActionRequired until the shopper answers the challenge.
func (c *connector) Fetch(ctx context.Context, req gateway.FetchRequest) (gateway.ChargeResult, error) {
	op := c.op("Fetch")
	if err := ctx.Err(); err != nil {
		return gateway.ChargeResult{Outcome: gateway.Unknown}, gateway.Unavailable(op, err)
	}
	if !validName(c.name) {
		return gateway.ChargeResult{}, invalidName(op)
	}
	r, ok := c.sim.decodeReference(req.Reference)
	if !ok || r.gateway != c.name {
		return gateway.ChargeResult{}, gateway.NotFound(op, "no such sandbox charge")
	}
	s := c.sim
	if err := s.recall(ctx, op, r); err != nil {
		return gateway.ChargeResult{Outcome: gateway.Unknown}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.lookup(r.id, s.now())
	if ch == nil || ch.ref != req.Reference {
		ch = &charge{ref: req.Reference, r: r} // not held here: read it from its reference
	}
	return s.state(ch), nil
}

// recall brings the shopper's answer to r's challenge from Answers into
// memory, when r has a challenge and this process holds no answer for it:
// the challenge may have been answered on another instance.
func (s *Simulator) recall(ctx context.Context, op string, r reference) error {
	if s.answers == nil || r.action == noAction {
		return nil
	}
	s.mu.Lock()
	ch := s.lookup(r.id, s.now())
	known := ch != nil && ch.answer != awaiting
	s.mu.Unlock()
	if known {
		return nil
	}
	done, found, err := s.answers.SandboxAnswer(ctx, hex.EncodeToString(r.id[:]))
	if err != nil {
		return gateway.Unavailable(op, err)
	}
	if found {
		s.hold(r, done)
	}
	return nil
}

// hold remembers the answer to r's challenge in memory, unless one is
// held: the first answer stands.
func (s *Simulator) hold(r reference, done bool) answer {
	a := failed
	if done {
		a = completed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	ch := s.lookup(r.id, now)
	if ch == nil || ch.r != r {
		ch = &charge{ref: s.encodeReference(r), r: r, created: now}
		s.insert(ch)
	}
	if ch.answer == awaiting {
		ch.answer = a
	}
	return ch.answer
}

// Refund returns part or all of an approved charge, never more in total
// than it captured (CodeRefundExceedsCaptured), at most 100 times per
// charge. A repeated IdempotencyKey returns the first refund; with another
// amount it is refused.
func (c *connector) Refund(ctx context.Context, req gateway.RefundRequest) (gateway.RefundResult, error) {
	op := c.op("Refund")
	if err := ctx.Err(); err != nil {
		return gateway.RefundResult{}, gateway.Unavailable(op, err)
	}
	if err := c.check(op, req.IdempotencyKey, req.Amount); err != nil {
		return gateway.RefundResult{}, err
	}
	r, ok := c.sim.decodeReference(req.PaymentReference)
	if !ok || r.gateway != c.name {
		return gateway.RefundResult{}, gateway.NotFound(op, "no such sandbox charge")
	}
	if req.Amount.Currency != r.amount.Currency {
		return gateway.RefundResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "a refund must be in the currency of its charge", nil)
	}

	s := c.sim
	if err := s.recall(ctx, op, r); err != nil {
		return gateway.RefundResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	ch := s.lookup(r.id, now)
	if ch == nil || ch.ref != req.PaymentReference {
		// Not held here: start holding it, so that its refunds add up
		// from now on (see the package comment).
		ch = &charge{ref: req.PaymentReference, r: r, created: now}
		s.insert(ch)
	}
	if prev, ok := ch.refunds[req.IdempotencyKey]; ok {
		if prev.amount != req.Amount.Minor {
			return gateway.RefundResult{}, gateway.Invalid(op, gateway.CodeIdempotencyKeyReused, "this idempotency key was used with a different refund amount", nil)
		}
		return prev.result, nil
	}
	if s.state(ch).Outcome != gateway.Approved {
		return gateway.RefundResult{}, gateway.Invalid(op, gateway.CodeNotCaptured, "only an approved charge can be refunded", nil)
	}
	if len(ch.refunds) >= maxRefunds {
		return gateway.RefundResult{}, gateway.Invalid(op, gateway.CodeInvalidRequest, "the sandbox allows at most 100 refunds per charge", nil)
	}
	// r.amount.Minor and ch.refunded are both in [0, MaxInt64], so the
	// difference cannot overflow.
	if req.Amount.Minor > r.amount.Minor-ch.refunded {
		left := money.Amount{Minor: r.amount.Minor - ch.refunded, Currency: r.amount.Currency}
		return gateway.RefundResult{}, gateway.Invalid(op, gateway.CodeRefundExceedsCaptured, "the refund exceeds what is left to refund ("+left.String()+")", nil)
	}
	res := gateway.RefundResult{Reference: s.refundReference(ch.ref, req.IdempotencyKey), Status: gateway.RefundSucceeded}
	if ch.refunds == nil {
		ch.refunds = make(map[string]refund)
	}
	ch.refunds[req.IdempotencyKey] = refund{amount: req.Amount.Minor, result: res}
	ch.refunded += req.Amount.Minor
	return res, nil
}

// ParseWebhook refuses everything: the simulator sends no webhooks, so any
// notification claiming to come from it is forged.
func (c *connector) ParseWebhook(ctx context.Context, w gateway.Webhook) (gateway.Notification, error) {
	return gateway.Notification{}, gateway.Invalid(c.op("ParseWebhook"), gateway.CodeInvalidRequest, "the sandbox gateway sends no webhooks", nil)
}

// check validates what Charge and Refund share: the connector's name, an
// idempotency key, and a positive amount in a currency the money package
// knows.
func (c *connector) check(op, idempotencyKey string, a money.Amount) error {
	switch {
	case !validName(c.name):
		return invalidName(op)
	case idempotencyKey == "" || len(idempotencyKey) > maxIdemKeyLen:
		return gateway.Invalid(op, gateway.CodeInvalidRequest, "an idempotency key of 1 to 255 bytes is required", nil)
	case len(a.Currency) != 3 || a.Currency.Exponent() < 0:
		return gateway.Invalid(op, gateway.CodeCurrencyNotSupported, "unknown currency", nil)
	case a.Minor <= 0:
		return gateway.Invalid(op, gateway.CodeInvalidRequest, "the amount must be positive", nil)
	}
	return nil
}

func invalidName(op string) error {
	return gateway.Invalid(op, gateway.CodeInvalidRequest, "unknown sandbox gateway name", nil)
}

// validReturnURL reports whether u is an absolute http(s) URL the
// challenge page may send the browser to.
func validReturnURL(u string) bool {
	if u == "" || len(u) > maxURLLen {
		return false
	}
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != "" && p.User == nil
}

// fingerprint identifies a charge request, to tell a retry from a
// different request that reuses the key.
func fingerprint(req gateway.ChargeRequest) [32]byte {
	h := sha256.New()
	for _, f := range []string{string(req.Amount.Currency), money.Format(req.Amount), req.PaymentToken, req.Method, req.ReturnURL} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// firstAnswer is what Charge answered, and answers again to a repeated
// key: the state before any challenge was answered (call Fetch for the
// current one). It depends only on the charge, so every instance gives the
// same. The caller holds s.mu.
func (s *Simulator) firstAnswer(ch *charge) gateway.ChargeResult {
	c := *ch
	c.answer = awaiting
	return s.state(&c)
}

// state is where ch stands now. The caller holds s.mu.
func (s *Simulator) state(ch *charge) gateway.ChargeResult {
	res := gateway.ChargeResult{Reference: ch.ref}
	switch {
	case ch.r.action == noAction || ch.answer == completed:
		settle(&res, ch.r.behaviour, ch.r.amount)
	case ch.answer == failed && ch.r.action == authenticate:
		setDeclined(&res, gateway.DeclineAuthenticationFailed, "3-D Secure authentication failed.", false)
	case ch.answer == failed:
		setDeclined(&res, gateway.DeclineApprovalDeclined, "The payment was not approved.", false)
	default:
		res.Outcome = gateway.ActionRequired
		if ch.returnURL != "" {
			res.RedirectURL = s.challengeURL(ch.ref, ch.returnURL)
		}
	}
	return res
}

// settle sets res to the outcome of a card that behaves as b, once any
// challenge is passed.
func settle(res *gateway.ChargeResult, b behaviour, amount money.Amount) {
	switch b {
	case decline:
		setDeclined(res, gateway.DeclineCard, "Your card was declined.", false)
	case insufficientFunds:
		setDeclined(res, gateway.DeclineInsufficientFunds, "Your card has insufficient funds.", false)
	case processingError:
		setDeclined(res, gateway.DeclineProcessingError, "An error occurred while processing your card. Try again.", true)
	default: // approve, threeDS once authenticated, offSiteOnly once approved
		res.Outcome = gateway.Approved
		res.Captured = amount
	}
}

func setDeclined(res *gateway.ChargeResult, code, message string, retryable bool) {
	res.Outcome = gateway.Declined
	res.DeclineCode = code
	res.DeclineMessage = message
	res.Retryable = retryable
}

// lookup returns the charge held under id, or nil when none is held or it
// has outlived the TTL. The caller holds s.mu.
func (s *Simulator) lookup(id [idLen]byte, now time.Time) *charge {
	ch := s.charges[id]
	if ch != nil && now.Sub(ch.created) >= s.ttl {
		delete(s.charges, id) // its entry in s.order goes when it reaches the front
		return nil
	}
	return ch
}

// insert holds ch, first forgetting the oldest charges while the map is
// full or they have outlived the TTL. The caller holds s.mu.
func (s *Simulator) insert(ch *charge) {
	for len(s.order) > 0 {
		q := s.order[0]
		old, live := s.charges[q.id]
		live = live && old.seq == q.seq // else the entry is stale: its charge was dropped or replaced
		if live && len(s.charges) < s.capacity && ch.created.Sub(old.created) < s.ttl {
			break
		}
		s.order[0] = queued{}
		s.order = s.order[1:]
		if live {
			delete(s.charges, q.id)
		}
	}
	s.seq++
	ch.seq = s.seq
	s.charges[ch.r.id] = ch
	s.order = append(s.order, queued{id: ch.r.id, seq: ch.seq})
}
