package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sakkhq/sakk/internal/store"
)

// otlpReceiver is an OTLP/HTTP trace collector in the test process: it
// decodes what sakk exports and keeps every span.
type otlpReceiver struct {
	url   string
	mu    sync.Mutex
	spans []receivedSpan
}

type receivedSpan struct {
	trace, id, parent, name string
	attrs                   map[string]string
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rec := &otlpReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "want POST /v1/traces, protobuf", http.StatusBadRequest)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		var req coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(body, &req)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec.mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					attrs := map[string]string{}
					for _, kv := range s.Attributes {
						attrs[kv.Key] = kv.Value.String()
					}
					rec.spans = append(rec.spans, receivedSpan{hex.EncodeToString(s.TraceId), hex.EncodeToString(s.SpanId),
						hex.EncodeToString(s.ParentSpanId), s.Name, attrs})
				}
			}
		}
		rec.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	rec.url = srv.URL
	return rec
}

func (rec *otlpReceiver) all() []receivedSpan {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]receivedSpan(nil), rec.spans...)
}

// One sandbox payment, traced: each request is a span named by its route,
// with the store's transactions, the code's send and the gateway's charge
// below it, linked by parent ids; the X-Request-Id answered and the log
// lines carry the trace id; the webhook's delivery is a span too.
func TestTracingOnePayment(t *testing.T) {
	tg := newTarget(t, store.SQLite)
	var app appKeys
	tg.cliJSON(t, &app, "apps", "create", "--name", "Traced Shop", "--merchant", "Traced Merchant")
	hooks := newHookReceiver(t)
	var hook struct{ ID, Secret string }
	tg.cliJSON(t, &hook, "webhooks", "add", "--app", app.ApplicationID, "--url", hooks.url+"/hooks", "--env", "sandbox", "--format", "payment")
	hooks.setSecret(hook.Secret)
	otlp := newOTLPReceiver(t)
	p := serveSakk(t, tg, "--demo=false", "--otlp-endpoint", otlp.url)

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c := &crashClient{http: &http.Client{Timeout: 30 * time.Second}}
	c.setAddr(p.addr)
	status, body, err := c.call(ctx, "POST", "/api/v1/auth", map[string]string{"Authorization": "Bearer " + app.SecretKey, "x-public-key": app.PublicKey}, "")
	sdk := jsonField(t, body, "token")
	if err != nil || status != http.StatusOK || sdk == "" {
		t.Fatalf("auth: %d %s %v", status, body, err)
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+p.addr+"/api/v1/public/sessions", strings.NewReader(crashSessionBody))
	req.Header.Set("X-API-Key", app.SecretKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	sessionToken, requestID := jsonField(t, body, "session_token"), resp.Header.Get("X-Request-Id")
	if resp.StatusCode != http.StatusOK || sessionToken == "" {
		t.Fatalf("session: %d %s", resp.StatusCode, body)
	}
	l := &crashLedger{sessions: map[string]bool{}, completed: map[string]string{}}
	vtok, ok := c.verify(ctx, l, sdk, "traced@example.com", sessionToken)
	if !ok {
		t.Fatalf("verify: %v", l.problems)
	}
	if a, ok := c.process(ctx, l, vtok, sessionToken, crashCardApproved); !ok || a.Status != "completed" {
		t.Fatalf("process: %+v %v", a, l.problems)
	}
	// The payment's webhook delivered, then a clean stop sends what is
	// still buffered.
	if !poll(10*time.Second, func() bool { return hooks.requests.Load() > 0 }) {
		t.Fatal("the webhook never arrived")
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t, 30*time.Second); err != nil {
		t.Fatalf("after SIGTERM: %v", err)
	}

	spans := otlp.all()
	t.Logf("%d spans received", len(spans))
	byID := map[string]receivedSpan{}
	for _, s := range spans {
		byID[s.id] = s
	}
	find := func(name string, where func(receivedSpan) bool) []receivedSpan {
		var out []receivedSpan
		for _, s := range spans {
			if s.name == name && (where == nil || where(s)) {
				out = append(out, s)
			}
		}
		return out
	}
	// under reports whether s descends from ancestor by parent links.
	under := func(s, ancestor receivedSpan) bool {
		for s.parent != "" {
			parent, ok := byID[s.parent]
			if !ok {
				return false
			}
			if parent.id == ancestor.id {
				return true
			}
			s = parent
		}
		return false
	}
	process := find("POST /api/v1/payments/process", nil)
	if len(process) != 1 {
		t.Fatalf("%d spans named POST /api/v1/payments/process; spans: %v", len(process), names(spans))
	}
	pr := process[0]
	if pr.parent != "" || pr.attrs["http.response.status_code"] == "" {
		t.Errorf("the process request's span %+v: want a root span with its status", pr)
	}
	charges := find("gateway.charge", func(s receivedSpan) bool { return under(s, pr) })
	if len(charges) != 1 || !strings.Contains(charges[0].attrs["gateway.outcome"], "approved") {
		t.Errorf("gateway.charge spans under the process request: %+v", charges)
	}
	if txs := find("store.transaction", func(s receivedSpan) bool { return s.parent == pr.id }); len(txs) < 2 {
		t.Errorf("%d store.transaction spans under the process request; want the attempt's and the settlement's", len(txs))
	}
	// Every span of the payment's trace hangs from the request's span.
	for _, s := range spans {
		if s.trace == pr.trace && s.id != pr.id && !under(s, pr) {
			t.Errorf("span %s of the payment's trace is not linked to the request's", s.name)
		}
	}
	codeReq := find("POST /api/v1/checkout/verification/request", nil)
	if len(codeReq) == 0 || len(find("otp.send", func(s receivedSpan) bool { return s.parent == codeReq[0].id })) != 1 {
		t.Errorf("no otp.send span under the code request; spans: %v", names(spans))
	}
	if len(find("webhook.delivery", nil)) == 0 {
		t.Errorf("no webhook.delivery span; spans: %v", names(spans))
	}
	// The session's request: its X-Request-Id is its trace id, and so are
	// its log lines'.
	sess := find("POST /api/v1/public/sessions", func(s receivedSpan) bool { return s.trace == requestID })
	if len(sess) != 1 {
		t.Errorf("X-Request-Id %q is not the trace id of the session's span", requestID)
	}
	logged := false
	sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
	for sc.Scan() {
		var line struct {
			Msg, Path string
			TraceID   string `json:"trace_id"`
			RequestID string `json:"request_id"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "request" && line.Path == "/api/v1/public/sessions" {
			logged = line.TraceID == requestID && line.RequestID == requestID
		}
	}
	if !logged {
		t.Errorf("the session request's log line does not carry trace id %s", requestID)
	}
}

func names(spans []receivedSpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.name)
	}
	return out
}
