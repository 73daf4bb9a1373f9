package ratelimit

import (
	"context"
	"time"
)

// Refusals is told of every refused request (metrics.Metrics).
type Refusals interface{ RateLimited(key string) }

// Counted returns l reporting each refusal to r.
func Counted(l Limiter, r Refusals) Limiter { return counted{l, r} }

type counted struct {
	Limiter
	r Refusals
}

func (c counted) Allow(ctx context.Context, key string, limit int, window time.Duration) (Decision, error) {
	d, err := c.Limiter.Allow(ctx, key, limit, window)
	if err == nil && !d.Allowed {
		c.r.RateLimited(key)
	}
	return d, err
}
