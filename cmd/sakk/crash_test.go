package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/store/storetest"
	"github.com/sakkhq/sakk/internal/webhook"
)

// The crash acceptance test of issue 6: `sakk serve` runs as a child
// process under a load of session creations and full payments, is killed
// with SIGKILL at random points several times and restarted on the same
// store, and then the store and a webhook receiver prove that
//
//   - every request that got a 2xx is in the store,
//   - no session was charged twice,
//   - every committed event reached the receiver at least once, and
//   - the receiver saw no event the store does not hold (a change rolled
//     back by the kill left no event behind).
//
// The kill points come from a seeded random source; the seed is logged and
// SAKK_CRASH_SEED replays it. (The load's interleaving is the scheduler's,
// so a replay repeats the kill timings, not every request's fate.)

// crashSeedEnv replays the kill timings of an earlier run.
const crashSeedEnv = "SAKK_CRASH_SEED"

// Sandbox cards (SURFACES.md §3).
const (
	crashCardApproved = "4242424242424242"
	crashCardDeclined = "4000000000000002"
)

// crashWorkers is how many clients pay concurrently.
const crashWorkers = 8

func TestCrashUnderLoadKeepsEveryGuarantee(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test runs and kills sakk processes for a while: skipped with -short")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(crashSeedEnv); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", crashSeedEnv, s, err)
		}
	}
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			t.Logf("seed %d (replay the kill points with %s=%d)", seed, crashSeedEnv, seed)
			crashUnderLoad(t, engine, seed)
		})
	}
}

func crashUnderLoad(t *testing.T, engine store.Engine, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x5a4b))
	tg := newTarget(t, engine)
	var app appKeys
	tg.cliJSON(t, &app, "apps", "create", "--name", "Crash Shop", "--merchant", "Crash Merchant")

	rec := newHookReceiver(t)
	var hook struct{ ID, Secret string }
	tg.cliJSON(t, &hook, "webhooks", "add", "--app", app.ApplicationID, "--url", rec.url+"/hooks",
		"--env", "sandbox", "--format", "payment")
	rec.setSecret(hook.Secret)

	// The Checkout API's per-key limit would stop the load, not the kills.
	serveFlags := []string{"--rate-limit", "1000000", "--demo=false"}
	child := serveSakk(t, tg, serveFlags...)

	loadCtx, cancelLoad := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancelLoad()
	c := &crashClient{http: &http.Client{Timeout: 30 * time.Second}}
	c.setAddr(child.addr)
	defer c.http.CloseIdleConnections()

	// One backend token serves the whole test: /api/v1/auth allows 10 a
	// minute, and the token, signed with keys kept in the store, outlives
	// every restart.
	status, body, err := c.call(loadCtx, "POST", "/api/v1/auth",
		map[string]string{"Authorization": "Bearer " + app.SecretKey, "x-public-key": app.PublicKey}, "")
	var auth struct{ Token string }
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &auth) != nil || auth.Token == "" {
		t.Fatalf("auth: %d %s %v", status, body, err)
	}

	l := &crashLedger{sessions: map[string]bool{}, completed: map[string]string{}}
	stop := make(chan struct{})
	var workers sync.WaitGroup
	for w := range crashWorkers {
		workers.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if !c.payOnce(loadCtx, l, app.SecretKey, auth.Token, w, i) {
					return
				}
			}
		})
	}

	kills := 3 + rng.IntN(3)
	for k := range kills {
		// A random point of the load: somewhere between just after the
		// restart and a second and a half into it.
		time.Sleep(time.Duration(50+rng.IntN(1450)) * time.Millisecond)
		before := l.snapshot()
		if err := child.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		child.wait(t, time.Minute)
		t.Logf("kill %d/%d: %d sessions, %d payments acknowledged so far", k+1, kills, before.sessions, before.completed)
		child = serveSakk(t, tg, serveFlags...)
		c.setAddr(child.addr)
	}

	// Some load on the last process too, then stop it and let the
	// workers finish their payments in flight.
	last := l.snapshot().completed
	if !poll(30*time.Second, func() bool { return l.snapshot().completed >= last+crashWorkers }) {
		t.Errorf("no progress after the last restart\nstderr:\n%s", child.stderr)
	}
	close(stop)
	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		cancelLoad()
		<-done
		t.Errorf("the load did not finish within a minute of being stopped")
	}
	totals := l.snapshot()
	t.Logf("load: %d sessions and %d completed payments acknowledged, %d declines, %d sessions left with an attempt in flight; %d transport errors retried",
		totals.sessions, totals.completed, totals.declines, totals.pending, c.transportErrors.Load())
	for _, p := range l.problems {
		t.Errorf("load: %s", p)
	}
	if totals.completed < 10 {
		t.Fatalf("only %d payments completed: the test proved little", totals.completed)
	}

	db := openStoreDB(t, tg)
	ctx := t.Context()

	// Delivery: every committed event reaches the receiver. A delivery
	// claimed by a killed process waits out its lease, so the wait is
	// bounded by that, not by a guess at how fast delivery is.
	var events []storedEvent
	drainStart := time.Now()
	drained := poll(webhook.Lease+30*time.Second, func() bool {
		events = storedEvents(t, db, app.ApplicationID)
		got := rec.snapshot()
		for _, e := range events {
			if _, ok := got[e.ID]; !ok {
				return false
			}
		}
		return true
	})
	// The receiver's view is taken before the store's: whatever it saw
	// had been committed by then, so an id missing from the store is an
	// event of a change that never committed. The store's view is one
	// snapshot: the reconciler is still at work, and an attempt it settles
	// between two reads would be completed in one and without its event in
	// the other.
	received := rec.snapshot()
	snap := snapshot(t, db, tg)
	events = storedEvents(t, snap, app.ApplicationID)
	payments := storedPayments(t, snap, app.ApplicationID)
	sessions := storedSessions(t, snap, app.ApplicationID)
	snap.Rollback()
	t.Logf("delivery drained in %v (a delivery leased by a killed process waits out its %v lease)",
		time.Since(drainStart).Round(100*time.Millisecond), webhook.Lease)

	if !drained {
		missing := 0
		for _, e := range events {
			if _, ok := received[e.ID]; ok {
				continue
			}
			if missing++; missing <= 10 {
				t.Errorf("committed event %s (%s of %s, seq %d) never reached the receiver; its deliveries: %s",
					e.ID, e.Type, e.SubjectID, e.Seq, deliveriesOf(t, db, e.ID))
			}
		}
		t.Errorf("%d of %d committed events never reached the receiver", missing, len(events))
	}

	// Every acknowledged session and payment is in the store.
	for id := range l.sessions {
		if !sessions[id] {
			t.Errorf("acknowledged session %s is not in the store", id)
		}
	}
	for payID, sessID := range l.completed {
		p, ok := payments[payID]
		switch {
		case !ok:
			t.Errorf("acknowledged payment %s (session %s) is not in the store", payID, sessID)
		case p.status != "completed" || p.sessionID != sessID:
			t.Errorf("acknowledged completed payment %s of session %s is %s, of session %s, in the store", payID, sessID, p.status, p.sessionID)
		}
	}

	// No session was charged twice, and each charge has exactly one
	// completed event.
	paid := map[string][]string{}
	for id, p := range payments {
		if p.status == "completed" || p.status == "refunded" {
			paid[p.sessionID] = append(paid[p.sessionID], id)
		}
	}
	completedEvents := map[string][]string{}
	bySubject := map[string][]storedEvent{}
	stored := map[string]storedEvent{}
	for _, e := range events {
		stored[e.ID] = e
		bySubject[e.SubjectID] = append(bySubject[e.SubjectID], e)
		if e.Type == "payment.completed" {
			completedEvents[e.SubjectID] = append(completedEvents[e.SubjectID], e.PaymentID)
		}
		if e.PaymentID != "" {
			if _, ok := payments[e.PaymentID]; !ok {
				t.Errorf("event %s (%s) names payment %s, which is not in the store", e.ID, e.Type, e.PaymentID)
			}
		}
	}
	for sess, ids := range paid {
		if len(ids) > 1 {
			t.Errorf("session %s was charged %d times: payments %v", sess, len(ids), ids)
		}
		if got := completedEvents[sess]; !slices.Equal(got, ids) {
			t.Errorf("session %s: completed payments %v but payment.completed events for %v", sess, ids, got)
		}
	}
	for sess, ids := range completedEvents {
		if _, ok := paid[sess]; !ok {
			t.Errorf("session %s has payment.completed events for %v but no completed payment", sess, ids)
		}
	}

	// The receiver saw nothing the store does not hold, and what it saw
	// says what the store says.
	for id, r := range received {
		e, ok := stored[id]
		if !ok {
			t.Errorf("the receiver got event %s (%s of session %s, payment %s), which is not in the store: an event of a change that was rolled back",
				id, r.Type, r.SessionID, r.PaymentID)
			continue
		}
		if r.Type != e.Type || r.SessionID != e.SubjectID || r.PaymentID != e.PaymentID {
			t.Errorf("event %s: received %s of %s/%s, stored %s of %s/%s", id, r.Type, r.SessionID, r.PaymentID, e.Type, e.SubjectID, e.PaymentID)
		}
		if p, ok := payments[r.PaymentID]; ok && r.Type == "payment.completed" && p.status != "completed" {
			t.Errorf("the receiver was told payment %s completed; the store says %s", r.PaymentID, p.status)
		}
	}
	// Per-session order (docs/webhooks.md): a session's events first
	// arrive in the order they happened.
	for sess, es := range bySubject {
		for i := 1; i < len(es); i++ {
			a, b := received[es[i-1].ID], received[es[i].ID]
			if a.arrival != 0 && b.arrival != 0 && a.arrival > b.arrival {
				t.Errorf("session %s: event seq %d (%s) arrived before seq %d (%s)", sess, es[i].Seq, es[i].Type, es[i-1].Seq, es[i-1].Type)
			}
		}
	}
	for _, bad := range rec.refused() {
		t.Errorf("receiver: %s", bad)
	}
	// A delivery is at least once: an event may arrive again, with its
	// own id, when a process is killed between sending it and recording
	// the answer. Each kill can repeat at most the requests its dispatcher
	// had in flight and the answers it had not recorded yet (a commit's
	// worth, no more than as many again), so more than that is a fault.
	dups := rec.duplicates()
	var lags []time.Duration
	for id, r := range received {
		if e, ok := stored[id]; ok {
			lags = append(lags, r.at.Sub(e.Created))
		}
	}
	slices.Sort(lags)
	if len(lags) > 0 {
		t.Logf("webhooks: %d events, %d delivered again after %d kills; from commit to first arrival p50 %v, p99 %v, max %v (a delivery a killed process held waits out its lease)",
			len(received), dups, kills, lags[len(lags)/2].Round(time.Millisecond), lags[len(lags)*99/100].Round(time.Millisecond), lags[len(lags)-1].Round(time.Millisecond))
	}
	if dups > kills*2*webhook.DefaultConcurrency {
		t.Errorf("%d duplicate deliveries after %d kills: more than twice the %d requests a killed dispatcher can have in flight, each", dups, kills, webhook.DefaultConcurrency)
	}
	open := 0
	for _, p := range payments {
		if p.status == "pending" || p.status == "requires_action" {
			open++
		}
	}
	t.Logf("store: %d sessions, %d payments (%d still open for the reconciler), %d events; receiver: %d distinct events in %d requests",
		len(sessions), len(payments), open, len(events), len(received), rec.requests.Load())

	// A clean stop after all that.
	child.cmd.Process.Signal(syscall.SIGTERM)
	if err := child.wait(t, time.Minute); err != nil {
		t.Errorf("after SIGTERM: %v", err)
	}

	// The database agrees that a session is paid once: making a second
	// attempt of a paid session completed violates the unique index.
	probeSecondCharge(t, ctx, db, payments, paid)
}

// poll calls cond until it is true or d has passed.
func poll(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// crashClient talks to whichever sakk process is running.
type crashClient struct {
	http            *http.Client
	addr            atomic.Pointer[string]
	transportErrors atomic.Int64
}

func (c *crashClient) setAddr(addr string) { c.addr.Store(&addr) }

// call sends a request, again after each transport error (the process was
// killed mid-request, or is being restarted), until one is answered or ctx
// ends. Repeating is what a real client does; every route used here is
// safe to repeat: session creation carries an Idempotency-Key, and a
// session's payment reports the attempt already made.
func (c *crashClient) call(ctx context.Context, method, path string, header map[string]string, body string) (int, []byte, error) {
	for {
		req, err := http.NewRequestWithContext(ctx, method, "http://"+*c.addr.Load()+path, strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := c.http.Do(req)
		if err == nil {
			b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if err == nil {
				return resp.StatusCode, b, nil
			}
		}
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		c.transportErrors.Add(1)
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// crashLedger is what the load was told: the 2xx answers that the store
// must hold, and what went unexpectedly.
type crashLedger struct {
	mu        sync.Mutex
	sessions  map[string]bool   // acknowledged sessions
	completed map[string]string // acknowledged completed payments: payment id → session id
	declines  int
	pending   int // sessions left with an attempt in flight (a kill lost its outcome)
	problems  []string
}

type ledgerTotals struct{ sessions, completed, declines, pending int }

func (l *crashLedger) snapshot() ledgerTotals {
	l.mu.Lock()
	defer l.mu.Unlock()
	return ledgerTotals{len(l.sessions), len(l.completed), l.declines, l.pending}
}

func (l *crashLedger) problem(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.problems) < 20 {
		l.problems = append(l.problems, fmt.Sprintf(format, args...))
	}
}

func (l *crashLedger) record(f func(l *crashLedger)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(l)
}

// crashSessionBody is a Checkout API session of 1799.00 MAD.
const crashSessionBody = `{"total":"1799.00","currency":"MAD","items":[{"id":"CRASH-1","name":"Wireless Headphones","price":1799,"quantity":1}]}`

// payOnce opens a session and pays it as a shopper would: verification
// by code, a sandbox card token, then the payment. Every fourth session is
// first declined; every third is paid by two concurrent requests. It
// returns false once ctx has ended.
func (c *crashClient) payOnce(ctx context.Context, l *crashLedger, secretKey, sdk string, w, i int) bool {
	status, body, err := c.call(ctx, "POST", "/api/v1/public/sessions",
		map[string]string{"X-API-Key": secretKey, "Idempotency-Key": fmt.Sprintf("crash-%d-%d", w, i)}, crashSessionBody)
	if err != nil {
		return false
	}
	var sess struct {
		Token string `json:"session_token"`
		ID    string `json:"session_id"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &sess) != nil || sess.ID == "" || sess.Token == "" {
		l.problem("create session: %d %s", status, body)
		return true
	}
	l.record(func(l *crashLedger) { l.sessions[sess.ID] = true })

	identifier := fmt.Sprintf("crash-%d-%d@example.com", w, i)
	vtok, ok := c.verify(ctx, l, sdk, identifier, sess.Token)
	if !ok {
		return ctx.Err() == nil
	}
	if i%4 == 0 {
		a, ok := c.process(ctx, l, vtok, sess.Token, crashCardDeclined)
		if !ok {
			return ctx.Err() == nil
		}
		switch a.Status {
		case "failed":
			l.record(func(l *crashLedger) { l.declines++ })
		case "pending":
			// A kill left the declined attempt open; the session cannot
			// be paid until the reconciler settles it.
			l.record(func(l *crashLedger) { l.pending++ })
			return true
		default:
			l.problem("session %s, declined card: status %q", sess.ID, a.Status)
			return true
		}
	}
	answers := make([]attemptAnswer, 1+boolInt(i%3 == 1))
	var both sync.WaitGroup
	for k := range answers {
		both.Go(func() {
			a, ok := c.process(ctx, l, vtok, sess.Token, crashCardApproved)
			if ok {
				answers[k] = a
			}
		})
	}
	both.Wait()
	open := 0
	for _, a := range answers {
		switch a.Status {
		case "":
			// The request failed and said so (recorded) or ctx ended.
		case "pending":
			// In flight: the concurrent request's attempt, or one a kill
			// left open for the reconciler.
			open++
		case "completed":
			if a.SessionID != sess.ID || !strings.HasPrefix(a.PaymentID, "pay_") {
				l.problem("session %s: completed answer %+v", sess.ID, a)
				continue
			}
			l.record(func(l *crashLedger) {
				if prev, ok := l.completed[a.PaymentID]; ok && prev != sess.ID {
					l.problems = append(l.problems, fmt.Sprintf("payment %s reported for sessions %s and %s", a.PaymentID, prev, sess.ID))
				}
				l.completed[a.PaymentID] = sess.ID
			})
		default:
			l.problem("session %s, approved card: status %q", sess.ID, a.Status)
		}
	}
	if open == len(answers) {
		l.record(func(l *crashLedger) { l.pending++ })
	}
	if len(answers) == 2 && answers[0].Status == "completed" && answers[1].Status == "completed" && answers[0].PaymentID != answers[1].PaymentID {
		l.problem("session %s: two concurrent payments both completed: %s and %s", sess.ID, answers[0].PaymentID, answers[1].PaymentID)
	}
	return ctx.Err() == nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// verify runs the sandbox's code verification for identifier and returns
// the verification token. A kill may lose the answer of a verify that
// used the code up; then it asks for a new code, as a shopper would.
func (c *crashClient) verify(ctx context.Context, l *crashLedger, sdk, identifier, sessionToken string) (string, bool) {
	auth := map[string]string{"Authorization": "Bearer " + sdk}
	for range 5 {
		status, body, err := c.call(ctx, "POST", "/api/v1/checkout/verification/request", auth,
			fmt.Sprintf(`{"method":"email_otp","identifier":%q,"sessionToken":%q}`, identifier, sessionToken))
		if err != nil {
			return "", false
		}
		if status != http.StatusOK {
			l.problem("verification request for %s: %d %s", identifier, status, body)
			return "", false
		}
		status, body, err = c.call(ctx, "POST", "/api/v1/checkout/verification/verify", auth,
			fmt.Sprintf(`{"method":"email_otp","identifier":%q,"code":"000000","sessionToken":%q}`, identifier, sessionToken))
		if err != nil {
			return "", false
		}
		var v struct{ VerificationToken string }
		if status == http.StatusOK && json.Unmarshal(body, &v) == nil && v.VerificationToken != "" {
			return v.VerificationToken, true
		}
		if status != http.StatusBadRequest || !strings.Contains(string(body), "invalid_code") {
			l.problem("verify %s: %d %s", identifier, status, body)
			return "", false
		}
	}
	l.problem("verify %s: the code was refused five times", identifier)
	return "", false
}

// attemptAnswer is what POST /api/v1/payments/process answers.
type attemptAnswer struct {
	Status    string `json:"status"`
	PaymentID string `json:"paymentId"`
	SessionID string `json:"sessionId"`
}

// process tokenizes card in the sandbox and pays the session with it.
func (c *crashClient) process(ctx context.Context, l *crashLedger, vtok, sessionToken, card string) (attemptAnswer, bool) {
	status, body, err := c.call(ctx, "POST", "/api/v1/sandbox/tokens", nil,
		fmt.Sprintf(`{"number":%q,"expMonth":12,"expYear":2030,"cvc":"123"}`, card))
	if err != nil {
		return attemptAnswer{}, false
	}
	var tok struct{ Token string }
	if status != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.Token == "" {
		l.problem("sandbox token: %d %s", status, body)
		return attemptAnswer{}, false
	}
	status, body, err = c.call(ctx, "POST", "/api/v1/payments/process", map[string]string{"Authorization": "Bearer " + vtok},
		fmt.Sprintf(`{"sessionToken":%q,"method":"card","gateway":"stripe","methodPayload":{"tempPaymentToken":%q}}`, sessionToken, tok.Token))
	if err != nil {
		return attemptAnswer{}, false
	}
	var a attemptAnswer
	if status != http.StatusOK || json.Unmarshal(body, &a) != nil {
		l.problem("process: %d %s", status, body)
		return attemptAnswer{}, false
	}
	return a, true
}

// hookReceiver is a merchant's webhook endpoint. It checks every
// signature with code written from docs/webhooks.md, not with sakk's
// signer, and records each event's first arrival.
type hookReceiver struct {
	url      string
	requests atomic.Int64

	mu      sync.Mutex
	secret  string
	first   map[string]receivedEvent // by event id
	arrived int
	again   int // deliveries of an event already received: duplicates
	bad     []string
}

// receivedEvent is what the receiver learnt of one event; arrival counts
// first arrivals from 1.
type receivedEvent struct {
	Type, SessionID, PaymentID, Status string
	arrival                            int
	at                                 time.Time // of the first arrival
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	rec := &hookReceiver{first: map[string]receivedEvent{}}
	srv := httptest.NewServer(rec) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	rec.url = srv.URL
	return rec
}

func (rec *hookReceiver) setSecret(s string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.secret = s
}

func (rec *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.requests.Add(1)
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rec.mu.Lock()
	defer rec.mu.Unlock()
	refuse := func(format string, args ...any) {
		if len(rec.bad) < 20 {
			rec.bad = append(rec.bad, fmt.Sprintf(format, args...))
		}
		http.Error(w, "refused", http.StatusBadRequest)
	}
	if err != nil || r.Method != http.MethodPost {
		refuse("%s %s: %v", r.Method, r.URL, err)
		return
	}
	if !verifySakkSignature(rec.secret, r.Header.Get("Sakk-Signature"), body, time.Now()) {
		refuse("bad signature %q on %s", r.Header.Get("Sakk-Signature"), body)
		return
	}
	var ev struct {
		ID   string
		Type string
		Data struct {
			SessionID string
			PaymentID string
			Status    string
		}
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.ID != r.Header.Get("Sakk-Event-Id") {
		refuse("event id header %q, body %s (%v)", r.Header.Get("Sakk-Event-Id"), body, err)
		return
	}
	if _, seen := rec.first[ev.ID]; seen {
		rec.again++
	} else {
		rec.arrived++
		rec.first[ev.ID] = receivedEvent{Type: ev.Type, SessionID: ev.Data.SessionID, PaymentID: ev.Data.PaymentID,
			Status: ev.Data.Status, arrival: rec.arrived, at: time.Now()}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rec *hookReceiver) snapshot() map[string]receivedEvent {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := make(map[string]receivedEvent, len(rec.first))
	for k, v := range rec.first {
		out[k] = v
	}
	return out
}

func (rec *hookReceiver) duplicates() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.again
}

func (rec *hookReceiver) refused() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.bad)
}

// verifySakkSignature checks a Sakk-Signature header as docs/webhooks.md
// tells merchants to: t=<unix seconds>,v1=<hex HMAC-SHA256 of t + "." +
// body, keyed with the whole secret text>; one matching v1 is enough, and
// a time more than 5 minutes off is refused.
func verifySakkSignature(secret, header string, body []byte, now time.Time) bool {
	var t string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			t = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	unix, err := strconv.ParseInt(t, 10, 64)
	if err != nil || secret == "" || now.Sub(time.Unix(unix, 0)).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(t + "." + string(body)))
	want := mac.Sum(nil)
	for _, s := range sigs {
		got, err := hex.DecodeString(s)
		if err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

// openStoreDB opens the target's database directly, beside the running
// process, to read what it committed.
func openStoreDB(t *testing.T, tg target) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if tg.opts.Database == "" {
		db, err = sql.Open("sqlite", "file:"+filepath.Join(tg.opts.DataDir, "sakk.db")+"?_pragma=busy_timeout(10000)")
	} else {
		db, err = sql.Open("pgx", tg.opts.Database)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// snapshot is a read-only transaction, whose reads all see the store as
// it was at one moment: on PostgreSQL at its first statement (repeatable
// read), on SQLite at its first read (a deferred transaction in WAL mode).
func snapshot(t *testing.T, db *sql.DB, tg target) *sql.Tx {
	t.Helper()
	var opts *sql.TxOptions
	if tg.opts.Database != "" {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := db.BeginTx(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// queryer is a pool or a transaction, which the readers below read from.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// storedEvent is an outbox row, with the payment its payload names.
type storedEvent struct {
	ID, Type, SubjectID, PaymentID string
	Seq                            int64
	Created                        time.Time
}

func storedEvents(t *testing.T, db queryer, appID string) []storedEvent {
	t.Helper()
	rows, err := db.QueryContext(t.Context(),
		`SELECT id, type, subject_id, seq, payload, created_at FROM events WHERE application_id = $1 ORDER BY subject_id, seq`, appID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []storedEvent
	for rows.Next() {
		var e storedEvent
		var payload string
		var created int64
		if err := rows.Scan(&e.ID, &e.Type, &e.SubjectID, &e.Seq, &payload, &created); err != nil {
			t.Fatal(err)
		}
		e.Created = time.UnixMicro(created)
		var p struct{ PaymentID string }
		if err := json.Unmarshal([]byte(payload), &p); err != nil {
			t.Errorf("event %s: payload %s: %v", e.ID, payload, err)
		}
		e.PaymentID = p.PaymentID
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type storedPayment struct{ sessionID, status string }

func storedPayments(t *testing.T, db queryer, appID string) map[string]storedPayment {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT id, session_id, status FROM payments WHERE application_id = $1`, appID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]storedPayment{}
	for rows.Next() {
		var id string
		var p storedPayment
		if err := rows.Scan(&id, &p.sessionID, &p.status); err != nil {
			t.Fatal(err)
		}
		out[id] = p
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func storedSessions(t *testing.T, db queryer, appID string) map[string]bool {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT id FROM sessions WHERE application_id = $1`, appID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// deliveriesOf describes an event's deliveries, for a failure message.
func deliveriesOf(t *testing.T, db *sql.DB, eventID string) string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(),
		`SELECT id, status, attempts, claimed_until, last_status_code, last_error FROM webhook_deliveries WHERE event_id = $1`, eventID)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, status, lastErr string
		var attempts, claimedUntil, code int64
		if err := rows.Scan(&id, &status, &attempts, &claimedUntil, &code, &lastErr); err != nil {
			return err.Error()
		}
		lease := "not leased"
		if claimedUntil > 0 {
			lease = "leased until " + time.UnixMicro(claimedUntil).UTC().Format(time.RFC3339)
		}
		out = append(out, fmt.Sprintf("%s %s after %d attempts (%s; last answer %d %q)", id, status, attempts, lease, code, lastErr))
	}
	if len(out) == 0 {
		return "none (the event was never routed)"
	}
	return strings.Join(out, "; ")
}

// probeSecondCharge tries, in a transaction it rolls back, to mark a
// second attempt of a paid session completed: the unique index
// payments_paid_once must refuse it.
func probeSecondCharge(t *testing.T, ctx context.Context, db *sql.DB, payments map[string]storedPayment, paid map[string][]string) {
	t.Helper()
	var other string
	for id, p := range payments {
		if p.status != "completed" && p.status != "refunded" && len(paid[p.sessionID]) == 1 {
			other = id
			break
		}
	}
	if other == "" {
		t.Error("no paid session has a second attempt: the unique index was not probed")
		return
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `UPDATE payments SET status = 'completed' WHERE id = $1`, other)
	if !isUniqueViolation(err) {
		t.Errorf("marking payment %s, a second attempt of a paid session, completed: err = %v, want a unique violation", other, err)
	}
}

// isUniqueViolation matches the engines' unique-violation codes.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		return liteErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
	}
	return false
}
