package httpapi

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// withTrace starts each request's server span, continuing the trace of an
// incoming W3C traceparent (a proxy's or the caller's). withAccessLog
// names it by the route pattern once the mux has matched, so no path —
// which may carry a session token — reaches a span. A nil tracer (tracing
// off) adds nothing.
func withTrace(tracer trace.Tracer, next http.Handler) http.Handler {
	if tracer == nil {
		return next
	}
	var prop propagation.TraceContext
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method)))
		defer span.End()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// nameSpan gives the request's span its route and status.
func nameSpan(r *http.Request, status int) {
	span := trace.SpanFromContext(r.Context())
	if !span.IsRecording() {
		return
	}
	route := r.Pattern
	if route == "" {
		route = r.Method + " unmatched"
	}
	span.SetName(route)
	span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
}
