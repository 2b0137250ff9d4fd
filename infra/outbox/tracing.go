package outbox

import (
	"context"
	"net/http"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/carrot-market/carrot/events"
)

// tracer records a producer span per event sent, by a command or by the
// relay, through the global tracer provider.
var tracer = otel.Tracer("github.com/carrot-market/carrot/infra/outbox")

// startSendSpan starts the producer span of sending e to sink, named
// "send" and e's type. Its parent is the context e was created in (its
// traceparent extension), so that an event the relay sends minutes later
// still joins the trace of the command that committed it; the span links
// to the caller's own span (a relay run) when that is another one.
func startSendSpan(ctx context.Context, e cloudevents.Event, sink string) (context.Context, trace.Span) {
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "knative"),
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.destination.name", sink),
			attribute.String("messaging.message.id", e.ID()),
			attribute.String("cloudevents.event_type", e.Type()),
			attribute.String("cloudevents.event_subject", e.Subject()),
		),
	}
	caller := trace.SpanContextFromContext(ctx)
	parent := events.ContextOf(ctx, e)
	if created := trace.SpanContextFromContext(parent); caller.IsValid() && created.SpanID() != caller.SpanID() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: caller}))
	}
	return tracer.Start(parent, "send "+e.Type(), opts...)
}

// endSendSpan marks a failed send, which leaves the event in the outbox.
func endSendSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "the event stays in the outbox")
	}
	span.End()
}

// tracedTransport sends the trace context of each request's span in its
// headers (the global propagator), as a client span of its own, so that
// the broker's ingress continues the producer span.
func tracedTransport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return otelhttp.NewTransport(base)
}
