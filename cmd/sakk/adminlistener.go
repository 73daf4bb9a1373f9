package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/sakkhq/sakk/internal/config"
	"github.com/sakkhq/sakk/internal/metrics"
	"github.com/sakkhq/sakk/internal/tracing"
)

// The admin listener serves what an operator's tools read — Prometheus
// metrics and Go profiles — on an address of its own (loopback by
// default), so that neither is ever reachable on the public port.

// listenAdmin opens the admin address, or returns nil when it is "off"
// (or empty).
func listenAdmin(addr string) (net.Listener, error) {
	if addr == "off" || addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on the admin address %s: %w", addr, err)
	}
	return ln, nil
}

// adminHandler routes /metrics and /debug/pprof/. The profiles are
// registered here by hand: net/http/pprof's own registration is on
// http.DefaultServeMux, which sakk never serves.
func adminHandler(m *metrics.Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// serveAdmin serves the admin listener until the returned stop is
// called; ln nil serves nothing.
func serveAdmin(ln net.Listener, m *metrics.Metrics, log *slog.Logger) (stop func()) {
	if ln == nil {
		return func() {}
	}
	srv := &http.Server{
		Handler:           adminHandler(m),
		ReadHeaderTimeout: 10 * time.Second,
		// A CPU profile or an execution trace streams for as long as
		// asked (30 s by default): allow a few minutes.
		WriteTimeout: 5 * time.Minute,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("admin listening", "addr", ln.Addr().String())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Error("admin listener", "err", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	}
}

// observe points the store's commits and its backlog (outbox, attempts
// waiting for the reconciler) at m, and its transactions at tracer.
func observe(e *env, m *metrics.Metrics, tracer trace.Tracer) error {
	e.store.Observe(m, tracer)
	if err := m.Register(buildInfoCollector()); err != nil {
		return err
	}
	return m.WatchBacklog(func(ctx context.Context) (metrics.Backlog, error) {
		return e.store.Backlog(ctx, time.Now())
	})
}

// startTracing starts the OTLP exporter when --otlp-endpoint is set; the
// returned stop sends what is still buffered. Off, the tracer is nil.
func startTracing(ctx context.Context, cfg *config.Config) (trace.Tracer, func(), error) {
	if cfg.OTLPEndpoint == "" {
		return nil, func() {}, nil
	}
	host, _ := os.Hostname()
	tracer, shutdown, err := tracing.Start(ctx, tracing.Options{Endpoint: cfg.OTLPEndpoint, Version: version, Instance: host + "/" + strconv.Itoa(os.Getpid())})
	if err != nil {
		return nil, nil, usageError{err.Error()}
	}
	return tracer, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shutdown(ctx)
	}, nil
}
