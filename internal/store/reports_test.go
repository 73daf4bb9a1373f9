package store_test

import (
	"testing"
	"time"
	_ "time/tzdata" // Europe/Paris for the clock-change case, whatever the machine has installed

	"github.com/google/go-cmp/cmp"

	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// seedPayment describes one session and, unless status is "", its one
// payment attempt, both created at the same instant.
type seedPayment struct {
	app      pay.Application
	env      pay.Environment
	at       time.Time
	amount   money.Amount
	session  pay.SessionStatus
	verified bool
	status   pay.PaymentStatus // "" for a session without a payment
	gateway  string
	method   string
	// refunds are amounts refunded, each settled as refundStatus says.
	refunds []seedRefund
}

type seedRefund struct {
	minor  int64
	status string // store.RefundPending, RefundSucceeded or RefundFailed
}

// seed stores sp through the store's own writes, the way checkout does:
// a payment is inserted completed, and becomes refunded only through
// refunds that succeed in full.
func seed(t *testing.T, st *store.Store, sp seedPayment) {
	t.Helper()
	ctx := t.Context()
	env := sp.env
	if env == "" {
		env = pay.Sandbox
	}
	sess := pay.Session{ID: pay.NewID(pay.PrefixSession), ApplicationID: sp.app.ID, Environment: env, Status: sp.session,
		Amount: sp.amount, ExpiresAt: sp.at.Add(time.Hour), CreatedAt: sp.at, UpdatedAt: sp.at,
		Items: []pay.Item{{Reference: "1", Name: "Thing", UnitPrice: sp.amount, Quantity: 1}}}
	if sp.verified {
		sess.Customer = pay.Customer{Email: "a@example.com", VerifiedIdentifier: "a@example.com", VerifiedChannel: "email"}
	}
	err := st.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateSession(ctx, sess); err != nil {
			return err
		}
		if sp.status == "" {
			return nil
		}
		inserted := sp.status
		if inserted == pay.PaymentRefunded {
			inserted = pay.PaymentCompleted
		}
		p := pay.Payment{ID: pay.NewID(pay.PrefixPayment), SessionID: sess.ID, ApplicationID: sp.app.ID, Environment: env,
			Gateway: sp.gateway, Method: sp.method, Status: inserted, Amount: sp.amount, Refunded: money.New(0, sp.amount.Currency),
			CreatedAt: sp.at, UpdatedAt: sp.at}
		if err := tx.CreatePayment(ctx, p); err != nil {
			return err
		}
		var refunded int64
		for _, r := range sp.refunds {
			ref := pay.Refund{ID: pay.NewID(pay.PrefixRefund), PaymentID: p.ID, ApplicationID: sp.app.ID, Environment: env,
				Amount: money.New(r.minor, sp.amount.Currency), Status: store.RefundPending, CreatedAt: sp.at, UpdatedAt: sp.at}
			if err := tx.CreateRefund(ctx, ref); err != nil {
				return err
			}
			if r.status == store.RefundPending {
				continue
			}
			if err := tx.SettleRefund(ctx, ref.ID, r.status, "re_1", "", "", sp.at); err != nil {
				return err
			}
			if r.status == store.RefundSucceeded {
				if err := tx.AddRefunded(ctx, p.ID, r.minor, sp.at); err != nil {
					return err
				}
				refunded += r.minor
			}
		}
		if sp.status == pay.PaymentRefunded {
			if refunded != sp.amount.Minor {
				t.Fatalf("a refunded payment of %d with %d refunded", sp.amount.Minor, refunded)
			}
			return tx.SetPaymentStatus(ctx, p.ID, pay.PaymentCompleted, pay.PaymentRefunded, sp.at)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func kwd(minor int64) money.Amount { return money.New(minor, "KWD") }

func tally(n int64, a money.Amount) store.Tally { return store.Tally{Count: n, Amount: a} }

func day(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, time.UTC) }

func TestSummary(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		app, other := newApp(t, st), newApp(t, st)
		last := day(3, 23, 59).Add(59*time.Second + 999999*time.Microsecond) // the period's last microsecond
		for _, sp := range []seedPayment{
			// MAD, on the 1st and 3rd; the 2nd has a session and no payment.
			{at: day(1, 10, 0), amount: mad(10000), session: pay.SessionCompleted, verified: true, status: pay.PaymentCompleted, gateway: "stripe", method: "card"},
			{at: day(1, 11, 0), amount: mad(5000), session: pay.SessionFailed, verified: true, status: pay.PaymentFailed, gateway: "stripe", method: "card"},
			{at: day(2, 12, 0), amount: mad(800), session: pay.SessionInit},
			{at: day(3, 9, 0), amount: mad(20000), session: pay.SessionCompleted, verified: true, status: pay.PaymentCompleted, gateway: "paypal", method: "paypal",
				refunds: []seedRefund{{5000, store.RefundSucceeded}, {1000, store.RefundPending}, {2000, store.RefundFailed}}},
			{at: last, amount: mad(7500), session: pay.SessionRefunded, verified: true, status: pay.PaymentRefunded, gateway: "stripe", method: "card",
				refunds: []seedRefund{{2500, store.RefundSucceeded}, {5000, store.RefundSucceeded}}},
			{at: day(3, 12, 0), amount: mad(3000), session: pay.SessionPending, status: pay.PaymentPending, gateway: "stripe", method: "card"},
			// KWD has three decimals, all on the 2nd.
			{at: day(2, 8, 0), amount: kwd(12345), session: pay.SessionCompleted, verified: true, status: pay.PaymentCompleted, gateway: "myfatoorah", method: "knet"},
			{at: day(2, 9, 0), amount: kwd(1500), session: pay.SessionFailed, verified: true, status: pay.PaymentFailed, gateway: "myfatoorah", method: "card"},
			{at: day(2, 10, 0), amount: kwd(1000), session: pay.SessionCancelled, status: pay.PaymentCancelled, gateway: "myfatoorah", method: "knet"},
			// USD has a session and no payment.
			{at: day(3, 1, 0), amount: money.New(500, "USD"), session: pay.SessionExpired, verified: true},
			// Not counted: before the period, at its (excluded) end, another
			// application's, another environment's.
			{at: day(1, 0, 0).Add(-time.Microsecond), amount: mad(111), session: pay.SessionCompleted, verified: true, status: pay.PaymentCompleted, gateway: "stripe", method: "card"},
			{at: day(4, 0, 0), amount: mad(222), session: pay.SessionCompleted, verified: true, status: pay.PaymentCompleted, gateway: "moyasar", method: "applepay"},
			{app: other, at: day(2, 0, 0), amount: mad(333), session: pay.SessionCompleted, verified: true, status: pay.PaymentCompleted, gateway: "stripe", method: "card"},
			{env: pay.Live, at: day(2, 0, 0), amount: kwd(444), session: pay.SessionCompleted, verified: true, status: pay.PaymentCompleted, gateway: "stripe", method: "card"},
		} {
			if sp.app.ID == "" {
				sp.app = app
			}
			seed(t, st, sp)
		}

		got, err := st.Summary(t.Context(), store.SummaryQuery{ApplicationID: app.ID, Environment: pay.Sandbox,
			From: day(1, 0, 0), To: day(4, 0, 0), Interval: store.IntervalDay})
		if err != nil {
			t.Fatal(err)
		}
		usd := func(minor int64) money.Amount { return money.New(minor, "USD") }
		noneMAD, noneKWD, noneUSD := tally(0, mad(0)), tally(0, kwd(0)), tally(0, usd(0))
		want := store.Summary{From: day(1, 0, 0), To: day(4, 0, 0), Interval: store.IntervalDay, Currencies: []store.CurrencySummary{{
			Currency: "KWD",
			ByStatus: map[pay.PaymentStatus]store.Tally{
				pay.PaymentCompleted: tally(1, kwd(12345)), pay.PaymentFailed: tally(1, kwd(1500)), pay.PaymentCancelled: tally(1, kwd(1000)),
			},
			Paid:        tally(1, kwd(12345)),
			Refunded:    kwd(0),
			SuccessRate: store.SuccessRate{Paid: 1, Attempts: 2, Rate: 0.5}, // the cancelled attempt decided nothing
			Series: []store.Bucket{
				{Start: day(1, 0, 0), Paid: noneKWD, ByStatus: map[pay.PaymentStatus]int64{}},
				{Start: day(2, 0, 0), Paid: tally(1, kwd(12345)), ByStatus: map[pay.PaymentStatus]int64{
					pay.PaymentCompleted: 1, pay.PaymentFailed: 1, pay.PaymentCancelled: 1}},
				{Start: day(3, 0, 0), Paid: noneKWD, ByStatus: map[pay.PaymentStatus]int64{}},
			},
			Funnel:    store.Funnel{Opened: 3, Verified: 2, Paid: 1},
			ByGateway: []store.Breakdown{{Name: "myfatoorah", Count: 3, Paid: tally(1, kwd(12345))}},
			ByMethod:  []store.Breakdown{{Name: "card", Count: 1, Paid: noneKWD}, {Name: "knet", Count: 2, Paid: tally(1, kwd(12345))}},
		}, {
			Currency: "MAD",
			ByStatus: map[pay.PaymentStatus]store.Tally{
				pay.PaymentCompleted: tally(2, mad(30000)), pay.PaymentRefunded: tally(1, mad(7500)),
				pay.PaymentFailed: tally(1, mad(5000)), pay.PaymentPending: tally(1, mad(3000)),
			},
			Paid:        tally(3, mad(37500)), // a refunded payment was paid
			Refunded:    mad(5000 + 2500 + 5000),
			SuccessRate: store.SuccessRate{Paid: 3, Attempts: 4, Rate: 0.75},
			Series: []store.Bucket{
				{Start: day(1, 0, 0), Paid: tally(1, mad(10000)), ByStatus: map[pay.PaymentStatus]int64{pay.PaymentCompleted: 1, pay.PaymentFailed: 1}},
				{Start: day(2, 0, 0), Paid: noneMAD, ByStatus: map[pay.PaymentStatus]int64{}},
				{Start: day(3, 0, 0), Paid: tally(2, mad(27500)), ByStatus: map[pay.PaymentStatus]int64{
					pay.PaymentCompleted: 1, pay.PaymentRefunded: 1, pay.PaymentPending: 1}},
			},
			Funnel: store.Funnel{Opened: 6, Verified: 4, Paid: 3},
			ByGateway: []store.Breakdown{
				{Name: "paypal", Count: 1, Paid: tally(1, mad(20000))},
				{Name: "stripe", Count: 4, Paid: tally(2, mad(17500))},
			},
			ByMethod: []store.Breakdown{
				{Name: "card", Count: 4, Paid: tally(2, mad(17500))},
				{Name: "paypal", Count: 1, Paid: tally(1, mad(20000))},
			},
		}, {
			Currency: "USD", ByStatus: map[pay.PaymentStatus]store.Tally{}, Paid: noneUSD, Refunded: usd(0),
			Series: []store.Bucket{
				{Start: day(1, 0, 0), Paid: noneUSD, ByStatus: map[pay.PaymentStatus]int64{}},
				{Start: day(2, 0, 0), Paid: noneUSD, ByStatus: map[pay.PaymentStatus]int64{}},
				{Start: day(3, 0, 0), Paid: noneUSD, ByStatus: map[pay.PaymentStatus]int64{}},
			},
			Funnel:    store.Funnel{Opened: 1, Verified: 1},
			ByGateway: []store.Breakdown{}, ByMethod: []store.Breakdown{},
		}}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("summary (-want +got):\n%s", diff)
		}

		// A period with nothing in it has no currencies.
		got, err = st.Summary(t.Context(), store.SummaryQuery{ApplicationID: app.ID, Environment: pay.Sandbox,
			From: day(10, 0, 0), To: day(12, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(store.Summary{From: day(10, 0, 0), To: day(12, 0, 0), Interval: store.IntervalDay}, got); diff != "" {
			t.Errorf("empty period (-want +got):\n%s", diff)
		}

		// The other environment sees only its own payment.
		got, err = st.Summary(t.Context(), store.SummaryQuery{ApplicationID: app.ID, Environment: pay.Live,
			From: day(1, 0, 0), To: day(4, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Currencies) != 1 || got.Currencies[0].Currency != "KWD" || got.Currencies[0].Paid != tally(1, kwd(444)) {
			t.Errorf("live summary: %+v", got.Currencies)
		}
	})
}

// Days are calendar days of the query's location, 23 or 25 hours long
// when the clocks change; hours split a period the same way.
func TestSummaryBuckets(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	local := func(d, h, m int) time.Time { return time.Date(2026, 10, d, h, m, 0, 0, paris) }
	utc := func(d int) time.Time { return time.Date(2026, 10, d, 0, 0, 0, 0, time.UTC) }
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		app := newApp(t, st)
		// France goes back from UTC+2 to UTC+1 at 03:00 on 25 October 2026.
		for _, at := range []time.Time{
			local(24, 0, 30),  // 23 October 22:30 UTC: the 24th in Paris
			local(25, 23, 30), // 25 October 22:30 UTC: still the 25th, a day of 25 hours
			local(26, 0, 30),  // 25 October 23:30 UTC: the 26th
			local(26, 1, 10),
		} {
			seed(t, st, seedPayment{app: app, at: at.UTC(), amount: mad(100), session: pay.SessionCompleted,
				status: pay.PaymentCompleted, gateway: "stripe", method: "card"})
		}
		for _, c := range []struct {
			name     string
			q        store.SummaryQuery
			starts   []time.Time
			paidEach []int64
		}{
			{"paris days", store.SummaryQuery{From: local(24, 0, 0), To: local(27, 0, 0), Location: paris},
				[]time.Time{local(24, 0, 0), local(25, 0, 0), local(26, 0, 0)}, []int64{1, 1, 2}},
			{"utc days", store.SummaryQuery{From: utc(24), To: utc(27)},
				[]time.Time{utc(24), utc(25), utc(26)}, []int64{0, 2, 1}},
			// The first bucket starts at the day From falls in.
			{"from mid-day", store.SummaryQuery{From: local(25, 12, 0), To: local(26, 1, 0), Location: paris},
				[]time.Time{local(25, 0, 0), local(26, 0, 0)}, []int64{1, 1}},
			{"hours", store.SummaryQuery{From: local(26, 0, 15), To: local(26, 2, 0), Interval: store.IntervalHour, Location: paris},
				[]time.Time{local(26, 0, 0), local(26, 1, 0)}, []int64{1, 1}},
		} {
			t.Run(c.name, func(t *testing.T) {
				c.q.ApplicationID, c.q.Environment = app.ID, pay.Sandbox
				got, err := st.Summary(t.Context(), c.q)
				if err != nil {
					t.Fatal(err)
				}
				if len(got.Currencies) != 1 {
					t.Fatalf("currencies: %+v", got.Currencies)
				}
				var starts []time.Time
				var paid []int64
				for _, b := range got.Currencies[0].Series {
					starts, paid = append(starts, b.Start), append(paid, b.Paid.Count)
				}
				for i := range c.starts {
					c.starts[i] = c.starts[i].UTC()
				}
				if diff := cmp.Diff(c.starts, starts); diff != "" {
					t.Errorf("bucket starts (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(c.paidEach, paid); diff != "" {
					t.Errorf("paid per bucket (-want +got):\n%s", diff)
				}
			})
		}
	})
}

func TestSummaryRefusesBadQueries(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	ok := store.SummaryQuery{ApplicationID: "app_x", Environment: pay.Sandbox, From: day(1, 0, 0), To: day(2, 0, 0)}
	for _, c := range []struct {
		name string
		edit func(*store.SummaryQuery)
		code string
	}{
		{"empty period", func(q *store.SummaryQuery) { q.To = q.From }, "invalid_date_range"},
		{"reversed period", func(q *store.SummaryQuery) { q.From, q.To = q.To, q.From }, "invalid_date_range"},
		{"week interval", func(q *store.SummaryQuery) { q.Interval = "week" }, "invalid_interval"},
		{"no environment", func(q *store.SummaryQuery) { q.Environment = "" }, "invalid_environment"},
		{"too many hours", func(q *store.SummaryQuery) { q.Interval, q.To = store.IntervalHour, q.From.AddDate(1, 0, 0) }, "invalid_date_range"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := ok
			c.edit(&q)
			_, err := st.Summary(t.Context(), q)
			if pay.KindOf(err) != pay.Invalid || pay.CodeOf(err) != c.code {
				t.Errorf("err = %v, want Invalid %s", err, c.code)
			}
		})
	}
	if _, err := st.Summary(t.Context(), ok); err != nil {
		t.Errorf("a good query: %v", err)
	}
}

// BenchmarkSummary100k times a 30-day summary of an application with
// 100 000 payments (each on its own session) on the embedded store:
//
//	go test -run '^$' -bench Summary100k -benchtime 20x ./internal/store/
func BenchmarkSummary100k(b *testing.B) {
	st := storetest.Open(b, store.SQLite)
	app := newApp(b, st)
	from := day(1, 0, 0)
	storetest.SeedPayments(b, st, app.ID, from, 30*24*time.Hour, 100_000)
	ctx := b.Context()
	q := store.SummaryQuery{ApplicationID: app.ID, Environment: pay.Sandbox, From: from, To: from.AddDate(0, 0, 30), Interval: store.IntervalDay}
	for b.Loop() {
		sum, err := st.Summary(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		if len(sum.Currencies) != 2 || sum.Currencies[1].ByStatus[pay.PaymentCompleted].Count == 0 {
			b.Fatalf("summary: %+v", sum.Currencies)
		}
	}
}
