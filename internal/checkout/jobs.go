package checkout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// The background jobs of the payment flow. Both are safe to run on every
// instance at once: each change is a transaction that re-checks, under
// the session's lock, the state it decided from, so two instances doing
// the same work change things once and write one event.

// Reconciler timings.
const (
	// reconcileAfter leaves an attempt alone this long after its last
	// change: the request that made it may still be waiting for the
	// gateway.
	reconcileAfter = time.Minute
	// reconcileFirst and reconcileMax bound the wait between two checks of
	// one attempt, which doubles from the first to the last.
	reconcileFirst = 30 * time.Second
	reconcileMax   = time.Hour
)

// ExpireSessions ends up to limit sessions whose time ran out, and
// returns how many it expired. An open session (init, failed) expires at
// once. A session with an attempt in flight is asked about first: an
// attempt the gateway approved in time makes it paid, however late the
// answer arrives; one still waiting for the shopper (3-D Secure, an
// off-site approval) expires with its session; one whose outcome is
// unknown is left to the reconciler, since its money may have moved.
func (s *Service) ExpireSessions(ctx context.Context, limit int) (int, error) {
	now := s.now().UTC()
	refs, err := s.store.OverdueSessions(ctx, now, limit)
	if err != nil {
		return 0, fmt.Errorf("checkout: expire sessions: %w", err)
	}
	expired := 0
	var errs []error
	for _, r := range refs {
		if _, err := s.Confirm(ctx, r.ApplicationID, r.Environment, r.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		ok, err := s.expire(ctx, r, now)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			expired++
		}
	}
	return expired, errors.Join(errs...)
}

// expire ends one overdue session, if it is still open or waiting for the
// shopper, with a payment.expired event.
func (s *Service) expire(ctx context.Context, r store.SessionRef, now time.Time) (bool, error) {
	done := false
	err := s.store.WithTx(ctx, func(tx *store.Tx) error {
		done = false
		sess, err := tx.SessionSummary(ctx, r.ApplicationID, r.Environment, r.ID)
		if err != nil {
			return err
		}
		if now.Before(sess.ExpiresAt) {
			return nil
		}
		p, err := tx.LatestPayment(ctx, sess.ID)
		if err != nil {
			return err
		}
		switch sess.Status {
		case pay.SessionInit, pay.SessionFailed:
		case pay.SessionRequiresAction:
			if p == nil || p.Status != pay.PaymentRequiresAction {
				return nil
			}
			next := *p
			next.Status, next.RedirectURL, next.UpdatedAt = pay.PaymentExpired, "", now
			if err := tx.UpdatePayment(ctx, next, *p); err != nil {
				return err
			}
			p = &next
		default:
			return nil // paid, closed, or an unknown outcome: not expirable
		}
		if err := tx.SetSessionStatus(ctx, sess.ID, sess.Status, pay.SessionExpired, now); err != nil {
			return err
		}
		sess.Status = pay.SessionExpired
		var paid pay.Payment
		if p != nil {
			paid = *p
		} else {
			paid = pay.Payment{Amount: sess.Amount, Status: pay.PaymentExpired}
		}
		if _, err := tx.AddEvent(ctx, paymentEvent(EventPaymentExpired, sess, paid, now)); err != nil {
			return err
		}
		done = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("checkout: expire %s: %w", r.ID, err)
	}
	if done {
		s.changed()
		s.committed()
	}
	return done, nil
}

// Reconcile asks the gateway about up to limit attempts that have waited
// too long for an outcome (a lost answer, a lost callback, a crash
// between the charge and its commit) and applies what it says. An
// attempt the gateway does not decide yet is asked about again later,
// with a doubling wait, until it does. An attempt is never charged again
// elsewhere while its outcome is unknown.
func (s *Service) Reconcile(ctx context.Context, limit int) (int, error) {
	now := s.now().UTC()
	stale, err := s.store.StalePayments(ctx, now.Add(-reconcileAfter), now, limit)
	if err != nil {
		return 0, fmt.Errorf("checkout: reconcile: %w", err)
	}
	settled := 0
	var errs []error
	for _, sp := range stale {
		final, err := s.reconcile(ctx, sp)
		if err != nil {
			s.flow.Log.WarnContext(ctx, "reconcile payment", "payment_id", sp.ID, "gateway", sp.Gateway, "err", err)
		}
		if final {
			settled++
			continue
		}
		if err := s.store.DeferPaymentCheck(ctx, sp.ID, now.Add(backoff(sp.Checks))); err != nil {
			errs = append(errs, err)
		}
	}
	return settled, errors.Join(errs...)
}

// reconcile asks about one attempt and reports whether it is now final:
// by its reference when the gateway named the charge, else by repeating
// the charge request itself, whose idempotency key makes the gateway
// answer about the first charge instead of making a second.
func (s *Service) reconcile(ctx context.Context, sp store.StalePayment) (bool, error) {
	p := sp.Payment
	conn, err := s.flow.Gateways.For(ctx, p.ApplicationID, p.Environment, p.Gateway)
	if err != nil {
		return false, err
	}
	cctx, cancel := context.WithTimeout(ctx, chargeTimeout)
	defer cancel()
	var res gateway.ChargeResult
	switch {
	case p.GatewayReference != "":
		res, err = conn.Fetch(cctx, gateway.FetchRequest{Reference: p.GatewayReference})
	case sp.SealedToken != "" || p.Method != "card":
		var tok string
		if sp.SealedToken != "" && s.flow.Sealer != nil {
			if tok, err = s.flow.Sealer.Open(sp.SealedToken); err != nil {
				return false, err
			}
		}
		var sess pay.Session
		if sess, err = s.store.SessionSummary(ctx, p.ApplicationID, p.Environment, p.SessionID); err != nil {
			return false, err
		}
		// Any error leaves the attempt in flight, even a refusal: a repeat
		// refused (an expired token, say) says nothing of the first charge.
		res, err = conn.Charge(cctx, s.chargeRequest(p, sess.Customer, tok, "", ""))
	default:
		// Nothing to ask with: an operator decides; the attempt stays in
		// flight meanwhile and is never charged elsewhere.
		return false, fmt.Errorf("no gateway reference and no payment token for an attempt whose outcome is unknown")
	}
	if err != nil {
		return false, err
	}
	at, err := s.settle(ctx, p, nil, res, nil)
	if err != nil {
		return false, err
	}
	return at.Payment != nil && at.Payment.ID == p.ID && at.Payment.Status != pay.PaymentPending &&
		at.Payment.Status != pay.PaymentRequiresAction, nil
}

// backoff is the wait before the next check of an attempt already
// checked n times.
func backoff(n int) time.Duration {
	d := reconcileFirst
	for range n {
		if d *= 2; d >= reconcileMax {
			return reconcileMax
		}
	}
	return d
}
