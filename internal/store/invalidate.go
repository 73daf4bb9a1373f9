package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// Invalidations reach the caches of every instance within moments of a
// write that makes an entry wrong (a revoked key, changed settings), where
// the caches' own lifetimes would take seconds. On PostgreSQL they travel
// by NOTIFY on one channel, which every instance that registered a handler
// LISTENs to on a connection of its own; on SQLite there is one instance,
// whose writers forget their own entries, and nothing travels.

// invalidateChannel is the PostgreSQL channel of invalidations. A
// notification's payload is "topic key".
const invalidateChannel = "sakk_invalidate"

// listenRetry is how long the listener waits before reconnecting.
const listenRetry = time.Second

type invalidator struct {
	mu       sync.Mutex
	handlers map[string][]func(key string)
	started  bool
	stop     context.CancelFunc
	done     chan struct{}
}

// OnInvalidate registers f to run on this instance whenever any instance
// (this one included) invalidates a key of topic. f gets "" when every key
// of the topic may have changed: the listener lost its connection and
// notifications may have been missed. f must be quick and must not call
// the store.
func (s *Store) OnInvalidate(topic string, f func(key string)) {
	inv := &s.inv
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.handlers == nil {
		inv.handlers = map[string][]func(string){}
	}
	inv.handlers[topic] = append(inv.handlers[topic], f)
	if s.engine == Postgres && !inv.started {
		inv.started = true
		ctx, stop := context.WithCancel(context.Background())
		inv.stop, inv.done = stop, make(chan struct{})
		go s.listen(ctx)
	}
}

// Invalidate tells every instance that key of topic changed, after the
// write that changed it committed. Topic has no space. On SQLite it does
// nothing (the caller forgets its own entry). A failure is logged: the
// other instances' entries then live out their lifetime.
func (s *Store) Invalidate(ctx context.Context, topic, key string) {
	if s.engine != Postgres {
		return
	}
	if _, err := s.write.ExecContext(ctx, `SELECT pg_notify($1, $2)`, invalidateChannel, topic+" "+key); err != nil {
		s.log.WarnContext(ctx, "store: invalidate", "topic", topic, "err", err)
	}
}

// dispatch runs the handlers of one notification.
func (inv *invalidator) dispatch(payload string) {
	topic, key, _ := strings.Cut(payload, " ")
	inv.mu.Lock()
	hs := inv.handlers[topic]
	inv.mu.Unlock()
	for _, f := range hs {
		f(key)
	}
}

// dispatchAll tells every handler that anything may have changed.
func (inv *invalidator) dispatchAll() {
	inv.mu.Lock()
	var hs []func(string)
	for _, l := range inv.handlers {
		hs = append(hs, l...)
	}
	inv.mu.Unlock()
	for _, f := range hs {
		f("")
	}
}

// listen LISTENs on a connection of the pool until ctx ends, reconnecting
// after a failure; after every reconnection, handlers hear that anything
// may have changed while it was away.
func (s *Store) listen(ctx context.Context) {
	defer close(s.inv.done)
	for first := true; ; first = false {
		err := s.listenOnce(ctx, !first)
		if ctx.Err() != nil {
			return
		}
		s.log.WarnContext(ctx, "store: invalidation listener lost its connection; reconnecting", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(listenRetry):
		}
	}
}

func (s *Store) listenOnce(ctx context.Context, reconnected bool) error {
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("not a pgx connection")
		}
		pc := sc.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+invalidateChannel); err != nil {
			return err
		}
		if reconnected {
			s.inv.dispatchAll()
		}
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				// The connection may be mid-notification: never back to the pool.
				pc.Close(context.Background())
				return errors.Join(err, driver.ErrBadConn)
			}
			s.inv.dispatch(n.Payload)
		}
	})
}

// closeListener stops the listener, if it runs, and waits for it.
func (inv *invalidator) closeListener() {
	inv.mu.Lock()
	stop, done := inv.stop, inv.done
	inv.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}
