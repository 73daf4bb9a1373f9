package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// CreatePaymentLink inserts a link; its items go into the row's items
// column in the format of a session's (see itemsJSON).
func (tx *Tx) CreatePaymentLink(ctx context.Context, l pay.PaymentLink) error {
	items, err := itemsJSON(l.Items)
	if err != nil {
		return wrap("create payment link", err)
	}
	var limit sql.NullInt64
	if l.QuantityLimit > 0 {
		limit = sql.NullInt64{Int64: l.QuantityLimit, Valid: true}
	}
	_, err = tx.q.ExecContext(ctx,
		`INSERT INTO payment_links (id, application_id, environment, currency, items, quantity_limit, expires_at, active, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		l.ID, l.ApplicationID, string(l.Environment), string(l.Currency), items, limit, nullTime(l.ExpiresAt),
		l.Active, toDB(l.CreatedAt), toDB(l.UpdatedAt))
	return wrap("create payment link", err)
}

// AddPaymentLinkSession records that a link opened a session, in the
// session's own transaction (after CreateSession).
func (tx *Tx) AddPaymentLinkSession(ctx context.Context, linkID, sessionID string) error {
	_, err := tx.q.ExecContext(ctx,
		`INSERT INTO payment_link_sessions (session_id, payment_link_id) VALUES ($1, $2)`, sessionID, linkID)
	return wrap("add payment link session", err)
}

// SetPaymentLinkExpiry changes when a link of one application environment
// expires; zero is never. Another application's link is not found.
func (tx *Tx) SetPaymentLinkExpiry(ctx context.Context, appID string, env pay.Environment, id string, expiresAt, at time.Time) error {
	res, err := tx.q.ExecContext(ctx,
		`UPDATE payment_links SET expires_at = $1, updated_at = $2 WHERE id = $3 AND application_id = $4 AND environment = $5`,
		nullTime(expiresAt), toDB(at), id, appID, string(env))
	if err != nil {
		return wrap("set payment link expiry", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(wrap("set payment link expiry", err), notFound("payment link"))
	}
	return nil
}

// SetPaymentLinkActive turns a link of one application environment on or
// off. Another application's link is not found, like a missing one.
func (tx *Tx) SetPaymentLinkActive(ctx context.Context, appID string, env pay.Environment, id string, active bool, at time.Time) error {
	res, err := tx.q.ExecContext(ctx,
		`UPDATE payment_links SET active = $1, updated_at = $2 WHERE id = $3 AND application_id = $4 AND environment = $5`,
		active, toDB(at), id, appID, string(env))
	if err != nil {
		return wrap("set payment link active", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(wrap("set payment link active", err), notFound("payment link"))
	}
	return nil
}

// paymentLinkColumns are read by scanPaymentLink. The last is the count
// of the link's paid sessions: completed, or completed and since
// refunded (a session's status never leaves those two once paid).
const paymentLinkColumns = `l.id, l.application_id, l.environment, l.currency, l.items, l.quantity_limit, l.expires_at,
	l.active, l.created_at, l.updated_at,
	(SELECT COUNT(*) FROM payment_link_sessions ls JOIN sessions s ON s.id = ls.session_id
	 WHERE ls.payment_link_id = l.id AND s.status IN ('` + string(pay.SessionCompleted) + `', '` + string(pay.SessionRefunded) + `'))`

func scanPaymentLink(row interface{ Scan(...any) error }) (pay.PaymentLink, error) {
	var l pay.PaymentLink
	var env, currency, items string
	var limit, expires sql.NullInt64
	var created, updated int64
	err := row.Scan(&l.ID, &l.ApplicationID, &env, &currency, &items, &limit, &expires,
		&l.Active, &created, &updated, &l.Paid)
	if err != nil {
		return l, err
	}
	l.Environment, l.Currency = pay.Environment(env), money.Currency(currency)
	l.QuantityLimit, l.ExpiresAt = limit.Int64, fromNullTime(expires)
	l.CreatedAt, l.UpdatedAt = fromDB(created), fromDB(updated)
	l.Items, err = parseItems(items, l.Currency)
	return l, err
}

// PaymentLink reads a link by its id alone, with its count of paid
// sessions: its public URL names nothing else. Callers acting for a
// merchant check that it is the merchant's.
func (s *Store) PaymentLink(ctx context.Context, id string) (pay.PaymentLink, error) {
	l, err := scanPaymentLink(s.r.QueryRowContext(ctx,
		`SELECT `+paymentLinkColumns+` FROM payment_links l WHERE l.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return l, notFound("payment link")
	}
	return l, wrap("payment link", err)
}

// PaymentLinks lists up to limit links of one application environment,
// newest first, after position after (the zero Position for the first
// page), each with its count of paid sessions.
func (s *Store) PaymentLinks(ctx context.Context, appID string, env pay.Environment, after Position, limit int) ([]pay.PaymentLink, error) {
	afterAt := int64(0)
	if after.ID != "" {
		afterAt = toDB(after.CreatedAt)
	}
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+paymentLinkColumns+` FROM payment_links l
		 WHERE l.application_id = $1 AND l.environment = $2
		   AND ($3 = '' OR l.created_at < $4 OR (l.created_at = $4 AND l.id < $3))
		 ORDER BY l.created_at DESC, l.id DESC LIMIT $5`,
		appID, string(env), after.ID, afterAt, limit)
	return collect(rows, err, "payment links", func(r *sql.Rows) (pay.PaymentLink, error) {
		l, err := scanPaymentLink(r)
		return l, wrap("payment links", err)
	})
}
