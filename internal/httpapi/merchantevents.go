package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/webhook"
)

// streamsPerApp bounds the event streams one application holds open on
// one instance: each polls the store, and a developer needs one or two.
const streamsPerApp = 4

// streamWriteTimeout bounds each write of a stream, in place of the
// server's WriteTimeout, which a long-lived answer must outlive.
const streamWriteTimeout = 30 * time.Second

// streamSlots counts the open streams of each application.
type streamSlots struct {
	mu   sync.Mutex
	open map[string]int
}

func (s *streamSlots) take(app string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[app] >= streamsPerApp {
		return false
	}
	if s.open == nil {
		s.open = map[string]int{}
	}
	s.open[app]++
	return true
}

func (s *streamSlots) release(app string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[app]--; s.open[app] <= 0 {
		delete(s.open, app)
	}
}

// streamEvent is the data of one server-sent event: the event as a
// webhook endpoint of the stream's format receives it. The body travels
// in base64 so that the listener re-posts exactly the bytes it signs.
type streamEvent struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Body string `json:"body"`
}

// eventStream is GET /api/merchant/v1/events/stream?format=payment|checkout
// (&app=ID, checked against the key's): server-sent events, one per
// event of the key's application environment committed from the
// connection on, until the client leaves. sakk listen reads it.
func (a *api) eventStream(w http.ResponseWriter, r *http.Request) {
	key, ok := a.merchantKey(w, r)
	if !ok {
		return
	}
	if err := a.webhooksAvailable(); err != nil {
		a.paymentError(w, r, err)
		return
	}
	q := r.URL.Query()
	if app := q.Get("app"); app != "" && app != key.ApplicationID {
		a.paymentError(w, r, pay.Errorf(pay.NotFound, "not_found", "no such application"))
		return
	}
	format := pay.WebhookFormat(q.Get("format"))
	if format == "" {
		format = pay.WebhookPayment
	}
	if !format.Valid() {
		a.paymentError(w, r, pay.Errorf(pay.Invalid, "invalid_format", "format must be payment or checkout"))
		return
	}
	if !a.streams.take(key.ApplicationID) {
		a.paymentError(w, r, pay.Errorf(pay.RateLimited, "too_many_streams",
			"this application already has %d event streams open here; close one", streamsPerApp))
		return
	}
	defer a.streams.release(key.ApplicationID)

	rc := http.NewResponseController(w)
	// The request has no body to wait for: without this, the server's read
	// timeout would end the stream.
	rc.SetReadDeadline(time.Time{})
	write := func(frame string) error {
		rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := fmt.Fprint(w, frame); err != nil {
			return err
		}
		return rc.Flush()
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer
	w.WriteHeader(http.StatusOK)
	if err := write("retry: 1000\n: connected\n\n"); err != nil {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	if a.stopping != nil {
		go func() {
			select {
			case <-a.stopping:
				cancel() // the server is shutting down: end the stream, the client reconnects elsewhere
			case <-ctx.Done():
			}
		}()
	}
	err := a.webhooks.Stream(ctx, key.ApplicationID, key.Environment, format, a.now().UTC(),
		func(m webhook.Rendered) error {
			data, err := json.Marshal(streamEvent{ID: m.ID, Type: m.Type, Body: base64.StdEncoding.EncodeToString(m.Body)})
			if err != nil {
				return err
			}
			return write("id: " + m.ID + "\nevent: " + m.Type + "\ndata: " + string(data) + "\n\n")
		},
		func() error { return write(": keepalive\n\n") })
	if err != nil && ctx.Err() == nil {
		a.log.WarnContext(r.Context(), "event stream ended", "err", err)
	}
}
