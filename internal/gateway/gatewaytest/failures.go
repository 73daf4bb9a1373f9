package gatewaytest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/pay"
)

// RunFailures puts a broken gateway on loopback where the connector's
// gateway should be, and checks the rules checkout relies on when the
// gateway fails: an answer that never came or cannot be read is an
// unknown outcome (an Unavailable error, never a decline or an approval),
// retried with the same idempotency key as often as the connector says;
// a refusal is read as one and not retried; a slow gateway is unknown;
// a payment the gateway does not know is NotFound.
//
// A connector's failure_test.go describes its gateway's answers in a
// FailureHarness and calls RunFailures; what only one gateway does (a
// PayPal capture, Stripe's card errors) stays in its own tests.
func RunFailures(t *testing.T, h FailureHarness) {
	t.Helper()
	if h.New == nil || h.Backoff == nil || h.Charge == nil || h.Key == nil {
		t.Fatal("gatewaytest: FailureHarness needs New, Backoff, Charge and Key")
	}
	if h.Want == nil {
		h.Want = func(req gateway.ChargeRequest) string { return req.IdempotencyKey }
	}
	t.Run("no answer is unknown", func(t *testing.T) {
		const retries = 2
		for _, tc := range h.NoAnswer {
			t.Run(tc.Name, func(t *testing.T) {
				b := h.Broken(t, tc.Answer)
				c := h.Connector(t, b.URL, retries, 5*time.Second)
				req := h.Charge()
				res, err := c.Charge(t.Context(), req)
				if err == nil || res.Outcome == gateway.Approved || res.Outcome == gateway.Declined {
					t.Fatalf("Charge = (%+v, %v), want an error and no verdict", res, err)
				}
				if o := gateway.ChargeOutcome(res, err); o != gateway.Unknown {
					t.Errorf("Charge reads as %q (%v), want unknown", o, err)
				}
				if k := pay.KindOf(err); k != pay.Unavailable {
					t.Errorf("error kind %v (%v), want unavailable", k, err)
				}
				want := 1
				if tc.Retried {
					want += retries
				}
				calls := b.Calls()
				if len(calls) != want {
					t.Errorf("%d attempts, want %d", len(calls), want)
				}
				h.wantCharges(t, req, calls)
				// Fetch of the same must not read as NotFound either.
				if _, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: h.Reference}); err == nil || pay.KindOf(err) == pay.NotFound {
					t.Errorf("Fetch against the same server: %v, want a non-NotFound error", err)
				}
			})
		}
	})
	if h.Approved != nil {
		t.Run("a retry gets the answer", func(t *testing.T) {
			b := h.Broken(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n == 0 {
					Status(503, `<html>unavailable</html>`)(n, w, r)
					return
				}
				h.Approved(n, w, r)
			})
			c := h.Connector(t, b.URL, 2, 5*time.Second)
			req := h.Charge()
			res, err := c.Charge(t.Context(), req)
			if err != nil || res.Outcome != gateway.Approved || res.Captured != req.Amount {
				t.Fatalf("Charge = (%+v, %v), want approved after one retry", res, err)
			}
			calls := b.Calls()
			if len(calls) != 2 {
				t.Errorf("attempts %+v, want two", calls)
			}
			h.wantCharges(t, req, calls)
		})
	}
	t.Run("slow gateway is unknown", func(t *testing.T) {
		release := make(chan struct{})
		b := h.Broken(t, func(n int, w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		})
		defer close(release) // before the server closes (cleanups run after)
		c := h.Connector(t, b.URL, 1, 5*time.Second)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		res, err := c.Charge(ctx, h.Charge())
		if o := gateway.ChargeOutcome(res, err); o != gateway.Unknown || pay.KindOf(err) != pay.Unavailable {
			t.Errorf("Charge past the deadline = (%+v, %v) reads %q, want unknown", res, err, o)
		}
		short := h.Connector(t, b.URL, -1, 100*time.Millisecond)
		res, err = short.Charge(t.Context(), h.Charge())
		if o := gateway.ChargeOutcome(res, err); o != gateway.Unknown || pay.KindOf(err) != pay.Unavailable {
			t.Errorf("Charge past the client timeout = (%+v, %v) reads %q, want unknown", res, err, o)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		for _, tc := range h.Refusals {
			t.Run(tc.Name, func(t *testing.T) {
				b := h.Broken(t, tc.Answer)
				c := h.Connector(t, b.URL, 2, 5*time.Second)
				req := h.Charge()
				res, err := c.Charge(t.Context(), req)
				if pay.KindOf(err) != pay.Invalid || pay.CodeOf(err) != tc.Code {
					t.Errorf("Charge = (%+v, %v), want invalid %s", res, err, tc.Code)
				}
				if o := gateway.ChargeOutcome(res, err); o != tc.Outcome {
					t.Errorf("reads as %q, want %q", o, tc.Outcome)
				}
				calls := b.Calls()
				if tc.Check != nil {
					tc.Check(t, req, calls)
				} else if len(calls) != 1 {
					t.Errorf("%d attempts, want 1: a refusal is not retried", len(calls))
				}
			})
		}
	})
	if h.FetchNotFound != nil {
		t.Run("unknown payment is not found", func(t *testing.T) {
			b := h.Broken(t, h.FetchNotFound)
			c := h.Connector(t, b.URL, 2, 5*time.Second)
			if res, err := c.Fetch(t.Context(), gateway.FetchRequest{Reference: h.Reference}); pay.KindOf(err) != pay.NotFound {
				t.Errorf("Fetch = (%+v, %v), want NotFound", res, err)
			}
			if n := len(b.Calls()); n != 1 {
				t.Errorf("%d attempts, want 1", n)
			}
		})
	}
}

// Connector is h.New's connector against base, or t fails.
func (h FailureHarness) Connector(t *testing.T, base string, retries int, timeout time.Duration) gateway.Connector {
	t.Helper()
	c, err := h.New(base, retries, &http.Client{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	h.Backoff(c, time.Millisecond)
	return c
}

// FailureHarness is what RunFailures needs from a connector's test.
type FailureHarness struct {
	// New builds the connector against the broken gateway at base, making
	// retries more attempts after the first (-1: none) through client.
	// Required.
	New func(base string, retries int, client *http.Client) (gateway.Connector, error)

	// Backoff sets the connector's wait between attempts, which the suite
	// shortens to a millisecond. Required.
	Backoff func(c gateway.Connector, d time.Duration)

	// Charge is a request the connector can charge, with a fresh
	// idempotency key each call. Required.
	Charge func() gateway.ChargeRequest

	// ChargeCall is the method and path that charges ("POST
	// /v1/payments"); "" leaves them unchecked.
	ChargeCall string

	// Key reads the charge's idempotency key as a request to the gateway
	// carries it (a header, or a field of the body). Required.
	Key func(r *http.Request, body []byte) string

	// Want is what Key must read on every attempt at req; nil:
	// req.IdempotencyKey.
	Want func(req gateway.ChargeRequest) string

	// Aside answers the requests that are not attempts (an OAuth token
	// endpoint), reporting true; nil: none.
	Aside func(w http.ResponseWriter, r *http.Request) bool

	// Reference is a payment reference, in the gateway's format, for Fetch.
	Reference string

	// NoAnswer are answers that are no verdict.
	NoAnswer []NoAnswer

	// Approved is the gateway's answer of a charge captured in full, which
	// the suite sends after a 503; nil skips that check.
	Approved Answer

	// Refusals are the gateway's answers that refuse a charge.
	Refusals []Refusal

	// FetchNotFound is the gateway's answer to a read of a payment it does
	// not know; nil skips that check.
	FetchNotFound Answer
}

// Answer is how the broken gateway answers its n-th attempt, n from 0.
type Answer func(n int, w http.ResponseWriter, r *http.Request)

// NoAnswer is an answer that decides nothing.
type NoAnswer struct {
	Name    string
	Answer  Answer
	Retried bool // the connector tries again (a 5xx, a 429, a cut connection) rather than once
}

// Refusal is an answer that refuses the charge: an Invalid error of Code,
// read by gateway.ChargeOutcome as Outcome.
type Refusal struct {
	Name    string
	Answer  Answer
	Code    string
	Outcome gateway.Outcome
	// Check checks the attempts made, where a refusal takes more than
	// one (a lookup of the key before giving up); nil: exactly one.
	Check func(t *testing.T, req gateway.ChargeRequest, calls []Call)
}

// Call is one attempt the broken gateway received.
type Call struct {
	Method, Path string
	Key          string // as FailureHarness.Key read it
}

// Status answers with code and body (JSON, unless a header pair in
// header says otherwise).
func Status(code int, body string, header ...string) Answer {
	return func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		w.Write([]byte(body))
	}
}

// CutShort answers code with a Content-Length the body never reaches.
func CutShort(code int, partial string) Answer {
	return func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(code)
		w.Write([]byte(partial))
	}
}

// HangUp drops the connection without an answer.
func HangUp(_ int, w http.ResponseWriter, _ *http.Request) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
	}
}

// Broken is a broken gateway on loopback, at URL, answering each attempt
// with an Answer; a connector's own failure tests use it too.
type Broken struct {
	URL   string
	mu    sync.Mutex
	calls []Call
}

// Broken starts a broken gateway answering with answer; it stops when t
// ends.
func (h FailureHarness) Broken(t *testing.T, answer Answer) *Broken {
	t.Helper()
	b := &Broken{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.Aside != nil && h.Aside(w, r) {
			return
		}
		body, _ := io.ReadAll(r.Body)
		answer(b.record(Call{Method: r.Method, Path: r.URL.Path, Key: h.Key(r, body)}), w, r)
	}))
	t.Cleanup(srv.Close)
	b.URL = srv.URL
	return b
}

// record keeps c and returns its index, the attempt's n.
func (b *Broken) record(c Call) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, c)
	return len(b.calls) - 1
}

// Calls are the attempts received so far.
func (b *Broken) Calls() []Call {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.calls)
}

// wantCharges checks that every attempt charged req, with its key.
func (h FailureHarness) wantCharges(t *testing.T, req gateway.ChargeRequest, calls []Call) {
	t.Helper()
	for _, c := range calls {
		if c.Key != h.Want(req) {
			t.Errorf("an attempt carried the key %q, want %q on every one", c.Key, h.Want(req))
		}
		if h.ChargeCall != "" && c.Method+" "+c.Path != h.ChargeCall {
			t.Errorf("an attempt was %s %s, want %s", c.Method, c.Path, h.ChargeCall)
		}
	}
}

// NewRefuses checks that newConnector refuses every configuration of bad
// (a missing or malformed credential, a base URL that is not http(s)),
// and returns the connector it builds from good, for the caller to check
// what good sets.
func NewRefuses[C any, K gateway.Connector](t *testing.T, newConnector func(C) (K, error), good C, bad ...C) K {
	t.Helper()
	for _, cfg := range bad {
		if _, err := newConnector(cfg); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
	c, err := newConnector(good)
	if err != nil {
		t.Fatalf("New(%+v): %v", good, err)
	}
	return c
}
