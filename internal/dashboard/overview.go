package dashboard

import (
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// period is one of the overview's windows.
type period struct {
	Key     string // today, 7d, 30d
	Current bool
}

type overviewData struct {
	Periods    []period
	Period     string
	Currencies []currencyView
}

// currencyView is one currency's figures, ready to show: never summed
// across currencies.
type currencyView struct {
	Currency    string
	Volume      string // paid amount
	Count       int64
	SuccessRate string // "93.5 %", or "—" without decided attempts
	Refunded    string
	Funnel      store.Funnel
	FunnelPct   [3]int // bar widths, percent of opened
	ByGateway   []store.Breakdown
	ByMethod    []store.Breakdown
	Chart       template.HTML // server-rendered SVG, with a table beside it for screen readers
	Days        []dayRow
}

type dayRow struct {
	Day                 string
	Paid, Failed, Other int64
	Amount              string
}

// overview is the application's overview: volume, count, success rate and
// refunds for today, 7 or 30 days, per currency, with a daily chart by
// status, breakdowns by gateway and method, and the funnel.
func (h *Handler) overview(w http.ResponseWriter, r *http.Request, p *page) {
	// The application switcher without script submits ?app=.
	if other := r.URL.Query().Get("app"); other != "" && other != p.App.ID {
		for _, a := range p.Apps {
			if a.ID == other {
				p.App = a
				http.Redirect(w, r, p.AppURL("/overview"), http.StatusSeeOther)
				return
			}
		}
	}
	key := r.URL.Query().Get("period")
	days := map[string]int{"today": 1, "7d": 7, "30d": 30}[key]
	if days == 0 {
		key, days = "30d", 30
	}
	now := h.d.Now().UTC()
	to := now.Truncate(24 * time.Hour).Add(24 * time.Hour)
	from := to.Add(-time.Duration(days) * 24 * time.Hour)
	s, err := h.d.Store.Summary(r.Context(), store.SummaryQuery{ApplicationID: p.App.ID, Environment: p.Env, From: from, To: to, Interval: store.IntervalDay})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d := overviewData{Period: key}
	for _, k := range []string{"today", "7d", "30d"} {
		d.Periods = append(d.Periods, period{Key: k, Current: k == key})
	}
	for _, c := range s.Currencies {
		v := currencyView{Currency: string(c.Currency), Volume: money.Format(c.Paid.Amount), Count: c.Paid.Count,
			Refunded: money.Format(c.Refunded), Funnel: c.Funnel, ByGateway: c.ByGateway, ByMethod: c.ByMethod, SuccessRate: "—"}
		if c.SuccessRate.Attempts > 0 {
			v.SuccessRate = fmt.Sprintf("%.1f%%", 100*float64(c.SuccessRate.Paid)/float64(c.SuccessRate.Attempts))
		}
		if o := c.Funnel.Opened; o > 0 {
			v.FunnelPct = [3]int{100, int(100 * c.Funnel.Verified / o), int(100 * c.Funnel.Paid / o)}
		}
		for _, b := range c.Series {
			row := dayRow{Day: b.Start.Format("2006-01-02"), Amount: money.Format(b.Paid.Amount)}
			for st, n := range b.ByStatus {
				switch st {
				case pay.PaymentCompleted, pay.PaymentRefunded:
					row.Paid += n
				case pay.PaymentFailed:
					row.Failed += n
				default:
					row.Other += n
				}
			}
			v.Days = append(v.Days, row)
		}
		v.Chart = chart(p, v.Days)
		d.Currencies = append(d.Currencies, v)
	}
	sort.Slice(d.Currencies, func(i, j int) bool { return d.Currencies[i].Currency < d.Currencies[j].Currency })
	p.Title, p.Nav, p.Data = p.T("nav_overview"), "overview", d
	h.render(w, r, http.StatusOK, "overview", p)
}

// chart draws a day-by-day stacked bar chart of payments by status as
// SVG, coloured by CSS classes (so both themes apply) and with a <title>
// per bar as its tooltip. The table after it carries the same figures for
// screen readers; the SVG itself is hidden from them.
func chart(p *page, days []dayRow) template.HTML {
	const w, hgt, pad = 600.0, 160.0, 18.0
	var top int64 = 1
	for _, d := range days {
		top = max(top, d.Paid+d.Failed+d.Other)
	}
	n := float64(max(len(days), 1))
	bw := (w - 2*pad) / n
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-hidden="true">`, w, hgt+pad)
	fmt.Fprintf(&b, `<line class="axis" x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f"/>`, pad, hgt, w-pad, hgt)
	for i, d := range days {
		x := pad + float64(i)*bw + bw*0.15
		y := hgt
		for _, part := range []struct {
			n     int64
			class string
		}{{d.Paid, "paid"}, {d.Failed, "failed"}, {d.Other, "other"}} {
			if part.n == 0 {
				continue
			}
			bh := (hgt - pad) * float64(part.n) / float64(top)
			y -= bh
			fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`,
				part.class, x, y, bw*0.7, bh, template.HTMLEscapeString(p.T("chart_tip", "day", d.Day, "paid", d.Paid, "failed", d.Failed, "other", d.Other)))
		}
	}
	if len(days) > 0 {
		fmt.Fprintf(&b, `<text class="label" x="%.0f" y="%.0f">%s</text>`, pad, hgt+pad-4, days[0].Day)
		fmt.Fprintf(&b, `<text class="label end" x="%.0f" y="%.0f" text-anchor="end">%s</text>`, w-pad, hgt+pad-4, days[len(days)-1].Day)
	}
	fmt.Fprintf(&b, `<text class="label" x="%.0f" y="12">%d</text></svg>`, pad, top)
	return template.HTML(b.String())
}
