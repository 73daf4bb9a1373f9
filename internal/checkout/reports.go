package checkout

import (
	"context"
	"fmt"

	"github.com/sakkhq/sakk/internal/store"
)

// Summary reports on an application environment's payments and sessions
// over q's period (store.Summary says what each figure counts). A bad
// environment, period or interval is the store's Invalid error, whose
// kind and code survive the wrap, for the caller's 400.
func (s *Service) Summary(ctx context.Context, q store.SummaryQuery) (store.Summary, error) {
	sum, err := s.store.Summary(ctx, q)
	if err != nil {
		return sum, fmt.Errorf("checkout: summary: %w", err)
	}
	return sum, nil
}
