package httpapi_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/money"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// stripeSignature signs body the way Stripe documents it, written here
// from the documentation rather than taken from the connector.
func stripeSignature(secret string, at time.Time, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.%s", at.Unix(), body)
	return fmt.Sprintf("t=%d,v1=%s", at.Unix(), hex.EncodeToString(m.Sum(nil)))
}

func TestInboundGatewayNotifications(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			s := newServer(t, engine, serverOptions{})
			app := s.NewApp("Shop", pay.Live)
			appID := app.Application.ID
			const whsec = "whsec_test_inbound"
			if _, err := s.Accounts.Set(t.Context(), appID, pay.Live, "stripe", map[string]string{
				"secretKey": "sk_live_" + strings.Repeat("k", 24), "publishableKey": "pk_live_k", "webhookSecret": whsec,
			}, true); err != nil {
				t.Fatal(err)
			}
			r := s.Do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": app.Keys.Secret}, seedBody, true)
			if r.Status != 200 {
				t.Fatalf("create session: %d %s", r.Status, r.Body)
			}
			sid := str(r.JSON(t), "session_id")
			// An attempt the gateway knows as pi_inbound, waiting for it.
			now := s.Clock.Now()
			p := pay.Payment{ID: pay.NewID(pay.PrefixPayment), SessionID: sid, ApplicationID: appID, Environment: pay.Live,
				Gateway: "stripe", Method: "card", Status: pay.PaymentPending, Amount: money.New(179900, "MAD"),
				Refunded: money.New(0, "MAD"), GatewayReference: "pi_inbound", CreatedAt: now, UpdatedAt: now}
			err := s.Store.WithTx(t.Context(), func(tx *store.Tx) error {
				if err := tx.CreatePayment(t.Context(), p); err != nil {
					return err
				}
				return tx.SetSessionStatus(t.Context(), sid, pay.SessionInit, pay.SessionPending, now)
			})
			if err != nil {
				t.Fatal(err)
			}
			event := func(typ, ref string) string {
				return fmt.Sprintf(`{"id":"evt_%s","object":"event","type":%q,"data":{"object":{"id":%q,"object":"payment_intent"}}}`, ref, typ, ref)
			}
			send := func(path, body, sig string) response {
				return s.Do("POST", path, map[string]string{"Stripe-Signature": sig}, body, strings.HasPrefix(body, "{"))
			}
			status := func() string {
				got, err := s.Store.Payment(t.Context(), appID, pay.Live, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				return string(got.Status)
			}

			succeeded := event("payment_intent.succeeded", "pi_inbound")
			for _, forged := range []struct{ name, body, sig string }{
				{"no signature", succeeded, ""},
				{"wrong secret", succeeded, stripeSignature("whsec_other", now, succeeded)},
				{"altered body", succeeded, stripeSignature(whsec, now, strings.Replace(succeeded, "pi_inbound", "pi_other", 1))},
				{"replayed (stale)", succeeded, stripeSignature(whsec, now.Add(-time.Hour), succeeded)},
			} {
				r := send("/api/v1/webhooks/stripe", forged.body, forged.sig)
				if r.Status != 401 || r.PaymentCode(t) != "invalid_signature" {
					t.Errorf("%s: %d %s, want 401 invalid_signature", forged.name, r.Status, r.Body)
				}
			}
			if got := status(); got != "pending" {
				t.Fatalf("a refused notification moved the payment to %s", got)
			}
			// Another application's URL does not verify this account's events.
			other := s.NewApp("Other", pay.Live)
			if r := send("/api/v1/webhooks/stripe/"+other.Application.ID, succeeded, stripeSignature(whsec, time.Now(), succeeded)); r.Status != 401 {
				t.Errorf("via another application's URL: %d, want 401", r.Status)
			}

			r = send("/api/v1/webhooks/stripe/"+appID, succeeded, stripeSignature(whsec, time.Now(), succeeded))
			if r.Status != 200 || str(r.JSON(t), "message") != "applied" {
				t.Fatalf("verified notification: %d %s", r.Status, r.Body)
			}
			if got := status(); got != "completed" {
				t.Fatalf("after the verified notification: %s, want completed", got)
			}
			// Repeated, late and contradicting notifications change nothing.
			failed := event("payment_intent.payment_failed", "pi_inbound")
			for _, body := range []string{succeeded, failed} {
				if r := send("/api/v1/webhooks/stripe", body, stripeSignature(whsec, time.Now(), body)); r.Status != 200 {
					t.Errorf("late notification: %d %s", r.Status, r.Body)
				}
			}
			if got := status(); got != "completed" {
				t.Errorf("a late notification moved a completed payment to %s", got)
			}
			if n := len(mustEvents(t, s.Store, sid, "payment.completed")); n != 1 {
				t.Errorf("%d payment.completed events, want 1", n)
			}
			// Verified but about nothing sakk knows, or of a kind it ignores: 200.
			unknown := event("payment_intent.succeeded", "pi_nobody")
			if r := send("/api/v1/webhooks/stripe", unknown, stripeSignature(whsec, time.Now(), unknown)); r.Status != 200 || str(r.JSON(t), "message") != "unknown charge" {
				t.Errorf("unknown charge: %d %s", r.Status, r.Body)
			}
			ignored := event("customer.created", "cus_1")
			if r := send("/api/v1/webhooks/stripe", ignored, stripeSignature(whsec, time.Now(), ignored)); r.Status != 200 || str(r.JSON(t), "message") != "ignored" {
				t.Errorf("ignored event: %d %s", r.Status, r.Body)
			}
			if r := send("/api/v1/webhooks/stripe", strings.Repeat("x", 300<<10), "t=1,v1=00"); r.Status != 413 {
				t.Errorf("oversized notification: %d, want 413", r.Status)
			}
		})
	}
}

func mustEvents(t *testing.T, st *store.Store, subject, typ string) []pay.Event {
	t.Helper()
	es, err := st.Events(t.Context(), subject)
	if err != nil {
		t.Fatal(err)
	}
	var out []pay.Event
	for _, e := range es {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// The gateway callback asks the gateway about the charge, so one address
// gets at most 60 a minute; the 61st is a 429 page asking to wait, and
// the next minute is served again.
func TestCallbackIsRateLimited(t *testing.T) {
	s := newServer(t, storetest.Engines(t)[0], serverOptions{})
	app := s.NewApp("Shop", pay.Sandbox)
	r := s.Do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": app.Keys.Secret}, seedBody, true)
	sid := str(r.JSON(t), "session_id")
	path := "/api/v1/payments/callback/" + sid
	for i := range 60 {
		if r := s.Do("GET", path, nil, "", true); r.Status != 200 {
			t.Fatalf("callback %d: %d", i+1, r.Status)
		}
	}
	r = s.Do("GET", path, nil, "", true)
	if m := pageState.FindStringSubmatch(string(r.Body)); r.Status != 429 || m == nil || m[1] != "busy" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("61st callback: %d %v\n%s", r.Status, r.Header, r.Body)
	}
	s.Clock.Advance(time.Minute)
	if r := s.Do("GET", path, nil, "", true); r.Status != 200 {
		t.Errorf("the next minute: %d", r.Status)
	}
}
