package checkout

import (
	"context"
	"fmt"

	"github.com/sakkhq/sakk/internal/otp"
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
