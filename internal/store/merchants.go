package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// CreateMerchant inserts a merchant.
func (tx *Tx) CreateMerchant(ctx context.Context, m pay.Merchant) error {
	_, err := tx.q.ExecContext(ctx,
		`INSERT INTO merchants (id, name, created_at) VALUES ($1, $2, $3)`,
		m.ID, m.Name, toDB(m.CreatedAt))
	return wrap("create merchant", err)
}

// MerchantByName finds a merchant by its exact name.
func (tx *Tx) MerchantByName(ctx context.Context, name string) (pay.Merchant, error) {
	var m pay.Merchant
	var created int64
	err := tx.q.QueryRowContext(ctx,
		`SELECT id, name, created_at FROM merchants WHERE name = $1 ORDER BY created_at LIMIT 1`, name).
		Scan(&m.ID, &m.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return m, notFound("merchant")
	}
	m.CreatedAt = fromDB(created)
	return m, wrap("merchant by name", err)
}

// CountMerchants tells whether the store is empty (first start).
func (s *Store) CountMerchants(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM merchants`).Scan(&n)
	return n, wrap("count merchants", err)
}

// CreateApplication inserts an application.
func (tx *Tx) CreateApplication(ctx context.Context, a pay.Application) error {
	_, err := tx.q.ExecContext(ctx,
		`INSERT INTO applications (id, merchant_id, name, brand_logo, display_name, primary_color, permissions, modules, currencies, rate_limit, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		a.ID, a.MerchantID, a.Name, a.BrandLogo, a.DisplayName, a.PrimaryColor, joinList(a.Permissions), joinList(a.Modules),
		joinList(currencyCodes(a.Currencies)), a.RateLimit, toDB(a.CreatedAt))
	return wrap("create application", err)
}

const applicationColumns = `id, merchant_id, name, brand_logo, display_name, primary_color, permissions, modules, currencies, rate_limit, created_at`

func scanApplication(row interface{ Scan(...any) error }) (pay.Application, error) {
	var a pay.Application
	var perms, modules, currencies string
	var created int64
	if err := row.Scan(&a.ID, &a.MerchantID, &a.Name, &a.BrandLogo, &a.DisplayName, &a.PrimaryColor, &perms, &modules, &currencies, &a.RateLimit, &created); err != nil {
		return a, err
	}
	a.Permissions, a.Modules, a.CreatedAt = splitList(perms), splitList(modules), fromDB(created)
	for _, c := range splitList(currencies) {
		a.Currencies = append(a.Currencies, money.Currency(c))
	}
	return a, nil
}

func currencyCodes(cs []money.Currency) []string {
	codes := make([]string, len(cs))
	for i, c := range cs {
		codes[i] = string(c)
	}
	return codes
}

// SetApplicationLimits changes what an application accepts: its
// currencies and its keys' rate limit.
func (tx *Tx) SetApplicationLimits(ctx context.Context, id string, currencies []money.Currency, rateLimit int) error {
	res, err := tx.q.ExecContext(ctx, `UPDATE applications SET currencies = $1, rate_limit = $2 WHERE id = $3`,
		joinList(currencyCodes(currencies)), rateLimit, id)
	if err != nil {
		return wrap("set application limits", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(wrap("set application limits", err), notFound("application"))
	}
	return nil
}

// Merchant reads one merchant.
func (s *Store) Merchant(ctx context.Context, id string) (pay.Merchant, error) {
	return merchant(ctx, s.r, id)
}

// Merchant reads one merchant inside the transaction.
func (tx *Tx) Merchant(ctx context.Context, id string) (pay.Merchant, error) {
	return merchant(ctx, tx.q, id)
}

func merchant(ctx context.Context, q querier, id string) (pay.Merchant, error) {
	var m pay.Merchant
	var created int64
	err := q.QueryRowContext(ctx, `SELECT id, name, created_at FROM merchants WHERE id = $1`, id).
		Scan(&m.ID, &m.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return m, notFound("merchant")
	}
	m.CreatedAt = fromDB(created)
	return m, wrap("merchant", err)
}

// Application reads one application.
func (s *Store) Application(ctx context.Context, id string) (pay.Application, error) {
	return application(ctx, s.r, id)
}

// Application reads one application inside the transaction.
func (tx *Tx) Application(ctx context.Context, id string) (pay.Application, error) {
	return application(ctx, tx.q, id)
}

func application(ctx context.Context, q querier, id string) (pay.Application, error) {
	a, err := scanApplication(q.QueryRowContext(ctx,
		`SELECT `+applicationColumns+` FROM applications WHERE id = $1 AND deleted_at IS NULL`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("application")
	}
	return a, wrap("application", err)
}

// CreateAPIKey stores a key's hash and visible prefix.
func (tx *Tx) CreateAPIKey(ctx context.Context, k pay.APIKey) error {
	_, err := tx.q.ExecContext(ctx,
		`INSERT INTO api_keys (id, application_id, environment, kind, prefix, hash, created_at, expires_at, revoked_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		k.ID, k.ApplicationID, string(k.Environment), string(k.Kind), k.Prefix, k.Hash,
		toDB(k.CreatedAt), nullTime(k.ExpiresAt), nullTime(k.RevokedAt))
	return wrap("create api key", err)
}

const apiKeyColumns = `id, application_id, environment, kind, prefix, hash, created_at, expires_at, revoked_at`

func scanAPIKey(row interface{ Scan(...any) error }) (pay.APIKey, error) {
	var k pay.APIKey
	var env, kind string
	var created int64
	var expires, revoked sql.NullInt64
	if err := row.Scan(&k.ID, &k.ApplicationID, &env, &kind, &k.Prefix, &k.Hash, &created, &expires, &revoked); err != nil {
		return k, err
	}
	k.Environment, k.Kind = pay.Environment(env), pay.KeyKind(kind)
	k.CreatedAt, k.ExpiresAt, k.RevokedAt = fromDB(created), fromNullTime(expires), fromNullTime(revoked)
	return k, nil
}

// APIKeyByHash finds a key by the SHA-256 of its text. Whether it is still
// active is the caller's decision (pay.APIKey.ActiveAt).
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (pay.APIKey, error) {
	k, err := scanAPIKey(s.r.QueryRowContext(ctx,
		`SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return k, notFound("key")
	}
	return k, wrap("api key by hash", err)
}

// APIKeys lists an application's keys of one environment and kind, newest
// first, including expired and revoked ones.
func (tx *Tx) APIKeys(ctx context.Context, appID string, env pay.Environment, kind pay.KeyKind) ([]pay.APIKey, error) {
	rows, err := tx.q.QueryContext(ctx,
		`SELECT `+apiKeyColumns+` FROM api_keys
		 WHERE application_id = $1 AND environment = $2 AND kind = $3
		 ORDER BY created_at DESC, id`, appID, string(env), string(kind))
	if err != nil {
		return nil, wrap("api keys", err)
	}
	defer rows.Close()
	var keys []pay.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, wrap("api keys", err)
		}
		keys = append(keys, k)
	}
	return keys, wrap("api keys", rows.Err())
}

// APIKey reads one key by id.
func (tx *Tx) APIKey(ctx context.Context, id string) (pay.APIKey, error) {
	k, err := scanAPIKey(tx.q.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return k, notFound("key")
	}
	return k, wrap("api key", err)
}

// RevokeAPIKey makes a key stop working now.
func (tx *Tx) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	_, err := tx.q.ExecContext(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, toDB(at), id)
	return wrap("revoke api key", err)
}

// ExpireAPIKey makes a key stop working at the given time, unless it
// already expires earlier.
func (tx *Tx) ExpireAPIKey(ctx context.Context, id string, at time.Time) error {
	_, err := tx.q.ExecContext(ctx,
		`UPDATE api_keys SET expires_at = $1 WHERE id = $2 AND (expires_at IS NULL OR expires_at > $1)`,
		toDB(at), id)
	return wrap("expire api key", err)
}

// AddDomain adds (or re-verifies) a domain of an application.
func (tx *Tx) AddDomain(ctx context.Context, d pay.Domain) error {
	// Adding a domain again never un-verifies it, keeps its first
	// created_at and keeps its token: a merchant may already have published
	// it. A row from before tokens existed ('') takes the new one.
	_, err := tx.q.ExecContext(ctx,
		`INSERT INTO domains (application_id, domain, verified, created_at, verification_token, verified_at, last_checked_at, last_error)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		 ON CONFLICT (application_id, domain) DO UPDATE SET
		     verified = (domains.verified OR excluded.verified),
		     verified_at = CASE WHEN domains.verified THEN domains.verified_at ELSE excluded.verified_at END,
		     last_error = CASE WHEN domains.verified OR excluded.verified THEN '' ELSE domains.last_error END,
		     verification_token = CASE WHEN domains.verification_token = '' THEN excluded.verification_token ELSE domains.verification_token END`,
		d.ApplicationID, d.Domain, d.Verified, toDB(d.CreatedAt), d.VerificationToken,
		nullTime(d.VerifiedAt), nullTime(d.LastCheckedAt), d.LastError)
	return wrap("add domain", err)
}

const domainColumns = `application_id, domain, verified, created_at, verification_token, verified_at, last_checked_at, last_error`

func scanDomain(row interface{ Scan(...any) error }) (pay.Domain, error) {
	var d pay.Domain
	var created int64
	var verified, checked sql.NullInt64
	if err := row.Scan(&d.ApplicationID, &d.Domain, &d.Verified, &created, &d.VerificationToken, &verified, &checked, &d.LastError); err != nil {
		return d, err
	}
	d.CreatedAt, d.VerifiedAt, d.LastCheckedAt = fromDB(created), fromNullTime(verified), fromNullTime(checked)
	return d, nil
}

// Domains lists an application's domains.
func (s *Store) Domains(ctx context.Context, appID string) ([]pay.Domain, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+domainColumns+` FROM domains WHERE application_id = $1 ORDER BY domain`, appID)
	if err != nil {
		return nil, wrap("domains", err)
	}
	defer rows.Close()
	var ds []pay.Domain
	for rows.Next() {
		d, err := scanDomain(rows)
		if err != nil {
			return nil, wrap("domains", err)
		}
		ds = append(ds, d)
	}
	return ds, wrap("domains", rows.Err())
}

// Domain reads one domain of an application; another application's is
// NotFound.
func (s *Store) Domain(ctx context.Context, appID, domain string) (pay.Domain, error) {
	return domainRow(ctx, s.r, appID, domain)
}

// Domain reads one domain of an application inside the transaction.
func (tx *Tx) Domain(ctx context.Context, appID, domain string) (pay.Domain, error) {
	return domainRow(ctx, tx.q, appID, domain)
}

func domainRow(ctx context.Context, q querier, appID, domain string) (pay.Domain, error) {
	d, err := scanDomain(q.QueryRowContext(ctx,
		`SELECT `+domainColumns+` FROM domains WHERE application_id = $1 AND domain = $2`, appID, domain))
	if errors.Is(err, sql.ErrNoRows) {
		return d, notFound("domain " + domain)
	}
	return d, wrap("domain", err)
}

// SetDomainToken gives a domain a verification token unless it has one,
// so that two instances filling in the same old row agree on the first.
func (tx *Tx) SetDomainToken(ctx context.Context, appID, domain, token string) error {
	_, err := tx.q.ExecContext(ctx,
		`UPDATE domains SET verification_token = $1 WHERE application_id = $2 AND domain = $3 AND verification_token = ''`,
		token, appID, domain)
	return wrap("set domain token", err)
}

// MarkDomainVerified records a successful check at time at. A domain
// verified meanwhile (a concurrent check) keeps its first verified_at.
func (tx *Tx) MarkDomainVerified(ctx context.Context, appID, domain string, at time.Time) error {
	res, err := tx.q.ExecContext(ctx,
		`UPDATE domains SET verified = TRUE, last_checked_at = $1, last_error = '',
		     verified_at = CASE WHEN verified THEN verified_at ELSE $1 END
		 WHERE application_id = $2 AND domain = $3`, toDB(at), appID, domain)
	return affectedOne("mark domain verified", res, err, "domain "+domain)
}

// RecordDomainCheckFailure records what a failed check at time at found.
// A domain verified meanwhile (by a concurrent check or an operator) is
// left as it is: the failure is no longer news.
func (tx *Tx) RecordDomainCheckFailure(ctx context.Context, appID, domain string, at time.Time, found string) error {
	_, err := tx.q.ExecContext(ctx,
		`UPDATE domains SET last_checked_at = $1, last_error = $2
		 WHERE application_id = $3 AND domain = $4 AND NOT verified`, toDB(at), found, appID, domain)
	return wrap("record domain check failure", err)
}

// RemoveDomain deletes a domain of an application; NotFound when it has
// no such domain.
func (tx *Tx) RemoveDomain(ctx context.Context, appID, domain string) error {
	res, err := tx.q.ExecContext(ctx,
		`DELETE FROM domains WHERE application_id = $1 AND domain = $2`, appID, domain)
	return affectedOne("remove domain", res, err, "domain "+domain)
}

// affectedOne turns an update that matched no row into NotFound.
func affectedOne(op string, res sql.Result, err error, what string) error {
	if err != nil {
		return wrap(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrap(op, err)
	} else if n == 0 {
		return notFound(what)
	}
	return nil
}

// CreateProduct adds a catalog product; a store code already used by the
// application is a Conflict.
func (tx *Tx) CreateProduct(ctx context.Context, p pay.Product) error {
	_, err := tx.q.ExecContext(ctx,
		`INSERT INTO products (id, application_id, store_code, title, price_minor, currency, image_url, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		p.ID, p.ApplicationID, p.StoreCode, p.Title, p.Price.Minor, string(p.Price.Currency), p.ImageURL, toDB(p.CreatedAt))
	return wrap("create product", err)
}

const productColumns = `id, application_id, store_code, title, price_minor, currency, image_url, created_at`

func scanProduct(row interface{ Scan(...any) error }) (pay.Product, error) {
	var p pay.Product
	var currency string
	var created int64
	if err := row.Scan(&p.ID, &p.ApplicationID, &p.StoreCode, &p.Title, &p.Price.Minor, &currency, &p.ImageURL, &created); err != nil {
		return p, err
	}
	p.Price.Currency, p.CreatedAt = money.Currency(currency), fromDB(created)
	return p, nil
}

func productRow(ctx context.Context, q querier, appID, code string) (pay.Product, error) {
	p, err := scanProduct(q.QueryRowContext(ctx,
		`SELECT `+productColumns+` FROM products WHERE application_id = $1 AND store_code = $2`, appID, code))
	if errors.Is(err, sql.ErrNoRows) {
		return p, notFound("product " + code)
	}
	return p, wrap("product by store code", err)
}

// ProductByStoreCode reads one catalog product of an application.
func (s *Store) ProductByStoreCode(ctx context.Context, appID, code string) (pay.Product, error) {
	return productRow(ctx, s.r, appID, code)
}

// ProductByStoreCode reads one catalog product of an application inside
// the transaction.
func (tx *Tx) ProductByStoreCode(ctx context.Context, appID, code string) (pay.Product, error) {
	return productRow(ctx, tx.q, appID, code)
}

// Products lists an application's catalog, by store code.
func (s *Store) Products(ctx context.Context, appID string) ([]pay.Product, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+productColumns+` FROM products WHERE application_id = $1 ORDER BY store_code`, appID)
	if err != nil {
		return nil, wrap("products", err)
	}
	defer rows.Close()
	var ps []pay.Product
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, wrap("products", err)
		}
		ps = append(ps, p)
	}
	return ps, wrap("products", rows.Err())
}

// UpdateProduct replaces a product's title, price and image, found by its
// id within its application. The store code and id stay: sessions and
// payment links name the product by them.
func (tx *Tx) UpdateProduct(ctx context.Context, p pay.Product) error {
	res, err := tx.q.ExecContext(ctx,
		`UPDATE products SET title = $1, price_minor = $2, currency = $3, image_url = $4 WHERE id = $5 AND application_id = $6`,
		p.Title, p.Price.Minor, string(p.Price.Currency), p.ImageURL, p.ID, p.ApplicationID)
	return affectedOne("update product", res, err, "product "+p.StoreCode)
}

// DeleteProduct removes a product from an application's catalog. Nothing
// refers to the row: sessions and payment links hold copies of the lines
// they were made from (sessions.items, older sessions' session_items rows,
// payment_links.items), so they keep their names and prices.
func (tx *Tx) DeleteProduct(ctx context.Context, appID, code string) error {
	res, err := tx.q.ExecContext(ctx,
		`DELETE FROM products WHERE application_id = $1 AND store_code = $2`, appID, code)
	return affectedOne("delete product", res, err, "product "+code)
}

// CreateWebhookEndpoint adds an endpoint; its secret arrives sealed.
func (tx *Tx) CreateWebhookEndpoint(ctx context.Context, w pay.WebhookEndpoint) error {
	_, err := tx.q.ExecContext(ctx,
		`INSERT INTO webhook_endpoints (id, application_id, environment, url, format, sealed_secret, enabled, disabled_reason, events, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		w.ID, w.ApplicationID, string(w.Environment), w.URL, string(w.Format), w.SealedSecret, w.Enabled, w.DisabledReason,
		eventsToDB(w.Events), toDB(w.CreatedAt))
	return wrap("create webhook endpoint", err)
}

// WebhookEndpoints lists the endpoints of an application environment.
func (s *Store) WebhookEndpoints(ctx context.Context, appID string, env pay.Environment) ([]pay.WebhookEndpoint, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+targetColumns+` FROM webhook_endpoints w
		 WHERE w.application_id = $1 AND w.environment = $2 ORDER BY w.created_at, w.id`, appID, string(env))
	if err != nil {
		return nil, wrap("webhook endpoints", err)
	}
	defer rows.Close()
	var ws []pay.WebhookEndpoint
	for rows.Next() {
		var r targetRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, wrap("webhook endpoints", err)
		}
		ws = append(ws, r.value().Endpoint)
	}
	return ws, wrap("webhook endpoints", rows.Err())
}

// Setting reads a named installation setting; ok is false when unset.
func (s *Store) Setting(ctx context.Context, name string) (value string, ok bool, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return value, err == nil, wrap("setting", err)
}

// InitSetting sets a named setting unless it is already set, and returns
// the value that is stored afterwards: the first writer wins, so instances
// starting together agree.
func (s *Store) InitSetting(ctx context.Context, name, value string) (string, error) {
	err := s.WithTx(ctx, func(tx *Tx) error {
		_, err := tx.q.ExecContext(ctx,
			`INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, value)
		if err != nil {
			return err
		}
		return tx.q.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&value)
	})
	return value, wrap("init setting", err)
}

// Lists (permissions, modules) are stored space-separated: their words
// never contain spaces.
func joinList(l []string) string { return strings.Join(l, " ") }

func splitList(s string) []string { return strings.Fields(s) }

// wrap names the store operation that failed and classifies constraint
// violations; domain errors pass through unchanged.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var pe *pay.Error
	if errors.As(err, &pe) {
		return err
	}
	return fmt.Errorf("store: %s: %w", op, classify(err))
}

// SetApplicationAccess changes what an application's SDK tokens may do:
// their permissions and modules.
func (tx *Tx) SetApplicationAccess(ctx context.Context, id string, permissions, modules []string) error {
	res, err := tx.q.ExecContext(ctx, `UPDATE applications SET permissions = $1, modules = $2 WHERE id = $3`,
		joinList(permissions), joinList(modules), id)
	if err != nil {
		return wrap("set application access", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(wrap("set application access", err), notFound("application"))
	}
	return nil
}
