package outbox

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/carrot-market/carrot/infra/telemetry"
)

var meter = telemetry.Meter("github.com/carrot-market/carrot/infra/outbox")

// sends counts events sent to the sink, by path (publish: a command's own
// events, right after its commit; relay: read back from the outbox, by
// Relay, the background drain or a command of a publisher that is behind)
// and outcome (sent: the sink acknowledged it; failed: it stays in the
// outbox).
var sends = telemetry.Must(meter.Int64Counter(
	"carrot.outbox.sends",
	metric.WithUnit("{event}"),
	metric.WithDescription("Events sent to the broker, by path (publish or relay) and outcome (sent or failed).")))

// backlog is what the last relay of this process left in the outbox: 0
// when it caught up, else the unsent rest of the batch it stopped in (a
// lower bound when that batch was full, BatchSize events).
var backlog = telemetry.Must(meter.Int64Gauge(
	"carrot.outbox.backlog",
	metric.WithUnit("{event}"),
	metric.WithDescription("Events the last relay of this process left in the outbox (at most one batch).")))

// countSends records sent acknowledged events on path and, when failed,
// the one send that stopped them.
func countSends(ctx context.Context, path string, sent int, failed bool) {
	ctx = context.WithoutCancel(ctx)
	if sent > 0 {
		sends.Add(ctx, int64(sent), metric.WithAttributes(attribute.String("path", path), attribute.String("outcome", "sent")))
	}
	if failed {
		sends.Add(ctx, 1, metric.WithAttributes(attribute.String("path", path), attribute.String("outcome", "failed")))
	}
}
