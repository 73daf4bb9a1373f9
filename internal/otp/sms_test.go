package otp_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/otp"
)

// smsPeer is an SMS provider endpoint on loopback that records requests
// and answers with status.
type smsPeer struct {
	*httptest.Server
	mu       sync.Mutex
	status   int
	requests []smsRequest
}

type smsRequest struct {
	method, contentType, auth string
	body                      map[string]any
}

func startSMSPeer(t *testing.T, status int) *smsPeer {
	t.Helper()
	p := &smsPeer{status: status}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("request body %q: %v", b, err)
		}
		p.mu.Lock()
		p.requests = append(p.requests, smsRequest{r.Method, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), body})
		status := p.status
		p.mu.Unlock()
		w.WriteHeader(status)
		// A provider that echoes what it was sent: errors must not repeat it.
		w.Write(b)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *smsPeer) got() []smsRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]smsRequest(nil), p.requests...)
}

func TestHTTPSMS(t *testing.T) {
	p := startSMSPeer(t, http.StatusAccepted)
	s, err := otp.NewHTTPSMSSender(otp.HTTPSMSConfig{URL: p.URL + "/sms", Token: "tok_123", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	m := otp.Message{To: "+212612345678", Text: "123456 est votre code Acme.", Locale: "fr"}
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	reqs := p.got()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPost || r.contentType != "application/json" || r.auth != "Bearer tok_123" {
		t.Errorf("%s, Content-Type %q, Authorization %q", r.method, r.contentType, r.auth)
	}
	if len(r.body) != 2 || r.body["to"] != m.To || r.body["text"] != m.Text {
		t.Errorf("body %v, want exactly to and text", r.body)
	}

	// Without a token, no Authorization header.
	s, _ = otp.NewHTTPSMSSender(otp.HTTPSMSConfig{URL: p.URL})
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if auth := p.got()[1].auth; auth != "" {
		t.Errorf("Authorization %q sent without a token", auth)
	}
}

func TestHTTPSMSFailures(t *testing.T) {
	m := otp.Message{To: "+212612345678", Text: "918273 is your code"}
	for _, status := range []int{http.StatusInternalServerError, http.StatusUnauthorized, http.StatusFound} {
		p := startSMSPeer(t, status)
		s, err := otp.NewHTTPSMSSender(otp.HTTPSMSConfig{URL: p.URL, Token: "t"})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Send(t.Context(), m)
		if err == nil || !strings.Contains(err.Error(), http.StatusText(status)) {
			t.Errorf("status %d: error %v, want one naming the status", status, err)
		} else if strings.Contains(err.Error(), "918273") {
			t.Errorf("status %d: the error %q holds the code", status, err)
		}
	}

	// A provider that does not answer in time.
	stop := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-time.After(10 * time.Second):
		}
	}))
	defer slow.Close()
	defer close(stop) // before Close, which waits for the handler
	s, _ := otp.NewHTTPSMSSender(otp.HTTPSMSConfig{URL: slow.URL, Timeout: 200 * time.Millisecond})
	start := time.Now()
	if err := s.Send(t.Context(), m); err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("slow provider: %v after %v", err, time.Since(start))
	}

	for _, u := range []string{"", "ftp://x", "/relative", "http://"} {
		if _, err := otp.NewHTTPSMSSender(otp.HTTPSMSConfig{URL: u}); err == nil {
			t.Errorf("URL %q accepted", u)
		}
	}
}
