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
		`SELECT id, application_id, environment, type, subject_id, seq, payload, created_at
		 FROM events WHERE application_id = $1 AND environment = $2 AND created_at >= $3
		 ORDER BY created_at, id LIMIT $4`, appID, string(env), toDB(since), limit)
	if err != nil {
		return nil, wrap("events since", err)
	}
	defer rows.Close()
	var es []pay.Event
	for rows.Next() {
		var e pay.Event
		var env, payload string
		var created int64
		if err := rows.Scan(&e.ID, &e.ApplicationID, &env, &e.Type, &e.SubjectID, &e.Seq, &payload, &created); err != nil {
			return nil, wrap("events since", err)
		}
		e.Environment, e.Payload, e.CreatedAt = pay.Environment(env), []byte(payload), fromDB(created)
		es = append(es, e)
	}
	return es, wrap("events since", rows.Err())
}
