package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/pay"
)

// AuditEntry is one management write: who, what, on which thing, from
// where, and which fields changed (as a JSON object {field: [old, new]}).
type AuditEntry struct {
	ID            string
	MerchantID    string
	ApplicationID string
	At            time.Time
	ActorType     string // user, token, key or cli
	ActorID       string
	ActorEmail    string
	Action        string // e.g. "apps.update"
	TargetType    string
	TargetID      string
	IP            string
	Changes       string // JSON object; "{}" when none
}

// AddAuditEntry records an entry, in the transaction of the write it
// describes, so one exists exactly when the write does.
func (tx *Tx) AddAuditEntry(ctx context.Context, e AuditEntry) error {
	if e.Changes == "" {
		e.Changes = "{}"
	}
	_, err := tx.q.ExecContext(ctx,
		`INSERT INTO audit_logs (id, merchant_id, application_id, at, actor_type, actor_id, actor_email, action, target_type, target_id, ip, changes)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		e.ID, e.MerchantID, e.ApplicationID, toDB(e.At), e.ActorType, e.ActorID, e.ActorEmail, e.Action,
		e.TargetType, e.TargetID, e.IP, e.Changes)
	return wrap("add audit entry", err)
}

// AuditFilter selects a merchant's entries, newest first. Empty fields do
// not filter; Action matches exactly or, ending in ".", as a prefix.
type AuditFilter struct {
	MerchantID    string
	ApplicationID string
	Actor         string // an actor's id or email
	Action        string
	Before        time.Time // with BeforeID: the cursor, exclusive
	BeforeID      string
	Limit         int
}

// AuditEntries lists entries under f.
func (s *Store) AuditEntries(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	where := []string{"merchant_id = $1"}
	args := []any{f.MerchantID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "$?", "$"+strconv.Itoa(len(args))))
	}
	if f.ApplicationID != "" {
		add("application_id = $?", f.ApplicationID)
	}
	if f.Actor != "" {
		add("(actor_id = $? OR actor_email = $?)", f.Actor)
	}
	if prefix, ok := strings.CutSuffix(f.Action, "."); ok {
		// Action names are [a-z_.]: no LIKE wildcard can be in one.
		add("action LIKE $?", prefix+".%")
	} else if f.Action != "" {
		add("action = $?", f.Action)
	}
	if f.BeforeID != "" {
		args = append(args, toDB(f.Before), f.BeforeID)
		n := len(args)
		where = append(where, "(at < $"+strconv.Itoa(n-1)+" OR (at = $"+strconv.Itoa(n-1)+" AND id < $"+strconv.Itoa(n)+"))")
	}
	args = append(args, f.Limit)
	rows, err := s.r.QueryContext(ctx,
		`SELECT id, merchant_id, application_id, at, actor_type, actor_id, actor_email, action, target_type, target_id, ip, changes
		 FROM audit_logs WHERE `+strings.Join(where, " AND ")+` ORDER BY at DESC, id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	return collect(rows, err, "audit entries", func(rows *sql.Rows) (AuditEntry, error) {
		var e AuditEntry
		var at int64
		err := rows.Scan(&e.ID, &e.MerchantID, &e.ApplicationID, &at, &e.ActorType, &e.ActorID, &e.ActorEmail, &e.Action,
			&e.TargetType, &e.TargetID, &e.IP, &e.Changes)
		e.At = fromDB(at)
		return e, err
	})
}

// Applications lists a merchant's applications, oldest first.
func (s *Store) Applications(ctx context.Context, merchantID string) ([]pay.Application, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+applicationColumns+` FROM applications WHERE merchant_id = $1 AND deleted_at IS NULL ORDER BY created_at, id`, merchantID)
	return collect(rows, err, "applications", func(rows *sql.Rows) (pay.Application, error) { return scanApplication(rows) })
}

// UpdateApplication writes an application's name, branding and settings.
func (tx *Tx) UpdateApplication(ctx context.Context, a pay.Application) error {
	res, err := tx.q.ExecContext(ctx,
		`UPDATE applications SET name = $1, brand_logo = $2, display_name = $3, primary_color = $4, permissions = $5,
		 modules = $6, currencies = $7, rate_limit = $8 WHERE id = $9 AND deleted_at IS NULL`,
		a.Name, a.BrandLogo, a.DisplayName, a.PrimaryColor, joinList(a.Permissions), joinList(a.Modules),
		joinList(currencyCodes(a.Currencies)), a.RateLimit, a.ID)
	return affectedOne("update application", res, err, "application")
}

// DeleteApplication hides an application and revokes its keys; its
// payments and events stay.
func (tx *Tx) DeleteApplication(ctx context.Context, id string, now time.Time) error {
	res, err := tx.q.ExecContext(ctx, `UPDATE applications SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL`, toDB(now), id)
	if err := affectedOne("delete application", res, err, "application"); err != nil {
		return err
	}
	_, err = tx.q.ExecContext(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE application_id = $2 AND revoked_at IS NULL`, toDB(now), id)
	return wrap("delete application", err)
}
