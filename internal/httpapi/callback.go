package httpapi

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sakkhq/sakk/internal/checkout"
	"github.com/sakkhq/sakk/internal/gateway/sandbox"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/ratelimit"
	"github.com/sakkhq/sakk/internal/token"
)

// callback is GET /api/v1/payments/callback/{sessionToken}: the shopper's
// browser back from 3-D Secure or an off-site approval. Nothing the
// browser brings is trusted (outcome= only picks the page's wording while
// the gateway is asked): the payment is re-read from the gateway, then a
// short localized page sends the shopper on — to returnUrl with status
// and transaction_id when the session is paid, to cancelUrl when the
// shopper cancelled, otherwise back to the hosted page to try again.
//
// Each callback may ask a gateway about a charge, so one address may make
// at most callbackLimit of them a minute.
func (a *api) callback(w http.ResponseWriter, r *http.Request) {
	if d, err := a.limiter.Allow(r.Context(), "pp:callback:"+clientIP(r), callbackLimit, time.Minute); err != nil || !d.Allowed {
		if err == nil {
			ratelimit.SetHeaders(w.Header(), d)
		}
		a.callbackPage(w, r, http.StatusTooManyRequests, "", "busy", "")
		return
	}
	ref := r.PathValue("sessionToken")
	var appID, sid, tok string
	var env pay.Environment
	var err error
	if strings.HasPrefix(ref, pay.PrefixSession+"_") {
		sid = ref
		appID, env, err = a.checkout.ReturningSession(r.Context(), sid)
	} else {
		var c token.Claims
		if c, err = a.tokens.Verify(r.Context(), ref, token.TypeSession); err == nil {
			appID, env, sid, tok = c.ApplicationID, c.Environment, c.SessionID, ref
		}
	}
	if err != nil {
		a.callbackPage(w, r, http.StatusNotFound, "", "not_found", "")
		return
	}
	at, err := a.checkout.Confirm(r.Context(), appID, env, sid)
	if err != nil {
		a.log.ErrorContext(r.Context(), "payment callback", "session_id", sid, "err", err)
		a.callbackPage(w, r, http.StatusInternalServerError, "", "error", at.Session.Locale)
		return
	}
	if tok == "" {
		if tok, _, err = a.tokens.Issue(r.Context(), token.Claims{
			Type: token.TypeSession, ApplicationID: appID, Environment: env, SessionID: sid,
		}, checkout.SessionTTL); err != nil {
			a.log.ErrorContext(r.Context(), "payment callback", "session_id", sid, "err", err)
		}
	}
	next, state := a.checkout.CheckoutURL(tok), "retry"
	s, p := at.Session, at.Payment
	switch {
	case s.Status == pay.SessionCompleted:
		next, state = withResult(s.ReturnURL, "SUCCESS", p), "paid"
	case s.Status == pay.SessionPending || s.Status == pay.SessionRequiresAction:
		state = "pending"
	case r.URL.Query().Get("outcome") == "cancel" && s.CancelURL != "":
		next, state = withResult(s.CancelURL, "CANCELED", p), "cancelled"
	}
	if next == "" {
		next = a.checkout.CheckoutURL(tok)
	}
	a.callbackPage(w, r, http.StatusOK, next, state, s.Locale)
}

// callbackLimit bounds the callbacks one address makes a minute: a
// shopper makes a few; more would only make sakk call gateways for nothing.
const callbackLimit = 60

// withResult adds status and transaction_id to a merchant's URL, as the
// hosted redirect flow promises; "" stays "".
func withResult(raw, status string, p *pay.Payment) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("status", status)
	if p != nil {
		q.Set("transaction_id", p.ID)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// callbackTexts are the page's words, per locale and state.
var callbackTexts = map[string]map[string]string{
	"en": {
		"paid": "Payment received. Taking you back to the shop…", "pending": "Your payment is being processed…",
		"retry": "The payment did not go through. Taking you back to try again…", "cancelled": "Payment cancelled. Taking you back…",
		"not_found": "This payment link is not valid.", "error": "Something went wrong. Please try again.", "continue": "Continue",
		"busy": "Too many requests from your connection. Please wait a minute and reload this page.",
	},
	"fr": {
		"paid": "Paiement reçu. Retour à la boutique…", "pending": "Votre paiement est en cours de traitement…",
		"retry": "Le paiement n’a pas abouti. Retour pour réessayer…", "cancelled": "Paiement annulé. Retour…",
		"not_found": "Ce lien de paiement n’est pas valide.", "error": "Une erreur est survenue. Veuillez réessayer.", "continue": "Continuer",
		"busy": "Trop de requêtes depuis votre connexion. Patientez une minute puis rechargez cette page.",
	},
	"ar": {
		"paid": "تم استلام الدفع. جارٍ إعادتك إلى المتجر…", "pending": "جارٍ معالجة الدفع…",
		"retry": "لم تتم عملية الدفع. جارٍ إعادتك للمحاولة مرة أخرى…", "cancelled": "تم إلغاء الدفع. جارٍ إعادتك…",
		"not_found": "رابط الدفع هذا غير صالح.", "error": "حدث خطأ. يرجى المحاولة مرة أخرى.", "continue": "متابعة",
		"busy": "طلبات كثيرة من اتصالك. يرجى الانتظار دقيقة ثم إعادة تحميل هذه الصفحة.",
	},
}

var callbackTemplate = template.Must(template.New("callback").Parse(`<!doctype html>
<html lang="{{.Lang}}" dir="{{.Dir}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{{if .Next}}<meta http-equiv="refresh" content="2;url={{.Next}}">{{end}}
<title>{{.Text}}</title>
<style>body{font-family:system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;margin:0;color:#1f2933}
main{max-width:28rem;padding:2rem;text-align:center}a{color:#0b5fff}</style></head>
<body><main><p data-test="result" data-state="{{.State}}">{{.Text}}</p>
{{if .Next}}<p><a href="{{.Next}}">{{.Continue}}</a></p>{{end}}</main></body></html>
`))

func (a *api) callbackPage(w http.ResponseWriter, r *http.Request, status int, next, state, locale string) {
	lang := pageLocale(locale, r.Header.Get("Accept-Language"))
	texts := callbackTexts[lang]
	dir := "ltr"
	if lang == "ar" {
		dir = "rtl"
	}
	var buf bytes.Buffer
	err := callbackTemplate.Execute(&buf, map[string]any{
		"Lang": lang, "Dir": dir, "Next": next, "State": state, "Text": texts[state], "Continue": texts["continue"],
	})
	if err != nil {
		a.log.ErrorContext(r.Context(), "callback page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors *")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// pageLocale picks en, fr or ar: the session's locale, else the first
// supported language the browser accepts, else en.
func pageLocale(locale, acceptLanguage string) string {
	for _, l := range append([]string{locale}, strings.Split(acceptLanguage, ",")...) {
		l = strings.ToLower(strings.TrimSpace(l))
		if i := strings.IndexAny(l, "-_;"); i >= 0 {
			l = l[:i]
		}
		if _, ok := callbackTexts[l]; ok {
			return l
		}
	}
	return "en"
}

// sandboxTokens is POST /api/v1/sandbox/tokens: the sandbox's stand-in
// for a gateway's browser tokenizer. Any well-formed card tokenizes (the
// test cards pick an outcome, other numbers are approved); the token holds
// the last four digits, never the number, and charges only through the
// simulator, which serves the sandbox environment alone.
func (a *api) sandboxTokens(w http.ResponseWriter, r *http.Request) {
	sim := sandboxOf(a.checkout)
	if sim == nil {
		a.paymentError(w, r, pay.Errorf(pay.NotFound, "not_found", "the sandbox is not enabled"))
		return
	}
	var in struct {
		Number   string      `json:"number"`
		ExpMonth json.Number `json:"expMonth"`
		ExpYear  json.Number `json:"expYear"`
		CVC      string      `json:"cvc"`
	}
	if _, err := readJSON(w, r, &in); err != nil {
		a.paymentError(w, r, err)
		return
	}
	month, _ := in.ExpMonth.Int64()
	year, _ := in.ExpYear.Int64()
	tok, err := sim.Tokenize(sandbox.Card{Number: in.Number, ExpMonth: int(month), ExpYear: int(year), CVC: in.CVC})
	if err != nil {
		a.paymentError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": tok})
}

// sandboxOf is the simulator checkout charges the sandbox through, or nil.
func sandboxOf(co *checkout.Service) *sandbox.Simulator {
	if co == nil {
		return nil
	}
	return co.Gateways().Sandbox
}
