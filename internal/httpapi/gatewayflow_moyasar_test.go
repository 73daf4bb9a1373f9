package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sakkhq/sakk/internal/gateway/moyasar"
	"github.com/sakkhq/sakk/internal/gateway/moyasar/moyasartest"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/routing"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// TestGatewayFlowMoyasar is issue 7's acceptance for Moyasar: a live
// payment through sakk's public API, 3-D Secure on Moyasar's page, the
// shopper's return, the notification, and a partial then a full refund,
// with Moyasar (the stand-in) seeing exactly the documented requests; a
// forged notification is refused and a replayed one changes nothing.
func TestGatewayFlowMoyasar(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			ms := moyasartest.StartLive(t)
			f := newLiveFlow(t, engine, routing.BaseURLs{"moyasar": ms.URL}, "SAR")
			if _, err := f.Accounts.Set(t.Context(), f.app, pay.Live, "moyasar", map[string]string{
				"secretKey": ms.SecretKey, "publishableKey": ms.PublishableKey, "webhookSecret": ms.WebhookSecret,
			}, true); err != nil {
				t.Fatal(err)
			}

			// Session (100.50 SAR: 10050 halalas at Moyasar), verification
			// by a code sent by email.
			sessTok, sessID := f.session(t, "100.50", "SAR")
			vtok := f.verify(t, sessTok, "buyer@riyadh.test")

			// The hosted page's card form tokenizes at Moyasar with the
			// publishable key; sakk charges the token.
			cardTok := ms.Token(t, moyasartest.Card3DS)
			m := wantAttempt(t, f.process(t, vtok, sessTok, "moyasar", "card", cardTok), "requires_action")
			payID := str(m, "paymentId")
			ref := moyasar.GivenID("sakk_" + payID)
			if m["gateway"] != "moyasar" || str(m, "redirectUrl") != ms.URL+"/3ds/"+ref {
				t.Fatalf("process: %v, want a redirect to the payment's transaction_url", m)
			}

			// 3-D Secure passed at Moyasar; before the shopper is back, a
			// forged notification claims the payment: refused, nothing
			// changes, and Moyasar is not even asked.
			back := ms.ThreeDS(t, str(m, "redirectUrl"), true)
			before := len(ms.Requests("", ""))
			hookPath := "/api/v1/webhooks/moyasar/" + f.app
			for name, w := range map[string]struct {
				path string
				hook func() (http.Header, []byte)
			}{
				"wrong secret token": {hookPath, func() (http.Header, []byte) {
					w := ms.Webhook(t, ms.WebhookSecret+"x", ref, "payment_paid")
					return w.Header, w.Body
				}},
				"no secret token": {"/api/v1/webhooks/moyasar", func() (http.Header, []byte) {
					w := ms.Webhook(t, "", ref, "payment_paid")
					return w.Header, []byte(strings.Replace(string(w.Body), `"secret_token":"",`, "", 1))
				}},
				"token of another application": {"/api/v1/webhooks/moyasar/" + f.NewApp("Other", pay.Live).Application.ID, func() (http.Header, []byte) {
					w := ms.Webhook(t, ms.WebhookSecret, ref, "payment_paid")
					return w.Header, w.Body
				}},
			} {
				h, body := w.hook()
				if r := f.notify(w.path, h, body); r.Status != 401 || r.PaymentCode(t) != "invalid_signature" {
					t.Errorf("%s: %d %s, want 401 invalid_signature", name, r.Status, r.Body)
				}
			}
			if st := f.payment(t, payID)["status"]; st != "requires_action" {
				t.Fatalf("after forged notifications the payment is %v, want requires_action", st)
			}
			if n := len(ms.Requests("", "")) - before; n != 0 {
				t.Errorf("forged notifications made sakk call Moyasar %d times", n)
			}
			f.logsWithout(t, "inbound webhook refused", ms.WebhookSecret, ms.SecretKey)

			// The shopper is back: sakk asks Moyasar, not the browser.
			if q := back.Query(); q.Get("id") != ref || q.Get("status") != "paid" {
				t.Errorf("Moyasar sent the shopper back with %s", back.RawQuery)
			}
			if st := f.callback(t, back); st != "paid" {
				t.Errorf("callback page state %s, want paid", st)
			}
			if p := f.payment(t, payID); p["status"] != "completed" || p["gatewayReference"] != ref || p["amount"] != "100.50" {
				t.Errorf("payment after the callback: %v", p)
			}
			if st := f.txStatus(t, payID); st != "APPROVED" {
				t.Errorf("Checkout API status %s, want APPROVED", st)
			}

			// Moyasar's own notification, and its retry: acknowledged,
			// nothing moves.
			paid := ms.Webhook(t, ms.WebhookSecret, ref, "payment_paid")
			for range 2 {
				if r := f.notify(hookPath, paid.Header, paid.Body); r.Status != 200 || str(r.JSON(t), "message") != "applied" {
					t.Errorf("genuine notification: %d %s", r.Status, r.Body)
				}
			}
			if n := f.events(t, sessID, "payment.completed"); n != 1 {
				t.Errorf("%d payment.completed events, want 1", n)
			}

			// Refunds: 40.25 SAR, then the rest; a retried request (same
			// Idempotency-Key) refunds nothing more.
			r1 := f.refundKeyed(t, payID, `{"amount":"40.25"}`, "rf-moyasar-1")
			if r1["status"] != "succeeded" || r1["amount"] != "40.25" {
				t.Errorf("partial refund: %v", r1)
			}
			if again := f.refundKeyed(t, payID, `{"amount":"40.25"}`, "rf-moyasar-1"); again["id"] != r1["id"] {
				t.Errorf("retried refund: %v, want refund %v", again, r1["id"])
			}
			if st := f.txStatus(t, payID); st != "APPROVED" {
				t.Errorf("Checkout API status after a partial refund: %s", st)
			}
			r2 := f.refundKeyed(t, payID, `{}`, "rf-moyasar-2")
			if r2["status"] != "succeeded" || r2["amount"] != "60.25" {
				t.Errorf("refund of the rest: %v", r2)
			}
			if st := f.txStatus(t, payID); st != "REFUNDED" {
				t.Errorf("Checkout API status after the full refund: %s, want REFUNDED", st)
			}
			// A replay of the old "paid" notification changes nothing.
			if r := f.notify(hookPath, paid.Header, paid.Body); r.Status != 200 {
				t.Errorf("replayed notification: %d %s", r.Status, r.Body)
			}
			if p := f.payment(t, payID); p["status"] != "refunded" || p["refundedAmount"] != "100.50" {
				t.Errorf("payment after the refunds and a replay: %v", p)
			}
			if at, ok := ms.Payment(ref); !ok || at.Status != "refunded" || at.Refunded != 10050 {
				t.Errorf("at Moyasar: %+v", at)
			}

			f.logsWithout(t, "inbound webhook applied", ms.WebhookSecret, ms.SecretKey, cardTok)

			// Exactly the documented requests, in order.
			var got []string
			for _, r := range ms.Requests("", "") {
				got = append(got, r.Method+" "+r.Path)
				wantUser := ms.SecretKey
				if r.Path == "/v1/tokens" {
					wantUser = ms.PublishableKey
				}
				if !strings.HasPrefix(r.Path, "/3ds/") && (r.User != wantUser || r.Pass != "") {
					t.Errorf("%s %s authenticated as %q:%q", r.Method, r.Path, r.User, r.Pass)
				}
			}
			pp := "/v1/payments/" + ref
			wantRequests(t, got, []string{
				"POST /v1/tokens",   // the card form, in the browser
				"POST /v1/payments", // process
				"GET /3ds/" + ref,   // the shopper's 3-D Secure
				"GET " + pp,         // the callback re-reads the payment
				"GET " + pp,         // the notification, re-read
				"GET " + pp,         // its retry, re-read
				"GET " + pp,         // refund 1: the ledger is read,
				"PUT " + pp,         // the refund recorded in it,
				"POST " + pp + "/refund",
				"GET " + pp, // refund 2
				"PUT " + pp,
				"POST " + pp + "/refund",
				"GET " + pp, // the replayed notification, re-read
			})
			create := requestJSON(t, ms.Requests("POST", "/v1/payments")[0].Body)
			src, _ := create["source"].(map[string]any)
			if create["given_id"] != ref || create["amount"] != json.Number("10050") || create["currency"] != "SAR" ||
				create["callback_url"] != f.URL+"/api/v1/payments/callback/"+sessID ||
				src["type"] != "token" || src["token"] != cardTok || src["3ds"] != true || src["manual"] != false {
				t.Errorf("POST /v1/payments: %s", ms.Requests("POST", "/v1/payments")[0].Body)
			}
			refunds := ms.Requests("POST", pp+"/refund")
			puts := ms.Requests("PUT", pp)
			for i, want := range []struct{ amount, ledger string }{{"4025", "4025:4025"}, {"6025", "6025:10050"}} {
				if i >= len(refunds) || i >= len(puts) {
					break
				}
				if b := requestJSON(t, refunds[i].Body); len(b) != 1 || b["amount"] != json.Number(want.amount) {
					t.Errorf("refund %d: %s, want amount %s", i+1, refunds[i].Body, want.amount)
				}
				md, _ := requestJSON(t, puts[i].Body)["metadata"].(map[string]any)
				n := 0
				for k, v := range md {
					if strings.HasPrefix(k, "sakk_refund_") && v == want.ledger {
						n++
					}
				}
				if n != 1 || md["sakk_payment_id"] != payID {
					t.Errorf("ledger update %d: %s, want an entry %s and sakk's metadata kept", i+1, puts[i].Body, want.ledger)
				}
			}
		})
	}
}
