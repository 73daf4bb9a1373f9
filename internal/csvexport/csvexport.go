// Package csvexport writes the management API's money views (payments,
// sessions, refunds, customers, events) as CSV files for spreadsheets:
// one fixed header per resource, amounts as decimal strings in their
// currency's digits (money.Format), times in RFC 3339 UTC. An export
// streams: it asks the listing for one page at a time and writes it out
// before asking for the next, so memory holds one page whatever the
// export's length, and it stops at MaxRows.
//
// Every cell goes through Cell, which defuses spreadsheet formulas: a
// customer's email, a vendor reference or a gateway message is text
// someone else chose, and a spreadsheet would run "=HYPERLINK(…)" typed
// there as a formula.
package csvexport

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// MaxRows bounds the rows (header aside) of one export: past it the
// export stops and reports itself truncated, and the merchant narrows the
// window.
const MaxRows = 100_000

// Cell returns s as it is safe to put in a spreadsheet cell, following
// OWASP's advice on CSV injection: a cell starting with =, +, -, @, a tab
// or a carriage return, which spreadsheets read as the start of a
// formula, is prefixed with a single quote, which makes them read the
// cell as text (and which they do not show). Other cells are unchanged.
// Quoting for the CSV syntax itself (commas, quotes, line breaks) is
// encoding/csv's.
func Cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// Writer writes CSV records, each cell through Cell.
type Writer struct {
	w   *csv.Writer
	buf []string // reused for the escaped cells of each record
}

// NewWriter returns a Writer on w. Records are buffered: call Flush.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one record.
func (w *Writer) Write(record []string) error {
	w.buf = w.buf[:0]
	for _, c := range record {
		w.buf = append(w.buf, Cell(c))
	}
	return w.w.Write(w.buf)
}

// Flush writes out what is buffered and reports any error of the writes.
func (w *Writer) Flush() error {
	w.w.Flush()
	return w.w.Error()
}

// A Lister returns one page of a listing and the next page's cursor (""
// after the last): one of checkout.Service's List methods.
type Lister[T any] func(context.Context, checkout.ListQuery) ([]T, string, error)

// Result says how an export ended.
type Result struct {
	Rows      int  // records written, header aside
	Truncated bool // more rows matched than MaxRows; the file ends at MaxRows
}

// The columns of each export, in order.
var (
	paymentColumns = []string{"id", "sessionId", "createdAt", "status", "amount", "refundedAmount", "currency",
		"gateway", "method", "customerEmail", "customerPhone", "vendorReference"}
	sessionColumns = []string{"id", "createdAt", "status", "amount", "currency", "customerEmail", "customerPhone",
		"verifiedIdentifier", "verifiedChannel", "vendorReference", "gateway", "expiresAt"}
	refundColumns = []string{"id", "paymentId", "sessionId", "createdAt", "status", "amount", "currency",
		"gatewayReference", "failureCode"}
	customerColumns = []string{"key", "email", "phone", "sessions", "firstSeen", "lastSeen",
		"currency", "paidCount", "paidAmount", "refundedAmount"}
	eventColumns = []string{"id", "createdAt", "type", "subjectId", "seq", "payload"}
)

// Payments writes the payments q selects (any of the filters
// ListPaymentRows takes), newest first, under the header id, sessionId,
// createdAt, status, amount, refundedAmount, currency, gateway, method,
// customerEmail, customerPhone, vendorReference.
func Payments(ctx context.Context, w io.Writer, list Lister[store.PaymentRow], q checkout.ListQuery) (Result, error) {
	return export(ctx, w, list, q, MaxRows, paymentColumns, func(p store.PaymentRow, out [][]string) [][]string {
		return append(out, []string{p.ID, p.SessionID, timestamp(p.CreatedAt), string(p.Status),
			money.Format(p.Amount), money.Format(p.Refunded), string(p.Amount.Currency),
			p.Gateway, p.Method, p.CustomerEmail, p.CustomerPhone, p.VendorReference})
	})
}

// Sessions writes the sessions q selects, newest first, under the header
// id, createdAt, status, amount, currency, customerEmail, customerPhone,
// verifiedIdentifier, verifiedChannel, vendorReference, gateway,
// expiresAt.
func Sessions(ctx context.Context, w io.Writer, list Lister[pay.Session], q checkout.ListQuery) (Result, error) {
	return export(ctx, w, list, q, MaxRows, sessionColumns, func(s pay.Session, out [][]string) [][]string {
		c := s.Customer
		return append(out, []string{s.ID, timestamp(s.CreatedAt), string(s.Status), money.Format(s.Amount),
			string(s.Amount.Currency), c.Email, c.Phone, c.VerifiedIdentifier, c.VerifiedChannel,
			s.VendorReference, s.Gateway, timestamp(s.ExpiresAt)})
	})
}

// Refunds writes the refunds q selects, newest first, under the header
// id, paymentId, sessionId, createdAt, status, amount, currency,
// gatewayReference, failureCode.
func Refunds(ctx context.Context, w io.Writer, list Lister[store.Refund], q checkout.ListQuery) (Result, error) {
	return export(ctx, w, list, q, MaxRows, refundColumns, func(r store.Refund, out [][]string) [][]string {
		return append(out, []string{r.ID, r.PaymentID, r.SessionID, timestamp(r.CreatedAt), r.Status,
			money.Format(r.Amount), string(r.Amount.Currency), r.GatewayReference, r.FailureCode})
	})
}

// Customers writes the customers q selects, in key order, under the
// header key, email, phone, sessions, firstSeen, lastSeen, currency,
// paidCount, paidAmount, refundedAmount: one row per currency the
// customer paid in (the customer's columns repeated), or one row with the
// last four empty for a customer who paid nothing.
func Customers(ctx context.Context, w io.Writer, list Lister[store.Customer], q checkout.ListQuery) (Result, error) {
	return export(ctx, w, list, q, MaxRows, customerColumns, func(c store.Customer, out [][]string) [][]string {
		who := []string{c.Key, c.Email, c.Phone, strconv.Itoa(c.Sessions), timestamp(c.FirstSeen), timestamp(c.LastSeen)}
		if len(c.Paid) == 0 {
			return append(out, append(who, "", "", "", ""))
		}
		for _, p := range c.Paid {
			out = append(out, append(who[:len(who):len(who)], string(p.Amount.Currency), strconv.Itoa(p.Count),
				money.Format(p.Amount), money.Format(p.Refunded)))
		}
		return out
	})
}

// Events writes the events q selects, newest first, under the header id,
// createdAt, type, subjectId, seq, payload (the event's JSON, as stored).
func Events(ctx context.Context, w io.Writer, list Lister[pay.Event], q checkout.ListQuery) (Result, error) {
	return export(ctx, w, list, q, MaxRows, eventColumns, func(e pay.Event, out [][]string) [][]string {
		return append(out, []string{e.ID, timestamp(e.CreatedAt), e.Type, e.SubjectID,
			strconv.FormatInt(e.Seq, 10), string(e.Payload)})
	})
}

// export writes header and then the records of every page list returns
// for q, page after page, up to limit records. Each page is flushed before
// the next is asked for, so a slow reader holds back the queries rather
// than rows piling up. A failure after the first bytes leaves a partial
// file: the caller can only cut the response short.
func export[T any](ctx context.Context, out io.Writer, list Lister[T], q checkout.ListQuery, limit int,
	header []string, records func(T, [][]string) [][]string) (Result, error) {
	w := NewWriter(out)
	var res Result
	if err := w.Write(header); err != nil {
		return res, fmt.Errorf("csvexport: %w", err)
	}
	q.Limit = checkout.MaxPageSize
	var recs [][]string
	for {
		rows, next, err := list(ctx, q)
		if err != nil {
			return res, fmt.Errorf("csvexport: %w", err)
		}
		for i, row := range rows {
			recs = records(row, recs[:0])
			if res.Rows+len(recs) > limit {
				res.Truncated = true
				// What fits of this row's records, then stop.
				recs = recs[:limit-res.Rows]
			}
			for _, r := range recs {
				if err := w.Write(r); err != nil {
					return res, fmt.Errorf("csvexport: %w", err)
				}
				res.Rows++
			}
			if res.Rows == limit && !res.Truncated && (i < len(rows)-1 || next != "") {
				res.Truncated = true
			}
			if res.Truncated {
				return res, flush(w)
			}
		}
		if err := flush(w); err != nil || next == "" {
			return res, err
		}
		q.Cursor = next
	}
}

func flush(w *Writer) error {
	if err := w.Flush(); err != nil {
		return fmt.Errorf("csvexport: %w", err)
	}
	return nil
}

// timestamp is the API's time format, RFC 3339 in UTC with microseconds;
// "" for a zero time.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}
