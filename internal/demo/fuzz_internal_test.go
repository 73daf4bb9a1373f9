package demo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzVerify: the demo shop's check of sakk's Sakk-Signature header (the
// receiver side of the payment-format webhooks). Whatever the header, a
// body verifies only with a v1 that is the HMAC of "t.body" under the
// shop's secret, with t within five minutes.
func FuzzVerify(f *testing.F) {
	const secret = "whsec_demo"
	s := New(Keys{WebhookSecret: secret}, "http://127.0.0.1:1", slog.New(slog.DiscardHandler))
	now := time.Unix(1_773_576_000, 0)
	v1 := func(t string, body []byte) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(t + "."))
		m.Write(body)
		return hex.EncodeToString(m.Sum(nil))
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	body := []byte(`{"id":"evt_1","type":"payment.completed","data":{"paymentId":"pay_1","amount":17.99,"currency":"MAD","status":"completed"}}`)
	f.Add("t="+ts+",v1="+v1(ts, body), body)
	f.Add("t="+ts+",v1=00,v1="+v1(ts, body), body)
	f.Add("v1="+v1(ts, body)+",t="+ts, body)
	f.Add("t=1,v1="+v1("1", body), body)
	f.Add("", []byte(nil))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		if !s.verify(header, body, now) {
			return
		}
		var stamp string
		for part := range strings.SplitSeq(header, ",") {
			if k, v, _ := strings.Cut(strings.TrimSpace(part), "="); k == "t" {
				stamp = v
			}
		}
		at, err := strconv.ParseInt(stamp, 10, 64)
		if err != nil || now.Sub(time.Unix(at, 0)).Abs() > 5*time.Minute || !strings.Contains(strings.ToLower(header), v1(stamp, body)) {
			t.Fatalf("header %q verifies body %q", header, body)
		}
	})
}
