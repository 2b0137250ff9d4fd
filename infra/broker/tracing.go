package broker

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/infra/web"
)

// The broker's spans, one trace per deal: the ingress takes an event
// (a child of the sender's span, from the request's traceparent header)
// and writes it to Kafka with its own span context in the record's
// traceparent header; each trigger's delivery of the record is a child of
// that, each attempt to the subscriber a child of the delivery carrying
// its context in the request's header, and a dead letter and its re-drive
// follow on in the same way. Where a hop carries no context, the event's
// traceparent extension (the span it was created in) stands in.
var tracer = otel.Tracer("github.com/carrot-market/carrot/infra/broker")

// Attributes of the broker's spans that the waterfall marks (tests/drill).
const (
	attemptKey = attribute.Key("carrot.delivery.attempt") // 1 for the first attempt
	retryKey   = attribute.Key("carrot.delivery.retry")   // true from the second attempt on
	outcomeKey = attribute.Key("carrot.delivery.outcome")
	triggerKey = attribute.Key("carrot.trigger")
)

// eventAttributes describe e on every span about it.
func eventAttributes(e cloudevents.Event) trace.SpanStartOption {
	return trace.WithAttributes(
		attribute.String("messaging.system", "kafka"),
		attribute.String("messaging.message.id", e.ID()),
		attribute.String("cloudevents.event_type", e.Type()),
		attribute.String("cloudevents.event_subject", e.Subject()),
	)
}

// orEvent returns ctx when it carries a span context, else ctx with the
// one e was created in.
func orEvent(ctx context.Context, e cloudevents.Event) context.Context {
	if trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	return events.ContextOf(ctx, e)
}

// startIngressSpan starts the server span of the ingress taking e.
func startIngressSpan(r *http.Request, e cloudevents.Event) (context.Context, trace.Span) {
	ctx := web.ExtractTrace(r.Context(), r.Header)
	return tracer.Start(orEvent(ctx, e), "broker ingress "+e.Type(), trace.WithSpanKind(trace.SpanKindServer), eventAttributes(e))
}

// startDeliverySpan starts the span of trigger delivering the event e of
// record r, a child of the span that wrote r.
func startDeliverySpan(ctx context.Context, trigger string, r *kgo.Record, e cloudevents.Event) (context.Context, trace.Span) {
	ctx = web.Propagator.Extract(ctx, recordCarrier{r})
	return tracer.Start(orEvent(ctx, e), "deliver "+e.Type()+" to "+trigger,
		trace.WithSpanKind(trace.SpanKindConsumer), eventAttributes(e), trace.WithAttributes(triggerKey.String(trigger)))
}

// startAttemptSpan starts the client span of the attempt numbered attempt
// (0 for the first) to send e to url.
func startAttemptSpan(ctx context.Context, e cloudevents.Event, url string, attempt int) (context.Context, trace.Span) {
	name := "attempt 1"
	if attempt > 0 {
		name = "retry " + strconv.Itoa(attempt)
	}
	return tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), eventAttributes(e),
		trace.WithAttributes(attemptKey.Int(attempt+1), retryKey.Bool(attempt > 0), attribute.String("url.full", url)))
}

// endAttemptSpan records the answer of one attempt; all but a 2xx are
// errors.
func endAttemptSpan(span trace.Span, a answer) {
	if a.status != noResponse {
		span.SetAttributes(attribute.Int("http.response.status_code", a.status))
	}
	if !a.ok() {
		if a.err != nil {
			span.RecordError(a.err)
		}
		span.SetStatus(codes.Error, describe(a))
	}
	span.End()
}

// endDeliverySpan records how a delivery ended: an error unless delivered.
func endDeliverySpan(span trace.Span, outcome string, result attempts) {
	span.SetAttributes(outcomeKey.String(outcome), attribute.Int("carrot.delivery.attempts", result.count))
	if !result.last.ok() {
		span.SetStatus(codes.Error, outcome)
	}
	span.End()
}

// startRedriveSpan starts the span of re-driving the dead letter of
// record r, a child of the span that dead-lettered it.
func startRedriveSpan(ctx context.Context, r *kgo.Record, e cloudevents.Event) (context.Context, trace.Span) {
	ctx = web.Propagator.Extract(ctx, recordCarrier{r})
	return tracer.Start(orEvent(ctx, e), "redrive "+e.Type(), trace.WithSpanKind(trace.SpanKindProducer), eventAttributes(e))
}

// endSpan marks span an error when err is not nil, and ends it.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// injectRecord writes the span context of ctx into r's headers.
func injectRecord(ctx context.Context, r *kgo.Record) {
	web.Propagator.Inject(ctx, recordCarrier{r})
}

// recordCarrier reads and writes trace context in a Kafka record's
// headers, as W3C Trace Context's Kafka binding names them (traceparent,
// tracestate). Knative's binary layout prefixes every CloudEvents
// attribute with ce_, so these never clash with the event's extensions.
type recordCarrier struct{ r *kgo.Record }

func (c recordCarrier) Get(key string) string {
	v, _ := header(c.r, key)
	return v
}

func (c recordCarrier) Set(key, value string) {
	for i, h := range c.r.Headers {
		if strings.EqualFold(h.Key, key) {
			c.r.Headers[i].Value = []byte(value)
			return
		}
	}
	c.r.Headers = append(c.r.Headers, kgo.RecordHeader{Key: key, Value: []byte(value)})
}

func (c recordCarrier) Keys() []string {
	keys := make([]string, len(c.r.Headers))
	for i, h := range c.r.Headers {
		keys[i] = h.Key
	}
	return keys
}
