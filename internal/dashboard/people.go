package dashboard

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// searchQuery reads the search box and status shared by the sessions and
// customers pages: one box finds what it looks like — an email, a phone,
// else an id.
func searchQuery(p *page, v url.Values) checkout.ListQuery {
	q := checkout.ListQuery{ApplicationID: p.App.ID, Environment: p.Env, Status: v.Get("status"), Cursor: v.Get("cursor"), Limit: 50}
	if s := strings.TrimSpace(v.Get("q")); s != "" {
		switch {
		case strings.Contains(s, "@"):
			q.Email = s
		case strings.HasPrefix(s, "+"):
			q.Phone = s
		default:
			q.ID = s
		}
	}
	return q
}

// nextURL is a listing's next page: the same filters, the next cursor.
func nextURL(p *page, page string, v url.Values, next string) string {
	if next == "" {
		return ""
	}
	more := url.Values{}
	for k, vs := range v {
		more[k] = vs
	}
	more.Set("cursor", next)
	return Prefix + "/apps/" + url.PathEscape(p.App.ID) + "/" + page + "?" + more.Encode()
}

type sessionsData struct {
	Query   url.Values
	Rows    []sessionRow
	NextURL string
}

type sessionRow struct {
	pay.Session
	PaymentID string // its latest attempt, "" when none was made
}

// sessionsPage lists sessions newest first, searched like payments; each
// links to its latest payment attempt, where the whole timeline is.
func (h *Handler) sessionsPage(w http.ResponseWriter, r *http.Request, p *page) {
	v := r.URL.Query()
	rows, next, err := h.d.Checkout.ListSessions(r.Context(), searchQuery(p, v))
	if pay.KindOf(err) == pay.Invalid {
		p.Error, err = pay.MessageOf(err), nil
	}
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d := sessionsData{Query: v, NextURL: nextURL(p, "sessions", v, next)}
	for _, s := range rows {
		row := sessionRow{Session: s}
		if s.Status != pay.SessionInit {
			_, attempts, err := h.d.Checkout.SessionWithPayments(r.Context(), p.App.ID, p.Env, s.ID)
			if err != nil {
				h.fail(w, r, p, err)
				return
			}
			if len(attempts) > 0 {
				row.PaymentID = attempts[0].ID
			}
		}
		d.Rows = append(d.Rows, row)
	}
	p.Title, p.Nav, p.Data = p.T("nav_sessions"), "sessions", d
	h.render(w, r, http.StatusOK, "sessions", p)
}

type customersData struct {
	Query   url.Values
	Rows    []store.Customer
	NextURL string
}

// customersPage lists the application's customers: one row per verified
// identifier (else email, else phone), with what each paid per currency.
func (h *Handler) customersPage(w http.ResponseWriter, r *http.Request, p *page) {
	v := r.URL.Query()
	q := searchQuery(p, v)
	q.Status = ""
	rows, next, err := h.d.Checkout.ListCustomers(r.Context(), q)
	if pay.KindOf(err) == pay.Invalid {
		p.Error, err = pay.MessageOf(err), nil
	}
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	p.Title, p.Nav = p.T("nav_customers"), "customers"
	p.Data = customersData{Query: v, Rows: rows, NextURL: nextURL(p, "customers", v, next)}
	h.render(w, r, http.StatusOK, "customers", p)
}
