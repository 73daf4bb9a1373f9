package moyasar_test

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway/moyasar"
	"github.com/sakkhq/sakk/internal/gateway/moyasar/moyasartest"
)

// standIn is the Moyasar stand-in (package moyasartest) as these tests
// use it: with the account's credentials at hand and a connector for it.
type standIn struct {
	*moyasartest.Server
	secretKey, webhookSecret string
}

// The stand-in's test cards.
const (
	cardApprove      = moyasartest.CardApprove
	cardInsufficient = moyasartest.CardInsufficient
	cardDecline      = moyasartest.CardDecline
	cardExpired      = moyasartest.CardExpired
	card3DS          = moyasartest.Card3DS
	cardProcessing   = moyasartest.CardProcessing
)

func newStandIn(t *testing.T) *standIn {
	t.Helper()
	s := moyasartest.Start(t)
	return &standIn{Server: s, secretKey: s.SecretKey, webhookSecret: s.WebhookSecret}
}

// connector returns a connector for the stand-in's account with short
// retry waits.
func (s *standIn) connector(t *testing.T) *moyasar.Connector {
	t.Helper()
	c, err := moyasar.New(moyasar.Config{
		SecretKey:      s.SecretKey,
		PublishableKey: s.PublishableKey,
		WebhookSecret:  s.WebhookSecret,
		BaseURL:        s.URL,
		MaxRetries:     3,
	})
	if err != nil {
		t.Fatal(err)
	}
	moyasar.SetBackoff(c, 5*time.Millisecond)
	return c
}

func (s *standIn) charges() int     { return s.Charges() }
func (s *standIn) refunds() int     { return s.Refunds() }
func (s *standIn) allRequests() int { return s.RequestCount() }
func (s *standIn) requests(method, path string) []moyasartest.Request {
	return s.Requests(method, path)
}
func (s *standIn) token(t *testing.T, card string) string { return s.Token(t, card) }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// noRedirects is a browser that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
