package myfatoorah_test

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/sakkhq/sakk/internal/gateway"
	"github.com/sakkhq/sakk/internal/gateway/gatewaytest"
	"github.com/sakkhq/sakk/internal/gateway/myfatoorah"
	"github.com/sakkhq/sakk/internal/gateway/myfatoorah/myfatoorahtest"
	"github.com/sakkhq/sakk/internal/money"
)

// standIn is the MyFatoorah stand-in (package myfatoorahtest) as these
// tests use it, with a connector for its account.
type standIn struct {
	*myfatoorahtest.Server
}

func newStandIn(t *testing.T, cur money.Currency) *standIn {
	t.Helper()
	return &standIn{myfatoorahtest.Start(t, cur)}
}

// connector returns a connector for the stand-in's account.
func (s *standIn) connector(t *testing.T, secret string, client *http.Client) *myfatoorah.Connector {
	t.Helper()
	c, err := myfatoorah.New(myfatoorah.Config{Token: s.Token, Country: s.Country, WebhookSecret: secret, BaseURL: s.URL, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	myfatoorah.SetBackoff(c, time.Millisecond)
	return c
}

func (s *standIn) fault(path, kind string)                         { s.Fault(path, kind) }
func (s *standIn) charges() int                                    { return s.Charges() }
func (s *standIn) requests(path string) []myfatoorahtest.Request   { return s.Requests(path) }
func (s *standIn) tokenFor(b gatewaytest.Behaviour) (string, bool) { return s.TokenFor(b) }
func (s *standIn) complete(t *testing.T, res gateway.ChargeResult, pass bool) {
	s.Complete(t, res, pass)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
