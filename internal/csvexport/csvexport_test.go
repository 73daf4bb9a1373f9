package csvexport

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

var at = time.Date(2026, 12, 3, 9, 30, 0, 123456000, time.UTC)

// pages serves rows as a listing does: per pages of q.Limit, with a
// cursor naming the next page's first index. It records the queries it
// was asked.
type pages[T any] struct {
	rows    []T
	queries []checkout.ListQuery
}

func (p *pages[T]) list(_ context.Context, q checkout.ListQuery) ([]T, string, error) {
	p.queries = append(p.queries, q)
	start := 0
	if q.Cursor != "" {
		fmt.Sscan(q.Cursor, &start)
	}
	end := min(start+q.Limit, len(p.rows))
	next := ""
	if end < len(p.rows) {
		next = fmt.Sprint(end)
	}
	return p.rows[start:end], next, nil
}

// Hostile cells come out exactly as text a spreadsheet will not run, and
// the CSV quoting of quotes, commas and line breaks is exact.
func TestPaymentsHostileCells(t *testing.T) {
	rows := []store.PaymentRow{{
		Payment: pay.Payment{ID: "pay_1", SessionID: "sess_1", Status: pay.PaymentCompleted, Gateway: "@SUM(A1:A9)", Method: "-1",
			Amount: money.New(79900, "MAD"), Refunded: money.New(0, "MAD"), CreatedAt: at},
		CustomerEmail: "=cmd|' /C calc'!A0", CustomerPhone: "+1", VendorReference: `say "hi", bye`,
	}, {
		Payment: pay.Payment{ID: "pay_2", SessionID: "sess_2", Status: pay.PaymentRefunded, Gateway: "\tstripe", Method: "\rcard",
			Amount: money.New(1500, "KWD"), Refunded: money.New(1500, "KWD"), CreatedAt: at.Add(-time.Second)},
		CustomerEmail: "zoé@exemple.ma", CustomerPhone: "line1\nline2", VendorReference: "طلب-٤٢ 日本",
	}}
	var b strings.Builder
	src := &pages[store.PaymentRow]{rows: rows}
	res, err := Payments(t.Context(), &b, src.list, checkout.ListQuery{ApplicationID: "app_1", Environment: pay.Sandbox})
	if err != nil || res != (Result{Rows: 2}) {
		t.Fatalf("Payments = %+v, %v", res, err)
	}
	want := "id,sessionId,createdAt,status,amount,refundedAmount,currency,gateway,method,customerEmail,customerPhone,vendorReference\n" +
		"pay_1,sess_1,2026-12-03T09:30:00.123456Z,completed,799.00,0.00,MAD,'@SUM(A1:A9),'-1,'=cmd|' /C calc'!A0,'+1,\"say \"\"hi\"\", bye\"\n" +
		"pay_2,sess_2,2026-12-03T09:29:59.123456Z,refunded,1.500,1.500,KWD,'\tstripe,\"'\rcard\",zoé@exemple.ma,\"line1\nline2\",طلب-٤٢ 日本\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}
	if len(src.queries) != 1 || src.queries[0].Limit != checkout.MaxPageSize || src.queries[0].ApplicationID != "app_1" {
		t.Errorf("queries %+v", src.queries)
	}
}

func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "",
		"=1+1":                 "'=1+1",
		"=cmd|' /C calc'!A0":   "'=cmd|' /C calc'!A0",
		"+212612345678":        "'+212612345678",
		"-1":                   "'-1",
		"@SUM(A1)":             "'@SUM(A1)",
		"\t=1":                 "'\t=1",
		"\r=1":                 "'\r=1",
		"a=1":                  "a=1",
		" =1":                  " =1",
		"799.00":               "799.00",
		"'quoted":              "'quoted",
		"ali@shop.ma":          "ali@shop.ma",
		"\n=1":                 "\n=1",
		"日本":                   "日本",
		"2026-12-03T09:30:00Z": "2026-12-03T09:30:00Z",
	} {
		if got := Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}

// An export asks for page after page until the last, and stops at its
// bound, saying so, even within a customer's rows.
func TestExportStreamsAndStops(t *testing.T) {
	var events []pay.Event
	for i := range 250 {
		events = append(events, pay.Event{ID: fmt.Sprintf("evt_%03d", i), Type: "payment.completed", SubjectID: "sess_1",
			Seq: int64(i + 1), Payload: json.RawMessage(`{"sessionId":"sess_1","amount":"1.00"}`), CreatedAt: at})
	}
	for _, tt := range []struct {
		limit   int
		rows    int
		queries int
		more    bool
	}{
		{limit: 1000, rows: 250, queries: 3},
		{limit: 250, rows: 250, queries: 3},
		{limit: 200, rows: 200, queries: 2, more: true},
		{limit: 150, rows: 150, queries: 2, more: true},
	} {
		src := &pages[pay.Event]{rows: events}
		var b strings.Builder
		res, err := export(t.Context(), &b, src.list, checkout.ListQuery{}, tt.limit, eventColumns, func(e pay.Event, out [][]string) [][]string {
			return append(out, []string{e.ID, timestamp(e.CreatedAt), e.Type, e.SubjectID, fmt.Sprint(e.Seq), string(e.Payload)})
		})
		if err != nil || res != (Result{Rows: tt.rows, Truncated: tt.more}) || len(src.queries) != tt.queries {
			t.Errorf("limit %d: %+v, %v after %d queries; want %d rows, truncated %v, %d queries",
				tt.limit, res, err, len(src.queries), tt.rows, tt.more, tt.queries)
		}
		recs, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
		if err != nil || len(recs) != tt.rows+1 || recs[tt.rows][0] != fmt.Sprintf("evt_%03d", tt.rows-1) {
			t.Errorf("limit %d: %d records, %v", tt.limit, len(recs), err)
		}
		if recs[1][5] != `{"sessionId":"sess_1","amount":"1.00"}` {
			t.Errorf("payload cell %q", recs[1][5])
		}
	}

	// A customer has one row per currency; the bound cuts between them.
	cs := []store.Customer{
		{Key: "+212612345678", Phone: "+212612345678", Sessions: 2, FirstSeen: at, LastSeen: at, Paid: []store.Paid{
			{Count: 1, Amount: money.New(5000, "EUR"), Refunded: money.New(0, "EUR")},
			{Count: 2, Amount: money.New(159800, "MAD"), Refunded: money.New(10000, "MAD")},
		}},
		{Key: "ali@shop.ma", Email: "ali@shop.ma", Sessions: 1, FirstSeen: at, LastSeen: at},
	}
	var b strings.Builder
	src := &pages[store.Customer]{rows: cs}
	res, err := Customers(t.Context(), &b, src.list, checkout.ListQuery{})
	want := "key,email,phone,sessions,firstSeen,lastSeen,currency,paidCount,paidAmount,refundedAmount\n" +
		"'+212612345678,,'+212612345678,2,2026-12-03T09:30:00.123456Z,2026-12-03T09:30:00.123456Z,EUR,1,50.00,0.00\n" +
		"'+212612345678,,'+212612345678,2,2026-12-03T09:30:00.123456Z,2026-12-03T09:30:00.123456Z,MAD,2,1598.00,100.00\n" +
		"ali@shop.ma,ali@shop.ma,,1,2026-12-03T09:30:00.123456Z,2026-12-03T09:30:00.123456Z,,,,\n"
	if diff := cmp.Diff(want, b.String()); err != nil || res.Rows != 3 || diff != "" {
		t.Errorf("customers: %+v, %v (-want +got):\n%s", res, err, diff)
	}
	b.Reset()
	res, err = export(t.Context(), &b, (&pages[store.Customer]{rows: cs}).list, checkout.ListQuery{}, 1, customerColumns,
		func(c store.Customer, out [][]string) [][]string {
			for _, p := range c.Paid {
				out = append(out, []string{c.Key, string(p.Amount.Currency)})
			}
			return out
		})
	if err != nil || res != (Result{Rows: 1, Truncated: true}) || strings.Count(b.String(), "\n") != 2 {
		t.Errorf("customers cut at 1: %+v, %v, %q", res, err, b.String())
	}
}

// FuzzCSVCell checks that whatever a cell holds, the CSV round trip gives
// it back exactly (but for the quote prefix, and the \r\n that CSV
// readers fold to \n), and that what a spreadsheet reads never starts
// like a formula.
func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"", "=cmd|' /C calc'!A0", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", `"=1"`, "a,b", "a\nb",
		"a\r\nb", " =1", "'=1", "日本語", "\xff\xfe", "=HYPERLINK(\"http://x\")", "\"", ",", "\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b strings.Builder
		w := NewWriter(&b)
		if err := w.Write([]string{s, "end"}); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(strings.NewReader(b.String()))
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatalf("reading back %q: %v", b.String(), err)
		}
		if len(recs) != 1 || len(recs[0]) != 2 || recs[0][1] != "end" {
			t.Fatalf("%q read back as %q", b.String(), recs)
		}
		got := recs[0][0]
		if got != "" && strings.ContainsRune("=+-@\t\r", rune(got[0])) {
			t.Errorf("cell %q reads back as %q, a formula", s, got)
		}
		want := s
		if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
			want = "'" + s
		}
		want = strings.ReplaceAll(want, "\r\n", "\n")
		if got != want {
			t.Errorf("cell %q reads back as %q, want %q", s, got, want)
		}
	})
}

// The exports take checkout.Service's listings as they are.
var (
	_ Lister[store.PaymentRow] = (*checkout.Service)(nil).ListPaymentRows
	_ Lister[pay.Session]      = (*checkout.Service)(nil).ListSessions
	_ Lister[store.Refund]     = (*checkout.Service)(nil).ListRefunds
	_ Lister[store.Customer]   = (*checkout.Service)(nil).ListCustomers
	_ Lister[pay.Event]        = (*checkout.Service)(nil).ListEvents
)
