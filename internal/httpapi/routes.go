// Package httpapi is sakk's HTTP surface: every route is registered in
// routes.go, so this file is the map of what sakk answers.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Deps is what the handlers need.
type Deps struct {
	Logger *slog.Logger
	// Ready reports whether sakk can serve: the store answers and its
	// schema is current.
	Ready func(context.Context) error
}

// New returns the handler of every route, wrapped in the middleware every
// request goes through.
func New(d Deps) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.Handle("GET /readyz", readyz(d.Ready, d.Logger))
	return withRequestID(withAccessLog(d.Logger, withRecover(d.Logger, mux)))
}

// healthz answers while the process runs, whatever the database does, so
// that an orchestrator restarts only a process that is really stuck.
func healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 only when requests can be served, so that a load
// balancer sends none to an instance whose database is unreachable.
func readyz(ready func(context.Context) error, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			log.WarnContext(ctx, "not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}
