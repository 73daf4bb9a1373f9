package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// CreatePayment inserts a payment attempt. The unique index
// payments_one_open refuses a second attempt in flight (pending or
// requires_action) for one session with a Conflict "payment_in_flight",
// and payments_paid_once a second completed one.
func (tx *Tx) CreatePayment(ctx context.Context, p pay.Payment) error {
	_, err := tx.q.ExecContext(ctx,
		`INSERT INTO payments (id, session_id, application_id, environment, gateway, method, status, amount_minor,
		   refunded_minor, currency, gateway_reference, redirect_url, error_code, error_message, retryable, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		p.ID, p.SessionID, p.ApplicationID, string(p.Environment), p.Gateway, p.Method, string(p.Status), p.Amount.Minor,
		p.Refunded.Minor, string(p.Amount.Currency), p.GatewayReference, p.RedirectURL, p.ErrorCode, p.ErrorMessage,
		p.Retryable, toDB(p.CreatedAt), toDB(p.UpdatedAt))
	if isUniqueViolation(err) {
		return &pay.Error{Kind: pay.Conflict, Code: "payment_in_flight", Message: "the session already has a payment in progress", Op: "store.CreatePayment", Err: err}
	}
	return wrap("create payment", err)
}

// UpdatePayment writes p's status, gateway reference, redirect URL and
// error over the stored attempt, only if the attempt is still in status
// from (else ErrStale): the caller decided from that status, and the move
// must be one the domain allows.
func (tx *Tx) UpdatePayment(ctx context.Context, p pay.Payment, from pay.PaymentStatus) error {
	if from != p.Status && !from.CanBecome(p.Status) {
		return pay.Errorf(pay.Conflict, "invalid_transition", "a %s payment cannot become %s", from, p.Status)
	}
	res, err := tx.q.ExecContext(ctx,
		`UPDATE payments SET status = $1, gateway_reference = $2, redirect_url = $3, error_code = $4,
		   error_message = $5, retryable = $6, updated_at = $7
		 WHERE id = $8 AND status = $9`,
		string(p.Status), p.GatewayReference, p.RedirectURL, p.ErrorCode, p.ErrorMessage, p.Retryable,
		toDB(p.UpdatedAt), p.ID, string(from))
	if _, err := affected("update payment", res, err); err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrStale
	}
	return nil
}

// SetSessionCustomer records who is paying a session: the identifier a
// payment verification token proved, and the contact details given with
// the payment.
func (tx *Tx) SetSessionCustomer(ctx context.Context, id string, c pay.Customer, at time.Time) error {
	_, err := tx.q.ExecContext(ctx,
		`UPDATE sessions SET customer_email = $1, customer_phone = $2, verified_identifier = $3,
		   verified_channel = $4, updated_at = $5 WHERE id = $6`,
		c.Email, c.Phone, c.VerifiedIdentifier, c.VerifiedChannel, toDB(at), id)
	return wrap("set session customer", err)
}

// Payment reads one payment of an application environment.
func (s *Store) Payment(ctx context.Context, appID string, env pay.Environment, id string) (pay.Payment, error) {
	return scanPayment(s.r.QueryRowContext(ctx,
		`SELECT `+paymentColumns+` FROM payments WHERE id = $1 AND application_id = $2 AND environment = $3`,
		id, appID, string(env)))
}

// LatestPayment reads the newest payment attempt of a session; nil when
// it has none.
func (s *Store) LatestPayment(ctx context.Context, sessionID string) (*pay.Payment, error) {
	return latestPayment(ctx, s.r, sessionID)
}

// LatestPayment reads the newest attempt of a session inside the
// transaction; the caller holds the session's lock (tx.Session).
func (tx *Tx) LatestPayment(ctx context.Context, sessionID string) (*pay.Payment, error) {
	return latestPayment(ctx, tx.q, sessionID)
}

func latestPayment(ctx context.Context, q querier, sessionID string) (*pay.Payment, error) {
	p, err := scanPayment(q.QueryRowContext(ctx,
		`SELECT `+paymentColumns+` FROM payments WHERE session_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`,
		sessionID))
	if pay.KindOf(err) == pay.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

const paymentColumns = `id, session_id, application_id, environment, gateway, method, status, amount_minor, refunded_minor,
	currency, gateway_reference, redirect_url, error_code, error_message, retryable, created_at, updated_at`

func scanPayment(row *sql.Row) (pay.Payment, error) {
	var p pay.Payment
	var envName, status, currency string
	var created, updated int64
	err := row.Scan(&p.ID, &p.SessionID, &p.ApplicationID, &envName, &p.Gateway, &p.Method, &status, &p.Amount.Minor,
		&p.Refunded.Minor, &currency, &p.GatewayReference, &p.RedirectURL, &p.ErrorCode, &p.ErrorMessage, &p.Retryable,
		&created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return p, notFound("payment")
	}
	if err != nil {
		return p, wrap("payment", err)
	}
	p.Environment, p.Status = pay.Environment(envName), pay.PaymentStatus(status)
	p.Amount.Currency, p.Refunded.Currency = money.Currency(currency), money.Currency(currency)
	p.CreatedAt, p.UpdatedAt = fromDB(created), fromDB(updated)
	return p, nil
}

// SessionOwner names the application environment a session belongs to,
// for the one caller that knows only the session: a shopper's browser
// coming back from a gateway.
func (s *Store) SessionOwner(ctx context.Context, id string) (appID string, env pay.Environment, err error) {
	var e string
	err = s.r.QueryRowContext(ctx, `SELECT application_id, environment FROM sessions WHERE id = $1`, id).Scan(&appID, &e)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", notFound("session")
	}
	return appID, pay.Environment(e), wrap("session owner", err)
}
