package httpapi

import (
	"net/http"
	"net/url"
	"time"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/hostedpage"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/ratelimit"
	"github.com/sakkhq/sakk/internal/textrule"
)

// payLinkLimit is how many payment links one client address may follow
// a minute: each opens (writes) a session, and the URL is public.
const payLinkLimit = 30

// payLink is GET /pay/{linkId}, a payment link's public URL: it opens a
// fresh session of the link and sends the buyer to its hosted page (303,
// keeping ?locale=). A link that opens none shows the page saying why:
// 404 for an unknown link, 410 for an inactive, expired or exhausted one.
func (a *api) payLink(pages *hostedpage.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d, err := a.limiter.Allow(r.Context(), "paylink:"+clientIP(r), payLinkLimit, time.Minute); err != nil || !d.Allowed {
			if err != nil {
				// Fail closed, as every limit does: a request we cannot
				// count is one we cannot allow.
				a.log.ErrorContext(r.Context(), "payment link", "err", err)
				pages.ServeLink(w, r, http.StatusServiceUnavailable, hostedpage.LinkError, checkout.Brand{})
				return
			}
			ratelimit.SetHeaders(w.Header(), d)
			pages.ServeLink(w, r, http.StatusTooManyRequests, hostedpage.LinkBusy, checkout.Brand{})
			return
		}
		id := r.PathValue("linkId")
		// The text rule of this browser route: an id no link can have
		// (a NUL, an invalid byte) is an unknown link, never a lookup.
		if textrule.Check("linkId", id, textrule.Rule{Max: maxPathText}) != nil {
			pages.ServeLink(w, r, http.StatusNotFound, hostedpage.LinkUnknown, checkout.Brand{})
			return
		}
		opened, err := a.checkout.OpenPaymentLink(r.Context(), id)
		if err != nil {
			state := hostedpage.LinkError
			switch pay.CodeOf(err) {
			case pay.CodePaymentLinkNotFound:
				state = hostedpage.LinkUnknown
			case pay.CodePaymentLinkInactive:
				state = hostedpage.LinkInactive
			case pay.CodePaymentLinkExpired:
				state = hostedpage.LinkExpired
			case pay.CodePaymentLinkExhausted:
				state = hostedpage.LinkExhausted
			default:
				a.log.ErrorContext(r.Context(), "payment link", "payment_link_id", id, "err", err)
			}
			status, brand := statusOf(err), checkout.Brand{}
			switch state {
			case hostedpage.LinkError:
				status = http.StatusInternalServerError
			case hostedpage.LinkInactive, hostedpage.LinkExpired, hostedpage.LinkExhausted:
				// The buyer sees whose link it was; without it the page
				// still says why.
				if brand, err = a.checkout.PaymentLinkBrand(r.Context(), id); err != nil {
					a.log.WarnContext(r.Context(), "payment link brand", "payment_link_id", id, "err", err)
				}
			}
			pages.ServeLink(w, r, status, state, brand)
			return
		}
		next := opened.CheckoutURL
		if l := r.URL.Query().Get("locale"); l != "" {
			next += "?" + url.Values{"locale": {l}}.Encode()
		}
		// The redirect carries a fresh session token: no cache may keep
		// it and hand it to the next buyer.
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}
