package gateway

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Helpers the connectors' HTTP clients share.

// Backoff sleeps before retry number attempt (1, 2, …) of a call: base
// doubled each time, at most max, with jitter (a random half of it) so that
// retries that collided once do not collide again. It returns early with
// ctx's error when ctx ends.
func Backoff(ctx context.Context, base, max time.Duration, attempt int) error {
	d := base << (attempt - 1)
	if d > max || d <= 0 {
		d = max
	}
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ReadAnswer reads a gateway's whole answer, refusing one longer than
// limit bytes: an answer cut short or too long is an error (for the
// connector, an answer it cannot read: an unknown outcome). gw names the
// gateway in the error.
func ReadAnswer(gw string, resp *http.Response, limit int) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading the answer (HTTP %d): %w", gw, resp.StatusCode, err)
	}
	if len(body) > limit {
		return nil, fmt.Errorf("%s: answer (HTTP %d) longer than %d bytes", gw, resp.StatusCode, limit)
	}
	return body, nil
}

// Printable reports whether s is visible ASCII: what may go into a header
// or a URL path.
func Printable(s string) bool {
	for i := range len(s) {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// Defaults of the connectors' HTTP clients.
const (
	DefaultTimeout = 30 * time.Second       // per HTTP attempt, when a connector is given no client
	DefaultRetries = 2                      // repeats of a call that got no usable answer
	DefaultBackoff = 500 * time.Millisecond // the first repeat's wait; doubles each time
	MaxBackoff     = 5 * time.Second
)

// HTTP is how a connector reaches its gateway, resolved from its Config by
// NewHTTP.
type HTTP struct {
	Base    string // the API's base URL, without a trailing slash
	Client  *http.Client
	Retries int // how many times a call that got no usable answer is sent again
	Now     func() time.Time
}

// NewHTTP resolves a connector's HTTP settings: baseURL ("" is
// defaultBase) must be an absolute http(s) URL without query or fragment;
// a nil client is one with DefaultTimeout per attempt; maxRetries 0 is
// DefaultRetries and a negative one none; a nil now is time.Now. gw names
// the gateway in the error.
func NewHTTP(gw, baseURL, defaultBase string, client *http.Client, maxRetries int, now func() time.Time) (HTTP, error) {
	if baseURL == "" {
		baseURL = defaultBase
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return HTTP{}, fmt.Errorf("%s: BaseURL must be an absolute http(s) URL without query or fragment", gw)
	}
	h := HTTP{Base: strings.TrimRight(baseURL, "/"), Client: client, Retries: maxRetries, Now: now}
	if h.Client == nil {
		h.Client = &http.Client{Timeout: DefaultTimeout}
	}
	switch {
	case h.Retries == 0:
		h.Retries = DefaultRetries
	case h.Retries < 0:
		h.Retries = 0
	}
	if h.Now == nil {
		h.Now = time.Now
	}
	return h, nil
}
