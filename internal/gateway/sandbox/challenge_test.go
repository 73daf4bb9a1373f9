package sandbox_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/sandbox"
)

// challenge makes a 3-D Secure charge returning to returnURL.
func (e *env) challenge(t *testing.T, name, returnURL string) gateway.ChargeResult {
	t.Helper()
	req := chargeReq(usd(123456), e.token(t, sandbox.CardThreeDSecure))
	if name == "paypal" {
		req.PaymentToken, req.Method = "", "paypal"
	}
	req.ReturnURL = returnURL
	res, err := e.sim.Connector(name).Charge(t.Context(), req)
	if err != nil || res.Outcome != gateway.ActionRequired {
		t.Fatalf("Charge = (%+v, %v), want action_required", res, err)
	}
	return res
}

func TestChallengePage(t *testing.T) {
	e := newEnv(t, nil)
	res := e.challenge(t, "stripe", "https://shop.example/cb?a=1")
	resp, body := get(t, res.RedirectURL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: %s", resp.Status)
	}
	for _, want := range []string{"3-D Secure authentication", "Complete authentication", "Fail authentication", "1234.56 USD", "Stripe sandbox", `method="post"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	for _, banned := range []string{"<script", "src=", "http://", "//fonts", "@import"} {
		if strings.Contains(body, banned) {
			t.Errorf("page has %q; it must be self-contained:\n%s", banned, body)
		}
	}
	h := resp.Header
	if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	for name, want := range map[string]string{
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": "default-src 'none'",
	} {
		if !strings.Contains(h.Get(name), want) {
			t.Errorf("%s = %q, want it to contain %q", name, h.Get(name), want)
		}
	}

	// HEAD answers like GET, without a body.
	req, _ := http.NewRequest(http.MethodHead, res.RedirectURL, nil)
	head, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if head.StatusCode != http.StatusOK {
		t.Errorf("HEAD: %s", head.Status)
	}

	// The approval page of an off-site name.
	_, body = get(t, e.challenge(t, "paypal", "https://shop.example/cb").RedirectURL)
	for _, want := range []string{"Approve your payment with PayPal", "Approve payment", "Decline payment"} {
		if !strings.Contains(body, want) {
			t.Errorf("approval page lacks %q:\n%s", want, body)
		}
	}
}

// TestChallengeEscapes: a return URL full of markup is shown escaped and
// posted back intact.
func TestChallengeEscapes(t *testing.T) {
	e := newEnv(t, nil)
	evil := `https://shop.example/cb?q="><script>alert(1)</script>&r='onmouseover='alert(2)`
	res := e.challenge(t, "stripe", evil)
	_, body := get(t, res.RedirectURL)
	for _, raw := range []string{"<script>", `"><`, `'onmouseover='`} {
		if strings.Contains(body, raw) {
			t.Errorf("page contains %q unescaped:\n%s", raw, body)
		}
	}
	e.complete(t, res, true) // posts the unescaped hidden value back: its signature must still match
	_, body = get(t, res.RedirectURL)
	if strings.Contains(body, "<script>") || !strings.Contains(body, `data-test="continue"`) {
		t.Errorf("answered page:\n%s", body)
	}
}

func TestChallengeAnswers(t *testing.T) {
	e := newEnv(t, nil)
	c := e.sim.Connector("stripe")
	for _, tc := range []struct {
		action  string
		outcome gateway.Outcome
		param   string
	}{
		{"complete", gateway.Approved, "success"},
		{"fail", gateway.Declined, "cancel"},
	} {
		res := e.challenge(t, "stripe", "https://shop.example/cb?a=1")
		u, _ := url.Parse(res.RedirectURL)
		form := url.Values{"return": {u.Query().Get("return")}, "sig": {u.Query().Get("sig")}, "action": {tc.action}}
		resp := post(t, res.RedirectURL, form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: POST %s", tc.action, resp.Status)
		}
		if loc := resp.Header.Get("Location"); loc != "https://shop.example/cb?a=1&outcome="+tc.param {
			t.Errorf("%s: Location %q", tc.action, loc)
		}
		if got, _ := c.Fetch(t.Context(), gateway.FetchRequest{Reference: res.Reference}); got.Outcome != tc.outcome {
			t.Errorf("%s: Fetch %s, want %s", tc.action, got.Outcome, tc.outcome)
		}
		// The first answer stands: the other button, later, changes nothing.
		other := map[string]string{"complete": "fail", "fail": "complete"}[tc.action]
		form.Set("action", other)
		resp = post(t, res.RedirectURL, form)
		if loc := resp.Header.Get("Location"); !strings.HasSuffix(loc, "outcome="+tc.param) {
			t.Errorf("%s then %s: Location %q, want the first answer's", tc.action, other, loc)
		}
		if got, _ := c.Fetch(t.Context(), gateway.FetchRequest{Reference: res.Reference}); got.Outcome != tc.outcome {
			t.Errorf("%s then %s: Fetch %s, want %s", tc.action, other, got.Outcome, tc.outcome)
		}
		// The page now says so and links on.
		_, body := get(t, res.RedirectURL)
		if strings.Contains(body, "<form") || !strings.Contains(body, "outcome="+tc.param) {
			t.Errorf("%s: answered page:\n%s", tc.action, body)
		}
	}
}

func TestChallengeRefuses(t *testing.T) {
	e := newEnv(t, nil)
	res := e.challenge(t, "stripe", "https://shop.example/cb")
	u, _ := url.Parse(res.RedirectURL)
	ret, sig := u.Query().Get("return"), u.Query().Get("sig")
	path := e.srv.URL + u.Path
	link := func(ref, ret, sig string) string {
		return e.srv.URL + sandbox.ChallengePath + ref + "?" + url.Values{"return": {ret}, "sig": {sig}}.Encode()
	}
	approved, err := e.sim.Connector("stripe").Charge(t.Context(), chargeReq(usd(100), e.token(t, sandbox.CardApproved)))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		u    string
	}{
		{"no signature", path + "?" + url.Values{"return": {ret}}.Encode()},
		{"no return", path + "?" + url.Values{"sig": {sig}}.Encode()},
		{"another return URL", link(res.Reference, "https://evil.example/", sig)},
		{"a changed signature", link(res.Reference, ret, otherFirst(sig))},
		{"an unknown reference", link("sbx_AAAA", ret, sig)},
		{"a forged reference", link(res.Reference[:len(res.Reference)-2]+otherFirst(res.Reference[len(res.Reference)-2:]), ret, sig)},
		{"a charge that needs no challenge", e.sim.ChallengeURL(approved.Reference, ret)},
		{"a signed link to a javascript: URL", e.sim.ChallengeURL(res.Reference, "javascript:alert(1)")},
	} {
		if tc.name == "a charge that needs no challenge" || tc.name == "a signed link to a javascript: URL" {
			v, _ := url.Parse(tc.u)
			tc.u = e.srv.URL + v.RequestURI()
		}
		if resp, body := get(t, tc.u); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET with %s: %s, want 404\n%s", tc.name, resp.Status, body)
		}
		v, _ := url.Parse(tc.u)
		if resp := post(t, e.srv.URL+v.Path, url.Values{"return": v.Query()["return"], "sig": v.Query()["sig"], "action": {"complete"}}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST with %s: %s, want 404", tc.name, resp.Status)
		}
	}
	if got, _ := e.sim.Connector("stripe").Fetch(t.Context(), gateway.FetchRequest{Reference: res.Reference}); got.Outcome != gateway.ActionRequired {
		t.Errorf("after refused answers: %s, want action_required", got.Outcome)
	}

	// Bad answers to a good link.
	for _, tc := range []struct {
		name string
		form url.Values
		want int
	}{
		{"no action", url.Values{"return": {ret}, "sig": {sig}}, http.StatusBadRequest},
		{"unknown action", url.Values{"return": {ret}, "sig": {sig}, "action": {"approve"}}, http.StatusBadRequest},
		{"a huge body", url.Values{"return": {ret}, "sig": {sig}, "action": {"complete"}, "pad": {strings.Repeat("x", 8<<10)}}, http.StatusRequestEntityTooLarge},
	} {
		if resp := post(t, path, tc.form); resp.StatusCode != tc.want {
			t.Errorf("POST with %s: %s, want %d", tc.name, resp.Status, tc.want)
		}
	}
	// The answer is read from the body only, not from the query.
	resp, err := noRedirects.Post(res.RedirectURL+"&action=complete", "application/x-www-form-urlencoded", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST with the answer in the query: %s, want 404", resp.Status)
	}

	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		req, _ := http.NewRequest(m, res.RedirectURL, nil)
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD, POST" {
			t.Errorf("%s: %s, Allow %q; want 405 with Allow: GET, HEAD, POST", m, resp.Status, resp.Header.Get("Allow"))
		}
	}
	if got, _ := e.sim.Connector("stripe").Fetch(t.Context(), gateway.FetchRequest{Reference: res.Reference}); got.Outcome != gateway.ActionRequired {
		t.Errorf("after bad answers: %s, want action_required", got.Outcome)
	}
}

// TestChallengeHandlerWithoutPattern: mounted without a {reference}
// wildcard (a prefix route, or called directly), the handler takes the
// reference from the last path segment.
func TestChallengeHandlerWithoutPattern(t *testing.T) {
	e := newEnv(t, nil)
	res := e.challenge(t, "stripe", "https://shop.example/cb")
	u, _ := url.Parse(res.RedirectURL)
	rec := httptest.NewRecorder()
	e.sim.ChallengeHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u.RequestURI(), nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Complete authentication") {
		t.Errorf("direct call: %d\n%s", rec.Code, rec.Body)
	}
}

// otherFirst changes the first character of s (to one it is not).
func otherFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}
