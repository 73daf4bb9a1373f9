package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/store"
)

// A backup taken while payments stream in holds every payment and
// session acknowledged before it began; restore refuses the data dir
// while sakk serves it, and the restored copy serves.
func TestBackupUnderLoadRestoresEveryAcknowledgedPayment(t *testing.T) {
	tg := newTarget(t, store.SQLite)
	var app appKeys
	tg.cliJSON(t, &app, "apps", "create", "--name", "Backup Shop", "--merchant", "Backup Merchant")
	server := serveSakk(t, tg, "--rate-limit", "1000000", "--demo=false")

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	c := &crashClient{http: &http.Client{Timeout: 30 * time.Second}}
	c.setAddr(server.addr)
	defer c.http.CloseIdleConnections()
	status, body, err := c.call(ctx, "POST", "/api/v1/auth", map[string]string{"Authorization": "Bearer " + app.SecretKey, "x-public-key": app.PublicKey}, "")
	sdk := jsonField(t, body, "token")
	if err != nil || status != http.StatusOK || sdk == "" {
		t.Fatalf("auth: %d %s %v", status, body, err)
	}

	l := &crashLedger{sessions: map[string]bool{}, completed: map[string]string{}}
	stop := make(chan struct{})
	var workers sync.WaitGroup
	for w := range 4 {
		workers.Go(func() {
			for i := 1; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if !c.payOnce(ctx, l, app.SecretKey, sdk, w, i) {
					return
				}
			}
		})
	}
	if !poll(30*time.Second, func() bool { return l.snapshot().completed >= 20 }) {
		t.Fatalf("the load did not get going: %+v", l.snapshot())
	}
	// What was acknowledged before the backup began must be in it.
	l.mu.Lock()
	before := map[string]string{}
	for id, sess := range l.completed {
		before[id] = sess
	}
	sessions := len(l.sessions)
	l.mu.Unlock()
	file := filepath.Join(t.TempDir(), "sakk-backup.db")
	out, err := tg.cli(t, "backup", "--to", file)
	if err != nil {
		t.Fatalf("backup under load: %v", err)
	}
	during := l.snapshot().completed
	if !strings.Contains(out, file+".key") {
		t.Errorf("backup printed %q: no key file named", out)
	}
	if _, err := tg.cli(t, "backup", "--to", file); err == nil {
		t.Error("a second backup overwrote the first")
	}
	empty := t.TempDir()
	if err := run(t.Context(), []string{"backup", "--data-dir", filepath.Join(empty, "typo"), "--to", filepath.Join(empty, "b.db")}, noEnv, io.Discard, io.Discard); err == nil {
		t.Error("a backup of a data dir without a store succeeded")
	}
	close(stop)
	workers.Wait()
	for _, p := range l.problems {
		t.Errorf("load: %s", p)
	}
	if during <= len(before) {
		t.Logf("no payment completed while the backup ran (%d before, %d after)", len(before), during)
	}

	// The live data dir is refused, and left as it was.
	if _, err := tg.cli(t, "restore", "--from", file); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("restore onto the data dir sakk serves: %v; want a refusal", err)
	}
	if code, _ := server.get(t, "/readyz"); code != http.StatusOK {
		t.Errorf("after the refused restore, /readyz = %d", code)
	}
	server.cmd.Process.Signal(syscall.SIGTERM)
	server.wait(t, 30*time.Second)

	// Into a fresh data dir, as on a new machine.
	restored := target{flags: []string{"--data-dir", filepath.Join(t.TempDir(), "restored")}}
	restored.opts.DataDir = restored.flags[1]
	if _, err := restored.cli(t, "restore", "--from", file); err != nil {
		t.Fatalf("restore: %v", err)
	}
	db := openStoreDB(t, restored)
	payments := storedPayments(t, db, app.ApplicationID)
	for id, sess := range before {
		p, ok := payments[id]
		if !ok {
			t.Errorf("acknowledged payment %s is not in the backup", id)
			continue
		}
		if p.sessionID != sess || p.status != "completed" {
			t.Errorf("payment %s restored as %+v; want completed for %s", id, p, sess)
		}
	}
	if got := len(storedSessions(t, db, app.ApplicationID)); got < sessions {
		t.Errorf("%d sessions restored; %d were acknowledged before the backup", got, sessions)
	}
	t.Logf("backup under load: %d payments acknowledged before it, %d by its end; all %d restored", len(before), during, len(before))

	// The copy serves, with its key: the sealed secrets open.
	again := serveSakk(t, restored, "--demo=false")
	if code, body := again.get(t, "/readyz"); code != http.StatusOK {
		t.Errorf("restored store: /readyz = %d %s", code, body)
	}
	if code, _ := again.get(t, "/.well-known/jwks.json"); code != http.StatusOK {
		t.Errorf("restored store: jwks = %d", code)
	}
}
