package checkout

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/sakkhq/sakk/internal/otp"
	"github.com/sakkhq/sakk/internal/pay"
	"github.com/sakkhq/sakk/internal/store"
)

// What other use cases sharing this Service's wiring need from it (the
// partner surface, internal/partner).

// Codes is the payment flow's one-time code service, or nil when
// verification by code is unavailable.
func (s *Service) Codes() *otp.Service { return s.flow.OTP }

// Committed tells the webhook dispatcher that a transaction wrote events
// to the outbox, so that it delivers them now.
func (s *Service) Committed() { s.committed() }

// Names are an application's display names as its transactions carry
// them: its merchant's and its own.
func (s *Service) Names(ctx context.Context, appID string) (merchantName, storeName string, err error) {
	a, err := s.app(ctx, appID)
	if err != nil {
		return "", "", fmt.Errorf("checkout: names: %w", err)
	}
	return a.MerchantName, a.Name, nil
}

// AdoptRedirect makes raw the return (and, when it has none, cancel) URL
// of a session that has no return URL yet: the redirect_url a shop
// appends to checkout_url in the hosted redirect flow. raw must pass
// CheckRedirect, or be on the host of one of the application
// environment's enabled Checkout-format webhook endpoints (the store URL
// the AlyaPay plugins register through the partner configuration, with
// the secret key): anything else would make the page an open redirect.
// It answers whether the session took raw.
func (s *Service) AdoptRedirect(ctx context.Context, appID string, env pay.Environment, sessionID, raw string) (bool, error) {
	err := s.CheckRedirect(ctx, appID, raw)
	if pay.KindOf(err) == pay.Invalid && isWebURL(raw) {
		u, _ := url.Parse(raw)
		ws, werr := s.store.WebhookEndpoints(ctx, appID, env)
		if werr != nil {
			return false, fmt.Errorf("checkout: adopt redirect: %w", werr)
		}
		for _, w := range ws {
			h, herr := url.Parse(w.URL)
			if herr == nil && w.Enabled && w.Format == pay.WebhookCheckout && strings.EqualFold(h.Host, u.Host) {
				err = nil
				break
			}
		}
	}
	if err != nil {
		return false, err
	}
	var took bool
	err = s.store.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		took, err = tx.AdoptSessionReturn(ctx, appID, env, sessionID, raw)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("checkout: adopt redirect: %w", err)
	}
	return took, nil
}
