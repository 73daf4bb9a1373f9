package gateway_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
)

func TestReadAnswer(t *testing.T) {
	answer := func(body string) *http.Response {
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(body))}
	}
	if b, err := gateway.ReadAnswer("gw", answer("12345"), 5); err != nil || string(b) != "12345" {
		t.Errorf("an answer of exactly the limit: %q, %v", b, err)
	}
	if _, err := gateway.ReadAnswer("gw", answer("123456"), 5); err == nil || !strings.Contains(err.Error(), "longer than 5 bytes") {
		t.Errorf("an answer over the limit: %v", err)
	}
	cut := &http.Response{StatusCode: 502, Body: io.NopCloser(io.MultiReader(strings.NewReader("{"), errReader{}))}
	if _, err := gateway.ReadAnswer("gw", cut, 100); err == nil || !strings.Contains(err.Error(), "HTTP 502") {
		t.Errorf("an answer cut short: %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestBackoffHonoursItsBoundsAndTheContext(t *testing.T) {
	// Attempt 10 of a 1 ms base would be 512 ms uncapped; the cap keeps it
	// at most 4 ms (a wait past the test's deadline would fail it).
	if err := gateway.Backoff(t.Context(), time.Millisecond, 4*time.Millisecond, 10); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := gateway.Backoff(ctx, time.Hour, time.Hour, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("with an ended context: %v", err)
	}
}

func TestPrintable(t *testing.T) {
	for s, want := range map[string]bool{"sk_live_abc": true, "": true, "a b": false, "a\n": false, "é": false, "~!": true} {
		if got := gateway.Printable(s); got != want {
			t.Errorf("Printable(%q) = %v", s, got)
		}
	}
}

func TestNewHTTP(t *testing.T) {
	h, err := gateway.NewHTTP("gw", "", "https://api.gw.example/", nil, 0, nil)
	if err != nil || h.Base != "https://api.gw.example" || h.Client == nil || h.Client.Timeout != gateway.DefaultTimeout ||
		h.Retries != gateway.DefaultRetries || h.Now == nil {
		t.Errorf("defaults: %+v, %v", h, err)
	}
	if h, _ := gateway.NewHTTP("gw", "http://127.0.0.1:9/v1", "https://x", nil, -1, nil); h.Retries != 0 || h.Base != "http://127.0.0.1:9/v1" {
		t.Errorf("no retries, a stand-in's base: %+v", h)
	}
	for _, bad := range []string{"ftp://gw.example", "gw.example", "https://gw.example/?q=1", "https://gw.example/#f", "https://"} {
		if _, err := gateway.NewHTTP("gw", bad, "https://x", nil, 0, nil); err == nil || !strings.Contains(err.Error(), "gw: BaseURL") {
			t.Errorf("NewHTTP(%q) = %v, want an error naming the gateway", bad, err)
		}
	}
}
