package main

import (
	"context"
	"time"

	"github.com/sakkhq/sakk/internal/partner"
)

// partnerJobs expires pending partner transactions whose time ran out,
// every few seconds, on every instance (a transaction another instance
// ended first is skipped).
func partnerJobs(ctx context.Context, e *env, p *partner.Service) {
	every(ctx, 15*time.Second, func() {
		if n, err := p.ExpireTransactions(ctx, 500); err != nil {
			e.log.WarnContext(ctx, "expire partner transactions", "err", err)
		} else if n > 0 {
			e.log.InfoContext(ctx, "expired partner transactions", "count", n)
		}
	})
}
