package sandbox

import (
	"bytes"
	"encoding/hex"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/sakkhq/sakk/internal/money"
)

// maxFormBytes bounds the body of a challenge answer: three short fields.
const maxFormBytes = 4 << 10

// ChallengeHandler serves the page a shopper sees for a 3-D Secure
// challenge or an off-site approval, at ChallengePattern (the reference is
// the last path segment, or the {reference} path value):
//
//   - GET (and HEAD) renders the page: the amount and two buttons, which
//     POST the answer back to the same URL. The page is self-contained
//     (no scripts, no external resources); every value is escaped.
//   - POST records the answer (action=complete or action=fail; the first
//     answer stands) and redirects (303) to the charge's ReturnURL with
//     outcome=success or outcome=cancel added. That parameter is for the
//     page only: the callback must read the result with Fetch.
//
// Every request must carry the return URL and the signature from the link
// Charge made; without them the answer is 404, as for an unknown
// reference. Other methods get 405.
func (s *Simulator) ChallengeHandler() http.Handler {
	return http.HandlerFunc(s.serveChallenge)
}

func (s *Simulator) serveChallenge(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	ref := r.PathValue("reference")
	if ref == "" {
		ref = r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	}
	var fields url.Values
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "malformed form", http.StatusBadRequest)
			return
		}
		fields = r.PostForm
	} else {
		fields = r.URL.Query()
	}
	returnURL, sig := fields.Get("return"), fields.Get("sig")
	rf, ok := s.decodeReference(ref)
	if !ok || rf.action == noAction || !validReturnURL(returnURL) || !s.checkLinkSig(ref, returnURL, sig) {
		http.Error(w, "no such challenge", http.StatusNotFound)
		return
	}
	var answered answer
	switch fields.Get("action") {
	case "complete":
		answered = completed
	case "fail":
		answered = failed
	}
	if r.Method == http.MethodPost && answered == awaiting {
		http.Error(w, "action must be complete or fail", http.StatusBadRequest)
		return
	}
	// With Answers, the answer goes to the store first (the first stands,
	// whichever instance took it); a page shows the one given anywhere.
	if s.answers != nil {
		err := s.recall(r.Context(), "sandbox.challenge", rf)
		if err == nil && r.Method == http.MethodPost {
			var done bool
			done, err = s.answers.PutSandboxAnswer(r.Context(), hex.EncodeToString(rf.id[:]), answered == completed, s.now())
			answered = s.hold(rf, done)
		}
		if err != nil {
			http.Error(w, "the sandbox cannot record the answer now; try again", http.StatusServiceUnavailable)
			return
		}
	}

	s.mu.Lock()
	now := s.now()
	ch := s.lookup(rf.id, now)
	if ch == nil || ch.ref != ref {
		// Made by another instance, or forgotten: the reference says all
		// the page needs, and the answer is held here from now on.
		ch = &charge{ref: ref, r: rf, returnURL: returnURL, created: now}
		s.insert(ch)
	}
	if ch.returnURL == "" { // rebuilt by a refund, which had no link
		ch.returnURL = returnURL
	}
	if r.Method == http.MethodPost && ch.answer == awaiting {
		ch.answer = answered
	}
	state := ch.answer
	s.mu.Unlock()

	if r.Method == http.MethodPost {
		http.Redirect(w, r, withOutcome(returnURL, state), http.StatusSeeOther)
		return
	}
	s.renderChallenge(w, rf, returnURL, sig, state)
}

// withOutcome adds outcome=success|cancel (the callback's spelling,
// SURFACES.md §2) to returnURL, which validReturnURL has accepted.
func withOutcome(returnURL string, a answer) string {
	u, err := url.Parse(returnURL)
	if err != nil { // cannot happen after validReturnURL; keep the URL as given
		return returnURL
	}
	q := u.Query()
	if a == completed {
		q.Set("outcome", "success")
	} else {
		q.Set("outcome", "cancel")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// displayNames spells the gateways the sandbox stands in for.
var displayNames = map[string]string{
	"stripe":     "Stripe",
	"paypal":     "PayPal",
	"moyasar":    "Moyasar",
	"myfatoorah": "MyFatoorah",
}

type challengePage struct {
	Title, Intro    string
	Gateway, Amount string
	Return, Sig     string // the link's, posted back with the answer
	CompleteLabel   string
	FailLabel       string
	Answered        bool
	Result          string // for an answered challenge
	Continue        string // for an answered challenge: where the browser goes next
}

func (s *Simulator) renderChallenge(w http.ResponseWriter, rf reference, returnURL, sig string, a answer) {
	name := displayNames[rf.gateway]
	if name == "" {
		name = rf.gateway
	}
	p := challengePage{
		Gateway: name,
		Amount:  money.Format(rf.amount) + " " + string(rf.amount.Currency),
		Return:  returnURL,
		Sig:     sig,
	}
	if rf.action == authenticate {
		p.Title = "3-D Secure authentication"
		p.Intro = "Your bank asks you to confirm this payment."
		p.CompleteLabel, p.FailLabel = "Complete authentication", "Fail authentication"
	} else {
		p.Title = "Approve your payment with " + name
		p.Intro = name + " asks you to approve this payment."
		p.CompleteLabel, p.FailLabel = "Approve payment", "Decline payment"
	}
	switch a {
	case completed:
		p.Answered, p.Result = true, "This payment was confirmed."
	case failed:
		p.Answered, p.Result = true, "This payment was not confirmed."
	}
	if p.Answered {
		p.Continue = withOutcome(returnURL, a)
	}
	var buf bytes.Buffer
	if err := challengeTemplate.Execute(&buf, p); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// The link carries a signature: keep it out of Referer headers.
	h.Set("Referrer-Policy", "no-referrer")
	// No script, no resource from anywhere; the page may still be framed,
	// as real 3-D Secure pages are, by the hosted checkout's overlay.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'")
	w.Write(buf.Bytes())
}

// challengeTemplate is the whole page. html/template escapes every value
// for its context (text, attribute, URL); the form has no action
// attribute, so it posts to the page's own URL, whatever prefix a proxy
// put in front of it.
var challengeTemplate = template.Must(template.New("challenge").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}} · {{.Gateway}} sandbox</title>
<style>
body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1f2328;margin:0;padding:2rem 1rem}
main{max-width:26rem;margin:0 auto;background:#fff;border-radius:.75rem;padding:1.5rem;box-shadow:0 1px 4px rgba(0,0,0,.12)}
.note{font-size:.8rem;color:#8a5a00;background:#fff4d6;border-radius:.4rem;padding:.3rem .6rem;display:inline-block}
.amount{font-size:1.6rem;font-weight:600;margin:.5rem 0 1.25rem}
form{display:flex;gap:.75rem;flex-wrap:wrap}
button,a.button{flex:1;font:inherit;padding:.7rem 1rem;border-radius:.5rem;border:1px solid #1f2328;cursor:pointer;text-align:center;text-decoration:none}
button.ok,a.button{background:#1f2328;color:#fff}
button.fail{background:#fff;color:#1f2328}
</style>
</head>
<body>
<main>
<p class="note">{{.Gateway}} sandbox: no real money moves</p>
<h1>{{.Title}}</h1>
<p>{{.Intro}}</p>
<p class="amount" data-test="amount">{{.Amount}}</p>
{{if .Answered}}<p data-test="result">{{.Result}}</p>
<p><a class="button" href="{{.Continue}}" data-test="continue">Continue</a></p>
{{else}}<form method="post">
<input type="hidden" name="return" value="{{.Return}}">
<input type="hidden" name="sig" value="{{.Sig}}">
<button class="ok" type="submit" name="action" value="complete" data-test="complete">{{.CompleteLabel}}</button>
<button class="fail" type="submit" name="action" value="fail" data-test="fail">{{.FailLabel}}</button>
</form>
{{end}}</main>
</body>
</html>
`))
