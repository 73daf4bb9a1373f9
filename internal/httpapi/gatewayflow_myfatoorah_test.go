package httpapi_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sakkhq/sakk/internal/gateway/myfatoorah/myfatoorahtest"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/routing"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// TestGatewayFlowMyFatoorah is issue 7's acceptance for MyFatoorah: a
// live payment in KWD (three decimals) through sakk's public API, paid
// off-site on MyFatoorah's page, made final by MyFatoorah's signed
// notification, the shopper's return, and a partial then a full refund
// (pending at first, as MyFatoorah's are, then settled), with MyFatoorah
// (the stand-in) seeing exactly the documented requests; forged
// notifications are refused and replayed ones change nothing.
func TestGatewayFlowMyFatoorah(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			mf := myfatoorahtest.Start(t, "KWD")
			b := make([]byte, 32)
			rand.Read(b)
			secret := hex.EncodeToString(b) // the account's webhook secret key
			f := newLiveFlow(t, engine, routing.BaseURLs{"myfatoorah": mf.URL}, "KWD")
			if _, err := f.Accounts.Set(t.Context(), f.app, pay.Live, "myfatoorah", map[string]string{
				"token": mf.Token, "country": mf.Country, "webhookSecret": secret,
			}, true); err != nil {
				t.Fatal(err)
			}

			sessTok, sessID := f.session(t, "12.345", "KWD")
			vtok := f.verify(t, sessTok, "buyer@kuwait.test")

			// A card payment: off-site, on MyFatoorah's page.
			m := wantAttempt(t, f.process(t, vtok, sessTok, "myfatoorah", "card", ""), "requires_action")
			payID := str(m, "paymentId")
			inv, _ := f.payment(t, payID)["gatewayReference"].(string)
			if inv == "" || str(m, "redirectUrl") != mf.URL+"/pay/"+inv {
				t.Fatalf("process: %v, want a redirect to the invoice %q's PaymentURL", m, inv)
			}
			back := mf.Pay(t, str(m, "redirectUrl"), true)
			if q := back.Query(); q.Get("outcome") != "success" || q.Get("paymentId") == "" {
				t.Errorf("MyFatoorah sent the shopper back with %s", back.RawQuery)
			}

			// Paid at MyFatoorah; before anything else reaches sakk,
			// forged notifications claim it: refused, nothing changes, and
			// MyFatoorah is not asked.
			hookPath := "/api/v1/webhooks/myfatoorah/" + f.app
			genuine := mf.Webhook(t, secret, inv, "v2")
			other := mf.Webhook(t, secret+"x", inv, "v1")
			altered := strings.Replace(string(genuine.Body), `"Status":"PAID"`, `"Status":"PENDING"`, 1)
			if altered == string(genuine.Body) {
				t.Fatalf("no invoice status to alter in %s", genuine.Body)
			}
			before := len(mf.Requests(""))
			for name, w := range map[string]struct {
				header http.Header
				body   string
			}{
				"another secret":       {other.Header, string(other.Body)},
				"signed value changed": {genuine.Header, altered},
				"no signature":         {http.Header{"Content-Type": {"application/json"}}, string(genuine.Body)},
			} {
				if r := f.notify(hookPath, w.header, []byte(w.body)); r.Status != 401 || r.PaymentCode(t) != "invalid_signature" {
					t.Errorf("%s: %d %s, want 401 invalid_signature", name, r.Status, r.Body)
				}
			}
			if st := f.payment(t, payID)["status"]; st != "requires_action" {
				t.Fatalf("after forged notifications the payment is %v, want requires_action", st)
			}
			if n := len(mf.Requests("")) - before; n != 0 {
				t.Errorf("forged notifications made sakk call MyFatoorah %d times", n)
			}
			f.logsWithout(t, "inbound webhook refused", secret, mf.Token, genuine.Header.Get("MyFatoorah-Signature"))

			// MyFatoorah's notification (v2) completes the payment; the
			// shopper's return then finds it paid.
			if r := f.notify(hookPath, genuine.Header, genuine.Body); r.Status != 200 || str(r.JSON(t), "message") != "applied" {
				t.Fatalf("genuine notification: %d %s", r.Status, r.Body)
			}
			if p := f.payment(t, payID); p["status"] != "completed" || p["amount"] != "12.345" || p["currency"] != "KWD" {
				t.Errorf("payment after the notification: %v", p)
			}
			if st := f.txStatus(t, payID); st != "APPROVED" {
				t.Errorf("Checkout API status %s, want APPROVED", st)
			}
			if st := f.callback(t, back); st != "paid" {
				t.Errorf("callback page state %s, want paid", st)
			}
			// Replayed, and delivered again in the v1 format: acknowledged,
			// nothing moves.
			v1 := mf.Webhook(t, secret, inv, "v1")
			for _, w := range []struct {
				header http.Header
				body   []byte
			}{{genuine.Header, genuine.Body}, {v1.Header, v1.Body}} {
				if r := f.notify(hookPath, w.header, w.body); r.Status != 200 || str(r.JSON(t), "message") != "applied" {
					t.Errorf("repeated notification: %d %s", r.Status, r.Body)
				}
			}
			if n := f.events(t, sessID, "payment.completed"); n != 1 {
				t.Errorf("%d payment.completed events, want 1", n)
			}

			// Refunds: MyFatoorah takes them as requests ("Pending"), so
			// sakk answers pending; once MyFatoorah has refunded, the
			// merchant's retry of each request (same Idempotency-Key)
			// settles it without asking for a second refund.
			r1 := f.refundKeyed(t, payID, `{"amount":"5.000"}`, "rf-mf-1")
			r2 := f.refundKeyed(t, payID, `{}`, "rf-mf-2")
			if r1["status"] != "pending" || r1["amount"] != "5.000" || r2["status"] != "pending" || r2["amount"] != "7.345" {
				t.Errorf("refunds asked for: %v and %v, want pending 5.000 and 7.345", r1, r2)
			}
			if p := f.payment(t, payID); p["status"] != "completed" || p["refundedAmount"] != "0.000" {
				t.Errorf("payment with refunds pending: %v", p)
			}
			mf.SettleRefunds()
			if again := f.refundKeyed(t, payID, `{"amount":"5.000"}`, "rf-mf-1"); again["id"] != r1["id"] || again["status"] != "succeeded" {
				t.Errorf("retried refund 1: %v", again)
			}
			if st := f.txStatus(t, payID); st != "APPROVED" {
				t.Errorf("Checkout API status after a partial refund: %s", st)
			}
			if again := f.refundKeyed(t, payID, `{}`, "rf-mf-2"); again["id"] != r2["id"] || again["status"] != "succeeded" {
				t.Errorf("retried refund 2: %v", again)
			}
			if st := f.txStatus(t, payID); st != "REFUNDED" {
				t.Errorf("Checkout API status after the full refund: %s, want REFUNDED", st)
			}
			// The old notification once more: the refunded payment stays so.
			if r := f.notify(hookPath, v1.Header, v1.Body); r.Status != 200 {
				t.Errorf("replayed notification: %d %s", r.Status, r.Body)
			}
			if p := f.payment(t, payID); p["status"] != "refunded" || p["refundedAmount"] != "12.345" {
				t.Errorf("payment after the refunds and a replay: %v", p)
			}

			f.logsWithout(t, "inbound webhook applied", secret, mf.Token, genuine.Header.Get("MyFatoorah-Signature"), v1.Header.Get("MyFatoorah-Signature"))

			// Exactly the documented requests, in order.
			var got []string
			for _, r := range mf.Requests("") {
				got = append(got, strings.TrimPrefix(r.Path, "/v2/"))
			}
			wantRequests(t, got, []string{
				"GetPaymentStatus", "InitiatePayment", "ExecutePayment", // process: look the key up, pick the method, create the invoice
				"GetPaymentStatus",                     // the notification, re-read
				"GetPaymentStatus", "GetPaymentStatus", // its repeats, re-read
				"GetPaymentStatus", "GetRefundStatus", "MakeRefund", // refund 1
				"GetPaymentStatus", "GetRefundStatus", "MakeRefund", // refund 2
				"GetPaymentStatus", "GetRefundStatus", // refund 1 retried: found by ExternalIdentifier
				"GetPaymentStatus", "GetRefundStatus", // refund 2 retried
				"GetPaymentStatus", // the replayed notification, re-read
			})
			reqs := mf.Requests("")
			if len(reqs) < 3 {
				return
			}
			lookup, exec := reqs[0].Body, reqs[2].Body
			if lookup["KeyType"] != "CustomerReference" || lookup["Key"] != "sakk_"+payID {
				t.Errorf("first GetPaymentStatus: %v, want the idempotency key looked up", lookup)
			}
			cb := f.URL + "/api/v1/payments/callback/" + sessID
			if exec["InvoiceValue"] != json.Number("12.345") || exec["DisplayCurrencyIso"] != "KWD" || exec["PaymentMethodId"] != json.Number("2") ||
				exec["CustomerReference"] != "sakk_"+payID || exec["UserDefinedField"] != payID || exec["CustomerEmail"] != "buyer@kuwait.test" ||
				exec["CallBackUrl"] != cb+"?outcome=success" || exec["ErrorUrl"] != cb+"?outcome=cancel" {
				t.Errorf("ExecutePayment: %v", exec)
			}
			for _, r := range mf.Requests("/v2/GetPaymentStatus")[1:] {
				if r.Body["KeyType"] != "InvoiceId" || r.Body["Key"] != inv {
					t.Errorf("GetPaymentStatus %v, want the invoice %s", r.Body, inv)
				}
			}
			refunds := mf.Requests("/v2/MakeRefund")
			for i, want := range []struct {
				amount string
				id     any
			}{{"5.000", r1["id"]}, {"7.345", r2["id"]}} {
				if i >= len(refunds) {
					break
				}
				b := refunds[i].Body
				if b["Amount"] != json.Number(want.amount) || b["KeyType"] != "InvoiceId" || b["Key"] != inv ||
					b["ExternalIdentifier"] != "sakk_"+want.id.(string) || b["ServiceChargeOnCustomer"] != false {
					t.Errorf("MakeRefund %d: %v, want %s KWD keyed sakk_%v", i+1, b, want.amount, want.id)
				}
			}
		})
	}
}
