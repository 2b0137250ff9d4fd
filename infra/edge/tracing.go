package edge

import (
	"context"
	"net/http"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
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
		ctx = web.ExtractTrace(ctx, r.Header)
	}
	created := trace.SpanContextFromContext(events.ContextOf(r.Context(), e))
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			semconv.MessagingSystemKey.String("knative"),
			semconv.MessagingOperationTypeProcess,
			semconv.MessagingMessageID(e.ID()),
			semconv.CloudEventsEventID(e.ID()),
			semconv.CloudEventsEventType(e.Type()),
			semconv.CloudEventsEventSource(e.Source()),
			semconv.CloudEventsEventSubject(e.Subject()),
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
	span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	if status >= http.StatusBadRequest {
		span.RecordError(err)
		span.SetStatus(codes.Error, outcome)
	}
}
