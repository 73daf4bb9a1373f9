package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/merchant"
	"github.com/sakkhq/sakk/internal/metrics"
	"github.com/sakkhq/sakk/internal/pay"
)

// BenchmarkPaymentFlow measures whole sandbox payments on the embedded
// store, each as a merchant and a shopper make it over HTTP: the
// merchant's backend opens a session (Checkout API), the shopper asks for
// a code and verifies it (a fresh sandbox identifier each time), the
// sandbox tokenizer makes a card token, and process charges it. The
// backend's SDK token (POST /api/v1/auth) is fetched once and reused, as
// a backend does for its hour: auth's limit of 10 a minute per address
// would otherwise cap one loopback client. PERFORMANCE.md's
// target: at least 2 000 payments a second.
//
//	go test -run '^$' -bench PaymentFlow -benchtime 1x ./internal/httpapi
//
// SAKK_BENCH_SECONDS and SAKK_BENCH_CONNS as for BenchmarkCheckoutAPI.
func BenchmarkPaymentFlow(b *testing.B) {
	s, app, phase, conns := newBench(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}

	call := func(method, path string, header map[string]string, body string, out any) error {
		req, err := http.NewRequest(method, s.URL+path, bytes.NewReader([]byte(body)))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		return json.Unmarshal(raw, out)
	}
	var seq atomic.Int64
	var paidMu sync.Mutex
	paidAt := map[string]time.Time{} // payment id → when process answered
	pay1 := func(sdk map[string]string) (time.Duration, error) {
		t0 := time.Now()
		var sess struct {
			Token string `json:"session_token"`
		}
		if err := call("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": app.Keys.Secret}, seedBody, &sess); err != nil {
			return 0, err
		}
		who := fmt.Sprintf(`"method":"email_otp","identifier":"buyer-%d@example.com","sessionToken":%q`, seq.Add(1), sess.Token)
		var sent, verified struct {
			Token string `json:"verificationToken"`
		}
		if err := call("POST", "/api/v1/checkout/verification/request", sdk, "{"+who+"}", &sent); err != nil {
			return 0, err
		}
		if err := call("POST", "/api/v1/checkout/verification/verify", sdk, "{"+who+`,"code":"000000"}`, &verified); err != nil {
			return 0, err
		}
		var card struct {
			Token string `json:"token"`
		}
		if err := call("POST", "/api/v1/sandbox/tokens", nil, `{"number":"4242424242424242","expMonth":12,"expYear":2040,"cvc":"123"}`, &card); err != nil {
			return 0, err
		}
		var paid struct {
			Status    string `json:"status"`
			PaymentID string `json:"paymentId"`
		}
		err := call("POST", "/api/v1/payments/process", map[string]string{"Authorization": "Bearer " + verified.Token},
			fmt.Sprintf(`{"sessionToken":%q,"method":"card","gateway":"stripe","methodPayload":{"tempPaymentToken":%q}}`, sess.Token, card.Token), &paid)
		if err == nil && paid.Status != "completed" {
			err = fmt.Errorf("payment %s", paid.Status)
		}
		if err == nil {
			paidMu.Lock()
			paidAt[paid.PaymentID] = time.Now()
			paidMu.Unlock()
		}
		return time.Since(t0), err
	}

	var auth struct {
		Token string `json:"token"`
	}
	if err := call("POST", "/api/v1/auth", map[string]string{"Authorization": "Bearer " + app.Keys.Secret, "X-Public-Key": app.Keys.Public}, "", &auth); err != nil {
		b.Fatal(err)
	}
	sdk := map[string]string{"Authorization": "Bearer " + auth.Token}
	// The merchant's webhook endpoint, and the dispatcher delivering to it
	// as serve runs it.
	hooks := &arrivals{at: map[string]time.Time{}, seen: map[string]bool{}}
	receiver := httptest.NewServer(hooks)
	defer receiver.Close()
	if _, _, err := s.Merchant.AddWebhook(b.Context(), merchant.NewWebhook{ApplicationID: app.Application.ID,
		Environment: pay.Sandbox, URL: receiver.URL, Format: pay.WebhookPayment}); err != nil {
		b.Fatal(err)
	}
	dispatching, stopDispatch := context.WithCancel(b.Context())
	defer stopDispatch()
	go s.Webhooks.Run(dispatching)
	// The store's commits, counted by the metrics serve would export: the
	// write transactions the payments took.
	m := metrics.New()
	s.Store.Observe(m, nil)

	b.ResetTimer()
	for range b.N {
		var done atomic.Int64
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		before := commits(b, m)
		start := time.Now()
		deadline := start.Add(phase)
		for range conns {
			wg.Go(func() {
				var mine []time.Duration
				for time.Now().Before(deadline) {
					d, err := pay1(sdk)
					if err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, d)
					done.Add(1)
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
		}
		wg.Wait()
		paid := &meter{name: "full sandbox payment", ok: done.Load(), elapsed: time.Since(start), lat: lat}
		c := commits(b, m).minus(before)
		txs := c.transactions / float64(paid.ok)
		paid.log(b)
		b.Logf("payments/s: %.0f  (target >= 2000), %.2f write transactions each", paid.perSec(), txs)
		b.Logf("store: %.0f commits a second, %.1f transactions each, %.2f ms a commit",
			c.commits/paid.elapsed.Seconds(), c.transactions/c.commits, 1000*c.seconds/c.commits)
		b.ReportMetric(paid.perSec(), "payments/s")
		b.ReportMetric(float64(paid.p99().Microseconds())/1000, "payment-p99-ms")
		b.ReportMetric(txs, "write-tx/payment")
		// Each payment.completed event, from the payment's answer to its
		// first arrival; the stragglers get 30 s.
		paidMu.Lock()
		want := maps.Clone(paidAt)
		paidMu.Unlock()
		lags := hooks.lags(want, 30*time.Second)
		if len(lags) < len(want) {
			b.Errorf("%d of %d payment.completed events arrived within 30 s", len(lags), len(want))
		}
		if len(lags) > 0 {
			p50, p99 := lags[len(lags)/2], lags[len(lags)*99/100]
			b.Logf("webhook delivery after the payment's answer: p50 %v, p99 %v  (target p99 < 2s), %d duplicates",
				p50.Round(time.Millisecond), p99.Round(time.Millisecond), hooks.duplicates())
			b.ReportMetric(float64(p99.Microseconds())/1000, "webhook-p99-ms")
		}
	}
}

// commitStats is what the store's commit metrics have counted: commits,
// the write transactions they committed, and their time.
type commitStats struct{ commits, transactions, seconds float64 }

func (c commitStats) minus(o commitStats) commitStats {
	return commitStats{c.commits - o.commits, c.transactions - o.transactions, c.seconds - o.seconds}
}

// commits reads the store's commit counts from m's exposition: the batch
// size histogram's count and sum, and the commit duration's sum.
func commits(b *testing.B, m *metrics.Metrics) commitStats {
	b.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	var c commitStats
	found := 0
	for line := range strings.Lines(rec.Body.String()) {
		name, v, _ := strings.Cut(strings.TrimSpace(line), " ")
		var into *float64
		switch name {
		case "sakk_store_commit_batch_size_count":
			into = &c.commits
		case "sakk_store_commit_batch_size_sum":
			into = &c.transactions
		case "sakk_store_commit_duration_seconds_sum":
			into = &c.seconds
		default:
			continue
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			b.Fatal(err)
		}
		*into = n
		found++
	}
	if found != 3 {
		b.Fatal("the store's commit metrics are not all in the exposition")
	}
	return c
}

// arrivals is a webhook endpoint that notes when each payment's
// payment.completed event first arrives, and counts the events that
// arrive again.
type arrivals struct {
	mu    sync.Mutex
	at    map[string]time.Time // payment id → first arrival
	seen  map[string]bool      // event ids
	again int
}

func (a *arrivals) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data struct {
			PaymentID string `json:"paymentId"`
		} `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen[ev.ID] {
		a.again++
	}
	a.seen[ev.ID] = true
	if _, ok := a.at[ev.Data.PaymentID]; !ok && ev.Type == "payment.completed" {
		a.at[ev.Data.PaymentID] = now
	}
	w.WriteHeader(http.StatusNoContent)
}

// lags waits up to wait for every payment of paid to arrive, and answers
// each arrived one's time from its answer to its event, sorted.
func (a *arrivals) lags(paid map[string]time.Time, wait time.Duration) []time.Duration {
	deadline := time.Now().Add(wait)
	for {
		a.mu.Lock()
		var lags []time.Duration
		for id, answered := range paid {
			if at, ok := a.at[id]; ok {
				lags = append(lags, at.Sub(answered))
			}
		}
		a.mu.Unlock()
		if len(lags) == len(paid) || time.Now().After(deadline) {
			slices.Sort(lags)
			return lags
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (a *arrivals) duplicates() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.again
}
