package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// Refund statuses, as stored in refunds.status. A refund is pending from
// the moment its amount is reserved until the gateway's answer is
// recorded; pending and succeeded refunds together never exceed what
// their payment captured.
const (
	RefundPending   = "pending"
	RefundSucceeded = "succeeded"
	RefundFailed    = "failed"
)

// Refund is a stored refund, with what the merchant API shows beside the
// domain's fields.
type Refund struct {
	pay.Refund
	SessionID      string // the session of the refunded payment
	FailureCode    string // why the gateway refused it; "" unless failed
	FailureMessage string
	Checks         int // how often the reconciler asked about it
}

// CreateRefund inserts a pending refund. The caller holds the session's
// lock (tx.Session) and has checked, under it, that the refunds of the
// payment stay within what it captured (tx.ReservedRefunds).
func (tx *Tx) CreateRefund(ctx context.Context, r pay.Refund) error {
	_, err := tx.q.ExecContext(ctx,
		`INSERT INTO refunds (id, payment_id, application_id, environment, amount_minor, currency, status,
		   gateway_reference, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		r.ID, r.PaymentID, r.ApplicationID, string(r.Environment), r.Amount.Minor, string(r.Amount.Currency),
		r.Status, r.GatewayReference, toDB(r.CreatedAt), toDB(r.UpdatedAt))
	return wrap("create refund", err)
}

// ReservedRefunds is the sum, in minor units, of a payment's pending and
// succeeded refunds: what is no longer available to refund. Read it under
// the session's lock, so that no concurrent refund changes it before the
// caller's insert commits.
func (tx *Tx) ReservedRefunds(ctx context.Context, paymentID string) (int64, error) {
	var n int64
	err := tx.q.QueryRowContext(ctx,
		`SELECT COALESCE(SUM(amount_minor), 0) FROM refunds WHERE payment_id = $1 AND status IN ('pending', 'succeeded')`,
		paymentID).Scan(&n)
	return n, wrap("reserved refunds", err)
}

// Payment reads one payment of an application environment inside the
// transaction; the caller holds its session's lock (tx.Session).
func (tx *Tx) Payment(ctx context.Context, appID string, env pay.Environment, id string) (pay.Payment, error) {
	return scanPayment(tx.q.QueryRowContext(ctx,
		`SELECT `+paymentColumns+` FROM payments WHERE id = $1 AND application_id = $2 AND environment = $3`,
		id, appID, string(env)))
}

// AddRefunded adds a succeeded refund's amount to its payment's (and its
// session's) refunded_minor, only while that stays within the captured amount (the
// table's CHECK says the same); anything else is ErrStale, and the caller
// rolls back.
func (tx *Tx) AddRefunded(ctx context.Context, paymentID string, minor int64, at time.Time) error {
	res, err := tx.q.ExecContext(ctx,
		`UPDATE payments SET refunded_minor = refunded_minor + $1, updated_at = $2
		 WHERE id = $3 AND refunded_minor + $1 <= amount_minor`, minor, toDB(at), paymentID)
	ok, err := affected("add refunded", res, err)
	if err != nil {
		return err
	}
	if !ok {
		return ErrStale
	}
	// The session's copy, which the customers listing reads from its
	// index (migration 00021).
	_, err = tx.q.ExecContext(ctx,
		`UPDATE sessions SET refunded_minor = refunded_minor + $1 WHERE id = (SELECT session_id FROM payments WHERE id = $2)`, minor, paymentID)
	return wrap("add refunded", err)
}

// SettleRefund records the gateway's answer about a pending refund: its
// status (pending again when the gateway will settle it later), its
// reference and, for a failure, why. It changes the refund only while it
// is still pending (else ErrStale): a refund's outcome is written once.
func (tx *Tx) SettleRefund(ctx context.Context, id, status, reference, failureCode, failureMessage string, at time.Time) error {
	switch status {
	case RefundPending, RefundSucceeded, RefundFailed:
	default:
		return pay.Errorf(pay.Internal, "", "unknown refund status %q", status)
	}
	res, err := tx.q.ExecContext(ctx,
		`UPDATE refunds SET status = $1, gateway_reference = $2, failure_code = $3, failure_message = $4, updated_at = $5
		 WHERE id = $6 AND status = 'pending'`, status, reference, failureCode, failureMessage, toDB(at), id)
	ok, err := affected("settle refund", res, err)
	if err != nil {
		return err
	}
	if !ok {
		return ErrStale
	}
	return nil
}

const refundColumns = `r.id, r.payment_id, r.application_id, r.environment, r.amount_minor, r.currency, r.status,
	r.gateway_reference, r.failure_code, r.failure_message, r.checks, r.created_at, r.updated_at, p.session_id`

func scanRefund(row interface{ Scan(...any) error }) (Refund, error) {
	var r Refund
	var env, currency string
	var created, updated int64
	err := row.Scan(&r.ID, &r.PaymentID, &r.ApplicationID, &env, &r.Amount.Minor, &currency, &r.Status,
		&r.GatewayReference, &r.FailureCode, &r.FailureMessage, &r.Checks, &created, &updated, &r.SessionID)
	if errors.Is(err, sql.ErrNoRows) {
		return r, notFound("refund")
	}
	if err != nil {
		return r, wrap("refund", err)
	}
	r.Environment, r.Amount.Currency = pay.Environment(env), money.Currency(currency)
	r.CreatedAt, r.UpdatedAt = fromDB(created), fromDB(updated)
	return r, nil
}

// Refund reads one refund of an application environment.
func (s *Store) Refund(ctx context.Context, appID string, env pay.Environment, id string) (Refund, error) {
	return refund(ctx, s.r, appID, env, id)
}

// Refund reads one refund inside the transaction; the caller holds the
// session's lock.
func (tx *Tx) Refund(ctx context.Context, appID string, env pay.Environment, id string) (Refund, error) {
	return refund(ctx, tx.q, appID, env, id)
}

func refund(ctx context.Context, q querier, appID string, env pay.Environment, id string) (Refund, error) {
	return scanRefund(q.QueryRowContext(ctx,
		`SELECT `+refundColumns+` FROM refunds r JOIN payments p ON p.id = r.payment_id
		 WHERE r.id = $1 AND r.application_id = $2 AND r.environment = $3`, id, appID, string(env)))
}

// Refunds lists the refunds of one payment, oldest first.
func (s *Store) Refunds(ctx context.Context, paymentID string) ([]Refund, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+refundColumns+` FROM refunds r JOIN payments p ON p.id = r.payment_id
		 WHERE r.payment_id = $1 ORDER BY r.created_at, r.id`, paymentID)
	if err != nil {
		return nil, wrap("refunds", err)
	}
	defer rows.Close()
	var rs []Refund
	for rows.Next() {
		r, err := scanRefund(rows)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, wrap("refunds", rows.Err())
}

// PendingRefunds lists up to limit refunds still pending that have not
// changed since before and are due for a check at now, least recently
// changed first: the refund reconciler's work.
func (s *Store) PendingRefunds(ctx context.Context, before, now time.Time, limit int) ([]Refund, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+refundColumns+` FROM refunds r JOIN payments p ON p.id = r.payment_id
		 WHERE r.status = 'pending' AND r.updated_at < $1 AND r.next_check_at <= $2
		 ORDER BY r.updated_at LIMIT $3`, toDB(before), toDB(now), limit)
	if err != nil {
		return nil, wrap("pending refunds", err)
	}
	defer rows.Close()
	var rs []Refund
	for rows.Next() {
		r, err := scanRefund(rows)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, wrap("pending refunds", rows.Err())
}

// DeferRefundCheck records that the reconciler asked about a refund and
// learned nothing final: it asks again at next.
func (s *Store) DeferRefundCheck(ctx context.Context, id string, next time.Time) error {
	return s.WithTx(ctx, func(tx *Tx) error {
		_, err := tx.q.ExecContext(ctx, `UPDATE refunds SET checks = checks + 1, next_check_at = $1 WHERE id = $2`, toDB(next), id)
		return wrap("defer refund check", err)
	})
}

// PaymentOwner names the application environment a payment belongs to,
// for the one caller that knows only the payment: an operator at the
// command line.
func (s *Store) PaymentOwner(ctx context.Context, id string) (appID string, env pay.Environment, err error) {
	var e string
	err = s.r.QueryRowContext(ctx, `SELECT application_id, environment FROM payments WHERE id = $1`, id).Scan(&appID, &e)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", notFound("payment")
	}
	return appID, pay.Environment(e), wrap("payment owner", err)
}
