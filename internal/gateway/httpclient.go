package gateway

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
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
