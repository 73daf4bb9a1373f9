package moyasar_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/moyasar"
	"github.com/sakkhq/sakk/internal/gateway/moyasar/moyasartest"
	"github.com/sakkhq/sakk/internal/pay"
)

// FuzzParseWebhook: a Moyasar notification is read only when it is one
// strict JSON object whose secret_token is the endpoint's; anything else
// is refused as unauthenticated before the stand-in is asked about it.
// An accepted one names its event and the payment as the API shows it.
func FuzzParseWebhook(f *testing.F) {
	s := moyasartest.Start(f)
	c, err := moyasar.New(moyasar.Config{SecretKey: s.SecretKey, PublishableKey: s.PublishableKey, WebhookSecret: s.WebhookSecret, BaseURL: s.URL, MaxRetries: 1})
	if err != nil {
		f.Fatal(err)
	}
	for _, secret := range []string{s.WebhookSecret, "forged"} {
		w := s.Webhook(f, secret, "6d6a8a5e-5b4f-4c11-9d6e-0c3f7f3b9c01", "payment_paid")
		f.Add(w.Body)
	}
	f.Add([]byte(`{"secret_token":"` + s.WebhookSecret + `","id":"e","type":"payment_paid","data":{"id":"x"},"secret_token":"forged"}`))
	f.Add([]byte(`{"secret_token":"` + s.WebhookSecret + `","id":"e","type":"invoice_paid","data":{}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := c.ParseWebhook(t.Context(), gateway.Webhook{Header: http.Header{"Content-Type": {"application/json"}}, Body: body})
		var members map[string]json.RawMessage
		d := json.NewDecoder(bytes.NewReader(body))
		var token string
		genuine := d.Decode(&members) == nil && json.Unmarshal(members["secret_token"], &token) == nil && token == s.WebhookSecret
		if err == nil {
			if !genuine || n.EventID == "" || n.Reference == "" {
				t.Fatalf("%q accepted as %+v", body, n)
			}
			return
		}
		if !genuine && pay.KindOf(err) != pay.Unauthenticated {
			t.Fatalf("%q without the secret token: %v, want unauthenticated", body, err)
		}
	})
}
