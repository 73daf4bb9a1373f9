package csvexport_test

import (
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/csvexport"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// An export over the real listings crosses page boundaries without
// losing or repeating a row, applies the query's search, and defuses
// what a merchant's shopper typed.
func TestExportPaymentsFromStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
		m := pay.Merchant{ID: pay.NewID(pay.PrefixMerchant), Name: "Shop", CreatedAt: t0}
		app := pay.Application{ID: pay.NewID(pay.PrefixApplication), MerchantID: m.ID, Name: "App", CreatedAt: t0}
		const n = 2*checkout.MaxPageSize + 30
		var newest []string // payment ids, newest first
		err := st.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.CreateMerchant(ctx, m); err != nil {
				return err
			}
			if err := tx.CreateApplication(ctx, app); err != nil {
				return err
			}
			for i := range n {
				// Pairs of rows share an instant: only their ids order them.
				at := t0.Add(time.Duration(i/2) * time.Second)
				amount := money.New(int64(100*(i+1)), "MAD")
				email, ref := "other@shop.ma", fmt.Sprintf("order-%d", i)
				if i%50 == 7 {
					email, ref = "Mixed@Case.MA", "=HYPERLINK(\"http://evil.example\",\"x\")"
				}
				s := pay.Session{ID: pay.NewID(pay.PrefixSession), ApplicationID: app.ID, Environment: pay.Sandbox,
					Status: pay.SessionCompleted, Amount: amount, Customer: pay.Customer{Email: email}, VendorReference: ref,
					ExpiresAt: at.Add(time.Hour), CreatedAt: at, UpdatedAt: at}
				p := pay.Payment{ID: pay.NewID(pay.PrefixPayment), SessionID: s.ID, ApplicationID: app.ID, Environment: pay.Sandbox,
					Gateway: "stripe", Method: "card", Status: pay.PaymentCompleted, Amount: amount, Refunded: money.New(0, "MAD"),
					CreatedAt: at, UpdatedAt: at}
				if err := tx.CreateSession(ctx, s); err != nil {
					return err
				}
				if err := tx.CreatePayment(ctx, p); err != nil {
					return err
				}
				newest = append(newest, p.ID)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		co := checkout.New(st, nil, time.Now, "")
		q := checkout.ListQuery{ApplicationID: app.ID, Environment: pay.Sandbox}

		var b strings.Builder
		res, err := csvexport.Payments(ctx, &b, co.ListPaymentRows, q)
		if err != nil || res != (csvexport.Result{Rows: n}) {
			t.Fatalf("export: %+v, %v", res, err)
		}
		recs, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
		if err != nil || len(recs) != n+1 {
			t.Fatalf("%d records, %v", len(recs), err)
		}
		seen := map[string]bool{}
		for i, r := range recs[1:] {
			seen[r[0]] = true
			if i > 0 && (r[2] > recs[i][2] || r[2] == recs[i][2] && r[0] > recs[i][0]) {
				t.Fatalf("row %d (%s %s) is not older than the one before (%s %s)", i, r[2], r[0], recs[i][2], recs[i][0])
			}
		}
		if len(seen) != n {
			t.Errorf("%d distinct payments in %d rows, want %d", len(seen), n, n)
		}
		for _, id := range newest {
			if !seen[id] {
				t.Errorf("payment %s missing from the export", id)
			}
		}

		b.Reset()
		q.Email = "mixed@case.ma"
		res, err = csvexport.Payments(ctx, &b, co.ListPaymentRows, q)
		if err != nil || res.Rows != 5 {
			t.Fatalf("export by email: %+v, %v", res, err)
		}
		recs, err = csv.NewReader(strings.NewReader(b.String())).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range recs[1:] {
			want := []string{newest[207-50*i], "", "", "completed", fmt.Sprintf("%d.00", 208-50*i), "0.00", "MAD", "stripe", "card",
				"Mixed@Case.MA", "", `'=HYPERLINK("http://evil.example","x")`}
			r[1], r[2] = "", "" // the session id and time are checked above
			if strings.Join(r, "|") != strings.Join(want, "|") {
				t.Errorf("row %d:\n got %q\nwant %q", i, r, want)
			}
		}
	})
}
