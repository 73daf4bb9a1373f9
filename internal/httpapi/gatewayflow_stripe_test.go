package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway/stripe/stripetest"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/routing"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// TestGatewayFlowStripe is issue 7's acceptance for Stripe: a live payment
// in a three-decimal currency through sakk's public API, 3-D Secure at the
// card issuer, the shopper's return to sakk's callback, Stripe's
// notification and its retry, and a partial then a full refund through
// the merchant API, with Stripe (stripe-mock behind the recording
// stand-in, which validates every request against Stripe's OpenAPI
// document) seeing exactly the documented requests; forged and replayed
// notifications change nothing.
func TestGatewayFlowStripe(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			st := stripetest.Start(t)
			f := newLiveFlow(t, engine, routing.BaseURLs{"stripe": st.URL()}, "KWD")
			secretKey := "sk_test_" + stripetest.RandomHex(12)
			whsec := "whsec_" + stripetest.RandomHex(24)
			public, err := f.Accounts.Set(t.Context(), f.app, pay.Live, "stripe", map[string]string{
				"secretKey": secretKey, "publishableKey": "pk_test_" + stripetest.RandomHex(12), "webhookSecret": whsec,
			}, true)
			if err != nil || len(public) != 1 {
				t.Fatalf("Set = (%v, %v), want only the publishable key public", public, err)
			}

			// Session (45.120 KWD: 45120 at Stripe, whose three-decimal
			// amounts end in 0), verification by a code sent by email.
			sessTok, sessID := f.session(t, "45.120", "KWD")
			vtok := f.verify(t, sessTok, "buyer@kuwait.test")

			// Stripe.js on the hosted page turns the card into a
			// PaymentMethod; sakk confirms a PaymentIntent with it.
			m := wantAttempt(t, f.process(t, vtok, sessTok, "stripe", "card", stripetest.PM3DS), "requires_action")
			payID := str(m, "paymentId")
			redirect := str(m, "redirectUrl")
			ref, ok := strings.CutPrefix(redirect, st.URL()+"/3ds/")
			if !ok || !strings.HasPrefix(ref, "pi_") || m["gateway"] != "stripe" {
				t.Fatalf("process: %v, want a redirect to the issuer's 3-D Secure page", m)
			}

			// Before the shopper is back, forged notifications claim the
			// payment: refused with 401, nothing changes, Stripe is not
			// asked.
			hookPath := "/api/v1/webhooks/stripe/" + f.app
			before := len(st.Requests())
			now := time.Now()
			good := st.Event(t, ref, "payment_intent.succeeded", now)
			for name, forged := range map[string]struct {
				path, sig string
				body      []byte
			}{
				"wrong secret":                  {hookPath, stripetest.Sign("whsec_"+stripetest.RandomHex(24), now, good), good},
				"no signature":                  {hookPath, "", good},
				"body altered":                  {hookPath, stripetest.Sign(whsec, now, good), []byte(strings.Replace(string(good), `"livemode":false`, `"livemode":true`, 1))},
				"replayed from long ago":        {hookPath, stripetest.Sign(whsec, now.Add(-time.Hour), good), good},
				"another application's":         {"/api/v1/webhooks/stripe/" + f.NewApp("Other", pay.Live).Application.ID, stripetest.Sign(whsec, now, good), good},
				"wrong secret, any application": {"/api/v1/webhooks/stripe", stripetest.Sign("whsec_"+stripetest.RandomHex(24), now, good), good},
			} {
				r := f.notify(forged.path, http.Header{"Stripe-Signature": {forged.sig}}, forged.body)
				if r.Status != 401 || r.PaymentCode(t) != "invalid_signature" {
					t.Errorf("%s: %d %s, want 401 invalid_signature", name, r.Status, r.Body)
				}
			}
			if p := f.payment(t, payID); p["status"] != "requires_action" {
				t.Fatalf("after forged notifications the payment is %v, want requires_action", p["status"])
			}
			if n := len(st.Requests()) - before; n != 0 {
				t.Errorf("forged notifications made sakk call Stripe %d times", n)
			}

			// The shopper passes 3-D Secure and Stripe sends the browser
			// back; sakk asks Stripe, not the browser.
			back := st.ThreeDSecure(t, redirect, true)
			if q := back.Query(); q.Get("payment_intent") != ref || q.Get("redirect_status") != "succeeded" || back.Path != "/api/v1/payments/callback/"+sessID {
				t.Errorf("Stripe sent the shopper to %s", back)
			}
			if state := f.callback(t, back); state != "paid" {
				t.Errorf("callback page state %s, want paid", state)
			}
			if p := f.payment(t, payID); p["status"] != "completed" || p["gatewayReference"] != ref || p["amount"] != "45.120" || p["currency"] != "KWD" {
				t.Errorf("payment after the callback: %v", p)
			}
			if s := f.checkoutStatus(t, f.keys, payID); s != "APPROVED" {
				t.Errorf("Checkout API status %s, want APPROVED", s)
			}

			// Stripe's own notification, and its retry: acknowledged,
			// nothing moves.
			succeeded := http.Header{"Stripe-Signature": {stripetest.Sign(whsec, time.Now(), good)}}
			for range 2 {
				if r := f.notify(hookPath, succeeded, good); r.Status != 200 || str(r.JSON(t), "message") != "applied" {
					t.Errorf("genuine notification: %d %s", r.Status, r.Body)
				}
			}
			if n := f.events(t, sessID, "payment.completed"); n != 1 {
				t.Errorf("%d payment.completed events, want 1", n)
			}

			// Refunds: 15.050 KWD, then the rest; a retried request (same
			// Idempotency-Key) refunds nothing more.
			r1 := f.refundKeyed(t, payID, `{"amount":"15.050"}`, "rf-stripe-1")
			if r1["status"] != "succeeded" || r1["amount"] != "15.050" {
				t.Errorf("partial refund: %v", r1)
			}
			if again := f.refundKeyed(t, payID, `{"amount":"15.050"}`, "rf-stripe-1"); again["id"] != r1["id"] {
				t.Errorf("retried refund: %v, want refund %v", again, r1["id"])
			}
			if s := f.checkoutStatus(t, f.keys, payID); s != "APPROVED" {
				t.Errorf("Checkout API status after a partial refund: %s", s)
			}
			r2 := f.refundKeyed(t, payID, `{}`, "rf-stripe-2")
			if r2["status"] != "succeeded" || r2["amount"] != "30.070" {
				t.Errorf("refund of the rest: %v", r2)
			}
			if s := f.checkoutStatus(t, f.keys, payID); s != "REFUNDED" {
				t.Errorf("Checkout API status after the full refund: %s, want REFUNDED", s)
			}

			// A replay of the old notifications, within Stripe's tolerance
			// (so they verify), changes nothing: not the payment failed
			// either.
			failed := st.Event(t, ref, "payment_intent.payment_failed", time.Now())
			for _, body := range [][]byte{good, failed} {
				if r := f.notify(hookPath, http.Header{"Stripe-Signature": {stripetest.Sign(whsec, time.Now(), body)}}, body); r.Status != 200 {
					t.Errorf("replayed notification: %d %s", r.Status, r.Body)
				}
			}
			if p := f.payment(t, payID); p["status"] != "refunded" || p["refundedAmount"] != "45.120" {
				t.Errorf("payment after the refunds and the replays: %v", p)
			}
			if n := f.events(t, sessID, "payment.completed") + f.events(t, sessID, "payment.failed"); n != 1 {
				t.Errorf("%d payment.completed and payment.failed events, want 1", n)
			}

			// Refusals and replays were logged, without secrets, signatures
			// or bodies.
			_, sig, _ := strings.Cut(stripetest.Sign(whsec, now, good), ",v1=")
			f.logsWithout(t, "inbound webhook refused", secretKey, whsec, sig, string(good))

			// Exactly the documented requests, in order.
			pi := "/v1/payment_intents/" + ref
			var got []string
			for _, r := range st.Requests() {
				got = append(got, r.Method+" "+r.Path)
				if !strings.HasPrefix(r.Path, "/3ds/") && (r.Header.Get("Authorization") != "Bearer "+secretKey || r.Header.Get("Stripe-Version") != stripetest.APIVersion) {
					t.Errorf("%s %s: Authorization %q, Stripe-Version %q", r.Method, r.Path, r.Header.Get("Authorization"), r.Header.Get("Stripe-Version"))
				}
			}
			wantRequests(t, got, []string{
				"POST /v1/payment_intents", // process: create and confirm
				"GET /3ds/" + ref,          // the shopper's 3-D Secure, at the issuer
				"GET " + pi,                // the callback re-reads the PaymentIntent
				"GET " + pi,                // refund 1: what is left to refund is read,
				"POST /v1/refunds",         // then refunded
				"GET " + pi,                // refund 2
				"POST /v1/refunds",
			})
			create := st.RequestsTo("POST", "/v1/payment_intents")
			wantCreate := url.Values{
				"amount": {"45120"}, "currency": {"kwd"}, "payment_method": {stripetest.PM3DS}, "payment_method_types[]": {"card"},
				"confirm": {"true"}, "return_url": {f.URL + "/api/v1/payments/callback/" + sessID},
				"metadata[sakk_payment_id]": {payID}, "metadata[sakk_session_id]": {sessID},
			}
			if len(create) != 1 || create[0].Form.Encode() != wantCreate.Encode() || create[0].Header.Get("Idempotency-Key") != "sakk_"+payID {
				for _, c := range create {
					t.Errorf("POST /v1/payment_intents: %s with Idempotency-Key %q", c.Form.Encode(), c.Header.Get("Idempotency-Key"))
				}
				t.Errorf("want one: %s with Idempotency-Key sakk_%s", wantCreate.Encode(), payID)
			}
			refunds := st.RequestsTo("POST", "/v1/refunds")
			for i, want := range []struct {
				amount string
				refund map[string]any
			}{{"15050", r1}, {"30070", r2}} {
				if i >= len(refunds) {
					break
				}
				form := url.Values{"payment_intent": {ref}, "amount": {want.amount}}
				if refunds[i].Form.Encode() != form.Encode() || refunds[i].Header.Get("Idempotency-Key") != "sakk_"+str(want.refund, "id") {
					t.Errorf("refund %d: %s with Idempotency-Key %q, want %s with sakk_%s", i+1,
						refunds[i].Form.Encode(), refunds[i].Header.Get("Idempotency-Key"), form.Encode(), str(want.refund, "id"))
				}
			}
			if n := st.Charges(); n != 1 {
				t.Errorf("%d PaymentIntents created, want 1", n)
			}
		})
	}
}
