package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sakkhq/sakk/internal/gateway/paypal"
	"github.com/sakkhq/sakk/internal/gateway/paypal/paypaltest"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/routing"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// TestGatewayFlowPayPal is issue 7's acceptance for PayPal: a live payment
// through sakk's public API, the order created, the buyer's approval at
// PayPal, PayPal's CHECKOUT.ORDER.APPROVED notification (verified by
// PayPal, then the order re-read and captured), the shopper's return to
// sakk's callback, and a partial then a full refund of the capture
// through the merchant API, with PayPal (the stand-in, which validates
// every request and answer against PayPal's OpenAPI documents) seeing
// exactly the documented requests; forged and replayed notifications
// change nothing.
func TestGatewayFlowPayPal(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			pp := paypaltest.Start(t)
			f := newLiveFlow(t, engine, routing.BaseURLs{"paypal": pp.URL()}, "USD")
			public, err := f.Accounts.Set(t.Context(), f.app, pay.Live, "paypal", map[string]string{
				"clientId": pp.ClientID(), "clientSecret": pp.ClientSecret(), "webhookId": pp.WebhookID(),
			}, true)
			if err != nil || len(public) != 1 || public["clientId"] != pp.ClientID() {
				t.Fatalf("Set = (%v, %v), want only the client id public", public, err)
			}

			// Session (25.00 USD), verification by a code sent by email.
			sessTok, sessID := f.session(t, "25.00", "USD")
			vtok := f.verify(t, sessTok, "buyer@boston.test")

			// sakk creates the order and sends the shopper to PayPal.
			m := wantAttempt(t, f.process(t, vtok, sessTok, "paypal", "paypal", ""), "requires_action")
			payID := str(m, "paymentId")
			redirect, err := url.Parse(str(m, "redirectUrl"))
			if err != nil || redirect.Scheme+"://"+redirect.Host != pp.URL() || redirect.Path != "/checkoutnow" || m["gateway"] != "paypal" {
				t.Fatalf("process: %v, want a redirect to the order's payer-action link", m)
			}
			order := redirect.Query().Get("token")

			// The buyer approves; before anything reaches sakk, forged
			// notifications claim the order: PayPal does not verify them,
			// sakk answers 401 and nothing changes.
			back := pp.Approve(t, redirect.String(), true)
			hookPath := "/api/v1/webhooks/paypal/" + f.app
			approved := pp.Webhook(t, order, "CHECKOUT.ORDER.APPROVED", pp.WebhookID())
			altered := bytes.Replace(approved.Body, []byte(`"APPROVED"`), []byte(`"COMPLETED"`), 1)
			for name, w := range map[string]struct {
				path string
				hook func() ([]byte, map[string][]string)
			}{
				"body altered after signing": {hookPath, func() ([]byte, map[string][]string) { return altered, approved.Header }},
				"signed for another endpoint": {hookPath, func() ([]byte, map[string][]string) {
					w := pp.Webhook(t, order, "CHECKOUT.ORDER.APPROVED", "OTHERWEBHOOK1")
					return w.Body, w.Header
				}},
				"signature replaced": {"/api/v1/webhooks/paypal", func() ([]byte, map[string][]string) {
					h := approved.Header.Clone()
					h.Set(paypal.HeaderTransmissionSig, "bm90IGEgc2lnbmF0dXJl")
					return approved.Body, h
				}},
			} {
				body, h := w.hook()
				if r := f.notify(w.path, h, body); r.Status != 401 || r.PaymentCode(t) != "invalid_signature" {
					t.Errorf("%s: %d %s, want 401 invalid_signature", name, r.Status, r.Body)
				}
			}
			if p := f.payment(t, payID); p["status"] != "requires_action" {
				t.Fatalf("after forged notifications the payment is %v, want requires_action", p["status"])
			}
			if n := len(pp.RequestsTo("POST", "/v2/checkout/orders/"+order+"/capture")); n != 0 {
				t.Fatalf("a forged notification captured the order (%d captures)", n)
			}

			// PayPal's notification of the approval: verified by PayPal,
			// the order re-read and captured; the payment is completed.
			if r := f.notify(hookPath, approved.Header, approved.Body); r.Status != 200 || str(r.JSON(t), "message") != "applied" {
				t.Fatalf("genuine notification: %d %s", r.Status, r.Body)
			}
			if p := f.payment(t, payID); p["status"] != "completed" || p["gatewayReference"] != order || p["amount"] != "25.00" || p["currency"] != "USD" {
				t.Errorf("payment after the notification: %v", p)
			}
			// Its retry by PayPal: acknowledged, nothing moves.
			if r := f.notify(hookPath, approved.Header, approved.Body); r.Status != 200 {
				t.Errorf("retried notification: %d %s", r.Status, r.Body)
			}
			if n := f.events(t, sessID, "payment.completed"); n != 1 {
				t.Errorf("%d payment.completed events, want 1", n)
			}

			// The shopper is back from PayPal: already paid.
			if q := back.Query(); q.Get("token") != order || q.Get("outcome") != "success" || back.Path != "/api/v1/payments/callback/"+sessID {
				t.Errorf("PayPal sent the shopper to %s", back)
			}
			if state := f.callback(t, back); state != "paid" {
				t.Errorf("callback page state %s, want paid", state)
			}
			if s := f.checkoutStatus(t, f.keys, payID); s != "APPROVED" {
				t.Errorf("Checkout API status %s, want APPROVED", s)
			}

			// Refunds of the capture: 10.00 USD, then the rest; a retried
			// request (same Idempotency-Key) refunds nothing more.
			r1 := f.refundKeyed(t, payID, `{"amount":"10.00"}`, "rf-paypal-1")
			if r1["status"] != "succeeded" || r1["amount"] != "10.00" {
				t.Errorf("partial refund: %v", r1)
			}
			if again := f.refundKeyed(t, payID, `{"amount":"10.00"}`, "rf-paypal-1"); again["id"] != r1["id"] {
				t.Errorf("retried refund: %v, want refund %v", again, r1["id"])
			}
			if s := f.checkoutStatus(t, f.keys, payID); s != "APPROVED" {
				t.Errorf("Checkout API status after a partial refund: %s", s)
			}
			r2 := f.refundKeyed(t, payID, `{}`, "rf-paypal-2")
			if r2["status"] != "succeeded" || r2["amount"] != "15.00" {
				t.Errorf("refund of the rest: %v", r2)
			}
			if s := f.checkoutStatus(t, f.keys, payID); s != "REFUNDED" {
				t.Errorf("Checkout API status after the full refund: %s, want REFUNDED", s)
			}
			// A replay of the old notification changes nothing.
			if r := f.notify(hookPath, approved.Header, approved.Body); r.Status != 200 {
				t.Errorf("replayed notification: %d %s", r.Status, r.Body)
			}
			if p := f.payment(t, payID); p["status"] != "refunded" || p["refundedAmount"] != "25.00" {
				t.Errorf("payment after the refunds and a replay: %v", p)
			}

			// Refusals were logged, without credentials, signatures or
			// bodies.
			f.logsWithout(t, "inbound webhook refused", pp.ClientSecret(), approved.Header.Get(paypal.HeaderTransmissionSig),
				string(approved.Body))

			// Exactly the documented requests, in order.
			var got []string
			for _, r := range pp.Requests() {
				got = append(got, r.Method+" "+r.Path)
				switch {
				case r.Path == "/v1/oauth2/token":
					if id, secret, ok := (&http.Request{Header: r.Header}).BasicAuth(); !ok || id != pp.ClientID() || secret != pp.ClientSecret() {
						t.Errorf("token request without the client's credentials")
					}
				case r.Path != "/checkoutnow" && !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer A21AA"):
					t.Errorf("%s %s without a bearer token", r.Method, r.Path)
				}
			}
			o := "/v2/checkout/orders/" + order
			refunds := pp.RequestsTo("POST", "/v2/payments/captures/")
			if len(refunds) != 2 || refunds[0].Path != refunds[1].Path {
				t.Fatalf("refunds %v, want two of one capture", refunds)
			}
			refundPath := refunds[0].Path // the capture's id is PayPal's
			verify := "POST /v1/notifications/verify-webhook-signature"
			wantRequests(t, got, []string{
				"POST /v1/oauth2/token",    // one token, cached for what follows
				"POST /v2/checkout/orders", // process: the order
				"GET /checkoutnow",         // the buyer's approval, at PayPal
				verify, verify, verify,     // the forged notifications, refused by PayPal
				verify,                   // the genuine one,
				"GET " + o,               // the order re-read,
				"POST " + o + "/capture", // and captured
				verify, "GET " + o,       // its retry: verified, re-read
				"GET " + o, "POST " + refundPath, // refund 1: the capture found, refunded
				"GET " + o, "POST " + refundPath, // refund 2
				verify, "GET " + o, // the replayed notification
			})

			// The key fields of each request.
			create := pp.RequestsTo("POST", "/v2/checkout/orders")[0]
			var sent struct {
				Intent        string `json:"intent"`
				PurchaseUnits []struct {
					ReferenceID string            `json:"reference_id"`
					CustomID    string            `json:"custom_id"`
					Amount      map[string]string `json:"amount"`
				} `json:"purchase_units"`
				PaymentSource struct {
					PayPal struct {
						ExperienceContext struct {
							ReturnURL string `json:"return_url"`
							CancelURL string `json:"cancel_url"`
						} `json:"experience_context"`
					} `json:"paypal"`
				} `json:"payment_source"`
			}
			if err := json.Unmarshal(create.Body, &sent); err != nil || len(sent.PurchaseUnits) != 1 {
				t.Fatalf("create order: %s (%v)", create.Body, err)
			}
			pu, ec := sent.PurchaseUnits[0], sent.PaymentSource.PayPal.ExperienceContext
			callback := f.URL + "/api/v1/payments/callback/" + sessID
			if create.Header.Get("PayPal-Request-Id") != "sakk_"+payID || sent.Intent != "CAPTURE" ||
				pu.Amount["currency_code"] != "USD" || pu.Amount["value"] != "25.00" || pu.ReferenceID != payID || pu.CustomID != payID ||
				ec.ReturnURL != callback+"?outcome=success" || ec.CancelURL != callback+"?outcome=cancel" {
				t.Errorf("create order with PayPal-Request-Id %q: %s", create.Header.Get("PayPal-Request-Id"), create.Body)
			}
			if c := pp.RequestsTo("POST", o+"/capture")[0]; c.Header.Get("PayPal-Request-Id") != "capture-"+order {
				t.Errorf("capture with PayPal-Request-Id %q, want capture-%s", c.Header.Get("PayPal-Request-Id"), order)
			}
			for i, want := range []struct {
				value  string
				refund map[string]any
			}{{"10.00", r1}, {"15.00", r2}} {
				var body struct {
					Amount map[string]string `json:"amount"`
				}
				if err := json.Unmarshal(refunds[i].Body, &body); err != nil || body.Amount["value"] != want.value || body.Amount["currency_code"] != "USD" ||
					refunds[i].Header.Get("PayPal-Request-Id") != "sakk_"+str(want.refund, "id") {
					t.Errorf("refund %d: %s with PayPal-Request-Id %q, want %s USD with sakk_%s", i+1, refunds[i].Body,
						refunds[i].Header.Get("PayPal-Request-Id"), want.value, str(want.refund, "id"))
				}
			}
			for _, v := range pp.RequestsTo("POST", "/v1/notifications/verify-webhook-signature") {
				var body struct {
					WebhookID string `json:"webhook_id"`
				}
				if err := json.Unmarshal(v.Body, &body); err != nil || body.WebhookID != pp.WebhookID() {
					t.Errorf("verify-webhook-signature for webhook %q, want the account's %q", body.WebhookID, pp.WebhookID())
				}
			}
		})
	}
}
