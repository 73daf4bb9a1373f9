package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// CreateSession inserts a session with its items, in one statement: the
// items go into the row's items column (see itemsJSON).
func (tx *Tx) CreateSession(ctx context.Context, s pay.Session) error {
	var metadata sql.NullString
	if s.Metadata != nil {
		metadata = sql.NullString{String: string(s.Metadata), Valid: true}
	}
	items, err := itemsJSON(s.Items)
	if err != nil {
		return wrap("create session", err)
	}
	c := s.Customer
	_, err = tx.q.ExecContext(ctx,
		`INSERT INTO sessions (id, application_id, environment, status, amount_minor, currency,
		   customer_email, customer_phone, customer_locked, verified_identifier, verified_channel,
		   vendor_reference, metadata, return_url, cancel_url, gateway, locale, expires_at, created_at, updated_at, items)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
		s.ID, s.ApplicationID, string(s.Environment), string(s.Status), s.Amount.Minor, string(s.Amount.Currency),
		c.Email, c.Phone, c.Locked, c.VerifiedIdentifier, c.VerifiedChannel,
		s.VendorReference, metadata, s.ReturnURL, s.CancelURL, s.Gateway, s.Locale,
		toDB(s.ExpiresAt), toDB(s.CreatedAt), toDB(s.UpdatedAt), items)
	return wrap("create session", err)
}

// storedItem is one line of a session's items column. The prices are
// integer minor units of the session's currency, so they are decoded
// exactly (into int64, never through float64).
type storedItem struct {
	Reference string `json:"reference"`
	ProductID string `json:"product_id"`
	Name      string `json:"name"`
	UnitPrice int64  `json:"unit_price_minor"`
	Quantity  int64  `json:"quantity"`
	ImageURL  string `json:"image_url"`
}

// itemsJSON is the items column of a session with these items: a JSON
// array, "[]" when there are none (NULL is kept for sessions stored before
// the column, whose items are in session_items).
func itemsJSON(items []pay.Item) (string, error) {
	stored := make([]storedItem, len(items))
	for i, it := range items {
		stored[i] = storedItem{Reference: it.Reference, ProductID: it.ProductID, Name: it.Name,
			UnitPrice: it.UnitPrice.Minor, Quantity: it.Quantity, ImageURL: it.ImageURL}
	}
	b, err := json.Marshal(stored)
	return string(b), err
}

// parseItems reads an items column back, in the session's currency.
func parseItems(col string, cur money.Currency) ([]pay.Item, error) {
	var stored []storedItem
	if err := json.Unmarshal([]byte(col), &stored); err != nil {
		return nil, fmt.Errorf("items column: %w", err)
	}
	if len(stored) == 0 {
		return nil, nil
	}
	items := make([]pay.Item, len(stored))
	for i, it := range stored {
		items[i] = pay.Item{Reference: it.Reference, ProductID: it.ProductID, Name: it.Name,
			UnitPrice: money.Amount{Minor: it.UnitPrice, Currency: cur}, Quantity: it.Quantity, ImageURL: it.ImageURL}
	}
	return items, nil
}

// Session reads a session of one application environment with its items.
// Another application's session is not found, exactly like a missing one.
func (s *Store) Session(ctx context.Context, appID string, env pay.Environment, id string) (pay.Session, error) {
	return session(ctx, s.r, appID, env, id, "", true)
}

// SessionSummary is Session without its items, for readers that need
// only where it stands.
func (s *Store) SessionSummary(ctx context.Context, appID string, env pay.Environment, id string) (pay.Session, error) {
	return session(ctx, s.r, appID, env, id, "", false)
}

// Session reads a session inside the transaction and, on PostgreSQL, locks
// its row until the transaction ends, so that concurrent changes to one
// session happen one after the other. (SQLite transactions already run one
// at a time.)
func (tx *Tx) Session(ctx context.Context, appID string, env pay.Environment, id string) (pay.Session, error) {
	return session(ctx, tx.q, appID, env, id, tx.forUpdate(), true)
}

// SessionSummary is tx.Session without the items: the lock, and where
// the session stands.
func (tx *Tx) SessionSummary(ctx context.Context, appID string, env pay.Environment, id string) (pay.Session, error) {
	return session(ctx, tx.q, appID, env, id, tx.forUpdate(), false)
}

func (tx *Tx) forUpdate() string {
	if tx.engine == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

func session(ctx context.Context, q querier, appID string, env pay.Environment, id, lock string, withItems bool) (pay.Session, error) {
	var s pay.Session
	var envName, status, currency string
	var metadata, items sql.NullString
	var expires, created, updated int64
	c := &s.Customer
	// The items column is read only when asked for: a summary (a payment
	// transaction's lock and check) does not carry its text.
	itemsColumn, dest := "", []any{&s.ID, &s.ApplicationID, &envName, &status, &s.Amount.Minor, &currency,
		&c.Email, &c.Phone, &c.Locked, &c.VerifiedIdentifier, &c.VerifiedChannel,
		&s.VendorReference, &metadata, &s.ReturnURL, &s.CancelURL, &s.Gateway, &s.Locale, &expires, &created, &updated}
	if withItems {
		itemsColumn, dest = ", items", append(dest, &items)
	}
	err := q.QueryRowContext(ctx,
		`SELECT id, application_id, environment, status, amount_minor, currency,
		   customer_email, customer_phone, customer_locked, verified_identifier, verified_channel,
		   vendor_reference, metadata, return_url, cancel_url, gateway, locale, expires_at, created_at, updated_at`+itemsColumn+`
		 FROM sessions WHERE id = $1 AND application_id = $2 AND environment = $3`+lock, id, appID, string(env)).
		Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return s, notFound("session")
	}
	if err != nil {
		return s, wrap("session", err)
	}
	s.Environment, s.Status, s.Amount.Currency = pay.Environment(envName), pay.SessionStatus(status), money.Currency(currency)
	if metadata.Valid {
		s.Metadata = []byte(metadata.String)
	}
	s.ExpiresAt, s.CreatedAt, s.UpdatedAt = fromDB(expires), fromDB(created), fromDB(updated)
	if !withItems {
		return s, nil
	}
	if items.Valid {
		s.Items, err = parseItems(items.String, s.Amount.Currency)
		return s, wrap("session items", err)
	}

	// Stored before the items column: its items are in session_items.
	rows, err := q.QueryContext(ctx,
		`SELECT reference, product_id, name, unit_price_minor, quantity, image_url
		 FROM session_items WHERE session_id = $1 ORDER BY position`, s.ID)
	if err != nil {
		return s, wrap("session items", err)
	}
	defer rows.Close()
	for rows.Next() {
		it := pay.Item{UnitPrice: money.Amount{Currency: s.Amount.Currency}}
		if err := rows.Scan(&it.Reference, &it.ProductID, &it.Name, &it.UnitPrice.Minor, &it.Quantity, &it.ImageURL); err != nil {
			return s, wrap("session items", err)
		}
		s.Items = append(s.Items, it)
	}
	return s, wrap("session items", rows.Err())
}

// StatusBySession reads, in one query, what a transaction status shows of
// a session of one application environment and of its newest payment
// attempt (nil when it has none). The session has no items, metadata or
// URLs; the payment has only its id, session, status, amounts and times.
// Another application's session is not found, exactly like a missing one.
func (s *Store) StatusBySession(ctx context.Context, appID string, env pay.Environment, id string) (pay.Session, *pay.Payment, error) {
	var sess pay.Session
	var p statusPayment
	err := scanStatus(s.r.QueryRowContext(ctx,
		`SELECT `+statusSessionColumns+`, `+statusPaymentColumns+`
		 FROM sessions s LEFT JOIN payments p ON p.id = (
		   SELECT id FROM payments WHERE session_id = s.id ORDER BY attempt DESC LIMIT 1)
		 WHERE s.id = $1 AND s.application_id = $2 AND s.environment = $3`, id, appID, string(env)), &sess, &p)
	if err != nil {
		return sess, nil, err
	}
	if !p.id.Valid {
		return sess, nil, nil
	}
	pm := p.payment(sess)
	return sess, &pm, nil
}

// StatusByPayment is StatusBySession for a payment attempt asked for by
// its id, read with its session in one query.
func (s *Store) StatusByPayment(ctx context.Context, appID string, env pay.Environment, id string) (pay.Session, pay.Payment, error) {
	var sess pay.Session
	var p statusPayment
	err := scanStatus(s.r.QueryRowContext(ctx,
		`SELECT `+statusSessionColumns+`, `+statusPaymentColumns+`
		 FROM payments p JOIN sessions s ON s.id = p.session_id
		 WHERE p.id = $1 AND p.application_id = $2 AND p.environment = $3
		   AND s.application_id = $2 AND s.environment = $3`, id, appID, string(env)), &sess, &p)
	if err != nil {
		return sess, pay.Payment{}, err
	}
	return sess, p.payment(sess), nil
}

// The columns of a status read: few, because a status poll is the
// hottest read there is and each column costs its conversion.
const (
	statusSessionColumns = `s.id, s.application_id, s.environment, s.status, s.amount_minor, s.currency,
	s.customer_email, s.customer_phone, s.expires_at, s.created_at, s.updated_at`
	statusPaymentColumns = `p.id, p.status, p.amount_minor, p.refunded_minor, p.currency, p.created_at, p.updated_at`
)

// statusPayment holds the payment columns of a status read, NULL when a
// session has no payment.
type statusPayment struct {
	id, status, currency sql.NullString
	amount, refunded     sql.NullInt64
	created, updated     sql.NullInt64
}

// payment is the payment of a status read; it shares its session's
// application and environment.
func (p statusPayment) payment(sess pay.Session) pay.Payment {
	cur := money.Currency(p.currency.String)
	return pay.Payment{
		ID: p.id.String, SessionID: sess.ID, ApplicationID: sess.ApplicationID, Environment: sess.Environment,
		Status: pay.PaymentStatus(p.status.String), Amount: money.Amount{Minor: p.amount.Int64, Currency: cur},
		Refunded:  money.Amount{Minor: p.refunded.Int64, Currency: cur},
		CreatedAt: fromDB(p.created.Int64), UpdatedAt: fromDB(p.updated.Int64),
	}
}

func scanStatus(row *sql.Row, s *pay.Session, p *statusPayment) error {
	var envName, status, currency string
	var expires, created, updated int64
	err := row.Scan(&s.ID, &s.ApplicationID, &envName, &status, &s.Amount.Minor, &currency,
		&s.Customer.Email, &s.Customer.Phone, &expires, &created, &updated,
		&p.id, &p.status, &p.amount, &p.refunded, &p.currency, &p.created, &p.updated)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("transaction")
	}
	if err != nil {
		return wrap("transaction status", err)
	}
	s.Environment, s.Status, s.Amount.Currency = pay.Environment(envName), pay.SessionStatus(status), money.Currency(currency)
	s.ExpiresAt, s.CreatedAt, s.UpdatedAt = fromDB(expires), fromDB(created), fromDB(updated)
	return nil
}

// ErrStale reports that a row was not in the status a compare-and-set
// update expected: someone else changed it first. Callers re-read and
// decide again; they never overwrite.
var ErrStale = &pay.Error{Kind: pay.Conflict, Code: "stale", Message: "changed concurrently"}

// SetSessionStatus moves a session from one status to another, only if it
// is still in the status the caller decided from. Whether the move is
// allowed is the domain's rule (pay.SessionStatus.CanBecome), checked here
// once more so that no caller can skip it.
func (tx *Tx) SetSessionStatus(ctx context.Context, id string, from, to pay.SessionStatus, at time.Time) error {
	if !from.CanBecome(to) {
		return pay.Errorf(pay.Conflict, "invalid_transition", "a %s session cannot become %s", from, to)
	}
	return casStatus(ctx, tx.q, "sessions", id, string(from), string(to), at)
}

// SetPaymentStatus is SetSessionStatus for a payment attempt.
func (tx *Tx) SetPaymentStatus(ctx context.Context, id string, from, to pay.PaymentStatus, at time.Time) error {
	if !from.CanBecome(to) {
		return pay.Errorf(pay.Conflict, "invalid_transition", "a %s payment cannot become %s", from, to)
	}
	return casStatus(ctx, tx.q, "payments", id, string(from), string(to), at)
}

// casStatus updates a status only where it still equals from. The WHERE
// clause makes the check and the write one atomic step on both engines.
func casStatus(ctx context.Context, q querier, table, id, from, to string, at time.Time) error {
	res, err := q.ExecContext(ctx,
		`UPDATE `+table+` SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4`,
		to, toDB(at), id, from)
	if err != nil {
		return wrap("set "+table+" status", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap("set "+table+" status", err)
	}
	if n == 0 {
		return fmt.Errorf("store: set %s status %s→%s of %s: %w", table, from, to, id, ErrStale)
	}
	return nil
}

// AddEvent appends an event to the outbox, in the transaction of the
// change it records, numbered after the subject's previous events. The
// change itself must already hold the subject's lock (a session row
// update), so two transactions never number events of one subject at once;
// the unique (subject_id, seq) index would refuse it if they did.
func (tx *Tx) AddEvent(ctx context.Context, e pay.Event) (pay.Event, error) {
	err := tx.q.QueryRowContext(ctx,
		`SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE subject_id = $1`, e.SubjectID).Scan(&e.Seq)
	if err != nil {
		return e, wrap("add event", err)
	}
	_, err = tx.q.ExecContext(ctx,
		`INSERT INTO events (id, application_id, environment, type, subject_id, seq, payload, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		e.ID, e.ApplicationID, string(e.Environment), e.Type, e.SubjectID, e.Seq, string(e.Payload), toDB(e.CreatedAt))
	return e, wrap("add event", err)
}

// eventColumns are the columns scanEvent reads, in its order.
const eventColumns = `id, application_id, environment, type, subject_id, seq, payload, created_at`

// scanEvent reads one row of eventColumns.
func scanEvent(rows *sql.Rows) (pay.Event, error) {
	var e pay.Event
	var env, payload string
	var created int64
	if err := rows.Scan(&e.ID, &e.ApplicationID, &env, &e.Type, &e.SubjectID, &e.Seq, &payload, &created); err != nil {
		return e, wrap("scan event", err)
	}
	e.Environment, e.Payload, e.CreatedAt = pay.Environment(env), []byte(payload), fromDB(created)
	return e, nil
}

// Events lists the events about one subject, in order.
func (s *Store) Events(ctx context.Context, subjectID string) ([]pay.Event, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+eventColumns+`
		 FROM events WHERE subject_id = $1 ORDER BY seq`, subjectID)
	return collect(rows, err, "events", scanEvent)
}

// CountSessions counts every session in the store.
func (s *Store) CountSessions(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions`).Scan(&n)
	return n, wrap("count sessions", err)
}
