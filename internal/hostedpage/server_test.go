package hostedpage_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
	"github.com/sakkhq/sakk/internal/testserver"
)

// server is the one test server (internal/testserver) with the demo
// shop's application (App) and this package's helpers as its methods.
type server struct{ *testserver.Server }

func newServer(t testing.TB, engine store.Engine) *server {
	t.Helper()
	return newServerWith(t, engine, testserver.Options{})
}

// newServerWith is newServer with o's wiring (gateways' stand-ins, code
// senders, tokenizers).
func newServerWith(t testing.TB, engine store.Engine, o testserver.Options) *server {
	t.Helper()
	o.Demo = true
	return &server{testserver.New(t, engine, o)}
}

// item is one line of a Checkout API session.
type item struct {
	ID       string      `json:"id"`
	Name     string      `json:"name"`
	Price    json.Number `json:"price"`
	Quantity int         `json:"quantity"`
}

// newSession opens a session through the Checkout API (POST
// /api/v1/public/sessions) with the merchant's secret key, and returns
// its session token and id.
func (s *server) newSession(total string, items []item, extra map[string]any) (string, string) {
	s.T.Helper()
	body := map[string]any{"total": total, "currency": "MAD", "items": items}
	for k, v := range extra {
		body[k] = v
	}
	b, err := json.Marshal(body)
	if err != nil {
		s.T.Fatal(err)
	}
	r := s.Do("POST", "/api/v1/public/sessions", map[string]string{"X-API-Key": s.App.Keys.Secret}, string(b), true)
	if r.Status != http.StatusOK {
		s.T.Fatalf("create session: %d %s", r.Status, r.Body)
	}
	m := r.JSON(s.T)
	return m["session_token"].(string), m["session_id"].(string)
}

// defaultSession is a two-line session of 1,899.00 MAD.
func (s *server) defaultSession(extra map[string]any) (string, string) {
	s.T.Helper()
	return s.newSession("1899.00", []item{
		{ID: "HP-1", Name: "Wireless Headphones", Price: "1799", Quantity: 1},
		{ID: "MUG-2", Name: "Ceramic Mug", Price: "50.00", Quantity: 2},
	}, extra)
}

// session reads a session's row.
func (s *server) session(id string) pay.Session {
	s.T.Helper()
	sess, err := s.Store.Session(s.T.Context(), s.App.Application.ID, pay.Sandbox, id)
	if err != nil {
		s.T.Fatal(err)
	}
	return sess
}

// setStatus moves a session along its transition table, as the expiry
// job or the merchant would.
func (s *server) setStatus(id string, from, to pay.SessionStatus) {
	s.T.Helper()
	err := s.Store.WithTx(s.T.Context(), func(tx *store.Tx) error {
		return tx.SetSessionStatus(s.T.Context(), id, from, to, s.Clock.Now())
	})
	if err != nil {
		s.T.Fatal(err)
	}
}

// pageData extracts the JSON the page's script reads.
func pageData(t testing.TB, html []byte) map[string]any {
	t.Helper()
	const open = `<script type="application/json" id="sakk-data">`
	i := bytes.Index(html, []byte(open))
	if i < 0 {
		t.Fatalf("no page data in:\n%s", html)
	}
	rest := html[i+len(open):]
	j := bytes.Index(rest, []byte("</script>"))
	var m map[string]any
	if err := json.Unmarshal(rest[:j], &m); err != nil {
		t.Fatalf("page data: %v: %s", err, rest[:j])
	}
	return m
}
