package edge

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/telemetry/telemetrytest"
)

func TestEventsCountsByTypeAndOutcome(t *testing.T) {
	tests := []struct {
		err     error
		outcome string
	}{
		{err: nil, outcome: "handled"},
		{err: app.ErrDuplicate, outcome: "duplicate"},
		{err: market.Errorf(market.NotFound, "gone"), outcome: "ignored"},
		{err: market.Errorf(market.Invalid, "bad payload"), outcome: "poison"},
		{err: app.ErrStale, outcome: "retry"},
		{err: errors.New("down"), outcome: "retry"},
	}
	for _, tt := range tests {
		t.Run(tt.outcome, func(t *testing.T) {
			e := MustEvent(t)
			e.SetType("carrot.test.metrics." + tt.outcome + ".v1")
			labels := map[string]string{"cloudevents_event_type": e.Type(), "outcome": tt.outcome}
			before := telemetrytest.MustRead(t).Value("carrot_events_handled_total", labels)
			h := Events(func(context.Context, cloudevents.Event) error { return tt.err })
			h.ServeHTTP(httptest.NewRecorder(), eventRequest(t, e, false))
			assert.Equal(t, before+1, telemetrytest.MustRead(t).Value("carrot_events_handled_total", labels))
		})
	}

	t.Run("not a CloudEvent", func(t *testing.T) {
		poison := map[string]string{"outcome": "poison"}
		before := telemetrytest.MustRead(t).Value("carrot_events_handled_total", poison)
		Events(nil).ServeHTTP(httptest.NewRecorder(), post("/", "application/json", `{"a":1}`))
		assert.Equal(t, before+1, telemetrytest.MustRead(t).Value("carrot_events_handled_total", poison))
	})
}
