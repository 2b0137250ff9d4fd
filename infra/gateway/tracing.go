package gateway

import (
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/carrot-market/carrot/infra/web"
)

// tracer records the gateway's client span of each proxied request.
var tracer = otel.Tracer("github.com/carrot-market/carrot/infra/gateway")

// traced sends each request on to next, the proxy to function, inside a
// client span named after the function, and puts that span's context in
// the request's traceparent header, so that the function's server span is
// its child. Without a span (no tracer provider and no caller's trace) the
// caller's headers pass on as they are.
func traced(function string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tracer.Start(r.Context(), "proxy to "+function, trace.WithSpanKind(trace.SpanKindClient))
		defer span.End()
		if span.SpanContext().IsValid() {
			r = r.Clone(ctx)
			web.InjectTrace(ctx, r.Header)
		}
		next.ServeHTTP(w, r)
	})
}
