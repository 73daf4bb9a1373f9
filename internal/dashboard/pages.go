package dashboard

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

type loginData struct {
	Email     string
	Next      string
	TwoFactor bool // the password was right; the code is asked for
}

func safeNext(next string) string {
	// Only a path of the dashboard: never another site, never "//host".
	if strings.HasPrefix(next, Prefix) && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return Prefix
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request, p *page) {
	p.Title, p.Data = p.T("sign_in"), loginData{Next: safeNext(r.URL.Query().Get("next"))}
	if r.URL.Query().Get("changed") != "" {
		p.Notice = p.T("password_changed")
	}
	h.render(w, r, http.StatusOK, "login", p)
}

// loginSubmit signs in through the same rules as POST /auth/login: the
// same throttle, the same answer for an unknown email and a wrong
// password, and the two-factor step when it is on.
func (h *Handler) loginSubmit(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	d := loginData{Email: formValue(r, "email"), Next: safeNext(formValue(r, "next"))}
	var previous string
	if c, err := r.Cookie(sessionCookie); err == nil {
		previous = c.Value
	}
	s, err := h.d.Account.Login(r.Context(), account.LoginRequest{Email: d.Email, Password: formValue(r, "password"),
		Code: formValue(r, "code"), IP: clientIP(r), UserAgent: r.UserAgent()}, previous)
	if err != nil {
		p.Title = p.T("sign_in")
		status := http.StatusUnauthorized
		switch pay.CodeOf(err) {
		case "two_factor_required":
			// Not a failure: the next step of signing in.
			d.TwoFactor, status = true, http.StatusOK
		case "invalid_two_factor_code":
			d.TwoFactor, p.Error = true, p.T("err_code")
		case "too_many_attempts":
			status, p.Error = http.StatusTooManyRequests, p.T("err_throttled")
		case "invalid_credentials":
			p.Error = p.T("err_credentials")
		default:
			h.fail(w, r, p, err)
			return
		}
		p.Data = d
		h.render(w, r, status, "login", p)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: s.Cookie, Path: "/", Expires: s.ExpiresAt,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.secure})
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, p *page) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := h.d.Account.Logout(r.Context(), c.Value); err != nil {
			h.fail(w, r, p, err)
			return
		}
	}
	h.forgetSession(w)
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
}

type appsData struct {
	Created *merchant.CreatedApplication // just created: its keys, shown this once
}

func (h *Handler) appsPage(w http.ResponseWriter, r *http.Request, p *page) {
	p.Title, p.Nav, p.Data = p.T("nav_apps"), "apps", appsData{}
	h.render(w, r, http.StatusOK, "apps", p)
}

// createApp creates an application and shows its keys on the answer to
// the form, the one time they exist outside the store's hashes.
func (h *Handler) createApp(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	created, err := h.d.Merchant.CreateApplication(r.Context(), merchant.NewApplication{
		Name: strings.TrimSpace(formValue(r, "name")), MerchantID: p.User.MerchantID, Environment: pay.Sandbox})
	if err != nil {
		if pay.KindOf(err) == pay.Invalid {
			p.Title, p.Nav, p.Error, p.Data = p.T("nav_apps"), "apps", pay.MessageOf(err), appsData{}
			h.render(w, r, http.StatusBadRequest, "apps", p)
			return
		}
		h.fail(w, r, p, err)
		return
	}
	h.audit(r, p, account.Entry{MerchantID: p.User.MerchantID, ApplicationID: created.Application.ID, Action: "apps.create",
		TargetType: "application", TargetID: created.Application.ID, Changes: account.Changes{"name": {nil, created.Application.Name}}})
	p.Apps = append(p.Apps, created.Application)
	p.Title, p.Nav, p.Notice, p.Data = p.T("nav_apps"), "apps", p.T("app_created"), appsData{Created: &created}
	h.render(w, r, http.StatusCreated, "apps", p)
}

func (h *Handler) audit(r *http.Request, p *page, e account.Entry) {
	if err := h.d.Account.RecordNow(r.Context(), actor(r, p.User), e); err != nil {
		h.d.Logger.ErrorContext(r.Context(), "dashboard audit", "action", e.Action, "err", err)
	}
}

type paymentsData struct {
	Query   url.Values
	Rows    []store.PaymentRow
	NextURL string // the next page, same filters; "" on the last
	CSVURL  string
}

// paymentsPage lists payments newest first, searched by id, email, phone,
// amount and status, and dated, as GET /apps/{appId}/payments does.
func (h *Handler) paymentsPage(w http.ResponseWriter, r *http.Request, p *page) {
	v := r.URL.Query()
	q := checkout.ListQuery{ApplicationID: p.App.ID, Environment: p.Env, Status: v.Get("status"), Cursor: v.Get("cursor"), Limit: 50,
		ID: strings.TrimSpace(v.Get("id")), Email: strings.TrimSpace(v.Get("email")), Phone: strings.TrimSpace(v.Get("phone"))}
	if s := strings.TrimSpace(v.Get("q")); s != "" {
		// One box finds what it looks like: an email, an id, a phone.
		switch {
		case strings.Contains(s, "@"):
			q.Email = s
		case strings.HasPrefix(s, "+"):
			q.Phone = s
		default:
			q.ID = s
		}
	}
	if a := strings.TrimSpace(v.Get("amount")); a != "" {
		amt, err := money.Parse(a, money.Currency(cmpOr(v.Get("currency"), string(pay.DefaultCurrency))))
		if err != nil {
			p.Error = p.T("err_amount")
		} else {
			q.Amount = &amt
		}
	}
	for name, dst := range map[string]*time.Time{"from": &q.From, "to": &q.To} {
		if s := v.Get(name); s != "" {
			t, err := time.Parse("2006-01-02", s)
			if err != nil {
				p.Error = p.T("err_date")
				continue
			}
			if name == "to" {
				t = t.Add(24 * time.Hour) // the whole day
			}
			*dst = t
		}
	}
	rows, next, err := h.d.Checkout.ListPaymentRows(r.Context(), q)
	if err != nil && pay.KindOf(err) == pay.Invalid {
		p.Error, err = pay.MessageOf(err), nil
	}
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	csv := url.Values{"format": {"csv"}, "environment": {string(p.Env)}}
	for _, k := range []string{"status", "id", "email", "phone", "amount", "currency"} {
		if v.Get(k) != "" {
			csv.Set(k, v.Get(k))
		}
	}
	p.Title, p.Nav = p.T("nav_payments"), "payments"
	p.Data = paymentsData{Query: v, Rows: rows, NextURL: nextURL(p, "payments", v, next),
		CSVURL: "/api/merchant/v1/apps/" + p.App.ID + "/payments?" + csv.Encode()}
	h.render(w, r, http.StatusOK, "payments", p)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

type paymentData struct {
	Payment   pay.Payment
	Session   pay.Session
	Refunds   []store.Refund
	Left      money.Amount // what a refund may still take
	Timeline  []event
	CanRefund bool
}

// event is one line of a payment's timeline.
type event struct {
	At     time.Time
	Text   string
	Detail string
	Kind   string // ok, bad or info: the dot's colour
}

func (h *Handler) paymentPage(w http.ResponseWriter, r *http.Request, p *page) {
	h.showPayment(w, r, p, http.StatusOK)
}

func (h *Handler) showPayment(w http.ResponseWriter, r *http.Request, p *page, status int) {
	ctx := r.Context()
	pm, refunds, err := h.d.Checkout.Refunds(ctx, p.App.ID, p.Env, r.PathValue("paymentId"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	sess, attempts, err := h.d.Checkout.SessionWithPayments(ctx, p.App.ID, p.Env, pm.SessionID)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	left := money.Amount{Minor: pm.Amount.Minor - pm.Refunded.Minor, Currency: pm.Amount.Currency}
	for _, rf := range refunds {
		if rf.Status == "pending" {
			left.Minor -= rf.Amount.Minor
		}
	}
	d := paymentData{Payment: pm, Session: sess, Refunds: refunds, Left: left,
		CanRefund: p.User.Role.Can(pay.MoveMoney) && pm.Status == pay.PaymentCompleted && left.Minor > 0}
	deliveries, err := h.d.Merchant.SessionWebhookDeliveries(ctx, p.App.ID, p.Env, sess.ID)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	events, _, err := h.d.Checkout.ListEvents(ctx, checkout.ListQuery{ApplicationID: p.App.ID, Environment: p.Env, SubjectID: sess.ID, Limit: checkout.MaxPageSize})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	codes, err := h.d.Checkout.SessionCodes(ctx, p.App.ID, p.Env, sess.ID)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d.Timeline = timeline(p, sess, codes, attempts, refunds, events, deliveries)
	p.Title, p.Nav, p.Data = p.T("payment_title", "id", pm.ID), "payments", d
	h.render(w, r, status, "payment", p)
}

// timeline puts what happened to a session in order: opened, each code
// sent and its outcome, verified, each attempt with its outcome, each
// status change (the events recorded with it, at the moment they were),
// each refund, each webhook delivery with the receiver's answer.
func timeline(p *page, s pay.Session, codes []store.SessionCode, attempts []pay.Payment, refunds []store.Refund, events []pay.Event, deliveries []store.WebhookDelivery) []event {
	es := []event{{At: s.CreatedAt, Text: p.T("tl_opened"), Detail: money.Format(s.Amount) + " " + string(s.Amount.Currency), Kind: "info"}}
	verified := false
	for _, c := range codes {
		es = append(es, event{At: c.SentAt, Text: p.T("tl_code_" + c.Channel), Detail: c.Identifier, Kind: "info"})
		if c.Failures > 0 {
			es = append(es, event{At: c.SentAt, Text: p.T("tl_code_wrong", "n", c.Failures), Kind: "bad"})
		}
		if !c.VerifiedAt.IsZero() {
			es = append(es, event{At: c.VerifiedAt, Text: p.T("tl_verified"), Detail: c.Identifier, Kind: "ok"})
			verified = true
		}
	}
	if s.Customer.VerifiedIdentifier != "" && !verified {
		// Verified without a code of this session's: a customer the
		// merchant vouched for (locked), or a code of another session.
		es = append(es, event{At: s.CreatedAt, Text: p.T("tl_verified"), Detail: s.Customer.VerifiedIdentifier, Kind: "ok"})
	}
	for i := len(attempts) - 1; i >= 0; i-- {
		a := attempts[i]
		detail := a.Method + " — " + string(a.Status)
		if a.ErrorCode != "" {
			detail += " (" + a.ErrorCode + ")"
		}
		kind := "info"
		switch a.Status {
		case pay.PaymentCompleted:
			kind = "ok"
		case pay.PaymentFailed, pay.PaymentCancelled, pay.PaymentExpired:
			kind = "bad"
		}
		es = append(es, event{At: a.CreatedAt, Text: p.T("tl_attempt", "gateway", a.Gateway), Detail: detail, Kind: kind})
	}
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		if e.Type == pay.EventSessionCreated {
			continue // "Session opened" says it
		}
		kind := "info"
		switch e.Type {
		case pay.EventPaymentCompleted:
			kind = "ok"
		case pay.EventPaymentFailed, pay.EventPaymentCancelled, pay.EventPaymentExpired:
			kind = "bad"
		}
		es = append(es, event{At: e.CreatedAt, Text: p.T("tl_status"), Detail: e.Type, Kind: kind})
	}
	for i := len(refunds) - 1; i >= 0; i-- {
		rf := refunds[i]
		kind := "info"
		if rf.Status == "succeeded" {
			kind = "ok"
		} else if rf.Status == "failed" {
			kind = "bad"
		}
		es = append(es, event{At: rf.CreatedAt, Text: p.T("tl_refund", "amount", money.Format(rf.Amount)+" "+string(rf.Amount.Currency)), Detail: rf.Status, Kind: kind})
	}
	for _, d := range deliveries {
		kind, detail := "info", p.T("tl_webhook_pending")
		switch {
		case d.Status == store.DeliveryDelivered:
			kind, detail = "ok", p.T("tl_webhook_answer", "status", d.LastStatus)
		case d.LastStatus != 0:
			kind, detail = "bad", p.T("tl_webhook_answer", "status", d.LastStatus)
		case d.LastError != "":
			kind, detail = "bad", d.LastError
		}
		es = append(es, event{At: d.CreatedAt, Text: p.T("tl_webhook", "type", d.EventType), Detail: detail, Kind: kind})
	}
	// In time order; what happened at one moment keeps the order above
	// (opened before verified before the attempt).
	sort.SliceStable(es, func(i, j int) bool { return es[i].At.Before(es[j].At) })
	return es
}

// refund is the payment page's refund form: partial (an amount) or full
// (none), confirmed in the browser first; the role is checked by guard.
func (h *Handler) refund(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	id := r.PathValue("paymentId")
	pm, err := h.d.Checkout.Payment(r.Context(), p.App.ID, p.Env, id)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	var amount *money.Amount
	if text := strings.TrimSpace(formValue(r, "amount")); text != "" {
		a, err := money.Parse(text, pm.Amount.Currency)
		if err != nil {
			p.Error = p.T("err_amount")
			h.showPayment(w, r, p, http.StatusBadRequest)
			return
		}
		amount = &a
	}
	rf, err := h.d.Checkout.Refund(r.Context(), p.App.ID, p.Env, id, amount, nil)
	if err != nil {
		if k := pay.KindOf(err); k == pay.Invalid || k == pay.Conflict {
			p.Error = pay.MessageOf(err)
			h.showPayment(w, r, p, http.StatusConflict)
			return
		}
		h.fail(w, r, p, err)
		return
	}
	h.audit(r, p, account.Entry{MerchantID: p.User.MerchantID, ApplicationID: p.App.ID, Action: "refunds.create", TargetType: "payment",
		TargetID: id, Changes: account.Changes{"amount": {nil, money.Format(rf.Amount)}}})
	http.Redirect(w, r, p.AppURL("/payments/"+url.PathEscape(id))+queryJoin(p)+"refunded="+rf.ID, http.StatusSeeOther)
}

func queryJoin(p *page) string {
	if p.Env == pay.Live {
		return "&"
	}
	return "?"
}
