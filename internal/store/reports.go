package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
)

// The reports summary: what the dashboard's overview and the management
// API's reports/summary show of one application environment over a
// period. Every figure is counted in SQL, by COUNT, SUM and GROUP BY over
// the report indexes of payments and sessions (see Summary); Go only
// folds the groups together and fills the empty buckets. The database
// never sees a date: buckets are integer divisions of created_at's
// microseconds, so the same SQL runs on both engines.

// Intervals a summary's series may be cut into.
const (
	IntervalDay  = "day"  // calendar days in the query's Location
	IntervalHour = "hour" // hours starting on the Location's whole hours
)

// maxBuckets bounds a series: a year of days, or about a month of hours,
// fits many times over; more would be a chart nobody can read, built from
// a result of that many groups.
const maxBuckets = 5000

// SummaryQuery selects the payments and sessions a summary counts: those
// of one application environment created in [From, To).
type SummaryQuery struct {
	ApplicationID string
	Environment   pay.Environment
	From, To      time.Time      // created at or after From and before To; From must be before To
	Interval      string         // IntervalDay ("" means day) or IntervalHour
	Location      *time.Location // where days begin; nil is UTC
}

// Summary is the report of a period, currency by currency: amounts in two
// currencies are never added together.
type Summary struct {
	From, To time.Time // the query's period, in UTC
	Interval string    // IntervalDay or IntervalHour
	// Currencies holds one entry per currency with a session or a payment
	// in the period, sorted by code; empty when there are none.
	Currencies []CurrencySummary
}

// CurrencySummary is a summary's figures in one currency. Payments are
// counted in the period they were created in, by the status they have
// now: a payment made on the 1st and refunded on the 5th is a refunded
// payment of the 1st.
type CurrencySummary struct {
	Currency money.Currency
	// ByStatus has a tally for each payment status that occurs, and no
	// entry for the others.
	ByStatus map[pay.PaymentStatus]Tally
	// Paid tallies the payments that were charged: completed and
	// refunded ones (a refunded payment was paid first). The amount is
	// what was charged, before any refund.
	Paid Tally
	// Refunded is the sum of the succeeded refunds of the period's
	// payments (see refundedMinor for where it is read from); pending and
	// failed refunds do not count. Paid.Amount minus Refunded is what the
	// merchant kept.
	Refunded    money.Amount
	SuccessRate SuccessRate
	// Series has one bucket per interval of the period, empty ones
	// included, in time order.
	Series    []Bucket
	Funnel    Funnel
	ByGateway []Breakdown // sorted by gateway name
	ByMethod  []Breakdown // sorted by method; "" is an attempt stored without one
}

// Tally is a number of payments and the sum of their amounts.
type Tally struct {
	Count  int64
	Amount money.Amount
}

// SuccessRate is the share of decided attempts that were paid: Paid
// (completed or refunded payments) over Attempts, which is Paid plus the
// failed ones. Attempts still open (pending, requires_action) or that
// ended without a decision (cancelled, expired) count in neither: they
// say nothing about whether the gateway accepts the shopper's payment.
// Rate is Paid/Attempts for display, 0 when there were no attempts; use
// the two integers for anything exact.
type SuccessRate struct {
	Paid     int64
	Attempts int64
	Rate     float64
}

// Bucket is one interval of a series.
type Bucket struct {
	// Start is where the interval begins, in UTC. The first bucket starts
	// at the beginning of the day (or hour) From falls in, which may be
	// before From; payments before From are not counted in it.
	Start    time.Time
	Paid     Tally                       // completed and refunded payments created in the interval
	ByStatus map[pay.PaymentStatus]int64 // how many payments of each status; no entry for a status with none
}

// Funnel follows the period's sessions: how many were opened (created in
// the period), how many of those had a customer proving an email address
// or phone number, and how many were paid (completed, or refunded after
// being paid). Each stage is counted on its own, so Paid exceeds Verified
// when sessions are paid without a verified customer.
type Funnel struct {
	Opened   int64
	Verified int64
	Paid     int64
}

// Breakdown is the payments of one gateway, or of one method.
type Breakdown struct {
	Name  string // the gateway ("stripe") or the method ("card")
	Count int64  // payments of every status
	Paid  Tally  // completed and refunded ones
}

// paid reports whether a payment in status s was charged.
func paid(s pay.PaymentStatus) bool { return s == pay.PaymentCompleted || s == pay.PaymentRefunded }

// Summary reports on q's period. All its statements run in one read-only
// transaction (a snapshot: REPEATABLE READ on PostgreSQL, one WAL read
// transaction on SQLite), so a payment that changes status meanwhile is
// counted once, in one status.
//
// How it is counted: SQLite groups by sorting, and sorting every payment
// of the period on its text columns took a quarter of a second for
// 100 000 payments. So the payments_report index (migration 00014)
// orders payments by application, environment, currency, status,
// gateway, method and then created_at, and Summary walks it one group
// (currency, status, gateway, method) at a time: an index seek finds the
// next group, and a range scan of that group's payments in the period
// sums them per calendar unit, a sort on one integer over few rows.
// Every payment of the period is read once, from the index alone;
// payments outside the period are not read at all. The sessions_report
// index does the same for the funnel, per currency and session status.
//
// The refunded amount is the sum of payments.refunded_minor, not a sum
// over the refunds table. The two agree by construction: a refund's
// success and its addition to refunded_minor are written in one
// transaction (checkout's settlement, through AddRefunded), and the
// column's CHECK keeps it within the amount charged. The column counts
// exactly the succeeded refunds of the payments the rest of the summary
// counts, in the same index scan, with no join on refunds (which has no
// index by application and time) and no question of which of a refund's
// times places it in the period.
func (s *Store) Summary(ctx context.Context, q SummaryQuery) (Summary, error) {
	if !q.Environment.Valid() {
		return Summary{}, pay.Errorf(pay.Invalid, "invalid_environment", "environment must be sandbox or live")
	}
	if !q.From.Before(q.To) {
		return Summary{}, pay.Errorf(pay.Invalid, "invalid_date_range", "from must be before to")
	}
	if q.Interval == "" {
		q.Interval = IntervalDay
	}
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	cal, err := newCalendar(q.From, q.To, q.Interval, loc)
	if err != nil {
		return Summary{}, err
	}
	// The payments' walk and the sessions' (the funnel) run side by side,
	// each in a read-only transaction of its own on its own connection: a
	// payment settled between the two snapshots may count in one and not
	// yet in the other, which a report of a period can bear.
	run := func(walk func(*summaryRun, context.Context) error) (*summaryRun, error) {
		tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
		if err != nil {
			return nil, wrap("summary", err)
		}
		defer tx.Rollback() // read only: nothing to commit
		r := &summaryRun{q: txQuerier{tx: tx, cache: s.readStmts}, app: q.ApplicationID, env: string(q.Environment),
			from: toDB(q.From), to: toDB(q.To), cal: cal, currencies: make(map[money.Currency]*currencyRun)}
		return r, walk(r, ctx)
	}
	var funnel *summaryRun
	var funnelErr error
	var wg sync.WaitGroup
	wg.Go(func() { funnel, funnelErr = run((*summaryRun).sessions) })
	r, err := run((*summaryRun).payments)
	wg.Wait()
	if err = errors.Join(err, funnelErr); err != nil {
		return Summary{}, err
	}
	for code, c := range funnel.currencies {
		r.currency(string(code)).Funnel = c.Funnel
	}
	if s.readStmts != nil {
		// The transaction could only look its statements up; prepare
		// them for the next summary, now that it holds no connection.
		s.readStmts.prepareMissing(ctx)
	}

	sum := Summary{From: q.From.UTC(), To: q.To.UTC(), Interval: q.Interval}
	for _, c := range r.currencies {
		cs := c.CurrencySummary
		if cs.SuccessRate.Attempts > 0 {
			cs.SuccessRate.Rate = float64(cs.SuccessRate.Paid) / float64(cs.SuccessRate.Attempts)
		}
		cs.ByGateway, cs.ByMethod = sorted(c.gateways), sorted(c.methods)
		sum.Currencies = append(sum.Currencies, cs)
	}
	slices.SortFunc(sum.Currencies, func(a, b CurrencySummary) int { return cmp.Compare(a.Currency, b.Currency) })
	return sum, nil
}

// summaryRun is one Summary being counted.
type summaryRun struct {
	q          querier
	app, env   string
	from, to   int64 // the period, in µs
	cal        calendar
	currencies map[money.Currency]*currencyRun
}

// currencyRun is a currency's summary being counted, with its breakdowns
// by name.
type currencyRun struct {
	CurrencySummary
	gateways, methods map[string]*Breakdown
}

func (r *summaryRun) currency(code string) *currencyRun {
	c := money.Currency(code)
	cr := r.currencies[c]
	if cr == nil {
		cr = &currencyRun{CurrencySummary: newCurrencySummary(c, r.cal),
			gateways: make(map[string]*Breakdown), methods: make(map[string]*Breakdown)}
		r.currencies[c] = cr
	}
	return cr
}

// The walk over payments_report. The first group is the smallest key of
// the application environment, each next one the smallest greater than
// the last; groups seen only outside the period sum to no rows. The next
// group is sought past the last one's greatest possible created_at ($7,
// the largest int64): compared on the four columns alone, SQLite seeks
// to the last group's first row and steps over every row of it.
const (
	firstPaymentGroup = `SELECT currency, status, gateway, method FROM payments
		WHERE application_id = $1 AND environment = $2
		ORDER BY currency, status, gateway, method LIMIT 1`
	nextPaymentGroup = `SELECT currency, status, gateway, method FROM payments
		WHERE application_id = $1 AND environment = $2
		  AND (currency, status, gateway, method, created_at) > ($3, $4, $5, $6, $7)
		ORDER BY currency, status, gateway, method, created_at LIMIT 1`
	paymentGroupUnits = `SELECT (created_at - $7) / $8 AS unit, COUNT(*), CAST(SUM(amount_minor) AS BIGINT), CAST(SUM(refunded_minor) AS BIGINT)
		FROM payments
		WHERE application_id = $1 AND environment = $2 AND currency = $3 AND status = $4 AND gateway = $5 AND method = $6
		  AND created_at >= $9 AND created_at < $10
		GROUP BY unit`
)

func (r *summaryRun) payments(ctx context.Context) error {
	var g paymentGroup
	row := r.q.QueryRowContext(ctx, firstPaymentGroup, r.app, r.env)
	for {
		err := row.Scan(&g.currency, &g.status, &g.gateway, &g.method)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return wrap("summary payments", err)
		}
		rows, err := r.q.QueryContext(ctx, paymentGroupUnits, r.app, r.env, g.currency, g.status, g.gateway, g.method,
			r.cal.origin, r.cal.unit, r.from, r.to)
		units, err := collect(rows, err, "summary payments", func(rows *sql.Rows) (paymentGroup, error) {
			u := g
			return u, rows.Scan(&u.unit, &u.count, &u.amount, &u.refunded)
		})
		if err != nil {
			return err
		}
		for _, u := range units {
			if err := r.add(u); err != nil {
				return err
			}
		}
		row = r.q.QueryRowContext(ctx, nextPaymentGroup, r.app, r.env, g.currency, g.status, g.gateway, g.method, int64(math.MaxInt64))
	}
}

func (r *summaryRun) add(g paymentGroup) error {
	i, ok := r.cal.bucket(g.unit)
	if !ok {
		return fmt.Errorf("store: summary: unit %d lies outside the period", g.unit)
	}
	c := r.currency(g.currency)
	err := c.add(g, &c.Series[i], breakdown(c.gateways, g.gateway, c.Currency), breakdown(c.methods, g.method, c.Currency))
	if err != nil {
		return fmt.Errorf("store: summary: %s: %w", c.Currency, err)
	}
	return nil
}

// The walk over sessions_report, the same way: group by group (currency,
// status), each counted over the period's range of the index. A
// group's status is known, so no row's status is compared in SQL.
const (
	firstSessionGroup = `SELECT currency, status FROM sessions WHERE application_id = $1 AND environment = $2
		ORDER BY currency, status LIMIT 1`
	nextSessionGroup = `SELECT currency, status FROM sessions WHERE application_id = $1 AND environment = $2
		  AND (currency, status, created_at) > ($3, $4, $5)
		ORDER BY currency, status, created_at LIMIT 1`
	sessionGroupCount = `SELECT COUNT(*), COUNT(NULLIF(verified_identifier, '')) FROM sessions
		WHERE application_id = $1 AND environment = $2 AND currency = $3 AND status = $4
		  AND created_at >= $5 AND created_at < $6`
)

func (r *summaryRun) sessions(ctx context.Context) error {
	var code, status string
	row := r.q.QueryRowContext(ctx, firstSessionGroup, r.app, r.env)
	for {
		err := row.Scan(&code, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return wrap("summary sessions", err)
		}
		var opened, verified int64
		err = r.q.QueryRowContext(ctx, sessionGroupCount, r.app, r.env, code, status, r.from, r.to).Scan(&opened, &verified)
		if err != nil {
			return wrap("summary sessions", err)
		}
		if opened > 0 {
			f := &r.currency(code).Funnel
			f.Opened += opened
			f.Verified += verified
			if st := pay.SessionStatus(status); st == pay.SessionCompleted || st == pay.SessionRefunded {
				f.Paid += opened
			}
		}
		row = r.q.QueryRowContext(ctx, nextSessionGroup, r.app, r.env, code, status, int64(math.MaxInt64))
	}
}

// paymentGroup is one row of the summary's payment query.
type paymentGroup struct {
	currency, status, gateway, method string
	unit, count, amount, refunded     int64
}

func newCurrencySummary(c money.Currency, cal calendar) CurrencySummary {
	cs := CurrencySummary{
		Currency: c, ByStatus: make(map[pay.PaymentStatus]Tally),
		Paid: Tally{Amount: money.New(0, c)}, Refunded: money.New(0, c),
		Series: make([]Bucket, len(cal.starts)),
	}
	for i, start := range cal.starts {
		cs.Series[i] = Bucket{Start: fromDB(start), Paid: Tally{Amount: money.New(0, c)}, ByStatus: make(map[pay.PaymentStatus]int64)}
	}
	return cs
}

// add counts a group of payments in cs, in its bucket b and in its
// gateway's and method's breakdowns. Sums are checked: an amount past
// int64 is an error, never a wrapped-around figure.
func (cs *CurrencySummary) add(g paymentGroup, b *Bucket, gw, method *Breakdown) error {
	st := pay.PaymentStatus(g.status)
	amount := money.New(g.amount, cs.Currency)
	t := cs.ByStatus[st]
	if t.Amount.Currency == "" {
		t.Amount = money.New(0, cs.Currency)
	}
	if err := t.add(g.count, amount); err != nil {
		return err
	}
	cs.ByStatus[st] = t
	b.ByStatus[st] += g.count
	gw.Count += g.count
	method.Count += g.count
	var err error
	if cs.Refunded, err = cs.Refunded.Add(money.New(g.refunded, cs.Currency)); err != nil {
		return err
	}
	switch {
	case paid(st):
		cs.SuccessRate.Paid += g.count
		cs.SuccessRate.Attempts += g.count
		for _, t := range []*Tally{&cs.Paid, &b.Paid, &gw.Paid, &method.Paid} {
			if err := t.add(g.count, amount); err != nil {
				return err
			}
		}
	case st == pay.PaymentFailed:
		cs.SuccessRate.Attempts += g.count
	}
	return nil
}

func (t *Tally) add(n int64, a money.Amount) error {
	sum, err := t.Amount.Add(a)
	if err != nil {
		return err
	}
	t.Count, t.Amount = t.Count+n, sum
	return nil
}

// breakdown is m's entry for name, created empty if need be.
func breakdown(m map[string]*Breakdown, name string, c money.Currency) *Breakdown {
	b := m[name]
	if b == nil {
		b = &Breakdown{Name: name, Paid: Tally{Amount: money.New(0, c)}}
		m[name] = b
	}
	return b
}

func sorted(m map[string]*Breakdown) []Breakdown {
	out := make([]Breakdown, 0, len(m))
	for _, b := range m {
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b Breakdown) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// calendar is a period cut into days or hours of a location, as
// microseconds since the Unix epoch.
//
// Buckets need not be equally long: a day is 23 or 25 hours when the
// clocks change (twice a year in Europe, around Ramadan in Morocco). So
// the database groups by a unit that divides every bucket, the greatest
// common divisor of the boundaries' distances from origin (a day in UTC
// or a fixed offset, an hour across a change of one hour), and Go adds
// the units up into their buckets.
type calendar struct {
	origin int64   // where the first bucket starts; at or before the period's start
	unit   int64   // the grouping unit, > 0; every boundary is origin plus a multiple of it
	starts []int64 // where each bucket starts, starts[0] == origin
}

func newCalendar(from, to time.Time, interval string, loc *time.Location) (calendar, error) {
	f := from.In(loc)
	var boundary func(i int) time.Time
	switch interval {
	case IntervalDay:
		y, m, d := f.Date()
		boundary = func(i int) time.Time { return time.Date(y, m, d+i, 0, 0, 0, 0, loc) }
	case IntervalHour:
		start := f.Add(-(time.Duration(f.Minute())*time.Minute + time.Duration(f.Second())*time.Second + time.Duration(f.Nanosecond())))
		boundary = func(i int) time.Time { return start.Add(time.Duration(i) * time.Hour) }
	default:
		return calendar{}, pay.Errorf(pay.Invalid, "invalid_interval", "interval must be %s or %s", IntervalDay, IntervalHour)
	}
	var c calendar
	for i := 0; ; i++ {
		b := boundary(i)
		if i == 0 && b.After(from) {
			// A midnight the clocks skipped: the day starts later than it
			// would, but its bucket must still hold From.
			b = from
		}
		if !b.Before(to) {
			c.unit = gcd(c.unit, toDB(b)-c.origin)
			break
		}
		if len(c.starts) == maxBuckets {
			return calendar{}, pay.Errorf(pay.Invalid, "invalid_date_range", "the period holds more than %d intervals (%s)", maxBuckets, interval)
		}
		us := toDB(b)
		if i == 0 {
			c.origin = us
		} else {
			c.unit = gcd(c.unit, us-c.origin)
		}
		c.starts = append(c.starts, us)
	}
	return c, nil
}

// bucket is the index of the bucket holding the payments grouped under
// unit u.
func (c calendar) bucket(u int64) (int, bool) {
	at := c.origin + u*c.unit
	i := sort.Search(len(c.starts), func(i int) bool { return c.starts[i] > at }) - 1
	return i, i >= 0 && u >= 0
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
