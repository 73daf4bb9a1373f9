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

// storedPartnerItem is one element of partner_transactions.items.
type storedPartnerItem struct {
	Name       string `json:"name"`
	Reference  string `json:"reference,omitempty"`
	Quantity   int64  `json:"quantity"`
	UnitPrice  int64  `json:"unit_price_minor"`
	CategoryID *int64 `json:"category_id,omitempty"`
}

// CreatePartnerTransaction inserts a partner transaction.
func (tx *Tx) CreatePartnerTransaction(ctx context.Context, t pay.PartnerTransaction) error {
	stored := make([]storedPartnerItem, len(t.Items))
	for i, it := range t.Items {
		stored[i] = storedPartnerItem{Name: it.Name, Reference: it.Reference, Quantity: it.Quantity, UnitPrice: it.UnitPrice.Minor, CategoryID: it.CategoryID}
	}
	items, err := json.Marshal(stored)
	if err != nil {
		return wrap("create partner transaction", err)
	}
	_, err = tx.q.ExecContext(ctx,
		`INSERT INTO partner_transactions (id, application_id, environment, order_reference, vendor_reference, status,
		   total_minor, currency, customer_phone, items, expires_at, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		t.ID, t.ApplicationID, string(t.Environment), t.OrderReference, t.VendorReference, string(t.Status),
		t.Total.Minor, string(t.Total.Currency), t.CustomerPhone, string(items), nullTime(t.ExpiresAt), toDB(t.CreatedAt), nullTime(t.UpdatedAt))
	return wrap("create partner transaction", err)
}

const partnerColumns = `id, application_id, environment, order_reference, vendor_reference, status,
	total_minor, currency, customer_phone, items, expires_at, created_at, updated_at`

func scanPartner(row interface{ Scan(...any) error }) (pay.PartnerTransaction, error) {
	var t pay.PartnerTransaction
	var env, status, currency, items string
	var expires, updated sql.NullInt64
	var created int64
	if err := row.Scan(&t.ID, &t.ApplicationID, &env, &t.OrderReference, &t.VendorReference, &status,
		&t.Total.Minor, &currency, &t.CustomerPhone, &items, &expires, &created, &updated); err != nil {
		return t, err
	}
	t.Environment, t.Status, t.Total.Currency = pay.Environment(env), pay.PartnerStatus(status), money.Currency(currency)
	t.ExpiresAt, t.CreatedAt, t.UpdatedAt = fromNullTime(expires), fromDB(created), fromNullTime(updated)
	var stored []storedPartnerItem
	if err := json.Unmarshal([]byte(items), &stored); err != nil {
		return t, fmt.Errorf("items column: %w", err)
	}
	t.Items = make([]pay.PartnerItem, len(stored))
	for i, it := range stored {
		t.Items[i] = pay.PartnerItem{Name: it.Name, Reference: it.Reference, Quantity: it.Quantity,
			UnitPrice: money.New(it.UnitPrice, t.Total.Currency), CategoryID: it.CategoryID}
	}
	return t, nil
}

// PartnerTransaction reads a partner transaction of one application
// environment; another's is not found, like a missing one.
func (s *Store) PartnerTransaction(ctx context.Context, appID string, env pay.Environment, id string) (pay.PartnerTransaction, error) {
	return partnerTransaction(ctx, s.r, appID, env, id, "")
}

// PartnerTransaction reads a partner transaction inside the transaction
// and, on PostgreSQL, locks its row until it ends.
func (tx *Tx) PartnerTransaction(ctx context.Context, appID string, env pay.Environment, id string) (pay.PartnerTransaction, error) {
	return partnerTransaction(ctx, tx.q, appID, env, id, tx.forUpdate())
}

func partnerTransaction(ctx context.Context, q querier, appID string, env pay.Environment, id, lock string) (pay.PartnerTransaction, error) {
	t, err := scanPartner(q.QueryRowContext(ctx,
		`SELECT `+partnerColumns+` FROM partner_transactions WHERE id = $1 AND application_id = $2 AND environment = $3`+lock,
		id, appID, string(env)))
	if errors.Is(err, sql.ErrNoRows) {
		return t, notFound("partner transaction")
	}
	return t, wrap("partner transaction", err)
}

// PartnerTransactionByVendor reads the newest partner transaction of an
// application environment with the merchant's order id ref.
func (s *Store) PartnerTransactionByVendor(ctx context.Context, appID string, env pay.Environment, ref string) (pay.PartnerTransaction, error) {
	t, err := scanPartner(s.r.QueryRowContext(ctx,
		`SELECT `+partnerColumns+` FROM partner_transactions
		 WHERE application_id = $1 AND environment = $2 AND vendor_reference = $3
		 ORDER BY created_at DESC, id DESC LIMIT 1`,
		appID, string(env), ref))
	if errors.Is(err, sql.ErrNoRows) {
		return t, notFound("partner transaction")
	}
	return t, wrap("partner transaction by vendor reference", err)
}

// SetPartnerStatus moves a partner transaction from one status to
// another, only if it is still in the status the caller decided from and
// the domain allows the move.
func (tx *Tx) SetPartnerStatus(ctx context.Context, id string, from, to pay.PartnerStatus, at time.Time) error {
	if !from.CanBecome(to) {
		return fmt.Errorf("store: partner transaction %s: %s→%s is not allowed", id, from, to)
	}
	res, err := tx.q.ExecContext(ctx,
		`UPDATE partner_transactions SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4`,
		string(to), toDB(at), id, string(from))
	if err != nil {
		return wrap("set partner status", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap("set partner status", err)
	}
	if n == 0 {
		return fmt.Errorf("store: set partner status %s→%s of %s: %w", from, to, id, ErrStale)
	}
	return nil
}

// PartnerRef names a partner transaction for a job.
type PartnerRef struct {
	ID            string
	ApplicationID string
	Environment   pay.Environment
}

// OverduePartnerTransactions lists up to limit pending partner
// transactions whose expiry is not after now.
func (s *Store) OverduePartnerTransactions(ctx context.Context, now time.Time, limit int) ([]PartnerRef, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT id, application_id, environment FROM partner_transactions
		 WHERE status = $1 AND expires_at IS NOT NULL AND expires_at <= $2 ORDER BY expires_at LIMIT $3`,
		string(pay.PartnerPending), toDB(now), limit)
	return collect(rows, err, "overdue partner transactions", func(rows *sql.Rows) (PartnerRef, error) {
		var r PartnerRef
		var env string
		err := rows.Scan(&r.ID, &r.ApplicationID, &env)
		r.Environment = pay.Environment(env)
		return r, err
	})
}

// SessionByVendorReference answers the id of the newest session of an
// application environment opened with the merchant's order id ref.
func (s *Store) SessionByVendorReference(ctx context.Context, appID string, env pay.Environment, ref string) (id string, created time.Time, err error) {
	var at int64
	err = s.r.QueryRowContext(ctx,
		`SELECT id, created_at FROM sessions
		 WHERE application_id = $1 AND environment = $2 AND vendor_reference <> '' AND vendor_reference = $3
		 ORDER BY created_at DESC, id DESC LIMIT 1`, appID, string(env), ref).Scan(&id, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, notFound("session")
	}
	return id, fromDB(at), wrap("session by vendor reference", err)
}

// PartnerConfig reads an application environment's partner
// configuration; one never written is the defaults (pay.DefaultPartnerConfig).
func (s *Store) PartnerConfig(ctx context.Context, appID string, env pay.Environment) (pay.PartnerConfig, error) {
	return partnerConfig(ctx, s.r, appID, env, "")
}

// PartnerConfig reads the configuration inside the transaction, locking
// its row on PostgreSQL when there is one.
func (tx *Tx) PartnerConfig(ctx context.Context, appID string, env pay.Environment) (pay.PartnerConfig, error) {
	return partnerConfig(ctx, tx.q, appID, env, tx.forUpdate())
}

func partnerConfig(ctx context.Context, q querier, appID string, env pay.Environment, lock string) (pay.PartnerConfig, error) {
	c := pay.DefaultPartnerConfig(appID, env)
	var expiry, installments, interval, updated int64
	err := q.QueryRowContext(ctx,
		`SELECT webhook_endpoint_id, transaction_expiry, installments, interval_days, updated_at
		 FROM partner_configs WHERE application_id = $1 AND environment = $2`+lock, appID, string(env)).
		Scan(&c.WebhookEndpointID, &expiry, &installments, &interval, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil
	}
	if err != nil {
		return c, wrap("partner config", err)
	}
	c.TransactionExpiry, c.Installments, c.IntervalDays, c.UpdatedAt = int(expiry), int(installments), int(interval), fromDB(updated)
	return c, nil
}

// PutPartnerConfig writes an application environment's configuration.
func (tx *Tx) PutPartnerConfig(ctx context.Context, c pay.PartnerConfig) error {
	_, err := tx.q.ExecContext(ctx,
		`INSERT INTO partner_configs (application_id, environment, webhook_endpoint_id, transaction_expiry, installments, interval_days, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7)
		 ON CONFLICT (application_id, environment) DO UPDATE SET webhook_endpoint_id = excluded.webhook_endpoint_id,
		   transaction_expiry = excluded.transaction_expiry, installments = excluded.installments,
		   interval_days = excluded.interval_days, updated_at = excluded.updated_at`,
		c.ApplicationID, string(c.Environment), c.WebhookEndpointID, int64(c.TransactionExpiry), int64(c.Installments),
		int64(c.IntervalDays), toDB(c.UpdatedAt))
	return wrap("put partner config", err)
}

// AdoptSessionReturn gives a session that has no return URL one, and the
// same as its cancel URL when it has none either: the hosted redirect
// flow's redirect_url, which the AlyaPay plugins append to checkout_url.
// It answers false when the session already had a return URL (kept).
func (tx *Tx) AdoptSessionReturn(ctx context.Context, appID string, env pay.Environment, id, url string) (bool, error) {
	res, err := tx.q.ExecContext(ctx,
		`UPDATE sessions SET return_url = $1, cancel_url = CASE WHEN cancel_url = '' THEN $1 ELSE cancel_url END
		 WHERE id = $2 AND application_id = $3 AND environment = $4 AND return_url = ''`, url, id, appID, string(env))
	if err != nil {
		return false, wrap("adopt session return", err)
	}
	n, err := res.RowsAffected()
	return n == 1, wrap("adopt session return", err)
}
