package edge

import (
	"context"
	"net/http"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/infra/web"
)

// tracer records the consumer spans of the policies, the projector and
// every other trigger's function.
var tracer = otel.Tracer("github.com/carrot-market/carrot/infra/edge")

// startConsumerSpan starts the span of handling e, named "process" and
// its type. Its parent is the delivery that brought e: the server span of
// the request (web.Traced) or, served without one, the request's
// traceparent header; only an event that came with neither continues the
// trace of its traceparent extension. The span links to the context e was
// created in (the extension) whenever that is not its parent already.
func startConsumerSpan(r *http.Request, e cloudevents.Event) (context.Context, trace.Span) {
	ctx := r.Context()
	if !trace.SpanContextFromContext(ctx).IsValid() {
		ctx = web.Propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
	}
	created := trace.SpanContextFromContext(events.ContextOf(r.Context(), e))
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "knative"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.message.id", e.ID()),
			attribute.String("cloudevents.event_id", e.ID()),
			attribute.String("cloudevents.event_type", e.Type()),
			attribute.String("cloudevents.event_source", e.Source()),
			attribute.String("cloudevents.event_subject", e.Subject()),
		),
	}
	if !trace.SpanContextFromContext(ctx).IsValid() {
		ctx = events.ContextOf(ctx, e)
	} else if created.IsValid() && created.SpanID() != trace.SpanContextFromContext(ctx).SpanID() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: created}))
	}
	return tracer.Start(ctx, "process "+e.Type(), opts...)
}

// endConsumerSpan records the answer the broker gets: a 2xx leaves the
// span unset (an ignored or duplicate event is no error), a poison event
// or a failure the broker retries marks it an error.
func endConsumerSpan(span trace.Span, status int, outcome string, err error) {
	span.SetAttributes(attribute.Int("http.response.status_code", status), attribute.String("carrot.outcome", outcome))
	if status >= http.StatusBadRequest {
		span.RecordError(err)
		span.SetStatus(codes.Error, outcome)
	}
}
