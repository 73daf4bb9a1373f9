package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/pay"
)

// The outbound webhook tables (migration 00007). The store only reads and
// writes rows; internal/webhook decides what is due, what a failure means
// and when to give up.

// DeliveryStatus is where one event's delivery to one endpoint stands.
type DeliveryStatus string

const (
	DeliveryPending   DeliveryStatus = "pending"   // to be attempted at NextAttemptAt
	DeliveryDelivered DeliveryStatus = "delivered" // an attempt got a 2xx
	DeliveryFailed    DeliveryStatus = "failed"    // given up after the retry window
)

// WebhookDelivery is one event on its way to one endpoint.
type WebhookDelivery struct {
	ID            string
	EndpointID    string
	EventID       string
	ApplicationID string
	Environment   pay.Environment
	SubjectID     string
	Seq           int64
	EventType     string // the surface's name, e.g. "transaction.approved"
	MessageID     string // what receivers de-duplicate on
	Body          []byte
	Status        DeliveryStatus
	Attempts      int
	NextAttemptAt time.Time
	LastStatus    int // HTTP status of the last attempt; 0 when none came
	LastError     string
	DeliveredAt   time.Time // zero until delivered
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// WebhookAttempt is one HTTP request of a delivery.
type WebhookAttempt struct {
	ID              string
	DeliveryID      string
	StartedAt       time.Time
	Latency         time.Duration // microsecond precision
	StatusCode      int           // 0: no response
	ResponseExcerpt string        // at most the first KiB of the answer
	Error           string
	Manual          bool // a test or re-send asked for by a person
}

// WebhookTarget is where and how a claimed delivery is sent.
type WebhookTarget struct {
	Endpoint pay.WebhookEndpoint
	// PreviousSealedSecret still signs, next to the current secret, until
	// PreviousSecretUntil (a rotation's overlap); empty when none.
	PreviousSealedSecret string
	PreviousSecretUntil  time.Time
	// Failing is whether the endpoint's failing streak was running when
	// the row was read: a success then has a streak to end.
	Failing bool
}

// ClaimedDelivery is a delivery leased to one dispatcher until the lease
// it was claimed with ends.
type ClaimedDelivery struct {
	Delivery WebhookDelivery
	Target   WebhookTarget
	Token    string // proves the lease when the outcome is recorded
}

const deliveryColumns = `d.id, d.endpoint_id, d.event_id, d.application_id, d.environment, d.subject_id, d.seq,
	d.event_type, d.message_id, d.body, d.status, d.attempts, d.next_attempt_at, d.last_status_code, d.last_error,
	d.delivered_at, d.created_at, d.updated_at`

const targetColumns = `w.id, w.application_id, w.environment, w.url, w.format, w.sealed_secret, w.enabled,
	w.disabled_reason, w.created_at, w.previous_sealed_secret, w.previous_secret_until, w.events,
	w.failing_since IS NOT NULL`

// deliveryRow receives a row of deliveryColumns.
type deliveryRow struct {
	d                      WebhookDelivery
	env, body, status      string
	next, created, updated int64
	delivered              sql.NullInt64
}

func (r *deliveryRow) dest() []any {
	d := &r.d
	return []any{&d.ID, &d.EndpointID, &d.EventID, &d.ApplicationID, &r.env, &d.SubjectID, &d.Seq,
		&d.EventType, &d.MessageID, &r.body, &r.status, &d.Attempts, &r.next, &d.LastStatus, &d.LastError,
		&r.delivered, &r.created, &r.updated}
}

func (r *deliveryRow) value() WebhookDelivery {
	d := r.d
	d.Environment, d.Body, d.Status = pay.Environment(r.env), []byte(r.body), DeliveryStatus(r.status)
	d.NextAttemptAt, d.DeliveredAt = fromDB(r.next), fromNullTime(r.delivered)
	d.CreatedAt, d.UpdatedAt = fromDB(r.created), fromDB(r.updated)
	return d
}

// targetRow receives a row of targetColumns.
type targetRow struct {
	t                   WebhookTarget
	env, format, events string
	created, prevUntil  int64
}

func (r *targetRow) dest() []any {
	w := &r.t.Endpoint
	return []any{&w.ID, &w.ApplicationID, &r.env, &w.URL, &r.format, &w.SealedSecret, &w.Enabled,
		&w.DisabledReason, &r.created, &r.t.PreviousSealedSecret, &r.prevUntil, &r.events, &r.t.Failing}
}

func (r *targetRow) value() WebhookTarget {
	t := r.t
	t.Endpoint.Environment, t.Endpoint.Format = pay.Environment(r.env), pay.WebhookFormat(r.format)
	t.Endpoint.CreatedAt, t.Endpoint.Events = fromDB(r.created), eventsFromDB(r.events)
	if r.prevUntil != 0 {
		t.PreviousSecretUntil = fromDB(r.prevUntil)
	}
	return t
}

// UnroutedEvents returns up to limit events whose deliveries have not been
// created yet, oldest first. On PostgreSQL it locks them, skipping those
// another instance is routing, until the transaction ends.
func (tx *Tx) UnroutedEvents(ctx context.Context, limit int) ([]pay.Event, error) {
	lock := ""
	if tx.engine == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := tx.q.QueryContext(ctx,
		`SELECT `+eventColumns+`
		 FROM events WHERE routed_at IS NULL ORDER BY created_at, subject_id, seq LIMIT $1`+lock, limit)
	return collect(rows, err, "unrouted events", scanEvent)
}

// MarkEventRouted records that an event's deliveries exist.
func (tx *Tx) MarkEventRouted(ctx context.Context, id string, at time.Time) error {
	_, err := tx.q.ExecContext(ctx, `UPDATE events SET routed_at = $1 WHERE id = $2`, toDB(at), id)
	return wrap("mark event routed", err)
}

// EnabledWebhookEndpoints lists the enabled endpoints of an application
// environment, inside the transaction.
func (tx *Tx) EnabledWebhookEndpoints(ctx context.Context, appID string, env pay.Environment) ([]pay.WebhookEndpoint, error) {
	rows, err := tx.q.QueryContext(ctx,
		`SELECT `+targetColumns+` FROM webhook_endpoints w
		 WHERE w.application_id = $1 AND w.environment = $2 AND w.enabled = TRUE ORDER BY w.created_at, w.id`,
		appID, string(env))
	if err != nil {
		return nil, wrap("enabled webhook endpoints", err)
	}
	defer rows.Close()
	var ws []pay.WebhookEndpoint
	for rows.Next() {
		var r targetRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, wrap("enabled webhook endpoints", err)
		}
		ws = append(ws, r.value().Endpoint)
	}
	return ws, wrap("enabled webhook endpoints", rows.Err())
}

// CreateWebhookDelivery inserts a delivery unless the endpoint already
// has one for the event (an event routed twice, by two instances or
// after a crash), and tells whether it did.
func (tx *Tx) CreateWebhookDelivery(ctx context.Context, d WebhookDelivery) (bool, error) {
	res, err := tx.q.ExecContext(ctx,
		`INSERT INTO webhook_deliveries (id, endpoint_id, event_id, application_id, environment, subject_id, seq,
		   event_type, message_id, body, status, attempts, next_attempt_at, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $13, $13)
		 ON CONFLICT (endpoint_id, event_id) DO NOTHING`,
		d.ID, d.EndpointID, d.EventID, d.ApplicationID, string(d.Environment), d.SubjectID, d.Seq,
		d.EventType, d.MessageID, string(d.Body), string(d.Status), toDB(d.NextAttemptAt), toDB(d.CreatedAt))
	if err != nil {
		return false, wrap("create webhook delivery", err)
	}
	n, err := res.RowsAffected()
	return n == 1, wrap("create webhook delivery", err)
}

// ClaimDueWebhookDeliveries leases up to limit pending deliveries that are
// due at now to the caller until `until`, and returns them with their
// endpoints. A delivery is due when its time has come, no lease on it is
// running, its endpoint is enabled, and it is the earliest unfinished one
// of its subject to its endpoint: no earlier delivery of the subject to
// the endpoint is pending, and no earlier event of the subject is still
// waiting to be routed (whose delivery may not exist yet).
//
// On PostgreSQL the rows are locked FOR UPDATE SKIP LOCKED, so instances
// claiming at the same moment take disjoint sets instead of waiting for
// each other; the lease then keeps them disjoint after this transaction
// commits. SQLite has one writer at a time, which does the same.
//
// Deliveries to the endpoints in skip are left alone (the caller has as
// many of theirs in flight as it allows).
//
// The oldest due come first, in the order of webhook_deliveries_due and of
// nothing else, so that the query reads that index from its start and
// stops at limit: with a sort on more columns it read, and checked, every
// due delivery on every claim, which under a backlog was most of the
// writer's time. (A subject's own order is the NOT EXISTS's business.)
func (tx *Tx) ClaimDueWebhookDeliveries(ctx context.Context, now, until time.Time, token string, limit int, skip ...string) ([]ClaimedDelivery, error) {
	lock := ""
	if tx.engine == Postgres {
		lock = " FOR UPDATE OF d SKIP LOCKED"
	}
	args := []any{toDB(now), limit}
	notSkipped := ""
	if len(skip) > 0 {
		marks := make([]string, len(skip))
		for i, id := range skip {
			args = append(args, id)
			marks[i] = "$" + strconv.Itoa(len(args))
		}
		notSkipped = " AND d.endpoint_id NOT IN (" + strings.Join(marks, ", ") + ")"
	}
	return tx.claim(ctx, `SELECT `+deliveryColumns+`, `+targetColumns+`
		 FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id
		 WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND d.claimed_until <= $1 AND w.enabled = TRUE`+notSkipped+`
		   AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
		                   WHERE p.endpoint_id = d.endpoint_id AND p.subject_id = d.subject_id
		                     AND p.seq < d.seq AND p.status = 'pending')
		   AND NOT EXISTS (SELECT 1 FROM events e
		                   WHERE e.subject_id = d.subject_id AND e.seq < d.seq AND e.routed_at IS NULL)
		 ORDER BY d.next_attempt_at LIMIT $2`+lock, args, until, token)
}

// ReleaseWebhookDeliveries ends the lease token holds on the deliveries
// with these ids, untouched otherwise: they are due again at once.
func (tx *Tx) ReleaseWebhookDeliveries(ctx context.Context, ids []string, token string) error {
	for _, id := range ids {
		if _, err := tx.q.ExecContext(ctx,
			`UPDATE webhook_deliveries SET claimed_until = 0, claim_token = '' WHERE id = $1 AND claim_token = $2`, id, token); err != nil {
			return wrap("release webhook deliveries", err)
		}
	}
	return nil
}

// ClaimWebhookDelivery leases one delivery, whatever its status, for a
// test or a re-send. Its id alone finds it: callers check tenancy. A
// delivery whose lease is running is a Conflict: it is being sent now.
func (tx *Tx) ClaimWebhookDelivery(ctx context.Context, id string, now, until time.Time, token string) (ClaimedDelivery, error) {
	claimed, err := tx.claim(ctx, `SELECT `+deliveryColumns+`, `+targetColumns+`
		 FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id
		 WHERE d.id = $1`+tx.lockDelivery(), []any{id}, time.Time{}, "")
	if err != nil {
		return ClaimedDelivery{}, err
	}
	if len(claimed) == 0 {
		return ClaimedDelivery{}, notFound("webhook delivery")
	}
	c := claimed[0]
	res, err := tx.q.ExecContext(ctx,
		`UPDATE webhook_deliveries SET claimed_until = $1, claim_token = $2 WHERE id = $3 AND claimed_until <= $4`,
		toDB(until), token, id, toDB(now))
	if err != nil {
		return ClaimedDelivery{}, wrap("claim webhook delivery", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return ClaimedDelivery{}, errors.Join(wrap("claim webhook delivery", err),
			pay.Errorf(pay.Conflict, "delivery_in_progress", "the delivery is being attempted right now; try again shortly"))
	}
	c.Token = token
	return c, nil
}

// lockDelivery locks the delivery row of a join with its endpoint on
// PostgreSQL (not the endpoint's: other deliveries to it go on).
func (tx *Tx) lockDelivery() string {
	if tx.engine == Postgres {
		return " FOR UPDATE OF d"
	}
	return ""
}

// claim runs a delivery query and, unless until is zero, leases every row
// it returned.
func (tx *Tx) claim(ctx context.Context, query string, args []any, until time.Time, token string) ([]ClaimedDelivery, error) {
	rows, err := tx.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap("claim webhook deliveries", err)
	}
	var out []ClaimedDelivery
	for rows.Next() {
		var d deliveryRow
		var t targetRow
		if err := rows.Scan(append(d.dest(), t.dest()...)...); err != nil {
			rows.Close()
			return nil, wrap("claim webhook deliveries", err)
		}
		out = append(out, ClaimedDelivery{Delivery: d.value(), Target: t.value(), Token: token})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("claim webhook deliveries", err)
	}
	if until.IsZero() || len(out) == 0 {
		return out, nil
	}
	ids := make([]string, len(out))
	args = []any{toDB(until), token}
	for i, c := range out {
		args = append(args, c.Delivery.ID)
		ids[i] = fmt.Sprintf("$%d", i+3)
	}
	_, err = tx.q.ExecContext(ctx,
		`UPDATE webhook_deliveries SET claimed_until = $1, claim_token = $2 WHERE id IN (`+strings.Join(ids, ", ")+`)`, args...)
	if err != nil {
		return nil, wrap("claim webhook deliveries", err)
	}
	return out, nil
}

// DeliveryOutcome is what an attempt changed about its delivery.
type DeliveryOutcome struct {
	Status        DeliveryStatus
	NextAttemptAt time.Time
	DeliveredAt   time.Time // zero unless delivered by this attempt
	At            time.Time
}

// FinishWebhookAttempt records an attempt and its delivery's new state,
// and releases the lease. The state changes only if the lease claimed with
// token is still the delivery's: when it ran out and another instance took
// the delivery over, that instance decides, and ok is false. The attempt is
// recorded either way: it happened.
func (tx *Tx) FinishWebhookAttempt(ctx context.Context, token string, a WebhookAttempt, o DeliveryOutcome) (ok bool, err error) {
	_, err = tx.q.ExecContext(ctx,
		`INSERT INTO webhook_attempts (id, delivery_id, started_at, latency_us, status_code, response_excerpt, error, manual)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		a.ID, a.DeliveryID, toDB(a.StartedAt), a.Latency.Microseconds(), a.StatusCode, a.ResponseExcerpt, a.Error, a.Manual)
	if err != nil {
		return false, wrap("record webhook attempt", err)
	}
	res, err := tx.q.ExecContext(ctx,
		`UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, next_attempt_at = $2,
		   last_status_code = $3, last_error = $4, delivered_at = COALESCE(delivered_at, $5),
		   claimed_until = 0, claim_token = '', updated_at = $6
		 WHERE id = $7 AND claim_token = $8`,
		string(o.Status), toDB(o.NextAttemptAt), a.StatusCode, a.Error, nullTime(o.DeliveredAt), toDB(o.At),
		a.DeliveryID, token)
	if err != nil {
		return false, wrap("record webhook attempt", err)
	}
	n, err := res.RowsAffected()
	return n == 1, wrap("record webhook attempt", err)
}

// WebhookEndpointSucceeded ends an endpoint's failing streak.
func (tx *Tx) WebhookEndpointSucceeded(ctx context.Context, id string) error {
	_, err := tx.q.ExecContext(ctx,
		`UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL`, id)
	return wrap("webhook endpoint succeeded", err)
}

// WebhookEndpointFailed starts an endpoint's failing streak at `at`
// unless one is running, and returns when the running streak began.
func (tx *Tx) WebhookEndpointFailed(ctx context.Context, id string, at time.Time) (since time.Time, err error) {
	_, err = tx.q.ExecContext(ctx,
		`UPDATE webhook_endpoints SET failing_since = $1 WHERE id = $2 AND failing_since IS NULL`, toDB(at), id)
	if err != nil {
		return time.Time{}, wrap("webhook endpoint failed", err)
	}
	var us sql.NullInt64
	err = tx.q.QueryRowContext(ctx, `SELECT failing_since FROM webhook_endpoints WHERE id = $1`, id).Scan(&us)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, notFound("webhook endpoint")
	}
	return fromNullTime(us), wrap("webhook endpoint failed", err)
}

// DisableWebhookEndpoint stops deliveries to an endpoint and says why.
// Its pending deliveries stay pending: they resume if it is enabled again.
func (tx *Tx) DisableWebhookEndpoint(ctx context.Context, id, reason string) error {
	_, err := tx.q.ExecContext(ctx,
		`UPDATE webhook_endpoints SET enabled = FALSE, disabled_reason = $1 WHERE id = $2`, reason, id)
	return wrap("disable webhook endpoint", err)
}

// RotateWebhookSecret replaces an endpoint's signing secret; the current
// one keeps signing beside it until previousUntil. Both arrive sealed.
func (tx *Tx) RotateWebhookSecret(ctx context.Context, id, newSealed string, previousUntil time.Time) error {
	res, err := tx.q.ExecContext(ctx,
		`UPDATE webhook_endpoints SET previous_sealed_secret = sealed_secret, previous_secret_until = $1, sealed_secret = $2
		 WHERE id = $3`, toDB(previousUntil), newSealed, id)
	if err != nil {
		return wrap("rotate webhook secret", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(wrap("rotate webhook secret", err), notFound("webhook endpoint"))
	}
	return nil
}

// eventsToDB and eventsFromDB keep an endpoint's event filter as one
// comma-separated column (migration 00017): type names hold no comma.
func eventsToDB(ts []string) string { return strings.Join(ts, ",") }

func eventsFromDB(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// UpdateWebhookEndpoint writes an endpoint's url, format, event filter
// and enabled flag (with its disabled reason); its secrets stay.
func (tx *Tx) UpdateWebhookEndpoint(ctx context.Context, w pay.WebhookEndpoint) error {
	res, err := tx.q.ExecContext(ctx,
		`UPDATE webhook_endpoints SET url = $1, format = $2, events = $3, enabled = $4, disabled_reason = $5 WHERE id = $6`,
		w.URL, string(w.Format), eventsToDB(w.Events), w.Enabled, w.DisabledReason, w.ID)
	if err != nil {
		return wrap("update webhook endpoint", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(wrap("update webhook endpoint", err), notFound("webhook endpoint"))
	}
	return nil
}

// DeleteWebhookEndpoint removes an endpoint with its deliveries and their
// attempts: the rows that reference it would otherwise keep it alive.
// A dispatcher sending one of them at that moment cannot record its
// outcome (the row is gone): it logs that and sends nothing more.
func (tx *Tx) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	if _, err := tx.q.ExecContext(ctx,
		`DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = $1)`, id); err != nil {
		return wrap("delete webhook endpoint", err)
	}
	if _, err := tx.q.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE endpoint_id = $1`, id); err != nil {
		return wrap("delete webhook endpoint", err)
	}
	res, err := tx.q.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE id = $1`, id)
	if err != nil {
		return wrap("delete webhook endpoint", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(wrap("delete webhook endpoint", err), notFound("webhook endpoint"))
	}
	return nil
}

// WebhookEndpoint reads one endpoint by id, with its secrets. Callers that
// act for a merchant check that it belongs to the merchant's application.
func (s *Store) WebhookEndpoint(ctx context.Context, id string) (WebhookTarget, error) {
	var r targetRow
	err := s.r.QueryRowContext(ctx, `SELECT `+targetColumns+` FROM webhook_endpoints w WHERE w.id = $1`, id).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return WebhookTarget{}, notFound("webhook endpoint")
	}
	if err != nil {
		return WebhookTarget{}, wrap("webhook endpoint", err)
	}
	return r.value(), nil
}

// WebhookDeliveries lists an application's most recent deliveries, newest
// first.
func (s *Store) WebhookDeliveries(ctx context.Context, appID string, limit int) ([]WebhookDelivery, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+deliveryColumns+` FROM webhook_deliveries d
		 WHERE d.application_id = $1 ORDER BY d.created_at DESC, d.id DESC LIMIT $2`, appID, limit)
	if err != nil {
		return nil, wrap("webhook deliveries", err)
	}
	defer rows.Close()
	var ds []WebhookDelivery
	for rows.Next() {
		var r deliveryRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, wrap("webhook deliveries", err)
		}
		ds = append(ds, r.value())
	}
	return ds, wrap("webhook deliveries", rows.Err())
}

// EnvironmentWebhookDeliveries lists the most recent deliveries of one
// application environment, newest first: what the merchant API shows a
// key, which sees its own environment only.
func (s *Store) EnvironmentWebhookDeliveries(ctx context.Context, appID string, env pay.Environment, limit int) ([]WebhookDelivery, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+deliveryColumns+` FROM webhook_deliveries d
		 WHERE d.application_id = $1 AND d.environment = $2 ORDER BY d.created_at DESC, d.id DESC LIMIT $3`,
		appID, string(env), limit)
	if err != nil {
		return nil, wrap("webhook deliveries", err)
	}
	defer rows.Close()
	var ds []WebhookDelivery
	for rows.Next() {
		var r deliveryRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, wrap("webhook deliveries", err)
		}
		ds = append(ds, r.value())
	}
	return ds, wrap("webhook deliveries", rows.Err())
}

// SubjectWebhookDeliveries lists the deliveries of one subject (a
// session's events) in an application environment, oldest first.
func (s *Store) SubjectWebhookDeliveries(ctx context.Context, appID string, env pay.Environment, subjectID string, limit int) ([]WebhookDelivery, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+deliveryColumns+` FROM webhook_deliveries d
		 WHERE d.subject_id = $1 AND d.application_id = $2 AND d.environment = $3 ORDER BY d.created_at, d.id LIMIT $4`,
		subjectID, appID, string(env), limit)
	return collect(rows, err, "subject webhook deliveries", func(rows *sql.Rows) (WebhookDelivery, error) {
		var r deliveryRow
		err := rows.Scan(r.dest()...)
		return r.value(), err
	})
}

// WebhookDelivery reads one delivery by id.
func (s *Store) WebhookDelivery(ctx context.Context, id string) (WebhookDelivery, error) {
	var r deliveryRow
	err := s.r.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d WHERE d.id = $1`, id).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return WebhookDelivery{}, notFound("webhook delivery")
	}
	if err != nil {
		return WebhookDelivery{}, wrap("webhook delivery", err)
	}
	return r.value(), nil
}

// WebhookAttempts lists a delivery's attempts, oldest first.
func (s *Store) WebhookAttempts(ctx context.Context, deliveryID string) ([]WebhookAttempt, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT id, delivery_id, started_at, latency_us, status_code, response_excerpt, error, manual
		 FROM webhook_attempts WHERE delivery_id = $1 ORDER BY started_at, id`, deliveryID)
	if err != nil {
		return nil, wrap("webhook attempts", err)
	}
	defer rows.Close()
	var as []WebhookAttempt
	for rows.Next() {
		var a WebhookAttempt
		var started, latency int64
		if err := rows.Scan(&a.ID, &a.DeliveryID, &started, &latency, &a.StatusCode, &a.ResponseExcerpt, &a.Error, &a.Manual); err != nil {
			return nil, wrap("webhook attempts", err)
		}
		a.StartedAt, a.Latency = fromDB(started), time.Duration(latency)*time.Microsecond
		as = append(as, a)
	}
	return as, wrap("webhook attempts", rows.Err())
}
