package optimistic_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/infra/optimistic"
	"github.com/carrot-market/carrot/infra/telemetry/telemetrytest"
)

// Retry counts its lost races. It runs alone: the parallel tests wait.
func TestRetryCountsLostRaces(t *testing.T) {
	tests := []struct {
		name            string
		lost            int // attempts that lose before one wins; MaxAttempts: all lose
		retried, gaveUp float64
	}{
		{name: "no race", lost: 0},
		{name: "won on the third attempt", lost: 2, retried: 2},
		{name: "lost every attempt", lost: optimistic.MaxAttempts, retried: optimistic.MaxAttempts - 1, gaveUp: 1},
	}
	series := "carrot_optimistic_races_lost_total"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := telemetrytest.MustRead(t)
			calls := 0
			_ = optimistic.Retry(context.Background(), func() error {
				calls++
				if calls <= tt.lost {
					return app.ErrStale
				}
				return nil
			})
			after := telemetrytest.MustRead(t)
			for outcome, want := range map[string]float64{"retried": tt.retried, "gave_up": tt.gaveUp} {
				labels := map[string]string{"outcome": outcome}
				assert.Equal(t, want, after.Value(series, labels)-before.Value(series, labels), outcome)
			}
		})
	}
}
