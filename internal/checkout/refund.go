package checkout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// How a refund is made, so that a payment's refunds never total more than
// it captured, whatever the concurrency:
//
//  1. One transaction locks the payment's session (tx.Session: FOR UPDATE
//     on PostgreSQL, the one writer on SQLite), checks that the payment
//     is completed, sums its pending and succeeded refunds, and inserts
//     the new refund as pending only if the sum stays within the captured
//     amount. The pending refund is the reservation: of two concurrent
//     refunds that together exceed the amount, the second to take the
//     lock sees the first and is refused (refund_exceeds_remaining).
//  2. The gateway is called outside any transaction, with the idempotency
//     key "sakk_" + the refund's id.
//  3. A second transaction records the answer: succeeded (the payment's
//     refunded sum grows; when it reaches the captured amount the payment
//     and its session become refunded), or failed (the reservation is
//     released: failed refunds do not count). No answer (a timeout, a
//     5xx) leaves the refund pending, its amount still reserved, because
//     the money may have moved. ReconcileRefunds settles it later by
//     sending the very same refund request again: the idempotency key
//     makes the gateway answer about the first refund instead of making a
//     second.
//
// Every succeeded refund writes one payment.refunded event to the outbox,
// in the transaction that records it: an EventPayload with its refund
// fields set. A partial refund has "partial": true and the payment's
// status stays "completed"; the refund that completes the total has
// "partial": false and status "refunded". The Checkout API's
// transaction status reads REFUNDED only then.

// Codes of the errors Refund returns.
const (
	CodePaymentNotFound            = "payment_not_found"
	CodePaymentNotRefundable       = "payment_not_refundable"
	CodeRefundExceedsRemaining     = "refund_exceeds_remaining"
	CodeRefundsNotSupported        = "refunds_not_supported"
	CodePartialRefundsNotSupported = "partial_refunds_not_supported"
	CodeRefundFailed               = "refund_failed"
)

// refundReconcileAfter leaves a pending refund alone this long after its
// last change: the request that made it may still be waiting for the
// gateway.
const refundReconcileAfter = time.Minute

// Refund returns amount (nil: everything not yet refunded) of a
// completed payment of an application environment, through the gateway
// that charged it, and returns the refund: succeeded, failed (the gateway
// refused it; FailureCode says why), or pending when the gateway's answer
// did not come (ReconcileRefunds settles it).
//
// With idem set, the refund is recorded under the key in the transaction
// that reserves it, and a retry with the same key and request gets that
// refund back, as it stands now, instead of refunding again (a refund
// still pending is asked about again first, with the same gateway
// idempotency key); the same key with a different request is a Conflict.
func (s *Service) Refund(ctx context.Context, appID string, env pay.Environment, paymentID string, amount *money.Amount, idem *Idempotency) (store.Refund, error) {
	r, _, err := s.RefundOrReplay(ctx, appID, env, paymentID, amount, idem)
	return r, err
}

// RefundOrReplay is Refund, and also says whether the refund answered is
// an earlier request's, replayed under its Idempotency-Key: a caller
// recording who moved money (the audit log) records the first request
// only.
func (s *Service) RefundOrReplay(ctx context.Context, appID string, env pay.Environment, paymentID string, amount *money.Amount,
	idem *Idempotency) (_ store.Refund, replayed bool, _ error) {
	now := s.now().UTC()
	if idem != nil {
		r, ok, err := s.replayRefund(ctx, appID, env, *idem, now)
		switch {
		case err != nil:
			return r, false, err
		case ok && r.Status == store.RefundPending:
			// Its outcome is still unknown: the retry asks the gateway
			// again.
			r, err := s.reconcileRefund(context.WithoutCancel(ctx), r)
			return r, true, err
		case ok:
			return r, true, nil
		}
	}
	p, err := s.store.Payment(ctx, appID, env, paymentID)
	if err != nil {
		return store.Refund{}, false, paymentNotFound(err)
	}
	if amount != nil && (amount.Currency != p.Amount.Currency || !amount.IsPositive()) {
		return store.Refund{}, false, pay.Errorf(pay.Invalid, CodeInvalidAmount, "amount must be greater than 0, in %s", p.Amount.Currency)
	}
	conn, err := s.flow.Gateways.For(ctx, p.ApplicationID, p.Environment, p.Gateway)
	if err != nil {
		return store.Refund{}, false, err
	}
	caps := conn.Capabilities()
	if !caps.Refunds {
		return store.Refund{}, false, pay.Errorf(pay.Invalid, CodeRefundsNotSupported, "%s does not support refunds", p.Gateway)
	}

	var r store.Refund
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		sess, err := tx.SessionSummary(ctx, appID, env, p.SessionID) // the lock every refund of the payment waits for
		if err != nil {
			return err
		}
		cur, err := tx.Payment(ctx, appID, env, p.ID)
		if err != nil {
			return err
		}
		switch cur.Status {
		case pay.PaymentCompleted:
		case pay.PaymentRefunded:
			return pay.Errorf(pay.Conflict, CodePaymentNotRefundable, "this payment is already refunded in full")
		default:
			return pay.Errorf(pay.Conflict, CodePaymentNotRefundable, "only a completed payment can be refunded; this one is %s", cur.Status)
		}
		reserved, err := tx.ReservedRefunds(ctx, cur.ID)
		if err != nil {
			return err
		}
		left := money.New(cur.Amount.Minor-reserved, cur.Amount.Currency)
		amt := left
		if amount != nil {
			amt = *amount
		}
		switch {
		case !left.IsPositive():
			return pay.Errorf(pay.Conflict, CodeRefundExceedsRemaining, "nothing is left to refund on this payment (refunds in progress count)")
		case amt.Minor > left.Minor:
			return pay.Errorf(pay.Conflict, CodeRefundExceedsRemaining, "the refund of %s exceeds what is left to refund, %s",
				money.Format(amt)+" "+string(amt.Currency), money.Format(left)+" "+string(left.Currency))
		case amt.Minor < cur.Amount.Minor && !caps.PartialRefunds:
			return pay.Errorf(pay.Invalid, CodePartialRefundsNotSupported, "%s refunds only the whole amount", cur.Gateway)
		}
		r = store.Refund{
			Refund: pay.Refund{
				ID: pay.NewID(pay.PrefixRefund), PaymentID: cur.ID, ApplicationID: appID, Environment: env,
				Amount: amt, Status: store.RefundPending, CreatedAt: now, UpdatedAt: now,
			},
			SessionID: sess.ID,
		}
		if err := tx.CreateRefund(ctx, r.Refund); err != nil {
			return err
		}
		if idem == nil {
			return nil
		}
		// The stored "response" of a refund is its id: a retry reads the
		// refund as it stands then, not as it stood when first answered.
		return tx.SaveIdempotentResponse(ctx, store.IdempotentResponse{
			ApplicationID: appID, Environment: env, Key: idem.Key, RequestHash: idem.RequestHash,
			Status: http.StatusCreated, Body: []byte(r.ID), CreatedAt: now,
		}, now.Add(-IdempotencyTTL))
	})
	if idem != nil && pay.CodeOf(err) == "idempotency_key_used" {
		// A concurrent request with the same key committed first: ours
		// rolled back, and its refund is the answer.
		r, _, err := s.replayRefund(ctx, appID, env, *idem, now)
		return r, err == nil, err
	}
	if err != nil {
		return store.Refund{}, false, fmt.Errorf("checkout: refund: %w", err)
	}
	r, err = s.sendRefund(ctx, conn, p, r)
	return r, false, err
}

// replayRefund answers a retried refund request from the refund its key
// names.
func (s *Service) replayRefund(ctx context.Context, appID string, env pay.Environment, idem Idempotency, now time.Time) (store.Refund, bool, error) {
	resp, ok, err := s.replay(ctx, appID, env, idem, now)
	if !ok || err != nil {
		return store.Refund{}, ok, err
	}
	r, err := s.store.Refund(ctx, appID, env, string(resp.Body))
	if pay.KindOf(err) == pay.NotFound {
		// The key answered another kind of request (its hash would differ
		// in the path): treat it as reused.
		return store.Refund{}, false, pay.Errorf(pay.Conflict, CodeIdempotencyKey,
			"this Idempotency-Key was already used with a different request; use a new key for a new request")
	}
	if err != nil {
		return store.Refund{}, false, fmt.Errorf("checkout: refund: %w", err)
	}
	return r, true, nil
}

// sendRefund asks the gateway for a reserved refund and records the
// answer. The caller leaving does not cut the call short: a lost answer
// would leave the refund pending for no reason.
func (s *Service) sendRefund(ctx context.Context, conn gateway.Connector, p pay.Payment, r store.Refund) (store.Refund, error) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), chargeTimeout)
	defer cancel()
	res, err := conn.Refund(cctx, refundRequest(p, r))
	return s.settleRefund(context.WithoutCancel(ctx), r, res, err)
}

// refundRequest is the one request that makes refund r. Every repeat of
// it (the reconciler's) carries the same idempotency key.
func refundRequest(p pay.Payment, r store.Refund) gateway.RefundRequest {
	return gateway.RefundRequest{
		IdempotencyKey:   "sakk_" + r.ID,
		PaymentReference: p.GatewayReference,
		Amount:           r.Amount,
	}
}

// settleRefund records a gateway's answer about pending refund r and
// returns the refund as it then stands. An answer about a refund already
// settled (by the reconciler, or a concurrent retry) changes nothing.
func (s *Service) settleRefund(ctx context.Context, r store.Refund, res gateway.RefundResult, refundErr error) (store.Refund, error) {
	status, code, msg := store.RefundPending, "", ""
	switch {
	case refundErr == nil && res.Status == gateway.RefundSucceeded:
		status = store.RefundSucceeded
	case refundErr == nil && res.Status == gateway.RefundFailed:
		status, code, msg = store.RefundFailed, CodeRefundFailed, "the gateway refused the refund"
	case refundErr == nil:
		// Pending at the gateway, or an answer without a status: not final.
	case pay.KindOf(refundErr) == pay.Invalid && pay.CodeOf(refundErr) != gateway.CodeIdempotencyKeyReused:
		// Refused before anything moved.
		status, code, msg = store.RefundFailed, pay.CodeOf(refundErr), pay.MessageOf(refundErr)
		if code == "" {
			code = CodeRefundFailed
		}
		if msg == "" {
			msg = "the gateway refused the refund"
		}
	default:
		s.flow.Log.WarnContext(ctx, "refund outcome unknown; left pending for the reconciler",
			"refund_id", r.ID, "payment_id", r.PaymentID, "err", refundErr)
	}
	if status == store.RefundPending && res.Reference == "" {
		return r, nil // nothing new to record
	}
	now := s.now().UTC()
	var out store.Refund
	wrote := false
	err := s.store.WithTx(ctx, func(tx *store.Tx) error {
		wrote = false
		sess, err := tx.SessionSummary(ctx, r.ApplicationID, r.Environment, r.SessionID)
		if err != nil {
			return err
		}
		cur, err := tx.Refund(ctx, r.ApplicationID, r.Environment, r.ID)
		if err != nil {
			return err
		}
		out = cur
		if cur.Status != store.RefundPending {
			return nil // settled already
		}
		ref := res.Reference
		if ref == "" {
			ref = cur.GatewayReference
		}
		if err := tx.SettleRefund(ctx, cur.ID, status, ref, code, msg, now); err != nil {
			return err
		}
		out.Status, out.GatewayReference, out.FailureCode, out.FailureMessage, out.UpdatedAt = status, ref, code, msg, now
		if status != store.RefundSucceeded {
			return nil
		}
		if err := tx.AddRefunded(ctx, cur.PaymentID, cur.Amount.Minor, now); err != nil {
			return err
		}
		p, err := tx.Payment(ctx, r.ApplicationID, r.Environment, cur.PaymentID)
		if err != nil {
			return err
		}
		full := p.Refunded.Minor == p.Amount.Minor
		if full && p.Status == pay.PaymentCompleted {
			if err := tx.SetPaymentStatus(ctx, p.ID, p.Status, pay.PaymentRefunded, now); err != nil {
				return err
			}
			p.Status = pay.PaymentRefunded
			if sess.Status.CanBecome(pay.SessionRefunded) {
				if err := tx.SetSessionStatus(ctx, sess.ID, sess.Status, pay.SessionRefunded, now); err != nil {
					return err
				}
				sess.Status = pay.SessionRefunded
			} else {
				s.flow.Log.ErrorContext(ctx, "session cannot follow its refunded payment", "session_id", sess.ID,
					"session_status", sess.Status, "payment_id", p.ID)
			}
		}
		_, err = tx.AddEvent(ctx, refundEvent(sess, p, cur, !full, now))
		wrote = err == nil
		return err
	})
	if err != nil {
		return r, fmt.Errorf("checkout: settle refund: %w", err)
	}
	s.changed()
	if wrote {
		s.committed()
	}
	return out, nil
}

// refundEvent is the payment.refunded event of refund r of p: the
// payment's payload (its status after the refund: "completed" while
// partially refunded, "refunded" once in full) with the refund's fields.
func refundEvent(sess pay.Session, p pay.Payment, r store.Refund, partial bool, now time.Time) pay.Event {
	e := paymentPayload(sess, p, now)
	e.RefundID, e.RefundAmountMinor, e.RefundAmount, e.Partial = r.ID, r.Amount.Minor, money.Format(r.Amount), &partial
	e.RefundedMinor, e.Refunded = p.Refunded.Minor, money.Format(p.Refunded)
	return newEvent(EventPaymentRefunded, sess, e, now)
}

func paymentNotFound(err error) error {
	if pay.KindOf(err) == pay.NotFound {
		return pay.Errorf(pay.NotFound, CodePaymentNotFound, "no such payment")
	}
	return fmt.Errorf("checkout: %w", err)
}

// ReconcileRefunds settles up to limit refunds whose outcome is unknown
// (the gateway's answer was lost, or sakk stopped between reserving a
// refund and recording it) and returns how many it settled. It repeats
// each refund's own request, whose idempotency key makes the gateway
// answer about the first refund, or make it if it never arrived (the
// merchant asked for it, and its amount is reserved). A refund still
// undecided is asked about again later, with a doubling wait. Like the
// other jobs it is safe to run on every instance at once: recording is a
// transaction that changes a refund only while it is still pending.
func (s *Service) ReconcileRefunds(ctx context.Context, limit int) (int, error) {
	now := s.now().UTC()
	pending, err := s.store.PendingRefunds(ctx, now.Add(-refundReconcileAfter), now, limit)
	if err != nil {
		return 0, fmt.Errorf("checkout: reconcile refunds: %w", err)
	}
	settled := 0
	var errs []error
	for _, r := range pending {
		out, err := s.reconcileRefund(ctx, r)
		if err != nil {
			s.flow.Log.WarnContext(ctx, "reconcile refund", "refund_id", r.ID, "err", err)
		}
		if err == nil && out.Status != store.RefundPending {
			settled++
			continue
		}
		if err := s.store.DeferRefundCheck(ctx, r.ID, now.Add(backoff(r.Checks))); err != nil {
			errs = append(errs, err)
		}
	}
	return settled, errors.Join(errs...)
}

func (s *Service) reconcileRefund(ctx context.Context, r store.Refund) (store.Refund, error) {
	p, err := s.store.Payment(ctx, r.ApplicationID, r.Environment, r.PaymentID)
	if err != nil {
		return r, err
	}
	conn, err := s.flow.Gateways.For(ctx, p.ApplicationID, p.Environment, p.Gateway)
	if err != nil {
		return r, err
	}
	cctx, cancel := context.WithTimeout(ctx, chargeTimeout)
	defer cancel()
	res, err := conn.Refund(cctx, refundRequest(p, r))
	return s.settleRefund(ctx, r, res, err)
}

// Refunds lists the refunds of a payment of an application environment,
// oldest first.
func (s *Service) Refunds(ctx context.Context, appID string, env pay.Environment, paymentID string) (pay.Payment, []store.Refund, error) {
	p, err := s.store.Payment(ctx, appID, env, paymentID)
	if err != nil {
		return p, nil, paymentNotFound(err)
	}
	rs, err := s.store.Refunds(ctx, p.ID)
	if err != nil {
		return p, nil, fmt.Errorf("checkout: refunds: %w", err)
	}
	return p, rs, nil
}

// SessionWithPayments reads a session of an application environment with
// its items and all its payment attempts, first to last.
func (s *Service) SessionWithPayments(ctx context.Context, appID string, env pay.Environment, id string) (pay.Session, []pay.Payment, error) {
	sess, err := s.store.Session(ctx, appID, env, id)
	if err != nil {
		return sess, nil, sessionNotFound(err)
	}
	ps, err := s.store.SessionPayments(ctx, sess.ID)
	if err != nil {
		return sess, nil, fmt.Errorf("checkout: session payments: %w", err)
	}
	return sess, ps, nil
}

// SessionCodes lists the one-time codes sent for a session of an
// application environment, oldest first, with their outcome: what the
// session's timeline shows of its verification.
func (s *Service) SessionCodes(ctx context.Context, appID string, env pay.Environment, sessionID string) ([]store.SessionCode, error) {
	cs, err := s.store.SessionCodes(ctx, appID, env, sessionID)
	if err != nil {
		return nil, fmt.Errorf("checkout: session codes: %w", err)
	}
	return cs, nil
}

// Payment reads one payment of an application environment; unknown and
// foreign ids are the same NotFound.
func (s *Service) Payment(ctx context.Context, appID string, env pay.Environment, id string) (pay.Payment, error) {
	p, err := s.store.Payment(ctx, appID, env, id)
	if err != nil {
		return p, paymentNotFound(err)
	}
	return p, nil
}
