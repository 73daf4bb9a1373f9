package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/csvexport"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// The management API's money views (MANAGEMENT.md): an application
// environment's payments, sessions, refunds, customers and events, each
// searchable and exportable as CSV; a payment's detail and its refunds;
// and the reports summary. Reads and the refund go through the same
// checkout calls as the key-scoped merchant API, so both surfaces show
// and refund alike; only who may call differs (managementRoutes).

// manageQuery reads a money view's filters: the merchant API's (status,
// created_from, created_to, limit, cursor) and the searches id, email,
// phone, amount (a decimal string, with currency), type and subject_id.
// A search the listing does not take is refused by the listing
// (invalid_filter), never ignored.
func manageQuery(r *http.Request, c *caller) (checkout.ListQuery, error) {
	q, err := listQuery(r, c.app.ID, c.env)
	if err != nil {
		return q, err
	}
	v := r.URL.Query()
	q.ID, q.Email, q.Phone, q.Type, q.SubjectID = v.Get("id"), v.Get("email"), v.Get("phone"), v.Get("type"), v.Get("subject_id")
	text, code := v.Get("amount"), v.Get("currency")
	switch {
	case text != "" && code == "":
		// An amount means nothing without its currency's digits: "10.00"
		// is 1000 minor units of MAD and 10000 of KWD.
		return q, invalid(checkout.CodeInvalidAmount, "amount needs currency, such as amount=799.00&currency=MAD")
	case text == "" && code != "":
		return q, invalid("invalid_filter", "currency filters only together with amount")
	case text != "":
		a, err := money.Parse(text, money.Currency(code))
		if err != nil {
			return q, invalid(checkout.CodeInvalidAmount, "amount: %s", strings.TrimPrefix(err.Error(), "money: "))
		}
		q.Amount = &a
	}
	return q, nil
}

// exportFormat reads ?format=: json (the default) or csv.
func exportFormat(r *http.Request) (csv bool, err error) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		return false, nil
	case "csv":
		return true, nil
	default:
		return false, invalid("invalid_format", "format must be json or csv, not %q", f)
	}
}

// serveMoney answers a money view: a page of JSON, or with format=csv the
// whole selection streamed by export under the file name
// <name>-<app>-<env>.csv.
func serveMoney[T, O any](a *api, w http.ResponseWriter, r *http.Request, c *caller, name string,
	list func(context.Context, checkout.ListQuery) ([]T, string, error), out func(T) O,
	export func(context.Context, io.Writer, csvexport.Lister[T], checkout.ListQuery) (csvexport.Result, error)) {
	q, err := manageQuery(r, c)
	if err == nil {
		var csv bool
		if csv, err = exportFormat(r); err == nil && csv {
			a.writeExport(w, r, name+"-"+c.app.ID+"-"+string(c.env)+".csv", func(w io.Writer) (csvexport.Result, error) {
				return export(r.Context(), w, list, q)
			})
			return
		}
	}
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	writePage(a, w, r, q, list, out)
}

// exportWriteWindow is how long the client gets to take each chunk of an
// export: the deadline moves on with every chunk, so a long export is
// not cut by the server's WriteTimeout while a stalled client still is.
const exportWriteWindow = time.Minute

// truncatedTrailer is set to "true" after an export that stopped at
// csvexport.MaxRows: the headers are long sent by then.
const truncatedTrailer = "Sakk-Export-Truncated"

// writeExport streams a CSV file. The CSV headers go out with the first
// bytes, so a query refused before any row (a bad cursor, a bad filter)
// still answers its JSON error; a failure after that can only cut the
// response short, which the client sees as a broken transfer rather than
// a file that looks complete.
func (a *api) writeExport(w http.ResponseWriter, r *http.Request, filename string, export func(io.Writer) (csvexport.Result, error)) {
	cw := &csvResponse{w: w, rc: http.NewResponseController(w), filename: filename}
	w.Header().Set("Trailer", truncatedTrailer)
	res, err := export(cw)
	if err != nil {
		if !cw.started {
			w.Header().Del("Trailer")
			a.paymentError(w, r, err)
			return
		}
		a.log.ErrorContext(r.Context(), "csv export", "file", filename, "err", err)
		panic(http.ErrAbortHandler)
	}
	if !cw.started {
		cw.start()
	}
	if res.Truncated {
		w.Header().Set(truncatedTrailer, "true")
	}
}

// csvResponse sends the CSV headers with its first write.
type csvResponse struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	filename string
	started  bool
}

func (c *csvResponse) start() {
	c.started = true
	h := c.w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	// The file name is made of ids and an environment: nothing to quote.
	h.Set("Content-Disposition", `attachment; filename="`+c.filename+`"`)
	h.Set("Cache-Control", "no-store")
	c.w.WriteHeader(http.StatusOK)
}

func (c *csvResponse) Write(b []byte) (int, error) {
	if !c.started {
		c.start()
	}
	// Not every writer has a deadline (httptest's recorder has none):
	// then the server's own timeout stands.
	_ = c.rc.SetWriteDeadline(time.Now().Add(exportWriteWindow))
	return c.w.Write(b)
}

// managePaymentOut is a payment of the money views: the merchant API's
// payment with its session's customer and vendor reference, which a
// search by email or phone is about.
type managePaymentOut struct {
	merchantPaymentOut
	CustomerEmail   string `json:"customerEmail"`
	CustomerPhone   string `json:"customerPhone"`
	VendorReference string `json:"vendorReference"`
}

func paymentRowOut(p store.PaymentRow) managePaymentOut {
	return managePaymentOut{merchantPaymentOut: paymentOut(p.Payment), CustomerEmail: p.CustomerEmail,
		CustomerPhone: p.CustomerPhone, VendorReference: p.VendorReference}
}

type manageCustomerOut struct {
	Key       string               `json:"key"`
	Email     string               `json:"email"`
	Phone     string               `json:"phone"`
	Sessions  int                  `json:"sessions"`
	Paid      []manageCustomerPaid `json:"paid"`
	FirstSeen string               `json:"firstSeen"`
	LastSeen  string               `json:"lastSeen"`
}

type manageCustomerPaid struct {
	Currency       string `json:"currency"`
	Count          int    `json:"count"`
	Amount         string `json:"amount"`
	RefundedAmount string `json:"refundedAmount"`
}

func manageCustomer(c store.Customer) manageCustomerOut {
	out := manageCustomerOut{Key: c.Key, Email: c.Email, Phone: c.Phone, Sessions: c.Sessions,
		Paid: make([]manageCustomerPaid, len(c.Paid)), FirstSeen: rfc3339(c.FirstSeen), LastSeen: rfc3339(c.LastSeen)}
	for i, p := range c.Paid {
		out.Paid[i] = manageCustomerPaid{Currency: string(p.Amount.Currency), Count: p.Count,
			Amount: money.Format(p.Amount), RefundedAmount: money.Format(p.Refunded)}
	}
	return out
}

type manageEventOut struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	SubjectID string          `json:"subjectId"`
	Seq       int64           `json:"seq"`
	Payload   json.RawMessage `json:"payload"`
	CreatedAt string          `json:"createdAt"`
}

func eventOut(e pay.Event) manageEventOut {
	payload := e.Payload
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	return manageEventOut{ID: e.ID, Type: e.Type, SubjectID: e.SubjectID, Seq: e.Seq, Payload: payload, CreatedAt: rfc3339(e.CreatedAt)}
}

// listPayments is GET /apps/{appId}/payments.
func (a *api) listPayments(w http.ResponseWriter, r *http.Request, c *caller) {
	serveMoney(a, w, r, c, "payments", a.checkout.ListPaymentRows, paymentRowOut, csvexport.Payments)
}

// listSessions is GET /apps/{appId}/sessions.
func (a *api) listSessions(w http.ResponseWriter, r *http.Request, c *caller) {
	serveMoney(a, w, r, c, "sessions", a.checkout.ListSessions, sessionSummaryOut, csvexport.Sessions)
}

// listRefunds is GET /apps/{appId}/refunds.
func (a *api) listRefunds(w http.ResponseWriter, r *http.Request, c *caller) {
	serveMoney(a, w, r, c, "refunds", a.checkout.ListRefunds, refundOut, csvexport.Refunds)
}

// listCustomers is GET /apps/{appId}/customers.
func (a *api) listCustomers(w http.ResponseWriter, r *http.Request, c *caller) {
	serveMoney(a, w, r, c, "customers", a.checkout.ListCustomers, manageCustomer, csvexport.Customers)
}

// listEvents is GET /apps/{appId}/events.
func (a *api) listEvents(w http.ResponseWriter, r *http.Request, c *caller) {
	serveMoney(a, w, r, c, "events", a.checkout.ListEvents, eventOut, csvexport.Events)
}

// getPayment is GET /apps/{appId}/payments/{paymentId}, with its refunds.
func (a *api) getPayment(w http.ResponseWriter, r *http.Request, c *caller) {
	a.writePayment(w, r, c.app.ID, c.env)
}

// getSession is GET /apps/{appId}/sessions/{sessionId}, with its items
// and payment attempts.
func (a *api) getSession(w http.ResponseWriter, r *http.Request, c *caller) {
	a.writeSession(w, r, c.app.ID, c.env)
}

// refund is POST /apps/{appId}/payments/{paymentId}/refunds, the merchant
// API's refund in the management API: {"amount"} or {} for what is left,
// Idempotency-Key honoured; 201 with the refund, whatever its status.
// The audit log has one entry per refund: a replay moved no money.
func (a *api) refund(w http.ResponseWriter, r *http.Request, c *caller) {
	ref, replayed, ok := a.refundPayment(w, r, c.app.ID, c.env)
	if !ok {
		return
	}
	if !replayed {
		a.audit(r, c, account.Entry{MerchantID: c.merchantID(), ApplicationID: c.app.ID, Action: "refunds.create", TargetType: "refund",
			TargetID: ref.ID, Changes: account.Changes{"amount": {nil, money.Format(ref.Amount)}}})
	}
	writeJSON(w, http.StatusCreated, refundOut(ref))
}

// reportPeriod is the summary's default period, ending now.
const reportPeriod = 30 * 24 * time.Hour

// reportsSummary is GET /apps/{appId}/reports/summary?environment&from
// &to&interval&timezone: per currency, the period's payments by status,
// what was paid and refunded, the success rate, a series per day (or
// hour) of timezone, the funnel and the breakdowns by gateway and method
// (store.Summary says what each counts). from and to are RFC 3339; the
// period defaults to the 30 days before now.
func (a *api) reportsSummary(w http.ResponseWriter, r *http.Request, c *caller) {
	v := r.URL.Query()
	q := store.SummaryQuery{ApplicationID: c.app.ID, Environment: c.env, Interval: v.Get("interval"), To: a.now().UTC()}
	for name, dst := range map[string]*time.Time{"from": &q.From, "to": &q.To} {
		if s := v.Get(name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				a.paymentError(w, r, invalid("invalid_date", "%s must be an RFC 3339 time such as 2026-11-01T00:00:00Z", name))
				return
			}
			*dst = t.UTC()
		}
	}
	if q.From.IsZero() {
		q.From = q.To.Add(-reportPeriod)
	}
	if tz := v.Get("timezone"); tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil || tz == "Local" {
			// "Local" is the server's zone, which a merchant cannot know.
			a.paymentError(w, r, invalid("invalid_timezone", "timezone must be an IANA time zone such as Africa/Casablanca, not %q", tz))
			return
		}
		q.Location = loc
	}
	sum, err := a.checkout.Summary(r.Context(), q)
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, summaryOut(sum))
}

type summaryJSON struct {
	From       string                `json:"from"`
	To         string                `json:"to"`
	Interval   string                `json:"interval"`
	Currencies []currencySummaryJSON `json:"currencies"`
}

type tallyJSON struct {
	Count  int64  `json:"count"`
	Amount string `json:"amount"`
}

type currencySummaryJSON struct {
	Currency       string               `json:"currency"`
	Totals         map[string]tallyJSON `json:"totals"`
	Paid           tallyJSON            `json:"paid"`
	RefundedAmount string               `json:"refundedAmount"`
	SuccessRate    successRateJSON      `json:"successRate"`
	Series         []bucketJSON         `json:"series"`
	Funnel         funnelJSON           `json:"funnel"`
	ByGateway      []breakdownJSON      `json:"byGateway"`
	ByMethod       []breakdownJSON      `json:"byMethod"`
}

type successRateJSON struct {
	Paid     int64   `json:"paid"`
	Attempts int64   `json:"attempts"`
	Rate     float64 `json:"rate"` // for display; paid and attempts are exact
}

type bucketJSON struct {
	Start    string           `json:"start"`
	Paid     tallyJSON        `json:"paid"`
	ByStatus map[string]int64 `json:"byStatus"`
}

type funnelJSON struct {
	Opened   int64 `json:"opened"`
	Verified int64 `json:"verified"`
	Paid     int64 `json:"paid"`
}

type breakdownJSON struct {
	Name  string    `json:"name"`
	Count int64     `json:"count"`
	Paid  tallyJSON `json:"paid"`
}

func tallyOut(t store.Tally) tallyJSON {
	return tallyJSON{Count: t.Count, Amount: money.Format(t.Amount)}
}

func breakdownsOut(bs []store.Breakdown) []breakdownJSON {
	out := make([]breakdownJSON, len(bs))
	for i, b := range bs {
		out[i] = breakdownJSON{Name: b.Name, Count: b.Count, Paid: tallyOut(b.Paid)}
	}
	return out
}

func summaryOut(s store.Summary) summaryJSON {
	out := summaryJSON{From: rfc3339(s.From), To: rfc3339(s.To), Interval: s.Interval, Currencies: make([]currencySummaryJSON, len(s.Currencies))}
	for i, c := range s.Currencies {
		cs := currencySummaryJSON{
			Currency: string(c.Currency), Totals: make(map[string]tallyJSON, len(c.ByStatus)), Paid: tallyOut(c.Paid),
			RefundedAmount: money.Format(c.Refunded),
			SuccessRate:    successRateJSON{Paid: c.SuccessRate.Paid, Attempts: c.SuccessRate.Attempts, Rate: c.SuccessRate.Rate},
			Series:         make([]bucketJSON, len(c.Series)),
			Funnel:         funnelJSON{Opened: c.Funnel.Opened, Verified: c.Funnel.Verified, Paid: c.Funnel.Paid},
			ByGateway:      breakdownsOut(c.ByGateway), ByMethod: breakdownsOut(c.ByMethod),
		}
		for st, t := range c.ByStatus {
			cs.Totals[string(st)] = tallyOut(t)
		}
		for j, b := range c.Series {
			byStatus := make(map[string]int64, len(b.ByStatus))
			for st, n := range b.ByStatus {
				byStatus[string(st)] = n
			}
			cs.Series[j] = bucketJSON{Start: rfc3339(b.Start), Paid: tallyOut(b.Paid), ByStatus: byStatus}
		}
		out.Currencies[i] = cs
	}
	return out
}
