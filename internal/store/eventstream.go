package store

import (
	"context"
	"time"

	"github.com/sakkhq/sakk/internal/pay"
)

// EventsSince lists up to limit events of an application environment
// created at or after since, oldest first: what an event stream (sakk
// listen) sends. The index events_application serves it.
func (s *Store) EventsSince(ctx context.Context, appID string, env pay.Environment, since time.Time, limit int) ([]pay.Event, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+eventColumns+`
		 FROM events WHERE application_id = $1 AND environment = $2 AND created_at >= $3
		 ORDER BY created_at, id LIMIT $4`, appID, string(env), toDB(since), limit)
	return collect(rows, err, "events since", scanEvent)
}
