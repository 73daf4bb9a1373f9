package myfatoorah_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/myfatoorah"
	"github.com/sakkhq/sakk/internal/pay"
)

// peersFile returns ../shared/peers/<rel> beside the repository root, or
// skips when it is missing (fails with SAKK_TEST_REQUIRE_PEERS=1).
func peersFile(t *testing.T, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "peers", rel)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("SAKK_TEST_REQUIRE_PEERS") == "1" {
			t.Fatalf("peers data %s: %v", p, err)
		}
		t.Skipf("peers data %s is missing", p)
	}
	return p
}

// TestWebhookV1Vectors checks MyFatoorah's published v1 signature vectors
// (from the tests of its official PHP library): every valid one verifies,
// the others do not.
func TestWebhookV1Vectors(t *testing.T) {
	raw, err := os.ReadFile(peersFile(t, "myfatoorah/webhook-v1-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			Secret    string `json:"secret"`
			Signature string `json:"signature"`
			Valid     bool   `json:"valid"`
			Body      string `json:"body"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	var valid, invalid int
	for i, v := range file.Vectors {
		for _, version := range []string{"v1", ""} {
			err := myfatoorah.Verify(v.Secret, version, []byte(v.Body), v.Signature)
			if v.Valid && err != nil {
				t.Errorf("vector %d (version %q): %v, want verified", i, version, err)
			}
			if !v.Valid && err == nil {
				t.Errorf("vector %d (version %q) verified, want refused", i, version)
			}
		}
		if v.Valid {
			valid++
			// One changed character of a signed value must break it.
			changed := strings.Replace(v.Body, `"KWT"`, `"KWT"`, 1) // outside Data: not signed
			if err := myfatoorah.Verify(v.Secret, "v1", []byte(changed), v.Signature); err != nil {
				t.Errorf("vector %d: a body equal in Data failed: %v", i, err)
			}
			tampered := strings.Replace(v.Body, `"KWD"`, `"USD"`, 1)
			if strings.Contains(v.Body, `"1520.664"`) {
				tampered = strings.Replace(v.Body, `"1520.664"`, `"1520.665"`, 1)
			}
			if err := myfatoorah.Verify(v.Secret, "v1", []byte(tampered), v.Signature); err == nil {
				t.Errorf("vector %d: verified after a signed value changed", i)
			}
			if err := myfatoorah.Verify(v.Secret+"x", "v1", []byte(v.Body), v.Signature); err == nil {
				t.Errorf("vector %d: verified with another secret", i)
			}
		} else {
			invalid++
		}
	}
	if valid == 0 || invalid == 0 {
		t.Fatalf("%d valid and %d invalid vectors, want some of each", valid, invalid)
	}
}

func sign(secret, text string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(text))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// v1Body is a TransactionsStatusChanged notification for invoice id
// claiming status, signed by the v1 rule written out by hand.
func v1Body(secret, id, ref, status string) (string, string) {
	body := `{"EventType":1,"Event":"TransactionsStatusChanged","DateTime":"01012026101010","CountryIsoCode":"KWT","Data":{` +
		`"InvoiceId":` + id + `,"InvoiceReference":"2026` + id + `","CreatedDate":"01012026101000","CustomerReference":"` + ref + `",` +
		`"CustomerName":"Shopper","CustomerMobile":"96512345678","CustomerEmail":null,"TransactionStatus":"` + status + `",` +
		`"PaymentMethod":"VISA/MASTER","UserDefinedField":null,"ReferenceId":"1","TrackId":"2","PaymentId":"3","AuthorizationId":"4",` +
		`"InvoiceValueInBaseCurrency":"17.99","BaseCurrency":"KWD","InvoiceValueInDisplayCurreny":"17.99","DisplayCurrency":"KWD",` +
		`"InvoiceValueInPayCurrency":"17.99","PayCurrency":"KWD"}}`
	text := "AuthorizationId=4,BaseCurrency=KWD,CreatedDate=01012026101000,CustomerEmail=,CustomerMobile=96512345678,CustomerName=Shopper," +
		"CustomerReference=" + ref + ",DisplayCurrency=KWD,InvoiceId=" + id + ",InvoiceReference=2026" + id + ",InvoiceValueInBaseCurrency=17.99," +
		"InvoiceValueInDisplayCurreny=17.99,InvoiceValueInPayCurrency=17.99,PayCurrency=KWD,PaymentId=3,PaymentMethod=VISA/MASTER," +
		"ReferenceId=1,TrackId=2,TransactionStatus=" + status + ",UserDefinedField="
	return body, sign(secret, text)
}

// v2Body is a PAYMENT_STATUS_CHANGED notification, signed by the v2 rule
// written out by hand.
func v2Body(secret, id, ref, status string) (string, string) {
	body := `{"Event":{"Code":1,"Name":"PAYMENT_STATUS_CHANGED","CountryIsoCode":"KWT","CreationDate":"2026-01-01T10:10:10Z","Reference":"WH-` + id + `"},` +
		`"Data":{"Invoice":{"Id":"` + id + `","Status":"PAID","Reference":"2026` + id + `","ExternalIdentifier":"` + ref + `","UserDefinedField":null},` +
		`"Transaction":{"Id":"9","Status":"` + status + `","PaymentMethod":"VISA/MASTER","PaymentId":"07076` + id + `"},` +
		`"Customer":{"Reference":"` + ref + `","Name":"Shopper"},"Amount":{"ValueInBaseCurrency":"17.99"}}}`
	text := "Invoice.Id=" + id + ",Invoice.Status=PAID,Transaction.Status=" + status + ",Transaction.PaymentId=07076" + id + ",Invoice.ExternalIdentifier=" + ref
	return body, sign(secret, text)
}

// TestWebhookVerifiedThenFetched checks ParseWebhook end to end against
// the stand-in: v1 and v2 notifications verify, the answer comes from a
// fresh GetPaymentStatus (a notification claiming success for an unpaid
// invoice reads as what MyFatoorah says), and forged ones are refused
// before anything is read.
func TestWebhookVerifiedThenFetched(t *testing.T) {
	s := newStandIn(t, "KWD")
	secret := randomHex(32)
	c := s.connector(t, secret, nil)
	paid, key := chargeAndPay(t, s, c, true)
	unpaid, key2 := chargeAndPay(t, s, c, false)

	for _, v := range []struct {
		name, version string
		build         func(secret, id, ref, status string) (string, string)
	}{{"v1", "v1", v1Body}, {"v1 shape", "", v1Body}, {"v2", "v2", v2Body}, {"v2 shape", "", v2Body}} {
		t.Run(v.name, func(t *testing.T) {
			hdr := func(sig string) http.Header {
				h := http.Header{}
				h.Set("MyFatoorah-Signature", sig)
				if v.version != "" {
					h.Set("MyFatoorah-Webhook-Version", v.version)
				}
				return h
			}
			before := len(s.requests("/v2/GetPaymentStatus"))
			body, sig := v.build(secret, paid, key, "SUCCESS")
			n, err := c.ParseWebhook(t.Context(), gateway.Webhook{Header: hdr(sig), Body: []byte(body)})
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if n.Reference != paid || n.Outcome != gateway.Approved || n.EventID == "" {
				t.Errorf("ParseWebhook = %+v, want %s approved with an event id", n, paid)
			}
			if got := len(s.requests("/v2/GetPaymentStatus")) - before; got != 1 {
				t.Errorf("ParseWebhook made %d GetPaymentStatus calls, want 1 (the re-fetch)", got)
			}

			// A genuine signature claiming success for an unpaid invoice:
			// the answer is MyFatoorah's current word.
			body, sig = v.build(secret, unpaid, key2, "SUCCESS")
			n, err = c.ParseWebhook(t.Context(), gateway.Webhook{Header: hdr(sig), Body: []byte(body)})
			if err != nil || n.Outcome != gateway.Declined {
				t.Errorf("ParseWebhook of a claim the gateway contradicts = %+v, %v; want declined (as fetched)", n, err)
			}

			// Forged: a signed value changed, another secret, no header.
			body, sig = v.build(secret, paid, key, "FAILED")
			forged := strings.Replace(body, "FAILED", "SUCCESS", 1)
			_, otherSig := v.build(randomHex(32), paid, key, "SUCCESS")
			before = len(s.requests("/v2/GetPaymentStatus"))
			for name, w := range map[string]gateway.Webhook{
				"altered":      {Header: hdr(sig), Body: []byte(forged)},
				"other secret": {Header: hdr(otherSig), Body: []byte(forged)},
				"no signature": {Header: http.Header{}, Body: []byte(forged)},
				"not base64":   {Header: hdr("%%%"), Body: []byte(forged)},
				"not json":     {Header: hdr(sig), Body: []byte("Data=1")},
			} {
				if n, err := c.ParseWebhook(t.Context(), w); pay.KindOf(err) != pay.Unauthenticated {
					t.Errorf("%s: ParseWebhook = %+v, %v; want an Unauthenticated error", name, n, err)
				}
			}
			if got := len(s.requests("/v2/GetPaymentStatus")) - before; got != 0 {
				t.Errorf("forged notifications caused %d GetPaymentStatus calls, want none", got)
			}
		})
	}

	t.Run("not configured", func(t *testing.T) {
		body, sig := v1Body(secret, paid, key, "SUCCESS")
		h := http.Header{}
		h.Set("MyFatoorah-Signature", sig)
		if _, err := s.connector(t, "", nil).ParseWebhook(t.Context(), gateway.Webhook{Header: h, Body: []byte(body)}); pay.KindOf(err) != pay.Unauthenticated {
			t.Errorf("ParseWebhook without a secret: %v, want Unauthenticated", err)
		}
	})
}

// chargeAndPay makes a charge and pays it (pass) or abandons it.
func chargeAndPay(t *testing.T, s *standIn, c *myfatoorah.Connector, pass bool) (id, key string) {
	t.Helper()
	req := chargeRequest(t, s, "KWD", 17990)
	res, err := c.Charge(t.Context(), req)
	if err != nil || res.Outcome != gateway.ActionRequired {
		t.Fatalf("Charge = %+v, %v", res, err)
	}
	s.complete(t, res, pass)
	return res.Reference, req.IdempotencyKey
}

// TestWebhookV1RefundRule checks the v1 rule's one exception: a refund
// event's GatewayReference object is not signed; the other properties are.
func TestWebhookV1RefundRule(t *testing.T) {
	secret := randomHex(32)
	body := `{"EventType":2,"Event":"RefundStatusChanged","DateTime":"04032021211057","CountryIsoCode":"KWT","Data":{"RefundId":2840,` +
		`"RefundReference":"2021000019","CreatedDate":"04032021210447","RefundStatus":"REFUNDED","Amount":"40","Comments":"Test Webhook",` +
		`"InvoiceId":"585757","GatewayReference":{"PaymentId":"100202109798688317","RefundAmount":"40"}}}`
	sig := sign(secret, "Amount=40,Comments=Test Webhook,CreatedDate=04032021210447,InvoiceId=585757,RefundId=2840,RefundReference=2021000019,RefundStatus=REFUNDED")
	if err := myfatoorah.Verify(secret, "v1", []byte(body), sig); err != nil {
		t.Errorf("refund event: %v", err)
	}
	if err := myfatoorah.Verify(secret, "v1", []byte(strings.Replace(body, `"EventType":2`, `"EventType":1`, 1)), sig); err == nil {
		t.Error("the GatewayReference exception applied to a payment event")
	}
}
