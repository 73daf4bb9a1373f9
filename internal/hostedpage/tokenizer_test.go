package hostedpage_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sakkhq/sakk/internal/gateway/moyasar/moyasartest"
	"github.com/sakkhq/sakk/internal/gateway/stripe/stripetest"
	"github.com/sakkhq/sakk/internal/hostedpage"
	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/otp"
	"github.com/sakkhq/sakk/internal/otp/smtpsink"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/routing"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/testserver"
)

// TestBrowserLiveCards pays live sessions by card on the hosted page
// through the gateways' own browser tokenizers, in headless Chromium:
// a merchant's Stripe account (stripe-mock behind stripetest's recording
// stand-in) and a merchant's Moyasar account (moyasartest), each entered
// through the gateway registry as `sakk gateways set` enters it. The
// shopper verifies an email by a code that really goes out over SMTP (to
// a sink on loopback), types the card into the gateway's tokenizer, pays,
// passes 3-D Secure at the stand-in and sees the paid screen. The test
// checks that the gateway saw the payment made with the token the
// tokenizer gave the page, that sakk never saw the card number, and that
// the page's Content-Security-Policy allowed that gateway's origins and
// no other.
//
// No machine here can load the real Stripe.js (js.stripe.com is on the
// internet), so stripeJSDouble stands in for it: a few lines implementing
// just what the page uses — Stripe(publishableKey).elements().create('card')
// .mount(el), and createPaymentMethod, which posts the card with the
// publishable key to /v1/payment_methods as Stripe.js does. It is a test
// double of the third party's script, served from an origin of its own;
// sakk's page and server run unchanged. Moyasar needs no script: the page
// itself posts the card to Moyasar's POST /v1/tokens (moyasartest) with
// the publishable key.
func TestBrowserLiveCards(t *testing.T) {
	ctx := browser(t)
	stripeAPI := stripetest.Start(t) // skips without stripe-mock, as browser does without chromium
	// The browser asks the stand-in's 3-D Secure origin for its
	// /favicon.ico, which the stand-in forwards to stripe-mock, which
	// refuses it: that is the browser's doing, not sakk's, and is
	// forgotten before the stand-in fails the test for what stripe-mock
	// refused (cleanups run last registered first, after the subtests
	// closed their tabs).
	t.Cleanup(func() {
		for _, r := range stripeAPI.TakeRejected() {
			if !strings.HasPrefix(r, "GET /favicon.ico: ") {
				t.Errorf("stripe-mock rejected a request sent to the stand-in: %s", r)
			}
		}
	})
	moyasarAPI := moyasartest.StartLive(t)
	if shotDir = screenshotDir(t); shotDir == "" {
		shotDir = t.TempDir()
	}

	stripeSecret, stripePK := "sk_test_"+stripetest.RandomHex(12), "pk_test_"+stripetest.RandomHex(12)
	edge := newStripeEdge(t, stripeAPI, stripePK, stripeSecret)
	jsHost := newStripeJSDouble(t, edge.url)
	moyasarCORS := newCORSFront(t, moyasarAPI.URL)

	sink := smtpsink.Start(t)
	sender, err := otp.NewSMTPSender(otp.SMTPConfig{Host: "127.0.0.1", Port: sink.Port, From: "Shop <no-reply@shop.test>", StartTLS: otp.StartTLSOff})
	if err != nil {
		t.Fatal(err)
	}
	s := newServerWith(t, store.SQLite, testserver.Options{
		Gateways: routing.BaseURLs{"stripe": stripeAPI.URL(), "moyasar": moyasarAPI.URL},
		Senders:  otp.Senders{Email: sender},
		Tokenizers: hostedpage.TokenizerURLs{
			StripeJS: jsHost.url + "/v3/", StripeAPI: edge.url, MoyasarAPI: moyasarCORS.url,
		},
	})
	live := func(name string, cur money.Currency, gateway string, settings map[string]string) merchant.CreatedApplication {
		t.Helper()
		app, err := s.Merchant.CreateApplication(t.Context(), merchant.NewApplication{Name: name, MerchantName: name, Environment: pay.Live})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Store.WithTx(t.Context(), func(tx *store.Tx) error {
			return tx.SetApplicationLimits(t.Context(), app.Application.ID, []money.Currency{cur}, app.Application.RateLimit)
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Accounts.Set(t.Context(), app.Application.ID, pay.Live, gateway, settings, true); err != nil {
			t.Fatal(err)
		}
		return app
	}
	stripeApp := live("Atlas Goods", "USD", "stripe", map[string]string{"secretKey": stripeSecret, "publishableKey": stripePK})
	moyasarApp := live("Riyadh Books", "SAR", "moyasar", map[string]string{
		"secretKey": moyasarAPI.SecretKey, "publishableKey": moyasarAPI.PublishableKey, "webhookSecret": moyasarAPI.WebhookSecret,
	})

	// Every origin a page could be pointed at; each page may reach only
	// its own gateway's.
	allOrigins := []string{jsHost.url, edge.url, moyasarCORS.url}

	t.Run("Stripe", func(t *testing.T) {
		const card = "4000000000003220" // Stripe's test card that requires 3-D Secure 2
		tok, sid := s.liveSession(t, stripeApp, "149.00", "USD")
		wantCSP := "default-src 'none'; script-src 'self' " + jsHost.url + "; style-src 'self'; img-src 'self' https: data:; connect-src 'self' " + edge.url +
			"; frame-src " + jsHost.url + "; form-action 'self'; base-uri 'none'; frame-ancestors *"
		checkPage(t, s, tok, wantCSP, `"tokenizer":"stripe"`, `"publishableKey":"`+stripePK+`"`)

		c := tab(t, ctx)
		watchViolations(t, c)
		do(t, c, "open", chromedp.Navigate(s.URL+"/checkout/"+tok))
		verifyByEmail(t, c, sink, "buyer@atlas.test")
		el := `[data-test="card-element"] input`
		do(t, c, "card element", chromedp.WaitVisible(chromedp.CSS(el)))
		if n := eval[int](t, c, `document.querySelectorAll('[data-test="card-number"]').length`); n != 0 {
			t.Errorf("the page has its own card number field next to Stripe's Element")
		}
		blockedOutside(t, c, edge.url, allOrigins)
		shot(t, c, "live-stripe-card")
		do(t, c, "type the card",
			chromedp.SendKeys(chromedp.CSS(el+`[name="cardnumber"]`), card),
			chromedp.SendKeys(chromedp.CSS(el+`[name="exp-date"]`), "12/34"),
			chromedp.SendKeys(chromedp.CSS(el+`[name="cvc"]`), "123"+kb.Enter))
		passThreeDS(t, c, stripeAPI.URL()+"/3ds/pi_")
		// sakk's callback page asks the gateway, then sends the shopper
		// back to the hosted page.
		waitPrefix(t, c, s.URL+"/checkout/")
		do(t, c, "paid", resultIs("paid"))
		shot(t, c, "live-stripe-paid")
		noViolations(t, c)

		pms := edge.issued()
		creates := stripeAPI.RequestsTo("POST", "/v1/payment_intents")
		if len(pms) != 1 || len(creates) != 1 || creates[0].Form.Get("payment_method") != pms[0] || creates[0].Form.Get("confirm") != "true" {
			t.Errorf("Stripe.js made PaymentMethods %v; PaymentIntents created: %v", pms, creates)
		}
		made := stripeAPI.RequestsTo("POST", "/v1/payment_methods")
		if len(made) != 1 || made[0].Form.Get("card[number]") != card {
			t.Errorf("Stripe saw PaymentMethods made of %v, want one of the card typed", made)
		}
		for _, r := range stripeAPI.Requests() {
			if r.Path != "/v1/payment_methods" && strings.Contains(r.Form.Encode(), card) {
				t.Errorf("%s %s carried the card number", r.Method, r.Path)
			}
		}
		s.wantPaid(t, stripeApp, sid, "stripe")
	})

	t.Run("Moyasar", func(t *testing.T) {
		tok, sid := s.liveSession(t, moyasarApp, "100.50", "SAR")
		wantCSP := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; connect-src 'self' " + moyasarCORS.url +
			"; form-action 'self'; base-uri 'none'; frame-ancestors *"
		checkPage(t, s, tok, wantCSP, `"tokenizer":"moyasar"`, `"publishableKey":"`+moyasarAPI.PublishableKey+`"`)

		c := tab(t, ctx)
		watchViolations(t, c)
		do(t, c, "open", chromedp.Navigate(s.URL+"/checkout/"+tok))
		verifyByEmail(t, c, sink, "buyer@riyadh.test")
		do(t, c, "card form", chromedp.WaitVisible(dt("card-name")))
		blockedOutside(t, c, moyasarCORS.url, allOrigins)
		shot(t, c, "live-moyasar-card")
		do(t, c, "type the card",
			chromedp.SendKeys(dt("card-name"), "Noura Alharbi"),
			chromedp.SendKeys(dt("card-number"), moyasartest.Card3DS),
			chromedp.SendKeys(dt("card-expiry"), "1234"),
			chromedp.SendKeys(dt("card-cvc"), "123"),
			chromedp.Click(dt("pay")))
		passThreeDS(t, c, moyasarAPI.URL+"/3ds/")
		// sakk's callback page asks the gateway, then sends the shopper
		// back to the hosted page.
		waitPrefix(t, c, s.URL+"/checkout/")
		do(t, c, "paid", resultIs("paid"))
		shot(t, c, "live-moyasar-paid")
		noViolations(t, c)

		tokens := moyasarAPI.Requests("POST", "/v1/tokens")
		payments := moyasarAPI.Requests("POST", "/v1/payments")
		if len(tokens) != 1 || tokens[0].User != moyasarAPI.PublishableKey || !strings.Contains(string(tokens[0].Body), moyasartest.Card3DS) {
			t.Fatalf("Moyasar's tokens API saw %d requests, want one with the card, by the publishable key", len(tokens))
		}
		if len(payments) != 1 || payments[0].User != moyasarAPI.SecretKey ||
			!regexp.MustCompile(`"token":"token_[0-9a-f]+"`).Match(payments[0].Body) || strings.Contains(string(payments[0].Body), moyasartest.Card3DS) {
			t.Errorf("Moyasar's payments: %d, want one with the token only: %s", len(payments), firstBody(payments))
		}
		s.wantPaid(t, moyasarApp, sid, "moyasar")
	})
}

func firstBody(rs []moyasartest.Request) string {
	if len(rs) == 0 {
		return ""
	}
	return string(rs[0].Body)
}

// liveSession opens a Checkout API session of app with its secret key.
func (s *server) liveSession(t *testing.T, app merchant.CreatedApplication, total, cur string) (string, string) {
	t.Helper()
	body := fmt.Sprintf(`{"total":%q,"currency":%q,"items":[{"id":"SKU-1","name":"Desk Lamp","price":%s,"quantity":1}]}`, total, cur, total)
	r := s.Do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": app.Keys.Secret}, body, true)
	if r.Status != http.StatusOK {
		t.Fatalf("create session: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	return m["session_token"].(string), m["session_id"].(string)
}

// wantPaid checks the session and its payment in the store.
func (s *server) wantPaid(t *testing.T, app merchant.CreatedApplication, sid, gateway string) {
	t.Helper()
	sess, err := s.Store.Session(t.Context(), app.Application.ID, pay.Live, sid)
	if err != nil {
		t.Fatal(err)
	}
	if sess.Status != pay.SessionCompleted {
		t.Errorf("session is %s, want completed", sess.Status)
	}
	d, err := s.Checkout.SessionDetails(t.Context(), app.Application.ID, pay.Live, sid)
	if err != nil {
		t.Fatal(err)
	}
	if d.Payment == nil || d.Payment.Gateway != gateway || d.Payment.Status != pay.PaymentCompleted {
		t.Errorf("payment %+v, want completed through %s", d.Payment, gateway)
	}
}

// checkPage fetches the page as a browser would and checks its policy
// and the tokenizer its data names.
func checkPage(t *testing.T, s *server, tok, wantCSP string, wantData ...string) {
	t.Helper()
	r := s.Page("GET", "/checkout/"+tok, nil, "")
	if r.Status != http.StatusOK {
		t.Fatalf("page: %d %s", r.Status, r.Body)
	}
	if got := r.Header.Get("Content-Security-Policy"); got != wantCSP {
		t.Errorf("Content-Security-Policy\n\t%s\nwant\n\t%s", got, wantCSP)
	}
	for _, w := range wantData {
		if !strings.Contains(string(r.Body), w) {
			t.Errorf("the page's data lacks %s", w)
		}
	}
}

// verifyByEmail proves an email address with the code sakk mailed it.
func verifyByEmail(t *testing.T, c context.Context, sink *smtpsink.Sink, email string) {
	t.Helper()
	n := sink.Count()
	do(t, c, "identifier", chromedp.WaitVisible(dt("identifier")), chromedp.SendKeys(dt("identifier"), email+kb.Enter), chromedp.WaitVisible(dt("code")))
	code, to, _ := sink.Code(t, n+1)
	if !strings.Contains(to, email) {
		t.Errorf("code sent to %q, want %s", to, email)
	}
	do(t, c, "code", chromedp.SendKeys(dt("code"), code+kb.Enter), chromedp.WaitVisible(dt("pay")))
}

// passThreeDS waits for the page to send the shopper to the stand-in's
// 3-D Secure page (under prefix), and answers it as the shopper would:
// the stand-ins' challenge pages have no form, and are answered by
// ?action=complete, as their ThreeDSecure/ThreeDS helpers do.
func passThreeDS(t *testing.T, c context.Context, prefix string) {
	t.Helper()
	u, err := url.Parse(waitPrefix(t, c, prefix))
	if err != nil {
		t.Fatal(err)
	}
	u.RawQuery = "action=complete"
	do(t, c, "3-D Secure", chromedp.Navigate(u.String()))
}

// waitPrefix waits until the tab is at a URL that starts with prefix, and
// returns it.
func waitPrefix(t *testing.T, c context.Context, prefix string) string {
	t.Helper()
	var loc string
	for !strings.HasPrefix(loc, prefix) {
		select {
		case <-c.Done():
			shot(t, c, "FAILED-waiting-for-a-page")
			t.Fatalf("never at %s… (last at %s)", prefix, loc)
		case <-time.After(50 * time.Millisecond):
		}
		loc, _ = chromedp.Run(c, chromedp.Location())
	}
	return loc
}

// watchViolations records, in every document of the tab, what the
// Content-Security-Policy blocks (window.cspViolations).
func watchViolations(t *testing.T, c context.Context) {
	t.Helper()
	_, err := chromedp.Call(c, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		window.cspViolations = [];
		document.addEventListener('securitypolicyviolation', function (e) {
			window.cspViolations.push(e.effectiveDirective + ' ' + e.blockedURI);
		});`})
	if err != nil {
		t.Fatal(err)
	}
}

// blockedOutside checks, from the page, that the policy lets it reach
// allowed and none of the other origins, then forgets the violations
// that caused.
func blockedOutside(t *testing.T, c context.Context, allowed string, origins []string) {
	t.Helper()
	for _, o := range origins {
		js := fmt.Sprintf(`fetch(%q + "/probe", {method: "GET", mode: "no-cors", credentials: "omit"}).then(() => "reached", () => "blocked")`, o)
		got, err := chromedp.Run(c, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("probe %s: %v", o, err)
		}
		if want := map[bool]string{true: "reached", false: "blocked"}[o == allowed]; got != want {
			t.Errorf("the page %s %s, want %s", got, o, want)
		}
	}
	eval[any](t, c, `window.cspViolations.length = 0`)
}

// noViolations checks that nothing the page needed was blocked.
func noViolations(t *testing.T, c context.Context) {
	t.Helper()
	if v := eval[[]string](t, c, `window.cspViolations || []`); len(v) != 0 {
		t.Errorf("the Content-Security-Policy blocked %v", v)
	}
}

// stripeEdge plays the part of Stripe's API that Stripe.js calls from the
// shopper's browser: POST /v1/payment_methods, authenticated by the
// publishable key in the form (key=pk_…), answering any origin (CORS), as
// api.stripe.com does. It checks the key, then has the card made into a
// PaymentMethod by the stand-in (so stripe-mock validates the request
// against Stripe's OpenAPI document; stripe-mock accepts only secret keys,
// hence the secret key there). The id it answers is the test
// PaymentMethod of the test card (pm_card_threeDSecure2Required for
// 4000 0000 0000 3220): in Stripe's test mode the two behave alike, and
// the stand-in tells test scenarios apart by those names.
type stripeEdge struct {
	url string
	mu  sync.Mutex
	ids []string
}

var testPaymentMethods = map[string]string{
	"4242424242424242": stripetest.PMApprove,
	"4000000000000002": stripetest.PMDecline,
	"4000000000003220": stripetest.PM3DS,
}

func newStripeEdge(t *testing.T, st *stripetest.StandIn, publishable, secret string) *stripeEdge {
	t.Helper()
	e := &stripeEdge{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPost || r.URL.Path != "/v1/payment_methods" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"type":"invalid_request_error","message":"Unrecognized request URL."}}`)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if r.PostForm.Get("key") != publishable {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided."}}`)
			return
		}
		form := url.Values{}
		for k, v := range r.PostForm {
			if k != "key" {
				form[k] = v
			}
		}
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, st.URL()+"/v1/payment_methods", strings.NewReader(form.Encode()))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		id, known := testPaymentMethods[form.Get("card[number]")]
		if resp.StatusCode != http.StatusOK || !known {
			w.WriteHeader(http.StatusPaymentRequired)
			io.WriteString(w, `{"error":{"type":"card_error","code":"card_declined","message":"Your card was declined."}}`)
			return
		}
		e.mu.Lock()
		e.ids = append(e.ids, id)
		e.mu.Unlock()
		fmt.Fprintf(w, `{"id":%q,"object":"payment_method","type":"card","card":{"brand":"visa","last4":%q}}`, id, form.Get("card[number]")[12:])
	}))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// issued lists the PaymentMethod ids answered so far.
func (e *stripeEdge) issued() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.ids...)
}

// host is a test server standing in for a third party's origin.
type host struct{ url string }

// newStripeJSDouble serves the test double of Stripe.js at /v3/ (see
// TestBrowserLiveCards), on an origin of its own, calling api.
func newStripeJSDouble(t *testing.T, api string) host {
	t.Helper()
	script := strings.Replace(stripeJSDouble, "API_BASE", api, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v3/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		io.WriteString(w, script)
	}))
	t.Cleanup(srv.Close)
	return host{url: srv.URL}
}

const stripeJSDouble = `(function () {
  'use strict';
  var api = 'API_BASE';
  function CardElement() { this.inputs = null; }
  CardElement.prototype.mount = function (target) {
    var el = typeof target === 'string' ? document.querySelector(target) : target;
    var field = function (name, label, ac) {
      var i = document.createElement('input');
      i.name = name; i.autocomplete = ac; i.inputMode = 'numeric'; i.placeholder = label;
      i.setAttribute('aria-label', label);
      el.appendChild(i);
      return i;
    };
    this.inputs = { number: field('cardnumber', 'Card number', 'cc-number'), exp: field('exp-date', 'MM / YY', 'cc-exp'), cvc: field('cvc', 'CVC', 'cc-csc') };
  };
  CardElement.prototype.clear = function () { for (var k in this.inputs) this.inputs[k].value = ''; };
  CardElement.prototype.focus = function () { this.inputs.number.focus(); };
  function Stripe(key) {
    if (!(this instanceof Stripe)) return new Stripe(key);
    this.key = key;
  }
  Stripe.prototype.elements = function () {
    return { create: function (type) { if (type !== 'card') throw new Error('only card'); return new CardElement(); } };
  };
  Stripe.prototype.createPaymentMethod = function (o) {
    var i = o.card.inputs, exp = i.exp.value.replace(/\D/g, '');
    var body = new URLSearchParams({ key: this.key, type: o.type, 'card[number]': i.number.value.replace(/\D/g, ''),
      'card[exp_month]': exp.slice(0, 2), 'card[exp_year]': '20' + exp.slice(2, 4), 'card[cvc]': i.cvc.value });
    return fetch(api + '/v1/payment_methods', { method: 'POST', body: body, credentials: 'omit' }).then(function (res) {
      return res.json().then(function (b) { return res.ok ? { paymentMethod: b } : { error: b.error }; });
    }, function () { return { error: { type: 'api_connection_error', message: 'Could not reach Stripe.' } }; });
  };
  window.Stripe = Stripe;
})();
`

// newCORSFront serves target's API to browsers: it answers preflights and
// adds Access-Control-Allow-Origin, as Moyasar's API does for its card
// form on merchants' pages; moyasartest, made for server-to-server calls,
// does not. Everything else reaches target unchanged.
func newCORSFront(t *testing.T, target string) host {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Methods", "POST")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return host{url: srv.URL}
}
