package telemetry

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.uber.org/zap"
)

// The standard OpenTelemetry variables StartTracing reads itself; the
// exporter, the batch processor and the sampler read the rest of theirs
// (OTEL_EXPORTER_OTLP_HEADERS, OTEL_BSP_*, OTEL_TRACES_SAMPLER, ...).
const (
	EndpointEnv       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	TracesEndpointEnv = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	ProtocolEnv       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	TracesProtocolEnv = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	TracesExporterEnv = "OTEL_TRACES_EXPORTER"
	SDKDisabledEnv    = "OTEL_SDK_DISABLED"
	ServiceNameEnv    = "OTEL_SERVICE_NAME"
)

// Propagator is the one way carrot carries trace context, over HTTP, in
// Kafka records and in CloudEvents: W3C traceparent and tracestate, and
// W3C baggage. StartTracing makes it the global propagator; web.Traced and
// the broker use it even before, so that a caller's trace goes on whether
// or not this process exports spans.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// TracingEnabled reports whether the environment asks for spans to be
// exported: an OTLP endpoint is set, and neither OTEL_SDK_DISABLED=true
// nor OTEL_TRACES_EXPORTER=none turns it off.
func TracingEnabled() bool {
	if strings.EqualFold(os.Getenv(SDKDisabledEnv), "true") || strings.EqualFold(os.Getenv(TracesExporterEnv), "none") {
		return false
	}
	return os.Getenv(EndpointEnv) != "" || os.Getenv(TracesEndpointEnv) != ""
}

// StartTracing installs the global propagator (Propagator) and, when
// TracingEnabled, a tracer provider that batches spans and exports them
// over OTLP to the endpoint of the standard OTEL_* variables, by HTTP
// (http/protobuf, the default) or gRPC (OTEL_EXPORTER_OTLP_PROTOCOL=grpc).
// The spans' service.name is service unless OTEL_SERVICE_NAME says
// otherwise. Without an endpoint nothing is exported and spans cost next
// to nothing; trace context is propagated all the same.
//
// Export runs in the background: a collector that is down or slow drops
// spans, never delays or fails a request, and its errors are logged to log
// at most once every five minutes. It fails only on a variable that can never work.
// The returned stop flushes what is buffered, within ctx; call it once,
// when the process ends.
func StartTracing(ctx context.Context, service string, log *zap.SugaredLogger) (stop func(context.Context) error, err error) {
	otel.SetTextMapPropagator(Propagator)
	if !TracingEnabled() {
		return func(context.Context) error { return nil }, nil
	}
	exporter, err := newExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	name := service
	if s := os.Getenv(ServiceNameEnv); s != "" {
		name = s
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(name)))
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	provider := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	otel.SetTracerProvider(provider)
	otel.SetErrorHandler(&quietErrors{log: log, every: 5 * time.Minute})
	return provider.Shutdown, nil
}

// newExporter builds the OTLP exporter of the protocol the environment
// names. Neither connects before its first export.
func newExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	protocol := os.Getenv(TracesProtocolEnv)
	if protocol == "" {
		protocol = os.Getenv(ProtocolEnv)
	}
	switch protocol {
	case "", "http/protobuf":
		return otlptracehttp.New(ctx)
	case "grpc":
		return otlptracegrpc.New(ctx)
	}
	return nil, fmt.Errorf("$%s %q is neither http/protobuf nor grpc", ProtocolEnv, protocol)
}

// quietErrors logs OpenTelemetry's own errors, such as a failed export, at
// most once per every, counting the ones it left out.
type quietErrors struct {
	log   *zap.SugaredLogger
	every time.Duration

	mu      sync.Mutex
	last    time.Time
	skipped int
}

func (q *quietErrors) Handle(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if now := time.Now(); now.Sub(q.last) >= q.every {
		q.log.Warnw("tracing: spans not exported; requests go on", "error", err, "alsoSince", q.skipped)
		q.last, q.skipped = now, 0
		return
	}
	q.skipped++
}
