package checkout

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/pay"
)

// Transaction is what the status of a payment is read from.
type Transaction struct {
	// Session is the session's summary: no items, metadata or URLs.
	Session pay.Session
	// Payment is the attempt asked about, or the session's latest; nil
	// when a session was asked about and has no attempt yet. Only its id,
	// status, amounts and times are read.
	Payment      *pay.Payment
	MerchantName string
	StoreName    string
}

// ID is the transaction's id: its payment's, else its session's.
func (t Transaction) ID() string {
	if t.Payment != nil {
		return t.Payment.ID
	}
	return t.Session.ID
}

// Transaction reads a transaction of one application environment by its
// payment id or, for integrations that only kept the session, its
// session id. With onlySession set (a caller holding a session token), a
// transaction of any other session is not found. Unknown and foreign ids
// give the same NotFound. Each read is one query: status polls are the
// hottest path there is.
//
// Reads are remembered for StatusCacheTTL: a change made through this
// Service (a payment, an expiry, a refund) is seen at once, because every
// such change makes all remembered reads stale; a change made by another
// process sharing the store (another instance, the CLI) within the TTL.
func (s *Service) Transaction(ctx context.Context, appID string, env pay.Environment, id, onlySession string) (Transaction, error) {
	key := statusKey{appID, env, id}
	gen := s.gen.Load()
	if c, ok := s.statuses.Get(key); ok && c.gen == gen {
		if onlySession != "" && c.t.Session.ID != onlySession {
			return Transaction{}, notFoundTransaction(nil)
		}
		return c.t, nil
	}
	t, err := s.transaction(ctx, appID, env, id)
	if err != nil {
		return Transaction{}, err
	}
	s.statuses.Put(key, cachedStatus{t, gen}, time.Time{})
	if onlySession != "" && t.Session.ID != onlySession {
		return Transaction{}, notFoundTransaction(nil)
	}
	return t, nil
}

// StatusCacheTTL bounds how old a remembered transaction status may be
// (see Transaction).
const StatusCacheTTL = time.Second

type statusKey struct {
	app string
	env pay.Environment
	id  string
}

type cachedStatus struct {
	t   Transaction
	gen uint64 // s.gen when the read began
}

// changed makes every remembered status stale; call it after each
// committed change to a session or its payments.
func (s *Service) changed() { s.gen.Add(1) }

func (s *Service) transaction(ctx context.Context, appID string, env pay.Environment, id string) (Transaction, error) {
	var t Transaction
	var err error
	if strings.HasPrefix(id, pay.PrefixSession+"_") {
		t.Session, t.Payment, err = s.store.StatusBySession(ctx, appID, env, id)
	} else {
		var p pay.Payment
		t.Session, p, err = s.store.StatusByPayment(ctx, appID, env, id)
		t.Payment = &p
	}
	if err != nil {
		return Transaction{}, notFoundTransaction(err)
	}
	a, err := s.app(ctx, appID)
	if err != nil {
		return t, err
	}
	t.MerchantName, t.StoreName = a.MerchantName, a.Name
	return t, nil
}

func notFoundTransaction(err error) error {
	if err != nil && pay.KindOf(err) != pay.NotFound {
		return fmt.Errorf("checkout: transaction: %w", err)
	}
	return pay.Errorf(pay.NotFound, "transaction_not_found", "no such transaction")
}

// CheckRedirect accepts a URL the buyer may be sent back to: absolute
// http(s), no credentials, on a verified domain of the application (the
// exact host; subdomains need their own entry). Anything else would make
// sakk an open redirect.
func (s *Service) CheckRedirect(ctx context.Context, appID, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !isWebURL(raw) {
		return pay.Errorf(pay.Invalid, CodeInvalidURL, "redirect_url must be an absolute http(s) URL")
	}
	host, err := merchant.NormalizeDomain(u.Hostname())
	if err != nil {
		return pay.Errorf(pay.Invalid, CodeInvalidURL, "redirect_url has no valid host")
	}
	domains, err := s.store.Domains(ctx, appID)
	if err != nil {
		return fmt.Errorf("checkout: check redirect: %w", err)
	}
	for _, d := range domains {
		if d.Verified && d.Domain == host {
			return nil
		}
	}
	return pay.Errorf(pay.Invalid, CodeInvalidURL, "redirect_url host %q is not a verified domain of this application", host)
}

func isWebURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}
