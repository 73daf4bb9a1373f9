package checkout

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/otp"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/textrule"
)

// The reads of the merchant API and of the management API's money views:
// pages of sessions, payments, refunds, customers and events, newest first
// (customers: by key), each filtered by one ListQuery.

// MaxPageSize bounds one page of a listing.
const MaxPageSize = 100

// ListQuery selects a page of one listing of one application environment.
// Each listing says which filters it takes; setting one it does not take
// is an Invalid error with code "invalid_filter", so that a search is
// never silently ignored.
type ListQuery struct {
	ApplicationID string
	Environment   pay.Environment
	Status        string    // "" for any; else a status of the listed rows
	From          time.Time // created at or after; zero for no bound
	To            time.Time // created before; zero for no bound
	// ID is an exact id: of the row itself, or of its session or payment
	// (each listing says which).
	ID string
	// Email is the customer's email address, matched ignoring case and
	// surrounding spaces against a session's customer email and verified
	// identifier.
	Email string
	// Phone is the customer's phone number, in any spelling
	// otp.NormalizeIdentifier accepts ("+212 6-12 34 56 78",
	// "00212612345678"); it matches the normalised number a session
	// stores. A phone a merchant sent un-normalised through the Checkout
	// API is stored as sent, and matches only as the verified identifier.
	Phone string
	// Amount is an exact amount, minor units in its currency; nil for any.
	Amount *money.Amount
	// Type and SubjectID filter events: the event type
	// ("payment.completed") and the subject's id (a session's).
	Type      string
	SubjectID string
	Cursor    string // "" for the first page; else a page's NextCursor
	Limit     int    // 1 to MaxPageSize; 0 means MaxPageSize
}

// filters names the ListQuery fields a listing takes, beyond the window,
// cursor and limit every listing takes.
type filters uint

const (
	byStatus filters = 1 << iota
	byID
	byEmail
	byPhone
	byAmount
	byType
	bySubject
)

// maxFilterLen bounds a text filter: nothing stored is longer.
const maxFilterLen = MaxTextLen

// filter checks q and turns it into the store's filter, asking for one
// row more than the page holds, to learn whether another page follows.
// takes names the filters the listing of what takes; valid says whether
// a status is one of its rows'.
func (q ListQuery) filter(what string, takes filters, valid func(string) bool) (store.ListFilter, error) {
	f := store.ListFilter{ApplicationID: q.ApplicationID, Environment: q.Environment, Status: q.Status, From: q.From, To: q.To,
		ID: q.ID, Type: q.Type, SubjectID: q.SubjectID, Amount: q.Amount}
	switch {
	case q.Limit < 0 || q.Limit > MaxPageSize:
		return f, pay.Errorf(pay.Invalid, "invalid_limit", "limit must be from 1 to %d", MaxPageSize)
	case q.Limit == 0:
		q.Limit = MaxPageSize
	}
	f.Limit = q.Limit + 1
	for _, c := range []struct {
		set  bool
		bit  filters
		name string
	}{
		{q.Status != "", byStatus, "status"}, {q.ID != "", byID, "id"}, {q.Email != "", byEmail, "email"},
		{q.Phone != "", byPhone, "phone"}, {q.Amount != nil, byAmount, "amount"}, {q.Type != "", byType, "type"},
		{q.SubjectID != "", bySubject, "subject id"},
	} {
		if c.set && takes&c.bit == 0 {
			return f, pay.Errorf(pay.Invalid, "invalid_filter", "%s cannot be filtered by %s", what, c.name)
		}
	}
	for _, s := range []string{q.ID, q.Email, q.Phone, q.Type, q.SubjectID} {
		if len(s) > maxFilterLen {
			return f, pay.Errorf(pay.Invalid, "invalid_filter", "a search is limited to %d bytes", maxFilterLen)
		}
	}
	if q.Status != "" && !valid(q.Status) {
		return f, pay.Errorf(pay.Invalid, "invalid_status", "%q is not a status", q.Status)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return f, pay.Errorf(pay.Invalid, "invalid_date_range", "created_from must be before created_to")
	}
	if q.Email != "" {
		// Lower-cased here and compared with lower-cased columns: an
		// address is one shopper whatever its case.
		f.Email = strings.ToLower(strings.TrimSpace(q.Email))
	}
	if q.Phone != "" {
		n, err := otp.NormalizeIdentifier(otp.Phone, q.Phone)
		if err != nil {
			return f, pay.Errorf(pay.Invalid, "invalid_phone", "%s", pay.MessageOf(err))
		}
		f.Phone = n
	}
	if a := q.Amount; a != nil {
		if _, ok := money.Lookup(string(a.Currency)); !ok {
			return f, pay.Errorf(pay.Invalid, CodeInvalidAmount, "amount needs a known currency, not %q", a.Currency)
		}
	}
	if q.Cursor != "" {
		pos, err := decodeCursor(q.Cursor)
		if err != nil {
			return f, err
		}
		f.After = pos
	}
	return f, nil
}

var errBadCursor = pay.Errorf(pay.Invalid, "invalid_cursor", "cursor is not one this API returned")

// A cursor is opaque to callers: base64url of "<created_at µs>.<id>" of
// the last row of the previous page.
func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + "." + id))
}

func decodeCursor(c string) (store.Position, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(c) > 200 {
		return store.Position{}, errBadCursor
	}
	at, id, ok := strings.Cut(string(raw), ".")
	us, err := strconv.ParseInt(at, 10, 64)
	// The id is text from outside, under its base64: it meets the text
	// rule here, or a NUL in it would reach the store.
	if !ok || err != nil || id == "" || textrule.Check("cursor", id, textrule.Rule{Max: MaxTextLen}) != nil {
		return store.Position{}, errBadCursor
	}
	return store.Position{CreatedAt: time.UnixMicro(us).UTC(), ID: id}, nil
}

// A customers cursor is base64url of "k:" and the last customer's key;
// the prefix keeps the two kinds of cursor apart (a key may start with
// digits and hold dots).
const keyCursorPrefix = "k:"

func encodeKeyCursor(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(keyCursorPrefix + key))
}

func decodeKeyCursor(c string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(c) > 2*MaxTextLen {
		return "", errBadCursor
	}
	key, ok := strings.CutPrefix(string(raw), keyCursorPrefix)
	if !ok || key == "" || textrule.Check("cursor", key, textrule.Rule{Max: 2 * MaxTextLen}) != nil {
		return "", errBadCursor
	}
	return key, nil
}

// page cuts the extra row off a listing and names the cursor of the next
// page ("" when there is none).
func page[T any](rows []T, limit int, pos func(T) (time.Time, string)) ([]T, string) {
	if len(rows) < limit {
		return rows, ""
	}
	rows = rows[:limit-1]
	at, id := pos(rows[len(rows)-1])
	return rows, encodeCursor(at, id)
}

// ListPayments returns a page of payments and the cursor of the next one.
// It takes every filter ListPaymentRows takes.
func (s *Service) ListPayments(ctx context.Context, q ListQuery) ([]pay.Payment, string, error) {
	rows, next, err := s.ListPaymentRows(ctx, q)
	ps := make([]pay.Payment, len(rows))
	for i, r := range rows {
		ps[i] = r.Payment
	}
	return ps, next, err
}

// ListPaymentRows returns a page of payments, each with its session's
// customer and vendor reference, and the cursor of the next page. It
// takes Status (a payment status), ID (the payment's, or its session's:
// a session id finds all the session's attempts), Email and Phone (its
// session's customer's) and Amount (the payment's).
func (s *Service) ListPaymentRows(ctx context.Context, q ListQuery) ([]store.PaymentRow, string, error) {
	f, err := q.filter("payments", byStatus|byID|byEmail|byPhone|byAmount,
		func(st string) bool { return pay.PaymentStatus(st).Valid() })
	if err != nil {
		return nil, "", err
	}
	ps, err := s.store.ListPayments(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("checkout: list payments: %w", err)
	}
	ps, next := page(ps, f.Limit, func(p store.PaymentRow) (time.Time, string) { return p.CreatedAt, p.ID })
	return ps, next, nil
}

// ListSessions returns a page of sessions, without their items, and the
// cursor of the next one. It takes Status (a session status), ID (the
// session's, or one of its payments'), Email, Phone and Amount (the
// session's).
func (s *Service) ListSessions(ctx context.Context, q ListQuery) ([]pay.Session, string, error) {
	f, err := q.filter("sessions", byStatus|byID|byEmail|byPhone|byAmount,
		func(st string) bool { return pay.SessionStatus(st).Valid() })
	if err != nil {
		return nil, "", err
	}
	ss, err := s.store.ListSessions(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("checkout: list sessions: %w", err)
	}
	ss, next := page(ss, f.Limit, func(s pay.Session) (time.Time, string) { return s.CreatedAt, s.ID })
	return ss, next, nil
}

// ListRefunds returns a page of refunds and the cursor of the next one.
// It takes Status (pending, succeeded or failed), ID (the refund's, its
// payment's or its payment's session's) and Amount (the refund's).
func (s *Service) ListRefunds(ctx context.Context, q ListQuery) ([]store.Refund, string, error) {
	f, err := q.filter("refunds", byStatus|byID|byAmount, func(st string) bool {
		return st == store.RefundPending || st == store.RefundSucceeded || st == store.RefundFailed
	})
	if err != nil {
		return nil, "", err
	}
	rs, err := s.store.ListRefunds(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("checkout: list refunds: %w", err)
	}
	rs, next := page(rs, f.Limit, func(r store.Refund) (time.Time, string) { return r.CreatedAt, r.ID })
	return rs, next, nil
}

// ListEvents returns a page of outbox events, with their payloads, and
// the cursor of the next one. It takes Type, SubjectID, and ID (the
// event's, or its subject session's, or a payment's of that session).
func (s *Service) ListEvents(ctx context.Context, q ListQuery) ([]pay.Event, string, error) {
	f, err := q.filter("events", byType|bySubject|byID, nil)
	if err != nil {
		return nil, "", err
	}
	es, err := s.store.ListEvents(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("checkout: list events: %w", err)
	}
	es, next := page(es, f.Limit, func(e pay.Event) (time.Time, string) { return e.CreatedAt, e.ID })
	return es, next, nil
}

// ListCustomers returns a page of customers, in ascending order of their
// key, and the cursor of the next page. A customer is the sessions
// sharing a key (store.Customer says how it is derived); From and To
// count only the sessions created in that window. It takes Email, Phone
// and ID (a session's or a payment's): each selects the customers who
// had a matching session, with all their sessions counted.
func (s *Service) ListCustomers(ctx context.Context, q ListQuery) ([]store.Customer, string, error) {
	cursor := q.Cursor
	q.Cursor = "" // a customers cursor is a key, not a position
	f, err := q.filter("customers", byID|byEmail|byPhone, nil)
	if err != nil {
		return nil, "", err
	}
	if cursor != "" {
		if f.AfterKey, err = decodeKeyCursor(cursor); err != nil {
			return nil, "", err
		}
	}
	cs, err := s.store.ListCustomers(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("checkout: list customers: %w", err)
	}
	if len(cs) < f.Limit {
		return cs, "", nil
	}
	cs = cs[:f.Limit-1]
	return cs, encodeKeyCursor(cs[len(cs)-1].Key), nil
}
