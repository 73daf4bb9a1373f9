package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	phase := 3 * time.Second
	if v := os.Getenv("SAKK_BENCH_SECONDS"); v != "" {
		if n, err := time.ParseDuration(v + "s"); err == nil {
			phase = n
		}
	}
	conns := 64
	if v := os.Getenv("SAKK_BENCH_CONNS"); v != "" {
		fmt.Sscan(v, &conns)
	}
	s := newServer(b, store.SQLite, serverOptions{rateLimit: 1 << 30})
	app := s.newApp("Bench Shop", pay.Sandbox)
	key := app.Keys.Secret

	// References: a bare GET of a small JSON, and a POST that decodes a
	// 314-byte JSON body and makes one durable insert through the same
	// group-committing store.
	var seq atomic.Int64
	refMux := http.NewServeMux()
	refMux.HandleFunc("GET /ref", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"APPROVED","transaction_id":"pay_x","amount":1799.00}`))
	})
	refMux.HandleFunc("POST /ref", func(w http.ResponseWriter, r *http.Request) {
		var in map[string]any
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&in); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		m := pay.Merchant{ID: fmt.Sprintf("mer_ref_%d", seq.Add(1)), Name: "ref", CreatedAt: time.Now()}
		if err := s.store.WithTx(r.Context(), func(tx *store.Tx) error { return tx.CreateMerchant(r.Context(), m) }); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"session_token":"x","expires_in":3600,"session_id":"sess_x"}`))
	})
	ref := httptest.NewServer(refMux)
	defer ref.Close()

	// A session with a completed payment, polled with its session token.
	created := s.do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": key}, seedBody, true)
	m := created.json(b)
	tok, sessID := m["session_token"].(string), m["session_id"].(string)
	paymentID := addPayment(b, s, app.Application.ID, sessID, pay.PaymentCompleted)

	postBody := []byte(`{"total":"1799.00","currency":"MAD","items":[{"id":"PRODUCT_123","name":"Wireless Headphones","price":1799,"quantity":1}],"vendor_reference":"order-000000001","metadata":{"cart":"c-0001","channel":"web","campaign":"winter"},"customer_email":"buyer@example.com","customer_phone":"212650296165"}`)
	b.Logf("POST body: %d bytes", len(postBody))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}

	type result struct {
		perSec float64
		p99    time.Duration
	}
	run := func(name string, newReq func() *http.Request) result {
		var ok atomic.Int64
		var mu sync.Mutex
		var lat []time.Duration
		deadline := time.Now().Add(phase)
		var wg sync.WaitGroup
		start := time.Now()
		for range conns {
			wg.Go(func() {
				var mine []time.Duration
				for time.Now().Before(deadline) {
					t0 := time.Now()
					resp, err := client.Do(newReq())
					if err != nil {
						b.Errorf("%s: %v", name, err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("%s: status %d", name, resp.StatusCode)
						return
					}
					mine = append(mine, time.Since(t0))
					ok.Add(1)
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		slices.Sort(lat)
		r := result{perSec: float64(ok.Load()) / elapsed.Seconds()}
		if len(lat) > 0 {
			r.p99 = lat[len(lat)*99/100]
		}
		b.Logf("%-28s %8.0f req/s  p99 %v", name, r.perSec, r.p99.Round(100*time.Microsecond))
		return r
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

	b.ResetTimer()
	for range b.N {
		refGet := run("reference GET", get(ref.URL+"/ref"))
		status := run("transaction status", get(s.url+"/api/v1/public/transactions/"+paymentID+"/status", "X-Session-Token", tok))
		refPost := run("reference POST + insert", post(ref.URL+"/ref"))
		create := run("session creation", post(s.url+"/api/v1/public/sessions", "X-API-Key", key))
		b.ReportMetric(create.perSec/refPost.perSec, "create/ref-post")
		b.ReportMetric(status.perSec/refGet.perSec, "status/ref-get")
		b.ReportMetric(create.perSec, "create/s")
		b.ReportMetric(float64(create.p99.Microseconds())/1000, "create-p99-ms")
		b.ReportMetric(status.perSec, "status/s")
	}
}
