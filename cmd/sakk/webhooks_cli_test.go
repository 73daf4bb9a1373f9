package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

// webhookEndpointJSON is what `webhooks list --json` prints per endpoint.
type webhookEndpointJSON struct {
	ID             string `json:"id"`
	Environment    string `json:"environment"`
	URL            string `json:"url"`
	Format         string `json:"format"`
	Enabled        bool   `json:"enabled"`
	DisabledReason string `json:"disabled_reason"`
	CreatedAt      string `json:"created_at"`
}

func TestWebhooksRotateAndList(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			tg := newTarget(t, engine)
			var mu sync.Mutex
			var sigs []string // Sakk-Signature of each request, with its body
			var bodies [][]byte
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
				mu.Lock()
				sigs, bodies = append(sigs, r.Header.Get("Sakk-Signature")), append(bodies, body)
				mu.Unlock()
			}))
			t.Cleanup(rcv.Close)

			var app appKeys
			tg.cliJSON(t, &app, "apps", "create", "--name", "Hooks")
			var hook struct{ ID, Secret string }
			tg.cliJSON(t, &hook, "webhooks", "add", "--app", app.ApplicationID, "--url", rcv.URL+"/h", "--format", "payment")

			var rotated struct {
				ID                 string `json:"id"`
				Secret             string `json:"secret"`
				PreviousValidUntil string `json:"previous_valid_until"`
			}
			before := time.Now()
			tg.cliJSON(t, &rotated, "webhooks", "rotate", "--id", hook.ID, "--overlap", "2h")
			until, err := time.Parse(time.RFC3339, rotated.PreviousValidUntil)
			if rotated.ID != hook.ID || !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.Secret == hook.Secret ||
				err != nil || until.Before(before.Add(2*time.Hour).Truncate(time.Second)) || until.After(time.Now().Add(2*time.Hour)) {
				t.Fatalf("webhooks rotate printed %+v (%v)", rotated, err)
			}

			// During the overlap the test event carries one v1 per secret.
			var att attemptJSON
			tg.cliJSON(t, &att, "webhooks", "test", "--id", hook.ID)
			if !att.Delivered {
				t.Fatalf("webhooks test: %+v", att)
			}
			mu.Lock()
			sig, body := sigs[len(sigs)-1], bodies[len(bodies)-1]
			mu.Unlock()
			for _, secret := range []string{rotated.Secret, hook.Secret} {
				if !signedWith(sig, body, secret) {
					t.Errorf("Sakk-Signature %s: no v1 by %s…", sig, secret[:10])
				}
			}

			var list []webhookEndpointJSON
			tg.cliJSON(t, &list, "webhooks", "list", "--app", app.ApplicationID)
			if len(list) != 1 || list[0].ID != hook.ID || list[0].URL != rcv.URL+"/h" || list[0].Format != "payment" ||
				list[0].Environment != "sandbox" || !list[0].Enabled || list[0].DisabledReason != "" {
				t.Errorf("webhooks list printed %+v", list)
			}

			// An endpoint sakk disabled shows why, in JSON and in text.
			st, err := store.Open(t.Context(), tg.opts)
			if err != nil {
				t.Fatal(err)
			}
			const reason = "disabled on 2026-11-25T10:00:00Z: no 2xx answer since 2026-11-22T10:00:00Z (last attempt: HTTP 500)"
			err = st.WithTx(t.Context(), func(tx *store.Tx) error { return tx.DisableWebhookEndpoint(t.Context(), hook.ID, reason) })
			st.Close()
			if err != nil {
				t.Fatal(err)
			}
			tg.cliJSON(t, &list, "webhooks", "list", "--app", app.ApplicationID, "--env", "sandbox")
			if len(list) != 1 || list[0].Enabled || list[0].DisabledReason != reason {
				t.Errorf("webhooks list of a disabled endpoint printed %+v", list)
			}
			if out, err := tg.cli(t, "webhooks", "list", "--app", app.ApplicationID); err != nil || !strings.Contains(out, "DISABLED: "+reason) {
				t.Errorf("webhooks list (text): %q, %v", out, err)
			}
			tg.cliJSON(t, &list, "webhooks", "list", "--app", app.ApplicationID, "--env", "live")
			if len(list) != 0 {
				t.Errorf("live endpoints: %+v", list)
			}

			for _, c := range []struct {
				args []string
				want string
				code int
			}{
				{[]string{"webhooks", "rotate"}, "--id is required", 2},
				{[]string{"webhooks", "rotate", "--id", hook.ID, "--overlap", "-1h"}, "invalid_overlap", 1},
				{[]string{"webhooks", "rotate", "--id", "whe_missing"}, "webhook_endpoint_not_found", 1},
				{[]string{"webhooks", "list"}, "--app is required", 2},
				{[]string{"webhooks", "list", "--app", app.ApplicationID, "--env", "staging"}, "sandbox or live", 2},
				{[]string{"webhooks", "list", "--app", "app_missing"}, "not found", 1},
			} {
				_, err := tg.cli(t, c.args...)
				if err == nil || !strings.Contains(err.Error(), c.want) || exitCode(err) != c.code {
					t.Errorf("sakk %s: err = %v (exit %d), want %q (exit %d)", strings.Join(c.args, " "), err, exitCode(err), c.want, c.code)
				}
			}
		})
	}
}

// signedWith tells whether a Sakk-Signature holds a v1 made with secret:
// hex HMAC-SHA256(secret, t + "." + body), as docs/webhooks.md says.
func signedWith(header string, body []byte, secret string) bool {
	var ts string
	var v1 []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = append(v1, v)
		}
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(body)))
	want := hex.EncodeToString(mac.Sum(nil))
	for _, s := range v1 {
		if hmac.Equal([]byte(s), []byte(want)) {
			return true
		}
	}
	return false
}
