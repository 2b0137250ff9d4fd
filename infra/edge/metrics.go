package edge

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/carrot-market/carrot/infra/telemetry"
)

// eventsHandled counts the events a trigger delivered to this function, by
// CloudEvents type and outcome: handled, duplicate, ignored, poison or
// retry (the first word of eventOutcome's). A poison request that is no
// valid CloudEvent has no type.
var eventsHandled = telemetry.Must(telemetry.Meter("github.com/carrot-market/carrot/infra/edge").Int64Counter(
	"carrot.events.handled",
	metric.WithUnit("{event}"),
	metric.WithDescription("Events delivered to the function, by CloudEvents type and outcome.")))

// countEvent records one delivered event of type typ (empty when unknown).
func countEvent(ctx context.Context, typ, outcome string) {
	word, _, _ := strings.Cut(outcome, " ")
	attrs := []attribute.KeyValue{attribute.String("outcome", word)}
	if typ != "" {
		attrs = append(attrs, semconv.CloudEventsEventTypeKey.String(typ))
	}
	eventsHandled.Add(context.WithoutCancel(ctx), 1, metric.WithAttributes(attrs...))
}
