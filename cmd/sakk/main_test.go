package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/vault"
)

// The test binary doubles as the sakk binary: started with this variable
// set, it runs main, so tests can run real sakk processes (and kill them)
// without a separate build.
const asSakkEnv = "SAKK_TEST_RUN_AS_SAKK"

func TestMain(m *testing.M) {
	if os.Getenv(asSakkEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// target is where a test's sakk keeps its data: flags for every command.
type target struct {
	flags []string
	opts  store.Options
	key   string
}

func newTarget(t *testing.T, engine store.Engine) target {
	t.Helper()
	opts := storetest.Options(t, engine)
	if engine == store.SQLite {
		return target{flags: []string{"--data-dir", opts.DataDir}, opts: opts}
	}
	key := vault.NewKey()
	return target{flags: []string{"--database", opts.Database, "--encryption-key", key}, opts: opts, key: key}
}

// cli runs one sakk command in this process and returns its stdout.
func (tg target) cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), append(args, tg.flags...), noEnv, &stdout, &stderr)
	return stdout.String(), err
}

func (tg target) cliJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out, err := tg.cli(t, append(args, "--json")...)
	if err != nil {
		t.Fatalf("sakk %s: %v", strings.Join(args, " "), err)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("sakk %s --json printed %q: %v", strings.Join(args, " "), out, err)
	}
}

// merchantService opens the target's store the way serve would.
func (tg target) merchantService(t *testing.T) *merchant.Service {
	t.Helper()
	st, err := store.Open(t.Context(), tg.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key := tg.key
	if key == "" {
		b, err := os.ReadFile(tg.opts.DataDir + "/encryption.key")
		if err != nil {
			t.Fatal(err)
		}
		key = string(b)
	}
	box, err := vault.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return merchant.New(st, box, time.Now)
}

func noEnv(string) string { return "" }

func TestAdminCommandsPrintTheirJSON(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			tg := newTarget(t, engine)
			var app appKeys
			tg.cliJSON(t, &app, "apps", "create", "--name", "Atlas Shop", "--merchant", "Atlas")
			if !strings.HasPrefix(app.ApplicationID, "app_") || !strings.HasPrefix(app.MerchantID, "mer_") ||
				app.Environment != "sandbox" || !strings.HasPrefix(app.SecretKey, "sk_test_") ||
				!strings.HasPrefix(app.PublicKey, "pk_test_") || !strings.HasPrefix(app.ClientToken, "tk_test_") {
				t.Fatalf("apps create printed %+v", app)
			}
			var live appKeys
			tg.cliJSON(t, &live, "apps", "create", "--name", "Atlas Live", "--merchant", "Atlas", "--env", "live")
			if live.MerchantID != app.MerchantID || !strings.HasPrefix(live.SecretKey, "sk_live_") {
				t.Errorf("second app of merchant Atlas: %+v", live)
			}

			var domain struct {
				ApplicationID string                       `json:"application_id"`
				Domain        string                       `json:"domain"`
				Verified      bool                         `json:"verified"`
				Verification  map[string]map[string]string `json:"verification"`
			}
			tg.cliJSON(t, &domain, "domains", "add", "--app", app.ApplicationID, "--domain", "Shop.Example.com", "--verified")
			if domain.Domain != "shop.example.com" || !domain.Verified {
				t.Errorf("domains add printed %+v", domain)
			}

			var product map[string]string
			tg.cliJSON(t, &product, "products", "add", "--app", app.ApplicationID, "--store-code", "SKU-1", "--title", "Dinar lamp",
				"--price", "12.5", "--currency", "KWD")
			if product["price"] != "12.500" || product["currency"] != "KWD" || !strings.HasPrefix(product["id"], "prod_") {
				t.Errorf("products add printed %v", product)
			}
			if _, err := tg.cli(t, "products", "add", "--app", app.ApplicationID, "--store-code", "SKU-1", "--title", "Again",
				"--price", "1", "--currency", "KWD"); err == nil || !strings.Contains(err.Error(), "store_code_taken") {
				t.Errorf("duplicate store code: err = %v", err)
			}

			var hook struct{ ID, Secret string }
			tg.cliJSON(t, &hook, "webhooks", "add", "--app", app.ApplicationID, "--url", "http://localhost:9000/hooks")
			if !strings.HasPrefix(hook.ID, "whe_") || !strings.HasPrefix(hook.Secret, "whsec_") {
				t.Errorf("webhooks add printed %+v", hook)
			}

			var rotated struct {
				ApplicationID     string   `json:"application_id"`
				Environment       string   `json:"environment"`
				SecretKey         string   `json:"secret_key"`
				PreviousKeys      []string `json:"previous_keys"`
				PreviousExpiresAt string   `json:"previous_expires_at"`
			}
			tg.cliJSON(t, &rotated, "keys", "rotate", "--app", app.ApplicationID, "--grace", "1h")
			if rotated.SecretKey == app.SecretKey || !slices.Equal(rotated.PreviousKeys, []string{app.SecretKey[:12]}) {
				t.Errorf("keys rotate printed %+v", rotated)
			}

			// What the commands printed is what the store accepts.
			svc := tg.merchantService(t)
			for _, k := range []struct {
				key  string
				kind pay.KeyKind
			}{{app.SecretKey, pay.SecretKey}, {rotated.SecretKey, pay.SecretKey}, {app.PublicKey, pay.PublicKey},
				{app.ClientToken, pay.ClientToken}, {live.SecretKey, pay.SecretKey}} {
				got, err := svc.Authenticate(t.Context(), k.key, k.kind)
				if err != nil {
					t.Errorf("printed key %s… does not authenticate: %v", k.key[:12], err)
				}
				if k.key == live.SecretKey && got.Environment != pay.Live {
					t.Errorf("live key authenticates as %s", got.Environment)
				}
			}
		})
	}
}

func TestCommandLineMistakes(t *testing.T) {
	tg := newTarget(t, store.SQLite)
	if err := run(t.Context(), nil, noEnv, io.Discard, io.Discard); exitCode(err) != 2 {
		t.Errorf("no command: err = %v, want a usage error", err)
	}
	for _, c := range []struct {
		args []string
		want string // in the error
		code int
	}{
		{[]string{"frobnicate"}, "unknown command", 2},
		{[]string{"apps"}, "want one of: create", 2},
		{[]string{"apps", "create"}, "--name is required", 2},
		{[]string{"apps", "create", "--name", "x", "--env", "staging"}, "sandbox or live", 1},
		{[]string{"serve", "--bogus"}, "flag provided but not defined: -bogus", 2},
		{[]string{"serve", "--addr", "nonsense"}, "--addr", 2},
		{[]string{"serve", "--public-url", "ftp://x"}, "--public-url", 2},
		{[]string{"products", "add", "--app", "app_x", "--store-code", "c", "--title", "t", "--price", "12.345", "--currency", "MAD"}, "more decimals", 2},
		{[]string{"domains", "add", "--app", "app_missing", "--domain", "x.com"}, "application not found", 1},
		{[]string{"migrate", "--log-level", "loud"}, "--log-level", 2},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, err := tg.cli(t, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) || exitCode(err) != c.code {
				t.Errorf("err = %v (exit %d); want one containing %q, exit %d", err, exitCode(err), c.want, c.code)
			}
		})
	}
}

// sakkProcess is a real sakk process started from the test binary.
type sakkProcess struct {
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	addr   string
	admin  string        // the admin listener's address
	done   chan struct{} // closed when the process has exited
	err    error         // how it exited, once done is closed
}

// wait returns how the process exited, waiting at most d.
func (p *sakkProcess) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		t.Fatalf("sakk did not exit within %v\nstderr:\n%s", d, p.stderr)
		return nil
	}
}

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startSakk starts `sakk args...` as a child process.
func startSakk(t *testing.T, args ...string) *sakkProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asSakkEnv+"=1")
	p := &sakkProcess{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

// serveSakk starts `sakk serve` on a free loopback port and waits until it
// listens.
func serveSakk(t *testing.T, tg target, extra ...string) *sakkProcess {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--log-format", "json"}, tg.flags...)
	p := startSakk(t, append(args, extra...)...)
	deadline := time.After(30 * time.Second)
	for p.addr == "" {
		select {
		case <-p.done:
			t.Fatalf("sakk serve exited: %v\nstderr:\n%s", p.err, p.stderr)
		case <-deadline:
			t.Fatalf("sakk serve did not listen within 30s\nstderr:\n%s", p.stderr)
		case <-time.After(20 * time.Millisecond):
		}
		sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				p.addr = line.Addr
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "admin listening" {
				p.admin = line.Addr
			}
		}
	}
	return p
}

func (p *sakkProcess) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + p.addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// demoKeys reads the keys the first start printed.
func demoKeys(t *testing.T, stdout string) appKeys {
	t.Helper()
	var k appKeys
	for _, line := range strings.Split(stdout, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "application_id":
			k.ApplicationID = f[1]
		case "secret_key":
			k.SecretKey = f[1]
		case "public_key":
			k.PublicKey = f[1]
		case "client_token":
			k.ClientToken = f[1]
		}
	}
	if k.ApplicationID == "" || k.SecretKey == "" || k.PublicKey == "" || k.ClientToken == "" {
		t.Fatalf("first start printed no demo keys:\n%s", stdout)
	}
	return k
}

func TestServeFirstStartReadinessAndShutdown(t *testing.T) {
	tg := newTarget(t, store.SQLite)
	p := serveSakk(t, tg)
	keys := demoKeys(t, p.stdout.String())
	if code, body := p.get(t, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d %s", code, body)
	}
	if code, _ := p.get(t, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d", code)
	}
	// The printed keys are real: the CLI acts on the printed application.
	var rotated map[string]any
	tg.cliJSON(t, &rotated, "keys", "rotate", "--app", keys.ApplicationID)
	svc := tg.merchantService(t)
	if _, err := svc.Authenticate(t.Context(), keys.ClientToken, pay.ClientToken); err != nil {
		t.Errorf("printed client token: %v", err)
	}

	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t, 30*time.Second); err != nil {
		t.Errorf("after SIGTERM: %v\n%s", err, p.stderr)
	}
	if !strings.Contains(p.stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop logged:\n%s", p.stderr)
	}
}

// SIGKILL at any moment loses nothing that was acknowledged: sakk
// processes writing to one store are killed at random points, and every
// write a process reported done is there after a restart.
func TestKilledProcessesLoseNothingAcknowledged(t *testing.T) {
	tg := newTarget(t, store.SQLite)
	server := serveSakk(t, tg)
	keys := demoKeys(t, server.stdout.String())
	var acknowledged []string
	for round := range 3 {
		var writers []*sakkProcess
		for i := range 6 {
			args := append([]string{"products", "add", "--json", "--app", keys.ApplicationID,
				"--store-code", fmt.Sprintf("R%d-%d", round, i), "--title", "Crash test", "--price", "1.00", "--currency", "MAD"}, tg.flags...)
			writers = append(writers, startSakk(t, args...))
		}
		// Kill the server and half the writers somewhere in their work.
		time.Sleep(time.Duration(20+round*40) * time.Millisecond)
		server.cmd.Process.Kill()
		for _, w := range writers[:3] {
			w.cmd.Process.Kill()
		}
		for _, w := range writers {
			w.wait(t, time.Minute)
			var out struct {
				StoreCode string `json:"store_code"`
			}
			if json.Unmarshal([]byte(w.stdout.String()), &out) == nil && out.StoreCode != "" {
				acknowledged = append(acknowledged, out.StoreCode)
			}
		}
		server.wait(t, time.Minute)
		server = serveSakk(t, tg)
		if strings.Contains(server.stdout.String(), "First start") {
			t.Fatalf("restart %d seeded the demo again", round)
		}
		if code, body := server.get(t, "/readyz"); code != http.StatusOK {
			t.Fatalf("restart %d: /readyz = %d %s", round, code, body)
		}
	}
	if len(acknowledged) == 0 {
		t.Fatal("no write was acknowledged: the test proved nothing")
	}
	st, err := store.Open(t.Context(), tg.opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, code := range acknowledged {
		if _, err := st.ProductByStoreCode(t.Context(), keys.ApplicationID, code); err != nil {
			t.Errorf("acknowledged product %s lost: %v", code, err)
		}
	}
	t.Logf("%d acknowledged writes survived", len(acknowledged))
}

// Two instances started at the same moment on one empty PostgreSQL
// database both come up; the schema is migrated and the demo created once.
func TestTwoInstancesStartTogetherOnPostgres(t *testing.T) {
	tg := newTarget(t, store.Postgres)
	var ps [2]*sakkProcess
	var wg sync.WaitGroup
	for i := range ps {
		wg.Go(func() { ps[i] = serveSakk(t, tg) })
	}
	wg.Wait()
	seeded := 0
	for _, p := range ps {
		if code, body := p.get(t, "/readyz"); code != http.StatusOK {
			t.Errorf("/readyz = %d %s", code, body)
		}
		if strings.Contains(p.stdout.String(), "First start") {
			seeded++
		}
	}
	st, err := store.Open(t.Context(), tg.opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := st.CountMerchants(t.Context())
	if seeded != 1 || n != 1 || err != nil {
		t.Errorf("demo seeded by %d instances, %d merchants (%v); want 1 and 1", seeded, n, err)
	}
}

// Mistakes that stop sakk from starting print one line and exit non-zero.
func TestStartupFailuresPrintOneLine(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--bogus"}, "-bogus"},
		{[]string{"serve", "--addr", "127.0.0.1:0", "--database", "postgres://sakk@127.0.0.1:1/sakk?connect_timeout=2"}, "cannot reach the postgres database"},
		{[]string{"migrate", "--database", "mysql://x"}, "neither empty"},
	} {
		cmd := exec.CommandContext(ctx, os.Args[0], c.args...)
		cmd.Env = append(os.Environ(), asSakkEnv+"=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if err == nil || len(lines) != 1 || !strings.HasPrefix(lines[0], "sakk: ") || !strings.Contains(lines[0], c.want) {
			t.Errorf("sakk %v: err %v, stderr:\n%s\nwant one line containing %q", c.args, err, stderr.String(), c.want)
		}
	}
}
