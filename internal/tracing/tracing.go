// Package tracing sends sakk's OpenTelemetry spans to an OTLP/HTTP
// collector. Tracing is off unless an endpoint is configured; then serve
// hands the Tracer to the parts that make spans (HTTP requests, store
// transactions, gateway calls, code sends, webhook deliveries). Off, they
// hold a nil Tracer and make no span at all, so the request path pays
// nothing for it.
package tracing

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Name is the instrumentation scope of sakk's spans.
const Name = "github.com/sakkhq/sakk"

// Options configure the exporter.
type Options struct {
	// Endpoint is the collector's OTLP/HTTP URL, e.g.
	// http://otel-collector:4318; /v1/traces is added when it has no
	// path. The OTEL_EXPORTER_OTLP_* variables (headers, certificates)
	// apply as usual.
	Endpoint string
	Version  string        // service.version of the spans
	Instance string        // service.instance.id: tells instances apart
	Batch    time.Duration // how long spans wait to be sent together; 2 s when zero
}

// Start returns the Tracer that exports to o.Endpoint, and the shutdown
// that sends the spans still buffered (call it last, with a deadline).
func Start(ctx context.Context, o Options) (trace.Tracer, func(context.Context) error, error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, fmt.Errorf("--otlp-endpoint %q: want an http(s) URL such as http://otel-collector:4318", o.Endpoint)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(u.String()), otlptracehttp.WithTimeout(10 * time.Second)}
	if u.Scheme == "http" {
		opts = append(opts, otlptracehttp.WithInsecure())
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: %w", err)
	}
	batch := o.Batch
	if batch <= 0 {
		batch = 2 * time.Second
	}
	res := resource.NewSchemaless(
		attribute.String("service.name", "sakk"),
		attribute.String("service.version", o.Version),
		attribute.String("service.instance.id", o.Instance),
	)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(batch)),
		sdktrace.WithResource(res),
	)
	return tp.Tracer(Name), tp.Shutdown, nil
}

// Fail marks span failed with err, when there is one.
func Fail(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
}
