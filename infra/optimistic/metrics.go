package optimistic

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/carrot-market/carrot/infra/telemetry"
)

// racesLost counts attempts that lost a race to a concurrent writer
// (app.ErrStale): outcome retried when Retry ran the unit of work again,
// gave_up when it was the last attempt or ctx ended.
var racesLost = telemetry.Must(telemetry.Meter("github.com/carrot-market/carrot/infra/optimistic").Int64Counter(
	"carrot.optimistic.races_lost",
	metric.WithUnit("{attempt}"),
	metric.WithDescription("Attempts of a unit of work that lost an optimistic race, by whether it ran again.")))

func countLostRace(ctx context.Context, outcome string) {
	racesLost.Add(context.WithoutCancel(ctx), 1, metric.WithAttributes(attribute.String("outcome", outcome)))
}
