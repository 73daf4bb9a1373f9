package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
)

func TestUsersCreateAndTheCLIAuditLog(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			tg := newTarget(t, engine)
			pw := filepath.Join(t.TempDir(), "password")
			if err := os.WriteFile(pw, []byte("a long enough password\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			var u struct {
				ID         string `json:"id"`
				Email      string `json:"email"`
				MerchantID string `json:"merchant_id"`
				Role       string `json:"role"`
			}
			tg.cliJSON(t, &u, "users", "create", "--email", "Owner@Atlas.example", "--password-file", pw, "--merchant", "Atlas", "--role", "owner")
			if !strings.HasPrefix(u.ID, "usr_") || u.Email != "owner@atlas.example" || !strings.HasPrefix(u.MerchantID, "mer_") || u.Role != "owner" {
				t.Errorf("users create printed %+v", u)
			}
			// The same email again is refused; so is a short password.
			if _, err := tg.cli(t, "users", "create", "--email", "owner@atlas.example", "--password-file", pw, "--merchant", "Atlas"); err == nil {
				t.Error("a second user with the same email was created")
			}
			if err := os.WriteFile(pw, []byte("short\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := tg.cli(t, "users", "create", "--email", "b@atlas.example", "--password-file", pw, "--merchant-id", u.MerchantID); err == nil {
				t.Error("a user with a five-letter password was created")
			}

			// The application joins the user's merchant (by name), and the
			// CLI's writes are in the audit log, without their secrets.
			var app appKeys
			tg.cliJSON(t, &app, "apps", "create", "--name", "Atlas Shop", "--merchant", "Atlas")
			if app.MerchantID != u.MerchantID {
				t.Errorf("application of merchant %s, want the user's %s", app.MerchantID, u.MerchantID)
			}
			var rotated map[string]any
			tg.cliJSON(t, &rotated, "keys", "rotate", "--app", app.ApplicationID, "--grace", "1h")
			st, err := store.Open(t.Context(), tg.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			es, err := st.AuditEntries(t.Context(), store.AuditFilter{MerchantID: u.MerchantID, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, e := range es {
				actions = append(actions, e.Action)
				if e.ActorType != "cli" {
					t.Errorf("%s by %q, want cli", e.Action, e.ActorType)
				}
				if strings.Contains(e.Changes, "sk_") || strings.Contains(e.Changes, "password") {
					t.Errorf("%s records %s", e.Action, e.Changes)
				}
			}
			if got := strings.Join(actions, " "); got != "keys.rotate apps.create users.create" {
				t.Errorf("audit actions %q, want keys.rotate apps.create users.create", got)
			}
		})
	}
}

// TestDemoOwnerSignsIn: the first start prints a demo owner who can sign
// in to the management API.
func TestDemoOwnerSignsIn(t *testing.T) {
	tg := newTarget(t, store.SQLite)
	p := serveSakk(t, tg)
	email, password := demoOwner(t, p.stdout.String())
	resp, err := http.Post("http://"+p.addr+"/api/merchant/v1/auth/login", "application/json",
		strings.NewReader(`{"email":"`+email+`","password":"`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("demo owner login = %d", resp.StatusCode)
	}
}
