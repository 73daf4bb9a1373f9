package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/store"
)

// TestDemoShopEndToEnd runs the demo shop the README's first command
// leads to, as a shopper and the shop would: the shop's server opens a
// session with its own key, the shopper pays (over the Public Payment
// API, as the hosted page does), sakk's signed webhook reaches the shop,
// and the shop's order page says "confirmed" only after asking sakk.
func TestDemoShopEndToEnd(t *testing.T) {
	tg := newTarget(t, store.SQLite)
	p := serveSakk(t, tg)
	keys := demoKeys(t, p.stdout.String())
	base := "http://" + p.addr
	call := func(method, path string, header map[string]string, body string) (int, map[string]any, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var m map[string]any
		json.Unmarshal(raw, &m)
		return resp.StatusCode, m, string(raw)
	}
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }

	if code, _, page := call("GET", "/demo", nil, ""); code != 200 || !strings.Contains(page, "/sdk/v1/sakk.js") || !strings.Contains(page, "Ceramic Mug") {
		t.Fatalf("GET /demo: %d\n%s", code, page)
	}
	// The browser names a product only; a price it sends is not read.
	code, order, raw := call("POST", "/demo/orders", nil, `{"product":"DEMO-MUG","price":"0.01"}`)
	if code != 200 || str(order, "session_token") == "" {
		t.Fatalf("POST /demo/orders: %d %s", code, raw)
	}
	if code, _, _ := call("POST", "/demo/orders", nil, `{"product":"NOPE"}`); code != 400 {
		t.Errorf("unknown product: %d, want 400", code)
	}
	session := str(order, "session_token")

	_, auth, raw := call("POST", "/api/v1/auth", map[string]string{"Authorization": "Bearer " + keys.SecretKey, "X-Public-Key": keys.PublicKey}, "")
	sdk := map[string]string{"Authorization": "Bearer " + str(auth, "token")}
	if str(auth, "token") == "" {
		t.Fatalf("auth: %s", raw)
	}
	if code, _, raw := call("POST", "/api/v1/checkout/verification/request", sdk, `{"method":"email_otp","identifier":"shopper@example.com","sessionToken":"`+session+`"}`); code != 200 {
		t.Fatalf("code request: %d %s", code, raw)
	}
	_, v, raw := call("POST", "/api/v1/checkout/verification/verify", sdk, `{"method":"email_otp","identifier":"shopper@example.com","code":"000000","sessionToken":"`+session+`"}`)
	if str(v, "verificationToken") == "" {
		t.Fatalf("verify: %s", raw)
	}
	_, card, raw := call("POST", "/api/v1/sandbox/tokens", nil, `{"number":"4242424242424242","expMonth":12,"expYear":2040,"cvc":"123"}`)
	if str(card, "token") == "" {
		t.Fatalf("tokenize: %s", raw)
	}
	_, paid, raw := call("POST", "/api/v1/payments/process", map[string]string{"Authorization": "Bearer " + str(v, "verificationToken")},
		`{"sessionToken":"`+session+`","method":"card","gateway":"stripe","methodPayload":{"tempPaymentToken":"`+str(card, "token")+`"}}`)
	if str(paid, "status") != "completed" {
		t.Fatalf("process: %s", raw)
	}
	paymentID := str(paid, "paymentId")

	// The shop receives sakk's signed webhook (it refuses unsigned ones).
	if code, _, _ := call("POST", "/demo/webhooks", map[string]string{"Sakk-Signature": "t=1,v1=00"}, `{"id":"evt_forged","type":"payment.completed"}`); code != 401 {
		t.Errorf("forged webhook: %d, want 401", code)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, events, raw := call("GET", "/demo/events", nil, "")
		if strings.Contains(raw, paymentID) && strings.Contains(raw, "payment.completed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the shop never received the payment.completed webhook: %v\nstderr:\n%s", events, p.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, _, confirmation := call("GET", "/demo/orders/"+paymentID, nil, "")
	if !strings.Contains(confirmation, `data-status="APPROVED">Order confirmed`) {
		t.Errorf("order page after paying:\n%s", confirmation)
	}
	// A transaction the shop's key cannot read is not confirmed.
	_, _, other := call("GET", "/demo/orders/pay_doesnotexist", nil, "")
	if strings.Contains(other, "Order confirmed") || !bytes.Contains([]byte(other), []byte("Not paid")) {
		t.Errorf("order page of an unknown transaction:\n%s", other)
	}
}
