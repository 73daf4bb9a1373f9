package myfatoorah_test

import (
	"encoding/base64"
	"testing"

	"github.com/sakkhq/sakk/internal/gateway/myfatoorah"
)

// FuzzVerify: MyFatoorah's signature check reads the whole notification
// (a strict JSON object, its Data by the v1 or v2 rule) before it
// compares. Whatever it is given, it does not panic, and a notification
// it accepts is refused once its signature or its secret changes.
func FuzzVerify(f *testing.F) {
	const secret = "mf-webhook-secret"
	// Genuine notifications, signed by each rule (webhook_test.go).
	for _, b := range []func(secret, id, ref, status string) (string, string){v1Body, v2Body} {
		for _, status := range []string{"SUCCESS", "FAILED"} {
			body, sig := b(secret, "6000123", "sess_1", status)
			for _, version := range []string{"v1", "v2", ""} {
				f.Add(version, []byte(body), sig)
			}
		}
	}
	f.Add("v1", []byte(`{"Data":1,"Data":2}`), "AAAA")
	f.Add("v3", []byte(`[]`), "")
	f.Fuzz(func(t *testing.T, version string, body []byte, signature string) {
		if myfatoorah.Verify(secret, version, body, signature) != nil {
			return
		}
		raw, _ := base64.StdEncoding.DecodeString(signature)
		raw[0] ^= 1
		if myfatoorah.Verify(secret, version, body, base64.StdEncoding.EncodeToString(raw)) == nil {
			t.Fatalf("%q: accepted with a changed signature", body)
		}
		if myfatoorah.Verify("another secret", version, body, signature) == nil {
			t.Fatalf("%q: accepted under another secret", body)
		}
	})
}
