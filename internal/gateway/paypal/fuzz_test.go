package paypal_test

import (
	"hash/crc32"
	"net/http"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/paypal"
	"github.com/sakkhq/sakk/internal/gateway/paypal/paypaltest"
	"github.com/sakkhq/sakk/internal/pay"
)

// FuzzParseWebhook: a PayPal delivery is read only once PayPal (here its
// stand-in) verifies its transmission, which covers a CRC32 of the body:
// a body the fuzzer edited under a genuine transmission's headers is
// refused as unauthenticated before any of it is read.
func FuzzParseWebhook(f *testing.F) {
	s := paypaltest.Start(f)
	c, err := paypal.New(paypal.Config{ClientID: s.ClientID(), ClientSecret: s.ClientSecret(), WebhookID: s.WebhookID(), BaseURL: s.URL(), MaxRetries: 1, Now: s.Now})
	if err != nil {
		f.Fatal(err)
	}
	paypal.SetBackoff(c, time.Millisecond)
	var deliveries []gateway.Webhook
	for _, body := range []string{
		`{"id":"WH-1","event_version":"1.0","event_type":"CHECKOUT.ORDER.APPROVED","resource_type":"checkout-order","resource":{"id":"5O190127TN364715T","status":"APPROVED"}}`,
		`{"id":"WH-2","event_version":"1.0","event_type":"PAYMENT.CAPTURE.COMPLETED","resource_type":"capture","resource":{"id":"3C679366HH908993F","supplementary_data":{"related_ids":{"order_id":"5O190127TN364715T"}}}}`,
		`{"id":"WH-3","event_type":"BILLING.PLAN.CREATED","resource":{}}`,
	} {
		w := s.Deliver(s.WebhookID(), []byte(body))
		deliveries = append(deliveries, w)
		f.Add([]byte(body), uint8(len(deliveries)-1))
	}
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		d := deliveries[int(which)%len(deliveries)]
		_, err := c.ParseWebhook(t.Context(), gateway.Webhook{Header: http.Header(d.Header).Clone(), Body: body})
		if pay.KindOf(err) != pay.Unauthenticated && crc32.ChecksumIEEE(body) != crc32.ChecksumIEEE(d.Body) {
			t.Fatalf("%q under another body's transmission: %v, want unauthenticated", body, err)
		}
	})
}
