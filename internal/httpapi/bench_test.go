package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// BenchmarkCheckoutAPI measures the Checkout API against reference
// handlers in the same run, and reports the ratios PERFORMANCE.md sets
// targets for:
//
//	go test -run '^$' -bench CheckoutAPI -benchtime 1x ./internal/httpapi
//
// SAKK_BENCH_SECONDS sets each phase's length (default 3), and
// SAKK_BENCH_CONNS the concurrent connections (default 64). The load
// comes from this process over loopback, so client and server share the
// machine, for the references as for sakk.
func BenchmarkCheckoutAPI(b *testing.B) {
	s, app, phase, conns := newBench(b)
	key := app.Keys.Secret

	// References: a bare GET of a small JSON, and a POST that decodes a
	// 314-byte JSON body and makes one durable insert through the same
	// group-committing store.
	refMux := http.NewServeMux()
	refMux.HandleFunc("GET /ref", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"APPROVED","transaction_id":"pay_x","amount":1799.00}`))
	})
	refMux.Handle("POST /ref", referencePOST(s.Store))
	ref := httptest.NewServer(refMux)
	defer ref.Close()

	// A session with a completed payment, polled with its session token.
	created := s.Do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": key}, seedBody, true)
	m := created.JSON(b)
	tok, sessID := m["session_token"].(string), m["session_id"].(string)
	paymentID := addPayment(b, s, app.Application.ID, sessID, pay.PaymentCompleted)

	postBody := benchBody
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}

	run := func(name string, newReq func() *http.Request, d time.Duration) *meter {
		m := &meter{name: name}
		m.run(b, client, conns, d, newReq)
		return m
	}
	get := func(url string, header ...string) func() *http.Request {
		return func() *http.Request {
			req, _ := http.NewRequest("GET", url, nil)
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			return req
		}
	}
	post := func(url string, header ...string) func() *http.Request {
		return func() *http.Request {
			req, _ := http.NewRequest("POST", url, bytes.NewReader(postBody))
			req.Header.Set("Content-Type", "application/json")
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			return req
		}
	}

	if only := os.Getenv("SAKK_BENCH_ONLY"); only != "" {
		// One phase alone, for profiling it: status, create, ref-get,
		// ref-post or memory.
		phases := map[string]func() *http.Request{
			"status":   get(s.URL+"/api/v1/public/transactions/"+paymentID+"/status", "X-Session-Token", tok),
			"create":   post(s.URL+"/api/v1/public/sessions", "X-API-Key", key),
			"ref-get":  get(ref.URL + "/ref"),
			"ref-post": post(ref.URL + "/ref"),
		}
		b.ResetTimer()
		switch {
		case only == "memory":
			for range b.N {
				measureServe(b, conns, phase, postBody)
			}
		case phases[only] != nil:
			for range b.N {
				run(only, phases[only], phase).log(b)
			}
		default:
			b.Fatalf("SAKK_BENCH_ONLY=%q: want status, create, ref-get, ref-post or memory", only)
		}
		return
	}
	b.ResetTimer()
	for range b.N {
		// Each endpoint and its reference take turns in short rounds, so
		// that whatever else the machine does at one moment weighs on both
		// (the ratios are what is compared, across runs and machines).
		refGet, status := &meter{name: "reference GET"}, &meter{name: "transaction status"}
		refPost, create := &meter{name: "reference POST + insert"}, &meter{name: "session creation"}
		round := phase / benchRounds
		for range benchRounds {
			refGet.run(b, client, conns, round, get(ref.URL+"/ref"))
			status.run(b, client, conns, round, get(s.URL+"/api/v1/public/transactions/"+paymentID+"/status", "X-Session-Token", tok))
			refPost.run(b, client, conns, round, post(ref.URL+"/ref"))
			create.run(b, client, conns, round, post(s.URL+"/api/v1/public/sessions", "X-API-Key", key))
		}
		for _, m := range []*meter{refGet, status, refPost, create} {
			m.log(b)
		}
		statusRatio, createRatio := status.perSec()/refGet.perSec(), create.perSec()/refPost.perSec()
		b.Logf("status / reference GET:            %.2f  (target >= 0.70)", statusRatio)
		b.Logf("creation / reference POST+insert:  %.2f  (target >= 0.70), p99 %v (target < 15ms)",
			createRatio, create.p99().Round(100*time.Microsecond))
		b.ReportMetric(createRatio, "create/ref-post")
		b.ReportMetric(statusRatio, "status/ref-get")
		b.ReportMetric(create.perSec(), "create/s")
		b.ReportMetric(float64(create.p99().Microseconds())/1000, "create-p99-ms")
		b.ReportMetric(status.perSec(), "status/s")
		if os.Getenv("SAKK_BENCH_MEMORY") != "0" {
			idle, peak := measureServe(b, conns, phase, postBody)
			b.ReportMetric(idle, "serve-idle-MB")
			b.ReportMetric(peak, "serve-load-MB")
		}
	}
}

// referencePOST is PERFORMANCE.md's "POST + one insert" on st: it decodes
// the JSON body, inserts one small row through the store (the embedded
// store's group commit, or one statement on PostgreSQL's pool, committed
// on its own) and answers a small JSON.
func referencePOST(st *store.Store) http.HandlerFunc {
	var seq atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		var in map[string]any
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&in); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		m := pay.Merchant{ID: fmt.Sprintf("mer_ref_%d", seq.Add(1)), Name: "ref", CreatedAt: time.Now()}
		if err := st.WithStatement(r.Context(), func(tx *store.Tx) error { return tx.CreateMerchant(r.Context(), m) }); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"session_token":"x","expires_in":3600,"session_id":"sess_x"}`))
	}
}

// benchRounds is how many turns each endpoint and its reference take.
const benchRounds = 3

// benchBody is the session the creation benchmarks open: 314 bytes of
// JSON, as PERFORMANCE.md's reference POST decodes.
var benchBody = []byte(`{"total":"1799.00","currency":"MAD","items":[{"id":"PRODUCT_123","name":"Wireless Headphones","price":1799,"quantity":1}],"vendor_reference":"order-000000001","metadata":{"cart":"c-0001","channel":"web","campaign":"winter"},"customer_email":"buyer@example.com","customer_phone":"212650296165"}`)

// newBench is what the HTTP benchmarks load: a server on the embedded
// store without rate limits, a sandbox application, and benchPhase's
// settings.
func newBench(b *testing.B) (s *server, app merchant.CreatedApplication, phase time.Duration, conns int) {
	s = newServer(b, store.SQLite, serverOptions{RateLimit: 1 << 30})
	app = s.NewApp("Bench Shop", pay.Sandbox)
	phase, conns = benchPhase()
	return s, app, phase, conns
}

// benchPhase is each phase's length (SAKK_BENCH_SECONDS, default 3) and
// the concurrent connections (SAKK_BENCH_CONNS, default 64).
func benchPhase() (phase time.Duration, conns int) {
	phase, conns = 3*time.Second, 64
	if v := os.Getenv("SAKK_BENCH_SECONDS"); v != "" {
		if n, err := time.ParseDuration(v + "s"); err == nil {
			phase = n
		}
	}
	if v := os.Getenv("SAKK_BENCH_CONNS"); v != "" {
		fmt.Sscan(v, &conns)
	}
	return phase, conns
}

// meter accumulates the successful requests and their latencies of one
// endpoint over one or more rounds of closed-loop load.
type meter struct {
	name    string
	ok      int64
	elapsed time.Duration
	lat     []time.Duration
}

// run keeps conns requests in flight for d, each connection sending its
// next request when the last one is answered.
func (m *meter) run(b *testing.B, client *http.Client, conns int, d time.Duration, newReq func() *http.Request) {
	var ok atomic.Int64
	var mu sync.Mutex
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(deadline) {
				t0 := time.Now()
				resp, err := client.Do(newReq())
				if err != nil {
					b.Errorf("%s: %v", m.name, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("%s: status %d", m.name, resp.StatusCode)
					return
				}
				mine = append(mine, time.Since(t0))
				ok.Add(1)
			}
			mu.Lock()
			m.lat = append(m.lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	m.elapsed += time.Since(start)
	m.ok += ok.Load()
}

func (m *meter) perSec() float64 { return float64(m.ok) / m.elapsed.Seconds() }

func (m *meter) p99() time.Duration {
	if len(m.lat) == 0 {
		return 0
	}
	slices.Sort(m.lat)
	return m.lat[len(m.lat)*99/100]
}

func (m *meter) log(b *testing.B) {
	b.Logf("%-28s %8.0f req/s  p99 %v", m.name, m.perSec(), m.p99().Round(100*time.Microsecond))
}

// measureServe builds cmd/sakk, starts a `sakk serve` child on a fresh
// embedded store, and reports its resident memory idle and under phase of
// session-creation load from conns connections, in MB (as /proc/PID/status
// reports them: VmRSS now, VmHWM its peak). PERFORMANCE.md's targets are
// for that process, not for this benchmark's, which also holds the client.
func measureServe(b *testing.B, conns int, phase time.Duration, postBody []byte) (idleMB, peakMB float64) {
	b.Helper()
	if runtime.GOOS != "linux" {
		b.Logf("sakk serve memory: skipped, /proc/PID/status is Linux's")
		return 0, 0
	}
	dir := b.TempDir()
	bin, data := filepath.Join(dir, "sakk"), filepath.Join(dir, "data")
	build := exec.Command("go", "build", "-o", bin, "github.com/sakkhq/sakk/cmd/sakk")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build cmd/sakk: %v\n%s", err, out)
	}
	// The child gets this environment without SAKK_* settings, so that it
	// runs on its own embedded store whatever the caller's shell sets.
	env := []string{"SAKK_DATA_DIR=" + data}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SAKK_") {
			env = append(env, kv)
		}
	}
	create := exec.Command(bin, "apps", "create", "--name", "Bench Shop", "--json")
	create.Env = env
	out, err := create.Output()
	if err != nil {
		b.Fatalf("sakk apps create: %v", err)
	}
	var keys struct {
		SecretKey string `json:"secret_key"`
	}
	if err := json.Unmarshal(out, &keys); err != nil || keys.SecretKey == "" {
		b.Fatalf("sakk apps create --json: %v: %s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	// Default logging (info, an access-log line per request) goes to
	// /dev/null: writing it is part of what serving costs.
	serve := exec.Command(bin, "serve", "--addr", addr, "--demo=false", "--rate-limit", "1000000000")
	serve.Env = env
	if err := serve.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	defer func() {
		serve.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			serve.Process.Kill()
			<-exited
		}
	}()
	base := "http://" + addr
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
	for tries := 0; ; tries++ {
		resp, err := client.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if tries == 100 {
			b.Fatalf("sakk serve did not become ready: %v", err)
		}
		select {
		case err := <-exited:
			b.Fatalf("sakk serve exited: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	// Idle: started, migrated, ready, nothing asked of it yet but that.
	time.Sleep(time.Second)
	idle := procStatusMB(b, serve.Process.Pid, "VmRSS")

	m := &meter{name: "sakk serve: session creation"}
	m.run(b, client, conns, phase, func() *http.Request {
		req, _ := http.NewRequest("POST", base+"/api/v1/public/sessions", bytes.NewReader(postBody))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", keys.SecretKey)
		return req
	})
	peak, end := procStatusMB(b, serve.Process.Pid, "VmHWM"), procStatusMB(b, serve.Process.Pid, "VmRSS")
	m.log(b)
	b.Logf("sakk serve RSS idle:                %.1f MB  (target < 40 MB)", idle)
	b.Logf("sakk serve RSS under creation load: peak %.1f MB, at the end %.1f MB  (target < 150 MB)", peak, end)
	return idle, peak
}

// procStatusMB reads one "Vm…: N kB" line of /proc/PID/status, in MB.
func procStatusMB(b *testing.B, pid int, field string) float64 {
	b.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			var kB float64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%f kB", &kB); err != nil {
				b.Fatalf("/proc/%d/status: %q: %v", pid, line, err)
			}
			return kB / 1024
		}
	}
	b.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}
