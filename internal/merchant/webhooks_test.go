package merchant_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/webhook"
)

// signatureReceiver records the v1 signatures of each request it gets,
// with the body they sign.
type signatureReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []signed
}

type signed struct {
	t    string
	v1   []string
	body []byte
}

func newSignatureReceiver(t *testing.T) *signatureReceiver {
	t.Helper()
	rcv := &signatureReceiver{}
	rcv.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var s signed
		s.body = body
		for part := range strings.SplitSeq(r.Header.Get("Sakk-Signature"), ",") {
			k, v, _ := strings.Cut(part, "=")
			switch k {
			case "t":
				s.t = v
			case "v1":
				s.v1 = append(s.v1, v)
			}
		}
		rcv.mu.Lock()
		rcv.got = append(rcv.got, s)
		rcv.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.srv.Close)
	return rcv
}

// last is the last request received.
func (r *signatureReceiver) last(t *testing.T) signed {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got) == 0 {
		t.Fatal("the receiver got no request")
	}
	return r.got[len(r.got)-1]
}

// signedBy tells, for each secret, whether one of the request's v1
// signatures was made with it (HMAC-SHA256 of t + "." + body, written here
// from docs/webhooks.md rather than taken from the signer).
func (s signed) signedBy(secrets ...string) []bool {
	out := make([]bool, len(secrets))
	for i, secret := range secrets {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(s.t + "." + string(s.body)))
		want := hex.EncodeToString(mac.Sum(nil))
		for _, v := range s.v1 {
			if hmac.Equal([]byte(v), []byte(want)) {
				out[i] = true
			}
		}
	}
	return out
}

func TestRotateWebhookSecret(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		app := f.createApp(t, "Hooks", pay.Sandbox)
		rcv := newSignatureReceiver(t)
		w, first, err := f.svc.AddWebhook(ctx, merchant.NewWebhook{
			ApplicationID: app.Application.ID, Environment: pay.Sandbox, URL: rcv.srv.URL, Format: pay.WebhookPayment,
		})
		if err != nil {
			t.Fatal(err)
		}
		d := webhook.New(st, f.box, webhook.Options{Now: f.clock.Now})
		send := func() signed {
			t.Helper()
			a, err := d.Test(ctx, w.ID)
			if err != nil || !a.Delivered {
				t.Fatalf("test event: %+v, %v", a, err)
			}
			return rcv.last(t)
		}

		second, until, err := f.svc.RotateWebhookSecret(ctx, w.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^whsec_[0-9A-Za-z]{32}$`).MatchString(second) || second == first {
			t.Errorf("new secret %q (the first was %q)", second, first)
		}
		if !until.Equal(start.Add(time.Hour)) {
			t.Errorf("previous secret valid until %v, want %v", until, start.Add(time.Hour))
		}
		stored, err := st.WebhookEndpoint(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cur, err := f.box.Open(stored.Endpoint.SealedSecret); err != nil || cur != second {
			t.Errorf("stored current secret %q, %v; want the new one", cur, err)
		}
		if prev, err := f.box.Open(stored.PreviousSealedSecret); err != nil || prev != first || !stored.PreviousSecretUntil.Equal(until) {
			t.Errorf("stored previous secret %q until %v, %v; want the first until %v", prev, stored.PreviousSecretUntil, err, until)
		}

		// During the overlap both sign, one v1 each; after it the new one only.
		s := send()
		if by := s.signedBy(second, first); len(s.v1) != 2 || !by[0] || !by[1] {
			t.Errorf("during the overlap: %d signatures, by new/old %v; want one each", len(s.v1), by)
		}
		f.clock.Set(start.Add(time.Hour))
		s = send()
		if by := s.signedBy(second, first); len(s.v1) != 1 || !by[0] || by[1] {
			t.Errorf("after the overlap: %d signatures, by new/old %v; want the new one only", len(s.v1), by)
		}

		// An overlap of 0 ends the old secret at once.
		third, until, err := f.svc.RotateWebhookSecret(ctx, w.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !until.Equal(f.clock.Now()) {
			t.Errorf("with no overlap the previous secret ends at %v, want now %v", until, f.clock.Now())
		}
		s = send()
		if by := s.signedBy(third, second, first); len(s.v1) != 1 || !by[0] || by[1] || by[2] {
			t.Errorf("after a rotation without overlap: %d signatures, by each %v; want the newest only", len(s.v1), by)
		}

		// A rotation during an overlap: only the secret it replaces
		// keeps signing beside the new one.
		if _, _, err := f.svc.RotateWebhookSecret(ctx, w.ID, time.Hour); err != nil {
			t.Fatal(err)
		}
		fifth, _, err := f.svc.RotateWebhookSecret(ctx, w.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		s = send()
		if by := s.signedBy(fifth, third); len(s.v1) != 2 || !by[0] || by[1] {
			t.Errorf("after two rotations: %d signatures, by newest/third %v; want the newest and the one it replaced", len(s.v1), by)
		}

		for _, tt := range []struct {
			name    string
			id      string
			overlap time.Duration
			kind    pay.Kind
			code    string
		}{
			{"negative overlap", w.ID, -time.Second, pay.Invalid, "invalid_overlap"},
			{"overlap too long", w.ID, merchant.MaxWebhookOverlap + time.Second, pay.Invalid, "invalid_overlap"},
			{"unknown endpoint", "whe_missing", time.Hour, pay.NotFound, "webhook_endpoint_not_found"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before, err := st.WebhookEndpoint(ctx, w.ID)
				if err != nil {
					t.Fatal(err)
				}
				secret, _, err := f.svc.RotateWebhookSecret(ctx, tt.id, tt.overlap)
				wantError(t, err, tt.kind, tt.code)
				if secret != "" {
					t.Errorf("a secret came back with the error: %q", secret)
				}
				after, err := st.WebhookEndpoint(ctx, w.ID)
				if err != nil {
					t.Fatal(err)
				}
				if after.Endpoint.SealedSecret != before.Endpoint.SealedSecret {
					t.Error("a refused rotation changed the secret")
				}
			})
		}
	})
}

// The merchant-facing reads find an endpoint or delivery only in its own
// application environment.
func TestWebhookReadsKeepTenancy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		mine := f.createApp(t, "Mine", pay.Sandbox).Application.ID
		theirs := f.createApp(t, "Theirs", pay.Sandbox).Application.ID
		rcv := newSignatureReceiver(t)
		w, _, err := f.svc.AddWebhook(ctx, merchant.NewWebhook{ApplicationID: mine, Environment: pay.Sandbox, URL: rcv.srv.URL, Format: pay.WebhookPayment})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.AddWebhook(ctx, merchant.NewWebhook{ApplicationID: mine, Environment: pay.Live, URL: "https://shop.example.com/h", Format: pay.WebhookPayment}); err != nil {
			t.Fatal(err)
		}
		a, err := webhook.New(st, f.box, webhook.Options{Now: f.clock.Now}).Test(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}

		got, err := f.svc.WebhookEndpoint(ctx, mine, pay.Sandbox, w.ID)
		if err != nil || got.ID != w.ID || got.URL != rcv.srv.URL {
			t.Errorf("own endpoint: %+v, %v", got, err)
		}
		ws, err := f.svc.WebhookEndpoints(ctx, mine, pay.Sandbox)
		if err != nil || len(ws) != 1 || ws[0].ID != w.ID {
			t.Errorf("own sandbox endpoints: %+v, %v", ws, err)
		}
		del, err := f.svc.WebhookDelivery(ctx, mine, pay.Sandbox, a.DeliveryID)
		if err != nil || del.EndpointID != w.ID || del.Status != store.DeliveryDelivered {
			t.Errorf("own delivery: %+v, %v", del, err)
		}
		ds, err := f.svc.WebhookDeliveries(ctx, mine, pay.Sandbox, 10)
		if err != nil || len(ds) != 1 || ds[0].ID != a.DeliveryID {
			t.Errorf("own sandbox deliveries: %+v, %v", ds, err)
		}
		if ds, err := f.svc.WebhookDeliveries(ctx, mine, pay.Live, 10); err != nil || len(ds) != 0 {
			t.Errorf("own live deliveries: %+v, %v; want none", ds, err)
		}

		for _, scope := range []struct {
			app string
			env pay.Environment
		}{{theirs, pay.Sandbox}, {mine, pay.Live}} {
			_, err := f.svc.WebhookEndpoint(ctx, scope.app, scope.env, w.ID)
			wantError(t, err, pay.NotFound, "webhook_endpoint_not_found")
			_, err = f.svc.WebhookDelivery(ctx, scope.app, scope.env, a.DeliveryID)
			wantError(t, err, pay.NotFound, "webhook_delivery_not_found")
		}
		_, err = f.svc.WebhookEndpoint(ctx, mine, pay.Sandbox, "whe_missing")
		wantError(t, err, pay.NotFound, "webhook_endpoint_not_found")
		_, err = f.svc.WebhookDelivery(ctx, mine, pay.Sandbox, "whd_missing")
		wantError(t, err, pay.NotFound, "webhook_delivery_not_found")
	})
}
