package checkout_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// moneyViews is a fixture for the money views: three sessions paid by
// buyer@shop.example through the payment flow (the first partly
// refunded), one left open, and one of a shopper verified by phone.
type moneyViews struct {
	*fixture
	paid     []string // payment ids, oldest first
	sessions []string // the paid sessions, oldest first
	phoneSID string
}

func newMoneyViews(t *testing.T, st *store.Store) *moneyViews {
	t.Helper()
	m := &moneyViews{fixture: newFixture(t, st)}
	for range 3 {
		sid := m.session(t)
		m.sessions = append(m.sessions, sid)
		m.paid = append(m.paid, m.process(t, sid, "4242424242424242").Payment.ID)
		m.clock.Add(time.Second)
	}
	m.session(t) // open, and so anonymous
	m.clock.Add(time.Second)
	if _, err := m.co.Refund(t.Context(), m.app, pay.Live, m.paid[0], mad(2500), nil); err != nil {
		t.Fatal(err)
	}
	now := m.clock.Now()
	s := pay.Session{ID: pay.NewID(pay.PrefixSession), ApplicationID: m.app, Environment: pay.Live, Status: pay.SessionInit,
		Amount: money.New(5000, "EUR"), Items: []pay.Item{{Reference: "1", Name: "Cap", UnitPrice: money.New(5000, "EUR"), Quantity: 1}},
		Customer:  pay.Customer{Phone: "+212612345678", VerifiedIdentifier: "+212612345678", VerifiedChannel: "phone"},
		ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}
	if err := st.WithTx(t.Context(), func(tx *store.Tx) error { return tx.CreateSession(t.Context(), s) }); err != nil {
		t.Fatal(err)
	}
	m.phoneSID = s.ID
	return m
}

func (m *moneyViews) query(mod func(*checkout.ListQuery)) checkout.ListQuery {
	q := checkout.ListQuery{ApplicationID: m.app, Environment: pay.Live}
	mod(&q)
	return q
}

func TestMoneyViewQueries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		m := newMoneyViews(t, st)

		// Email in any case and with spaces; the rows carry the customer.
		rows, next, err := m.co.ListPaymentRows(ctx, m.query(func(q *checkout.ListQuery) { q.Email = "  Buyer@Shop.EXAMPLE " }))
		if err != nil || next != "" || len(rows) != 3 {
			t.Fatalf("payments by email: %d rows, %q, %v", len(rows), next, err)
		}
		for i, r := range rows {
			if r.ID != m.paid[2-i] || r.CustomerEmail != "buyer@shop.example" {
				t.Errorf("row %d: %s %q, want %s buyer@shop.example", i, r.ID, r.CustomerEmail, m.paid[2-i])
			}
		}
		// The key-scoped listing is the same rows without the customer.
		ps, _, err := m.co.ListPayments(ctx, m.query(func(q *checkout.ListQuery) { q.Email = "buyer@shop.example" }))
		if err != nil || len(ps) != 3 || ps[0] != rows[0].Payment {
			t.Errorf("ListPayments: %v, %v", ps, err)
		}

		// A phone number in any spelling the OTP flow accepts.
		for _, spelling := range []string{"+212612345678", "00212 6-12-34-56-78", " +212 (6) 12.34.56.78"} {
			ss, _, err := m.co.ListSessions(ctx, m.query(func(q *checkout.ListQuery) { q.Phone = spelling }))
			if err != nil || len(ss) != 1 || ss[0].ID != m.phoneSID {
				t.Errorf("sessions by phone %q: %v, %v", spelling, ss, err)
			}
		}

		// By amount: the EUR session only, not the MAD ones of the same minor units.
		ss, _, err := m.co.ListSessions(ctx, m.query(func(q *checkout.ListQuery) { q.Amount = &money.Amount{Minor: 5000, Currency: "EUR"} }))
		if err != nil || len(ss) != 1 || ss[0].ID != m.phoneSID {
			t.Errorf("sessions of 50.00 EUR: %v, %v", ss, err)
		}

		// Refunds by their payment's session; events by type, with payloads.
		rs, _, err := m.co.ListRefunds(ctx, m.query(func(q *checkout.ListQuery) { q.ID = m.sessions[0] }))
		if err != nil || len(rs) != 1 || rs[0].PaymentID != m.paid[0] || rs[0].Amount != *mad(2500) {
			t.Errorf("refunds of session 1: %+v, %v", rs, err)
		}
		es, _, err := m.co.ListEvents(ctx, m.query(func(q *checkout.ListQuery) { q.Type = pay.EventPaymentCompleted }))
		if err != nil || len(es) != 3 {
			t.Fatalf("payment.completed events: %d, %v", len(es), err)
		}
		var payload pay.EventPayload
		if err := json.Unmarshal(es[0].Payload, &payload); err != nil || payload.PaymentID != m.paid[2] {
			t.Errorf("newest event's payload %s: %v", es[0].Payload, err)
		}
	})
}

// Customers page by key with their own cursor, which no other listing
// takes (nor they another's).
func TestListCustomersPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		m := newMoneyViews(t, st)
		var got []store.Customer
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
			cs, next, err := m.co.ListCustomers(ctx, m.query(func(q *checkout.ListQuery) { q.Limit, q.Cursor = 1, cursor }))
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, cs...)
			if next == "" {
				break
			}
			if _, _, err := m.co.ListPayments(ctx, m.query(func(q *checkout.ListQuery) { q.Cursor = next })); pay.CodeOf(err) != "invalid_cursor" {
				t.Errorf("a customers cursor given to payments: %v, want invalid_cursor", err)
			}
			cursor = next
		}
		keys := []string{}
		for _, c := range got {
			keys = append(keys, c.Key)
		}
		if diff := cmp.Diff([]string{"+212612345678", "buyer@shop.example"}, keys); diff != "" {
			t.Fatalf("customer keys (-want +got):\n%s", diff)
		}
		buyer := got[1]
		want := []store.Paid{{Count: 3, Amount: money.New(30000, "MAD"), Refunded: money.New(2500, "MAD")}}
		if buyer.Sessions != 3 || !cmp.Equal(want, buyer.Paid) {
			t.Errorf("buyer: %d sessions, paid %+v; want 3, %+v", buyer.Sessions, buyer.Paid, want)
		}
		if got[0].Sessions != 1 || got[0].Paid != nil {
			t.Errorf("phone customer: %+v", got[0])
		}
		_, next, err := m.co.ListPayments(ctx, m.query(func(q *checkout.ListQuery) { q.Limit = 1 }))
		if err != nil || next == "" {
			t.Fatal(next, err)
		}
		if _, _, err := m.co.ListCustomers(ctx, m.query(func(q *checkout.ListQuery) { q.Cursor = next })); pay.CodeOf(err) != "invalid_cursor" {
			t.Errorf("a payments cursor given to customers: %v, want invalid_cursor", err)
		}
	})
}

// A filter a listing does not take is refused, never ignored; so are a
// malformed phone and an unknown currency.
func TestListQueryRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		m := &moneyViews{fixture: newFixture(t, st)}
		check := func(name string, err error, code string) {
			t.Helper()
			if pay.KindOf(err) != pay.Invalid || pay.CodeOf(err) != code {
				t.Errorf("%s: %v, want invalid %s", name, err, code)
			}
		}
		_, _, err := m.co.ListRefunds(ctx, m.query(func(q *checkout.ListQuery) { q.Email = "a@b.ma" }))
		check("refunds by email", err, "invalid_filter")
		_, _, err = m.co.ListEvents(ctx, m.query(func(q *checkout.ListQuery) { q.Status = "completed" }))
		check("events by status", err, "invalid_filter")
		_, _, err = m.co.ListCustomers(ctx, m.query(func(q *checkout.ListQuery) { q.Amount = mad(100) }))
		check("customers by amount", err, "invalid_filter")
		_, _, err = m.co.ListPayments(ctx, m.query(func(q *checkout.ListQuery) { q.Type = "payment.completed" }))
		check("payments by event type", err, "invalid_filter")
		_, _, err = m.co.ListSessions(ctx, m.query(func(q *checkout.ListQuery) { q.Phone = "0612345678" }))
		check("a phone without country code", err, "invalid_phone")
		_, _, err = m.co.ListPayments(ctx, m.query(func(q *checkout.ListQuery) { q.Amount = &money.Amount{Minor: 1, Currency: "ZZZ"} }))
		check("an unknown currency", err, checkout.CodeInvalidAmount)
		_, _, err = m.co.ListRefunds(ctx, m.query(func(q *checkout.ListQuery) { q.Status = "completed" }))
		check("a payment status for refunds", err, "invalid_status")
	})
}
