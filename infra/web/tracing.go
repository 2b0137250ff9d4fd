package web

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/carrot-market/carrot/infra/telemetry"
)

// Propagator is carrot's one way of carrying trace context
// (telemetry.Propagator), here over HTTP.
var Propagator = telemetry.Propagator

// Traced is middleware that records a server span per request, named
// after its method and, once the router matched it, its route template
// (NewRouter), as a child of the caller's trace context (Propagator). A
// malformed traceparent is dropped, as the W3C spec asks, and the request
// starts a new trace. Handlers see the span in their context, so the
// spans and events they start continue the caller's trace. The spans go to
// the global tracer provider: nowhere until infra/telemetry installs one.
func Traced(service string, h http.Handler) http.Handler {
	return otelhttp.NewHandler(h, service,
		otelhttp.WithPropagators(Propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }))
}

// nameSpan names the request's span after the route that matched it, as
// in "POST /items/{itemId}/reservations".
func nameSpan(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if route := mux.CurrentRoute(r); route != nil {
			if template, err := route.GetPathTemplate(); err == nil {
				span := trace.SpanFromContext(r.Context())
				span.SetName(r.Method + " " + template)
				span.SetAttributes(semconv.HTTPRoute(template))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// TraceID returns the id of the trace r belongs to, "" when it has none;
// the request log line carries it, so that a trace can be found from a log.
func TraceID(r *http.Request) string {
	if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
		return sc.TraceID().String()
	}
	return ""
}

// ExtractTrace returns ctx carrying the trace context of the headers h
// (Propagator) as the remote parent of what starts from it; without a
// valid one in h, ctx is returned as it is.
func ExtractTrace(ctx context.Context, h http.Header) context.Context {
	return Propagator.Extract(ctx, propagation.HeaderCarrier(h))
}

// InjectTrace writes the trace context of ctx into the headers h,
// replacing what they held; without a span context in ctx, h is left as
// it is.
func InjectTrace(ctx context.Context, h http.Header) {
	Propagator.Inject(ctx, propagation.HeaderCarrier(h))
}
