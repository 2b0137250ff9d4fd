package broker

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRestartLosesNothingAndRepeatsOnlyWhatWasInFlight(t *testing.T) {
	t.Parallel()
	cluster := MustCluster(t)
	cfg := MustConfig(t, trigger("view", ordered, "", ""))
	const total, answered = 80, 30
	// The first subscriber accepts 30 events, then hangs on every request
	// until the broker gives up on it: those are in flight at the stop.
	before := newFakeSubscriber(t, func(n int, _ cloudevents.Event, w http.ResponseWriter, r *http.Request) {
		if n <= answered {
			w.WriteHeader(http.StatusOK)
			return
		}
		<-r.Context().Done()
	})
	first := MustBroker(t, cluster, cfg, map[string]string{"view": before.URL})

	var published []string
	for i := range total {
		id := fmt.Sprintf("e-%03d", i)
		published = append(published, id)
		MustPublish(t, first.Ingress(), newEvent(id, "carrot.item.updated.v1", fmt.Sprintf("item-%d", i%7)))
	}
	require.Eventually(t, func() bool {
		return statusOf(t, first.Status(), "view").Delivered == answered && len(before.received()) > answered
	}, waitFor, 10*time.Millisecond)
	first.Close()

	after := newFakeSubscriber(t, nil)
	second := MustBroker(t, cluster, cfg, map[string]string{"view": after.URL})
	status := statusOf(t, MustIdle(t, second), "view")

	accepted := before.ids()[:answered]
	inFlight := before.ids()[answered:]
	redelivered := after.ids()
	assert.NotEmpty(t, inFlight)
	assert.ElementsMatch(t, published, append(slices.Clone(accepted), redelivered...), "nothing lost, nothing twice after the restart")
	for _, id := range inFlight {
		assert.Contains(t, redelivered, id, "what was in flight is delivered again")
	}
	assert.EqualValues(t, total-answered, status.Delivered)
	assert.Zero(t, status.Lag)
}
