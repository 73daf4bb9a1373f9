package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// CreatePayment inserts a payment attempt, numbered after the session's
// earlier ones; the caller holds the session's lock (tx.Session). The unique index
// payments_one_open refuses a second attempt in flight (pending or
// requires_action) for one session with a Conflict "payment_in_flight",
// and payments_paid_once a second completed one.
func (tx *Tx) CreatePayment(ctx context.Context, p pay.Payment) error {
	return tx.CreatePaymentWithToken(ctx, p, "")
}

// CreatePaymentWithToken is CreatePayment keeping the attempt's payment
// token, sealed, while its outcome is open (see the sealed_token column).
func (tx *Tx) CreatePaymentWithToken(ctx context.Context, p pay.Payment, sealedToken string) error {
	_, err := tx.q.ExecContext(ctx,
		`INSERT INTO payments (id, session_id, application_id, environment, gateway, method, status, amount_minor,
		   refunded_minor, currency, gateway_reference, redirect_url, error_code, error_message, retryable, created_at, updated_at,
		   sealed_token, attempt)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
		   (SELECT COALESCE(MAX(attempt), 0) + 1 FROM payments WHERE session_id = $2))`,
		p.ID, p.SessionID, p.ApplicationID, string(p.Environment), p.Gateway, p.Method, string(p.Status), p.Amount.Minor,
		p.Refunded.Minor, string(p.Amount.Currency), p.GatewayReference, p.RedirectURL, p.ErrorCode, p.ErrorMessage,
		p.Retryable, toDB(p.CreatedAt), toDB(p.UpdatedAt), sealedToken)
	if isUniqueViolation(err) {
		return &pay.Error{Kind: pay.Conflict, Code: "payment_in_flight", Message: "the session already has a payment in progress", Op: "store.CreatePayment", Err: err}
	}
	if err != nil || p.Refunded.Minor == 0 {
		return wrap("create payment", err)
	}
	// A payment recorded refunded already (an import, a seed): its
	// session's copy too, as AddRefunded keeps it.
	_, err = tx.q.ExecContext(ctx, `UPDATE sessions SET refunded_minor = refunded_minor + $1 WHERE id = $2`, p.Refunded.Minor, p.SessionID)
	return wrap("create payment", err)
}

// UpdatePayment writes p's status, gateway reference, redirect URL and
// error over the stored attempt, only if the attempt still stands as from
// (its status and its last change's time; else ErrStale): the caller
// decided from that attempt, and the move must be one the domain allows.
func (tx *Tx) UpdatePayment(ctx context.Context, p pay.Payment, from pay.Payment) error {
	if from.Status != p.Status && !from.Status.CanBecome(p.Status) {
		return pay.Errorf(pay.Conflict, "invalid_transition", "a %s payment cannot become %s", from.Status, p.Status)
	}
	// The sealed token goes as soon as the outcome is final.
	res, err := tx.q.ExecContext(ctx,
		`UPDATE payments SET status = $1, gateway_reference = $2, redirect_url = $3, error_code = $4,
		   error_message = $5, retryable = $6, updated_at = $7,
		   sealed_token = CASE WHEN $1 IN ('pending', 'requires_action') THEN sealed_token ELSE '' END
		 WHERE id = $8 AND status = $9 AND updated_at = $10`,
		string(p.Status), p.GatewayReference, p.RedirectURL, p.ErrorCode, p.ErrorMessage, p.Retryable,
		toDB(p.UpdatedAt), p.ID, string(from.Status), toDB(from.UpdatedAt))
	if _, err := affected("update payment", res, err); err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrStale
	}
	return nil
}

// StartSessionPayment moves a session from `from` to pending, as its
// attempt starts, and records who is paying it: the identifier a payment
// verification token proved, and the contact details given with the
// payment. One UPDATE, so that the indexes holding both the status and the
// customer change once; ErrStale when the session is no longer `from`.
func (tx *Tx) StartSessionPayment(ctx context.Context, id string, from pay.SessionStatus, c pay.Customer, at time.Time) error {
	if !from.CanBecome(pay.SessionPending) {
		return pay.Errorf(pay.Conflict, "invalid_transition", "a %s session cannot become %s", from, pay.SessionPending)
	}
	res, err := tx.q.ExecContext(ctx,
		`UPDATE sessions SET status = $1, customer_email = $2, customer_phone = $3, verified_identifier = $4,
		   verified_channel = $5, updated_at = $6 WHERE id = $7 AND status = $8`,
		string(pay.SessionPending), c.Email, c.Phone, c.VerifiedIdentifier, c.VerifiedChannel, toDB(at), id, string(from))
	if one, err := affected("start session payment", res, err); err != nil || one {
		return err
	}
	return ErrStale
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
		`SELECT `+paymentColumns+` FROM payments WHERE session_id = $1 ORDER BY attempt DESC LIMIT 1`,
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

// collect reads every row of a query with scan; err is the query's own.
func collect[T any](rows *sql.Rows, err error, op string, scan func(*sql.Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, wrap(op, rows.Err())
}

func scanPaymentRow(rows *sql.Rows) (pay.Payment, error) { return scanPayment(rows) }

// scanPayment reads paymentColumns, and then extra columns into extra.
func scanPayment(row interface{ Scan(...any) error }, extra ...any) (pay.Payment, error) {
	var p pay.Payment
	var envName, status, currency string
	var created, updated int64
	dest := []any{&p.ID, &p.SessionID, &p.ApplicationID, &envName, &p.Gateway, &p.Method, &status, &p.Amount.Minor,
		&p.Refunded.Minor, &currency, &p.GatewayReference, &p.RedirectURL, &p.ErrorCode, &p.ErrorMessage, &p.Retryable,
		&created, &updated}
	err := row.Scan(append(dest, extra...)...)
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

// SessionRef names a session and the application environment it is in.
type SessionRef struct {
	ID            string
	ApplicationID string
	Environment   pay.Environment
}

// OverdueSessions lists up to limit sessions still open (init, pending,
// requires_action or failed) whose expiry is at or before now, oldest
// first.
func (s *Store) OverdueSessions(ctx context.Context, now time.Time, limit int) ([]SessionRef, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT id, application_id, environment FROM sessions
		 WHERE status IN ('init', 'pending', 'requires_action', 'failed') AND expires_at <= $1
		 ORDER BY expires_at LIMIT $2`, toDB(now), limit)
	if err != nil {
		return nil, wrap("overdue sessions", err)
	}
	defer rows.Close()
	var refs []SessionRef
	for rows.Next() {
		var r SessionRef
		var env string
		if err := rows.Scan(&r.ID, &r.ApplicationID, &env); err != nil {
			return nil, wrap("overdue sessions", err)
		}
		r.Environment = pay.Environment(env)
		refs = append(refs, r)
	}
	return refs, wrap("overdue sessions", rows.Err())
}

// StalePayments lists up to limit attempts still waiting for the gateway
// (pending or requires_action) that have not changed since before and are
// due for a check at now, least recently changed first: the reconciler's
// work.
func (s *Store) StalePayments(ctx context.Context, before, now time.Time, limit int) ([]StalePayment, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+paymentColumns+`, checks, sealed_token FROM payments
		 WHERE status IN ('pending', 'requires_action') AND updated_at < $1 AND next_check_at <= $2
		 ORDER BY updated_at LIMIT $3`, toDB(before), toDB(now), limit)
	return collect(rows, err, "stale payments", func(rows *sql.Rows) (StalePayment, error) {
		var sp StalePayment
		p, err := scanPayment(rows, &sp.Checks, &sp.SealedToken)
		sp.Payment = p
		return sp, err
	})
}

// StalePayment is an attempt waiting for the gateway, with how often the
// reconciler asked about it.
type StalePayment struct {
	pay.Payment
	Checks      int
	SealedToken string // the payment token, sealed; "" when none was given
}

// DeferPaymentCheck records that the reconciler asked about an attempt
// and learned nothing final: it asks again at next.
func (s *Store) DeferPaymentCheck(ctx context.Context, id string, next time.Time) error {
	_, err := s.write.ExecContext(ctx, `UPDATE payments SET checks = checks + 1, next_check_at = $1 WHERE id = $2`, toDB(next), id)
	return wrap("defer payment check", err)
}

// SessionPayments lists a session's payment attempts, first to last.
func (s *Store) SessionPayments(ctx context.Context, sessionID string) ([]pay.Payment, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+paymentColumns+` FROM payments WHERE session_id = $1 ORDER BY attempt`, sessionID)
	return collect(rows, err, "session payments", scanPaymentRow)
}
