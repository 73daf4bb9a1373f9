package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// Listing: the merchant API and the management API's money views page
// through an application environment's sessions, payments, refunds and
// events newest first, in the stable order (created_at desc, id desc), so
// that a page boundary never skips or repeats a row, whatever is created
// meanwhile. Customers, which are derived from sessions, page in the
// order of their key instead (see ListCustomers).

// ListFilter selects a page of one listing of an application environment.
// Each listing says which filters it honours; the others must be left
// zero (checkout refuses them before they get here).
type ListFilter struct {
	ApplicationID string
	Environment   pay.Environment
	Status        string    // "" for any
	From          time.Time // created at or after; zero for no bound
	To            time.Time // created before; zero for no bound
	// ID is the exact id of a row, or of a row it belongs to: each
	// listing says which ("" for any).
	ID string
	// Email matches a session's customer_email or verified_identifier,
	// ignoring case ("" for any). SQLite's lower() folds ASCII letters
	// only; the addresses sakk normalises are ASCII, and a merchant's
	// non-ASCII one matches on SQLite only as stored.
	Email string
	// Phone matches a session's customer_phone or verified_identifier
	// exactly; give it normalised (E.164, as otp.NormalizeIdentifier
	// spells it), the form sakk stores verified numbers in ("" for any).
	Phone string
	// Amount matches exactly, minor units and currency (nil for any).
	Amount *money.Amount
	// Type and SubjectID filter events ("" for any).
	Type      string
	SubjectID string
	// After is the last row of the previous page; zero for the first.
	After Position
	// AfterKey is, for customers, the key of the previous page's last
	// customer; "" for the first page.
	AfterKey string
	Limit    int
}

// Position is a row's place in the listing order.
type Position struct {
	CreatedAt time.Time
	ID        string
}

// conds builds a listing's WHERE clause: one term per filter the caller
// set, so that each query text says exactly what it filters on and the
// engines can choose an index for it. (A catch-all term, "$3 is empty
// or col equals $3", serves every filter with one text but keeps both
// planners from using an index on col.) The texts are few (one per combination of
// filters), so the statement cache stays small.
type conds struct {
	terms []string
	args  []any
}

// arg binds v and returns its placeholder.
func (c *conds) arg(v any) string {
	c.args = append(c.args, v)
	return "$" + strconv.Itoa(len(c.args))
}

func (c *conds) add(term string) { c.terms = append(c.terms, term) }

func (c *conds) String() string { return strings.Join(c.terms, " AND ") }

// scope adds the terms every newest-first listing shares, on the table
// aliased t: the application environment, the creation window and the
// position after the previous page. It returns the placeholders of the
// application and environment, for subqueries that need them.
//
// With a search by id or customer, which matches a handful of rows, the
// scope is written so that no index serves it (the column concatenated
// with the empty string is the column's value, but not a column an index
// is on): without statistics SQLite
// guesses an (application_id, environment) lookup the more selective,
// and would read the application's every row to check each against the
// search. Left only the search's own index, both engines start from the
// few rows it finds; the scope still holds, checked on each.
func (f ListFilter) scope(c *conds, t string) (app, env string) {
	app, env = c.arg(f.ApplicationID), c.arg(string(f.Environment))
	col := func(name string) string { return t + "." + name }
	if f.ID != "" || f.Email != "" || f.Phone != "" {
		col = func(name string) string { return t + "." + name + " || ''" }
	}
	c.add(col("application_id") + " = " + app + " AND " + col("environment") + " = " + env)
	if !f.From.IsZero() {
		c.add(t + ".created_at >= " + c.arg(toDB(f.From)))
	}
	if !f.To.IsZero() {
		c.add(t + ".created_at < " + c.arg(toDB(f.To)))
	}
	if f.After.ID != "" {
		at, id := c.arg(toDB(f.After.CreatedAt)), c.arg(f.After.ID)
		c.add("(" + t + ".created_at < " + at + " OR (" + t + ".created_at = " + at + " AND " + t + ".id < " + id + "))")
	}
	return app, env
}

// amount adds the exact amount filter on the table aliased t.
func (f ListFilter) amount(c *conds, t string) {
	if f.Amount != nil {
		c.add(t + ".amount_minor = " + c.arg(f.Amount.Minor) + " AND " + t + ".currency = " + c.arg(string(f.Amount.Currency)))
	}
}

// customerSessions adds the email and phone filters as the condition that
// the session column col is one of the application environment's
// sessions with that customer. Each match is a UNION of two index
// lookups (sessions_customer_email or sessions_customer_phone, and
// sessions_verified_identifier) rather than an OR of two columns, which
// SQLite could only answer by scanning. A normalised phone number has no
// letters, so lower(verified_identifier) equals it exactly when
// verified_identifier does, and the one expression index serves both.
func (f ListFilter) customerSessions(c *conds, col, app, env string) {
	// The indexes are partial (no empty values): each lookup names the
	// index's condition, as both engines need to use one.
	in := func(contact, nonEmpty, v string) {
		x := c.arg(v)
		scope := "application_id = " + app + " AND environment = " + env
		c.add(col + " IN (SELECT id FROM sessions WHERE " + scope + " AND " + nonEmpty + " AND " + contact + " = " + x +
			" UNION SELECT id FROM sessions WHERE " + scope + " AND verified_identifier <> '' AND lower(verified_identifier) = " + x + ")")
	}
	if f.Email != "" {
		in("lower(customer_email)", "customer_email <> ''", strings.ToLower(f.Email))
	}
	if f.Phone != "" {
		in("customer_phone", "customer_phone <> ''", f.Phone)
	}
}

// sessionOf is the SQL naming the session an id designates: the session
// of the payment with that id, else the id itself (a session's). Ids are
// prefixed by kind, so a payment id is never a session id. It is one
// value, so the comparison with it uses the primary key.
func sessionOf(id string) string {
	return "COALESCE((SELECT session_id FROM payments WHERE id = " + id + "), " + id + ")"
}

// PaymentRow is a payment as the money views list it: with its session's
// customer details and the merchant's reference for it.
type PaymentRow struct {
	pay.Payment
	CustomerEmail   string
	CustomerPhone   string
	VendorReference string
}

// ListPayments returns a page of an application environment's payments,
// each with its session's customer. ID is the payment's id or its
// session's (a session id finds every attempt of the session); Email and
// Phone are its session's customer's; Amount is the payment's.
func (s *Store) ListPayments(ctx context.Context, f ListFilter) ([]PaymentRow, error) {
	var c conds
	app, env := f.scope(&c, "p")
	if f.Status != "" {
		c.add("p.status = " + c.arg(f.Status))
	}
	if f.ID != "" {
		id := c.arg(f.ID)
		c.add("(p.id = " + id + " OR p.session_id = " + id + ")")
	}
	f.customerSessions(&c, "p.session_id", app, env)
	f.amount(&c, "p")
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+listPaymentColumns+`, s.customer_email, s.customer_phone, s.vendor_reference
		 FROM payments p JOIN sessions s ON s.id = p.session_id
		 WHERE `+c.String()+`
		 ORDER BY p.created_at DESC, p.id DESC LIMIT `+c.arg(f.Limit), c.args...)
	return collect(rows, err, "list payments", func(rows *sql.Rows) (PaymentRow, error) {
		var r PaymentRow
		p, err := scanPayment(rows, &r.CustomerEmail, &r.CustomerPhone, &r.VendorReference)
		r.Payment = p
		return r, err
	})
}

// listPaymentColumns are paymentColumns of the table aliased p.
const listPaymentColumns = `p.id, p.session_id, p.application_id, p.environment, p.gateway, p.method, p.status, p.amount_minor,
	p.refunded_minor, p.currency, p.gateway_reference, p.redirect_url, p.error_code, p.error_message, p.retryable,
	p.created_at, p.updated_at`

// ListSessions returns a page of an application environment's sessions,
// without their items. ID is the session's id or the id of one of its
// payments; Email, Phone and Amount are the session's.
func (s *Store) ListSessions(ctx context.Context, f ListFilter) ([]pay.Session, error) {
	var c conds
	app, env := f.scope(&c, "s")
	if f.Status != "" {
		c.add("s.status = " + c.arg(f.Status))
	}
	if f.ID != "" {
		c.add("s.id = " + sessionOf(c.arg(f.ID)))
	}
	f.customerSessions(&c, "s.id", app, env)
	f.amount(&c, "s")
	rows, err := s.r.QueryContext(ctx,
		`SELECT s.id, s.application_id, s.environment, s.status, s.amount_minor, s.currency,
		   s.customer_email, s.customer_phone, s.customer_locked, s.verified_identifier, s.verified_channel,
		   s.vendor_reference, s.metadata, s.return_url, s.cancel_url, s.gateway, s.locale, s.expires_at, s.created_at, s.updated_at
		 FROM sessions s
		 WHERE `+c.String()+`
		 ORDER BY s.created_at DESC, s.id DESC LIMIT `+c.arg(f.Limit), c.args...)
	return collect(rows, err, "list sessions", func(rows *sql.Rows) (pay.Session, error) {
		var sess pay.Session
		var envName, status, currency string
		var metadata sql.NullString
		var expires, created, updated int64
		cu := &sess.Customer
		if err := rows.Scan(&sess.ID, &sess.ApplicationID, &envName, &status, &sess.Amount.Minor, &currency,
			&cu.Email, &cu.Phone, &cu.Locked, &cu.VerifiedIdentifier, &cu.VerifiedChannel,
			&sess.VendorReference, &metadata, &sess.ReturnURL, &sess.CancelURL, &sess.Gateway, &sess.Locale,
			&expires, &created, &updated); err != nil {
			return sess, wrap("list sessions", err)
		}
		sess.Environment, sess.Status, sess.Amount.Currency = pay.Environment(envName), pay.SessionStatus(status), money.Currency(currency)
		if metadata.Valid {
			sess.Metadata = []byte(metadata.String)
		}
		sess.ExpiresAt, sess.CreatedAt, sess.UpdatedAt = fromDB(expires), fromDB(created), fromDB(updated)
		return sess, nil
	})
}

// ListRefunds returns a page of an application environment's refunds. ID
// is the refund's id, its payment's or its payment's session's; Amount is
// the refund's.
func (s *Store) ListRefunds(ctx context.Context, f ListFilter) ([]Refund, error) {
	var c conds
	f.scope(&c, "r")
	if f.Status != "" {
		c.add("r.status = " + c.arg(f.Status))
	}
	if f.ID != "" {
		// One index lookup per kind of id, rather than an OR across two
		// tables, which no index serves.
		id := c.arg(f.ID)
		c.add("r.id IN (SELECT id FROM refunds WHERE id = " + id +
			" UNION SELECT id FROM refunds WHERE payment_id = " + id +
			" UNION SELECT id FROM refunds WHERE payment_id IN (SELECT id FROM payments WHERE session_id = " + id + "))")
	}
	f.amount(&c, "r")
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+refundColumns+` FROM refunds r JOIN payments p ON p.id = r.payment_id
		 WHERE `+c.String()+`
		 ORDER BY r.created_at DESC, r.id DESC LIMIT `+c.arg(f.Limit), c.args...)
	return collect(rows, err, "list refunds", func(rows *sql.Rows) (Refund, error) { return scanRefund(rows) })
}

// ListEvents returns a page of an application environment's outbox
// events, with their payloads. ID is the event's id, or the id of its
// subject (a session) or of a payment of that session; Type and
// SubjectID match exactly.
func (s *Store) ListEvents(ctx context.Context, f ListFilter) ([]pay.Event, error) {
	var c conds
	f.scope(&c, "e")
	if f.Type != "" {
		c.add("e.type = " + c.arg(f.Type))
	}
	if f.SubjectID != "" {
		c.add("e.subject_id = " + c.arg(f.SubjectID))
	}
	if f.ID != "" {
		id := c.arg(f.ID)
		c.add("(e.id = " + id + " OR e.subject_id = " + sessionOf(id) + ")")
	}
	rows, err := s.r.QueryContext(ctx,
		`SELECT e.id, e.application_id, e.environment, e.type, e.subject_id, e.seq, e.payload, e.created_at
		 FROM events e
		 WHERE `+c.String()+`
		 ORDER BY e.created_at DESC, e.id DESC LIMIT `+c.arg(f.Limit), c.args...)
	return collect(rows, err, "list events", func(rows *sql.Rows) (pay.Event, error) {
		var e pay.Event
		var env, payload string
		var created int64
		if err := rows.Scan(&e.ID, &e.ApplicationID, &env, &e.Type, &e.SubjectID, &e.Seq, &payload, &created); err != nil {
			return e, wrap("list events", err)
		}
		e.Environment, e.Payload, e.CreatedAt = pay.Environment(env), []byte(payload), fromDB(created)
		return e, nil
	})
}

// Customer is one customer of an application environment, derived from
// its sessions (sakk keeps no customer table): the sessions that share a
// key are one customer's. A session's key is its verified identifier
// when it has one, else its customer email, else its customer phone;
// emails (and verified identifiers, which may be emails) are compared
// lower-cased, phones as stored. Sessions with none of the three are
// anonymous and belong to no customer.
type Customer struct {
	Key       string    // the customer's identifier, as above
	Email     string    // an email given on its sessions, lower-cased (when several differ, the greatest: in the engine's text order among sessions in one currency, by bytes across currencies); "" if none
	Phone     string    // likewise, a phone number
	Sessions  int       // its sessions, in any status
	Paid      []Paid    // its paid payments, one entry per currency, by currency code
	FirstSeen time.Time // when its first session was created
	LastSeen  time.Time // when its latest session was created
}

// Paid totals a customer's paid payments (completed or refunded: money
// captured) in one currency. Refunded is what was given back of them.
type Paid struct {
	Count    int
	Amount   money.Amount
	Refunded money.Amount
}

// customerKey is the SQL of a session's customer key (see Customer), over
// the sessions table's own column names. The index sessions_customer is
// on exactly this expression: SQLite uses an expression index only for
// the very expression it was made on.
const customerKey = `CASE WHEN verified_identifier <> '' THEN lower(verified_identifier) ` +
	`WHEN customer_email <> '' THEN lower(customer_email) ELSE customer_phone END`

// ListCustomers returns a page of an application environment's
// customers, in ascending order of key (the engine's text order: bytes
// on SQLite, the database's collation on PostgreSQL), resuming after
// AfterKey: a key never changes place, so pages never overlap. (A
// session verified after a page was read may move to another key: like
// any listing, a page shows the rows as they stood when it was read.)
// From and To count only the sessions created in that window (a
// customer without one is not listed, and its totals cover the window). Email, Phone and ID (a
// session's or a payment's) select the customers who had such a
// session, with all their sessions (in the window) counted.
func (s *Store) ListCustomers(ctx context.Context, f ListFilter) ([]Customer, error) {
	// One pass over the sessions_customer index, in its order: a group per
	// key and currency, the groups of one key making its customer. A
	// customer has a group per currency it used, so a page's customers
	// take at least Limit groups: read twice that, and more in the rare
	// page whose customers use many currencies.
	for groups := 2 * f.Limit; ; groups *= 4 {
		cs, all, err := s.customerGroups(ctx, f, groups)
		if err != nil || all || len(cs) >= f.Limit {
			return cs[:min(len(cs), f.Limit)], err
		}
	}
}

// customerGroups reads up to n groups of the customers' sessions and
// folds them into customers. all reports that no group was left unread;
// otherwise the last key read, whose groups may go on, is left out.
func (s *Store) customerGroups(ctx context.Context, f ListFilter, n int) (cs []Customer, all bool, err error) {
	c := f.customerConds()
	if f.AfterKey != "" {
		c.add(customerKey + " > " + c.arg(f.AfterKey))
	}
	// A paid session (completed, or refunded in full) carries its
	// payment's amount and what was refunded of it.
	const paid = `status IN ('completed', 'refunded')`
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+customerKey+`, currency, COUNT(*), MIN(created_at), MAX(created_at), MAX(lower(customer_email)), MAX(customer_phone),
		   COALESCE(SUM(CASE WHEN `+paid+` THEN 1 ELSE 0 END), 0),
		   COALESCE(SUM(CASE WHEN `+paid+` THEN amount_minor ELSE 0 END), 0),
		   COALESCE(SUM(CASE WHEN `+paid+` THEN refunded_minor ELSE 0 END), 0)
		 FROM sessions WHERE `+c.String()+`
		 GROUP BY `+customerKey+`, currency ORDER BY `+customerKey+`, currency LIMIT `+strconv.Itoa(n), c.args...)
	type group struct {
		Customer
		paid Paid
	}
	gs, err := collect(rows, err, "list customers", func(rows *sql.Rows) (group, error) {
		var g group
		var cur string
		var first, last int64
		if err := rows.Scan(&g.Key, &cur, &g.Sessions, &first, &last, &g.Email, &g.Phone,
			&g.paid.Count, &g.paid.Amount.Minor, &g.paid.Refunded.Minor); err != nil {
			return g, wrap("list customers", err)
		}
		g.FirstSeen, g.LastSeen = fromDB(first), fromDB(last)
		g.paid.Amount.Currency, g.paid.Refunded.Currency = money.Currency(cur), money.Currency(cur)
		return g, nil
	})
	if err != nil {
		return nil, false, err
	}
	all = len(gs) < n
	for _, g := range gs {
		if len(cs) == 0 || cs[len(cs)-1].Key != g.Key {
			cs = append(cs, g.Customer)
		} else {
			cu := &cs[len(cs)-1]
			cu.Sessions += g.Sessions
			if g.FirstSeen.Before(cu.FirstSeen) {
				cu.FirstSeen = g.FirstSeen
			}
			if g.LastSeen.After(cu.LastSeen) {
				cu.LastSeen = g.LastSeen
			}
			cu.Email, cu.Phone = max(cu.Email, g.Email), max(cu.Phone, g.Phone)
		}
		if g.paid.Count > 0 {
			cu := &cs[len(cs)-1]
			cu.Paid = append(cu.Paid, g.paid)
		}
	}
	if !all && len(cs) > 0 {
		cs = cs[:len(cs)-1]
	}
	return cs, all, nil
}

// customerConds are the terms selecting the sessions counted for
// customers. They name the table "sessions", unaliased, as customerKey
// does.
func (f ListFilter) customerConds() conds {
	const t = "sessions"
	var c conds
	app, env := c.arg(f.ApplicationID), c.arg(string(f.Environment))
	c.add(t + ".application_id = " + app + " AND " + t + ".environment = " + env)
	c.add(customerKey + " <> ''")
	if !f.From.IsZero() {
		c.add(t + ".created_at >= " + c.arg(toDB(f.From)))
	}
	if !f.To.IsZero() {
		c.add(t + ".created_at < " + c.arg(toDB(f.To)))
	}
	// A filter picks customers, not sessions: the keys of the sessions it
	// matches, found by their own indexes (the scope is written so that
	// no index serves it, as in ListFilter.scope).
	var match conds
	match.args = c.args
	scope := "application_id || '' = " + app + " AND environment || '' = " + env
	if f.ID != "" {
		match.add("id = " + sessionOf(match.arg(f.ID)))
	}
	f.customerSessions(&match, "id", app, env)
	if len(match.terms) > 0 {
		c.args = match.args
		c.add(customerKey + " IN (SELECT " + customerKey + " FROM sessions WHERE " + scope + " AND " + match.String() + ")")
	}
	return c
}
