package store_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// moneyFixture lays out the rows the money views search, in application
// app's sandbox, with look-alikes in its live environment and in another
// application that no search may find. Sessions are a second apart and
// attempts a millisecond after their session, so newest-first order is
// known. ids names each row by its role ("s1", "p1b", "r1", "e1a").
type moneyFixture struct {
	app, other pay.Application
	t0         time.Time
	ids        map[string]string
}

const phone = "+212612345678"

func newMoneyFixture(t *testing.T, st *store.Store) *moneyFixture {
	t.Helper()
	ctx := t.Context()
	f := &moneyFixture{app: newApp(t, st), other: newApp(t, st), t0: now, ids: map[string]string{}}
	type payment struct {
		name     string
		status   pay.PaymentStatus
		refunded int64
	}
	type refund struct {
		name, payment, status string
		minor                 int64
	}
	type event struct{ name, typ string }
	rows := []struct {
		name     string
		app      pay.Application
		env      pay.Environment
		amount   money.Amount
		customer pay.Customer
		payments []payment
		refunds  []refund
		events   []event
	}{
		// One customer, ali@shop.ma, in three spellings: as a merchant
		// sent it unverified, and verified.
		{name: "s1", app: f.app, env: pay.Sandbox, amount: mad(79900), customer: pay.Customer{Email: "Ali@Shop.MA"},
			payments: []payment{{"p1a", pay.PaymentFailed, 0}, {"p1b", pay.PaymentCompleted, 10000}},
			refunds:  []refund{{"r1", "p1b", store.RefundSucceeded, 10000}},
			events:   []event{{"e1a", pay.EventSessionCreated}, {"e1b", pay.EventPaymentCompleted}}},
		// Another customer, verified by phone, who gave the same email.
		{name: "s2", app: f.app, env: pay.Sandbox, amount: money.New(5000, "EUR"),
			customer: pay.Customer{Email: "ali@shop.ma", Phone: phone, VerifiedIdentifier: phone, VerifiedChannel: "phone"},
			payments: []payment{{"p2", pay.PaymentCompleted, 0}}},
		{name: "s3", app: f.app, env: pay.Sandbox, amount: mad(79900),
			customer: pay.Customer{Email: "ali@shop.ma", Locked: true, VerifiedIdentifier: "ali@shop.ma", VerifiedChannel: "email"},
			payments: []payment{{"p3", pay.PaymentCompleted, 0}},
			refunds:  []refund{{"r3", "p3", store.RefundPending, 79900}},
			events:   []event{{"e3", pay.EventPaymentCompleted}}},
		// Anonymous: no customer.
		{name: "s4", app: f.app, env: pay.Sandbox, amount: mad(79900)},
		// The phone customer again, unverified this time.
		{name: "s5", app: f.app, env: pay.Sandbox, amount: mad(1000), customer: pay.Customer{Phone: phone},
			payments: []payment{{"p5", pay.PaymentCompleted, 0}}},
		// Look-alikes out of scope.
		{name: "s6", app: f.app, env: pay.Live, amount: mad(79900), customer: pay.Customer{Email: "ali@shop.ma", Phone: phone},
			payments: []payment{{"p6", pay.PaymentCompleted, 0}},
			refunds:  []refund{{"r6", "p6", store.RefundPending, 79900}},
			events:   []event{{"e6", pay.EventPaymentCompleted}}},
		{name: "s7", app: f.other, env: pay.Sandbox, amount: mad(79900),
			customer: pay.Customer{Email: "ali@shop.ma", Phone: phone, VerifiedIdentifier: phone, VerifiedChannel: "phone"},
			payments: []payment{{"p7", pay.PaymentCompleted, 0}},
			refunds:  []refund{{"r7", "p7", store.RefundPending, 79900}},
			events:   []event{{"e7", pay.EventPaymentCompleted}}},
	}
	for i, r := range rows {
		at := f.t0.Add(time.Duration(i) * time.Second)
		s := pay.Session{ID: pay.NewID(pay.PrefixSession), ApplicationID: r.app.ID, Environment: r.env, Status: pay.SessionInit,
			Amount: r.amount, Customer: r.customer, VendorReference: "order-" + r.name,
			Items:     []pay.Item{{Reference: "1", Name: "Thing", UnitPrice: r.amount, Quantity: 1}},
			ExpiresAt: at.Add(time.Hour), CreatedAt: at, UpdatedAt: at}
		f.ids[r.name] = s.ID
		if n := len(r.payments); n > 0 {
			// Where its last attempt left it, as the checkout moves it.
			s.Status = pay.SessionStatus(r.payments[n-1].status)
		}
		err := st.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.CreateSession(ctx, s); err != nil {
				return err
			}
			for j, p := range r.payments {
				pat := at.Add(time.Duration(j+1) * time.Millisecond)
				pm := pay.Payment{ID: pay.NewID(pay.PrefixPayment), SessionID: s.ID, ApplicationID: r.app.ID, Environment: r.env,
					Gateway: "stripe", Method: "card", Status: p.status, Amount: r.amount,
					Refunded: money.New(p.refunded, r.amount.Currency), CreatedAt: pat, UpdatedAt: pat}
				f.ids[p.name] = pm.ID
				if err := tx.CreatePayment(ctx, pm); err != nil {
					return err
				}
			}
			for j, rf := range r.refunds {
				rat := at.Add(time.Duration(100+j) * time.Millisecond)
				id := pay.NewID(pay.PrefixRefund)
				f.ids[rf.name] = id
				if err := tx.CreateRefund(ctx, pay.Refund{ID: id, PaymentID: f.ids[rf.payment], ApplicationID: r.app.ID,
					Environment: r.env, Amount: money.New(rf.minor, r.amount.Currency), Status: rf.status,
					CreatedAt: rat, UpdatedAt: rat}); err != nil {
					return err
				}
			}
			for j, e := range r.events {
				eat := at.Add(time.Duration(200+j) * time.Millisecond)
				id := pay.NewID(pay.PrefixEvent)
				f.ids[e.name] = id
				payload, _ := json.Marshal(map[string]string{"sessionId": s.ID, "name": e.name})
				if _, err := tx.AddEvent(ctx, pay.Event{ID: id, ApplicationID: r.app.ID, Environment: r.env, Type: e.typ,
					SubjectID: s.ID, Payload: payload, CreatedAt: eat}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// names turns ids back into the fixture's names, in the order given.
func (f *moneyFixture) names(ids []string) []string {
	byID := make(map[string]string, len(f.ids))
	for name, id := range f.ids {
		byID[id] = name
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = byID[id]
		if out[i] == "" {
			out[i] = "?" + id
		}
	}
	return out
}

func (f *moneyFixture) filter(mod func(*store.ListFilter)) store.ListFilter {
	lf := store.ListFilter{ApplicationID: f.app.ID, Environment: pay.Sandbox, Limit: 100}
	mod(&lf)
	return lf
}

func amount(minor int64, c money.Currency) *money.Amount { a := money.New(minor, c); return &a }

// Each search finds exactly its rows, newest first, and none of another
// application's or environment's.
func TestMoneyViewSearches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		f := newMoneyFixture(t, st)
		id := f.ids
		tests := []struct {
			name string
			list func(store.ListFilter) ([]string, error)
			mod  func(*store.ListFilter)
			want []string
		}{
			{"payments: all", listPayments(ctx, st), func(*store.ListFilter) {}, []string{"p5", "p3", "p2", "p1b", "p1a"}},
			{"payments: email any case", listPayments(ctx, st), func(l *store.ListFilter) { l.Email = "ALI@shop.MA" }, []string{"p3", "p2", "p1b", "p1a"}},
			{"payments: phone", listPayments(ctx, st), func(l *store.ListFilter) { l.Phone = phone }, []string{"p5", "p2"}},
			{"payments: by session id", listPayments(ctx, st), func(l *store.ListFilter) { l.ID = id["s1"] }, []string{"p1b", "p1a"}},
			{"payments: by own id", listPayments(ctx, st), func(l *store.ListFilter) { l.ID = id["p3"] }, []string{"p3"}},
			{"payments: another environment's id", listPayments(ctx, st), func(l *store.ListFilter) { l.ID = id["p6"] }, nil},
			{"payments: another application's session", listPayments(ctx, st), func(l *store.ListFilter) { l.ID = id["s7"] }, nil},
			{"payments: amount", listPayments(ctx, st), func(l *store.ListFilter) { l.Amount = amount(79900, "MAD") }, []string{"p3", "p1b", "p1a"}},
			{"payments: amount in another currency", listPayments(ctx, st), func(l *store.ListFilter) { l.Amount = amount(79900, "EUR") }, nil},
			{"payments: status", listPayments(ctx, st), func(l *store.ListFilter) { l.Status = "completed" }, []string{"p5", "p3", "p2", "p1b"}},
			{"payments: all filters", listPayments(ctx, st), func(l *store.ListFilter) {
				l.Email, l.Amount, l.Status, l.From = "ali@shop.ma", amount(79900, "MAD"), "completed", f.t0.Add(time.Second)
			}, []string{"p3"}},
			{"payments: email and phone together", listPayments(ctx, st), func(l *store.ListFilter) { l.Email, l.Phone = "ali@shop.ma", phone }, []string{"p2"}},
			{"payments: window", listPayments(ctx, st), func(l *store.ListFilter) { l.From, l.To = f.t0.Add(time.Second), f.t0.Add(3*time.Second) }, []string{"p3", "p2"}},

			{"sessions: email", listSessions(ctx, st), func(l *store.ListFilter) { l.Email = "ali@shop.ma" }, []string{"s3", "s2", "s1"}},
			{"sessions: phone", listSessions(ctx, st), func(l *store.ListFilter) { l.Phone = phone }, []string{"s5", "s2"}},
			{"sessions: by payment id", listSessions(ctx, st), func(l *store.ListFilter) { l.ID = id["p1a"] }, []string{"s1"}},
			{"sessions: by own id", listSessions(ctx, st), func(l *store.ListFilter) { l.ID = id["s4"] }, []string{"s4"}},
			{"sessions: by another application's payment", listSessions(ctx, st), func(l *store.ListFilter) { l.ID = id["p7"] }, nil},
			{"sessions: amount", listSessions(ctx, st), func(l *store.ListFilter) { l.Amount = amount(79900, "MAD") }, []string{"s4", "s3", "s1"}},

			{"refunds: all", listRefunds(ctx, st), func(*store.ListFilter) {}, []string{"r3", "r1"}},
			{"refunds: by session id", listRefunds(ctx, st), func(l *store.ListFilter) { l.ID = id["s1"] }, []string{"r1"}},
			{"refunds: by payment id", listRefunds(ctx, st), func(l *store.ListFilter) { l.ID = id["p3"] }, []string{"r3"}},
			{"refunds: by own id", listRefunds(ctx, st), func(l *store.ListFilter) { l.ID = id["r1"] }, []string{"r1"}},
			{"refunds: another application's", listRefunds(ctx, st), func(l *store.ListFilter) { l.ID = id["r7"] }, nil},
			{"refunds: status", listRefunds(ctx, st), func(l *store.ListFilter) { l.Status = store.RefundPending }, []string{"r3"}},
			{"refunds: amount", listRefunds(ctx, st), func(l *store.ListFilter) { l.Amount = amount(10000, "MAD") }, []string{"r1"}},

			{"events: all", listEvents(ctx, st), func(*store.ListFilter) {}, []string{"e3", "e1b", "e1a"}},
			{"events: type", listEvents(ctx, st), func(l *store.ListFilter) { l.Type = pay.EventPaymentCompleted }, []string{"e3", "e1b"}},
			{"events: subject", listEvents(ctx, st), func(l *store.ListFilter) { l.SubjectID = id["s3"] }, []string{"e3"}},
			{"events: by payment id", listEvents(ctx, st), func(l *store.ListFilter) { l.ID = id["p1a"] }, []string{"e1b", "e1a"}},
			{"events: by own id", listEvents(ctx, st), func(l *store.ListFilter) { l.ID = id["e1a"] }, []string{"e1a"}},
			{"events: another environment's subject", listEvents(ctx, st), func(l *store.ListFilter) { l.ID = id["s6"] }, nil},
		}
		for _, tt := range tests {
			ids, err := tt.list(f.filter(tt.mod))
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.want, f.names(ids)); len(ids)+len(tt.want) > 0 && diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.name, diff)
			}
		}

		// A payment row carries its session's customer.
		rows, err := st.ListPayments(ctx, f.filter(func(l *store.ListFilter) { l.ID = id["p2"] }))
		if err != nil || len(rows) != 1 {
			t.Fatalf("payment p2: %v, %v", rows, err)
		}
		if r := rows[0]; r.CustomerEmail != "ali@shop.ma" || r.CustomerPhone != phone || r.VendorReference != "order-s2" ||
			r.Amount != money.New(5000, "EUR") || r.SessionID != id["s2"] {
			t.Errorf("payment row %+v", r)
		}
		es, err := st.ListEvents(ctx, f.filter(func(l *store.ListFilter) { l.ID = id["e3"] }))
		if err != nil || len(es) != 1 || !json.Valid(es[0].Payload) || es[0].SubjectID != id["s3"] || es[0].Seq != 1 {
			t.Errorf("event e3: %+v, %v", es, err)
		}
	})
}

func listPayments(ctx context.Context, st *store.Store) func(store.ListFilter) ([]string, error) {
	return func(f store.ListFilter) ([]string, error) {
		rows, err := st.ListPayments(ctx, f)
		return idsOf(rows, func(r store.PaymentRow) string { return r.ID }), err
	}
}

func listSessions(ctx context.Context, st *store.Store) func(store.ListFilter) ([]string, error) {
	return func(f store.ListFilter) ([]string, error) {
		rows, err := st.ListSessions(ctx, f)
		return idsOf(rows, func(r pay.Session) string { return r.ID }), err
	}
}

func listRefunds(ctx context.Context, st *store.Store) func(store.ListFilter) ([]string, error) {
	return func(f store.ListFilter) ([]string, error) {
		rows, err := st.ListRefunds(ctx, f)
		return idsOf(rows, func(r store.Refund) string { return r.ID }), err
	}
}

func listEvents(ctx context.Context, st *store.Store) func(store.ListFilter) ([]string, error) {
	return func(f store.ListFilter) ([]string, error) {
		rows, err := st.ListEvents(ctx, f)
		return idsOf(rows, func(r pay.Event) string { return r.ID }), err
	}
}

func idsOf[T any](rows []T, id func(T) string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, id(r))
	}
	return out
}

// Paging through search results one or two rows at a time lists every
// match once, in order.
func TestMoneyViewSearchPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newMoneyFixture(t, st)
		for _, limit := range []int{1, 2} {
			lf := f.filter(func(l *store.ListFilter) { l.Email, l.Limit = "ali@shop.ma", limit })
			var got []string
			for range 10 {
				rows, err := st.ListPayments(t.Context(), lf)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rows {
					got = append(got, r.ID)
				}
				if len(rows) < limit {
					break
				}
				last := rows[len(rows)-1]
				lf.After = store.Position{CreatedAt: last.CreatedAt, ID: last.ID}
			}
			if diff := cmp.Diff([]string{"p3", "p2", "p1b", "p1a"}, f.names(got)); diff != "" {
				t.Errorf("limit %d: pages (-want +got):\n%s", limit, diff)
			}

			cf := f.filter(func(l *store.ListFilter) { l.Limit = limit })
			var keys []string
			for range 10 {
				cs, err := st.ListCustomers(t.Context(), cf)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range cs {
					keys = append(keys, c.Key)
				}
				if len(cs) < limit {
					break
				}
				cf.AfterKey = cs[len(cs)-1].Key
			}
			if diff := cmp.Diff([]string{phone, "ali@shop.ma"}, keys); diff != "" {
				t.Errorf("limit %d: customer pages (-want +got):\n%s", limit, diff)
			}
		}
	})
}

// Customers are derived from sessions by key, with exact paid totals per
// currency, and the filters pick customers, not sessions.
func TestListCustomers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newMoneyFixture(t, st)
		s := func(i int) time.Time { return f.t0.Add(time.Duration(i) * time.Second) }
		phoneCustomer := store.Customer{Key: phone, Email: "ali@shop.ma", Phone: phone, Sessions: 2,
			Paid: []store.Paid{
				{Count: 1, Amount: money.New(5000, "EUR"), Refunded: money.New(0, "EUR")},
				{Count: 1, Amount: money.New(1000, "MAD"), Refunded: money.New(0, "MAD")},
			},
			FirstSeen: s(1), LastSeen: s(4)}
		emailCustomer := store.Customer{Key: "ali@shop.ma", Email: "ali@shop.ma", Sessions: 2,
			// p1a failed and is not counted; p1b is partly refunded.
			Paid:      []store.Paid{{Count: 2, Amount: money.New(159800, "MAD"), Refunded: money.New(10000, "MAD")}},
			FirstSeen: s(0), LastSeen: s(2)}
		tests := []struct {
			name string
			mod  func(*store.ListFilter)
			want []store.Customer
		}{
			{"all", func(*store.ListFilter) {}, []store.Customer{phoneCustomer, emailCustomer}},
			// s2 has the address too: its customer is found, with all its sessions.
			{"email", func(l *store.ListFilter) { l.Email = "Ali@Shop.ma" }, []store.Customer{phoneCustomer, emailCustomer}},
			{"phone", func(l *store.ListFilter) { l.Phone = phone }, []store.Customer{phoneCustomer}},
			{"payment id", func(l *store.ListFilter) { l.ID = f.ids["p3"] }, []store.Customer{emailCustomer}},
			{"session id", func(l *store.ListFilter) { l.ID = f.ids["s5"] }, []store.Customer{phoneCustomer}},
			{"anonymous session", func(l *store.ListFilter) { l.ID = f.ids["s4"] }, nil},
			{"another application's session", func(l *store.ListFilter) { l.ID = f.ids["s7"] }, nil},
			{"window", func(l *store.ListFilter) { l.From = s(2) }, []store.Customer{
				{Key: phone, Phone: phone, Sessions: 1, Paid: []store.Paid{{Count: 1, Amount: money.New(1000, "MAD"), Refunded: money.New(0, "MAD")}},
					FirstSeen: s(4), LastSeen: s(4)},
				{Key: "ali@shop.ma", Email: "ali@shop.ma", Sessions: 1, Paid: []store.Paid{{Count: 1, Amount: money.New(79900, "MAD"), Refunded: money.New(0, "MAD")}},
					FirstSeen: s(2), LastSeen: s(2)},
			}},
		}
		for _, tt := range tests {
			got, err := st.ListCustomers(t.Context(), f.filter(tt.mod))
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.want, got); len(got)+len(tt.want) > 0 && diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.name, diff)
			}
		}
		live, err := st.ListCustomers(t.Context(), store.ListFilter{ApplicationID: f.app.ID, Environment: pay.Live, Limit: 10})
		if err != nil || len(live) != 1 || live[0].Key != "ali@shop.ma" || live[0].Sessions != 1 ||
			!slices.Equal(live[0].Paid, []store.Paid{{Count: 1, Amount: mad(79900), Refunded: mad(0)}}) {
			t.Errorf("live customers: %+v, %v", live, err)
		}
	})
}
