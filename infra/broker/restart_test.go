package broker

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClusterWithDataDirKeepsEventsAndOffsets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := MustConfig(t, trigger("view", ordered, "", ""))
	subscriber := newFakeSubscriber(t, nil)
	subscribers := map[string]string{"view": subscriber.URL}

	first, err := StartCluster("127.0.0.1:0", WithDataDir(dir))
	require.NoError(t, err)
	before := MustBroker(t, first, cfg, subscribers)
	MustPublish(t, before.Ingress(), newEvent("p-1", "carrot.item.updated.v1", "item-1"))
	MustPublish(t, before.Ingress(), newEvent("p-2", "carrot.item.updated.v1", "item-2"))
	MustIdle(t, before)
	before.Close()
	first.Close()

	second, err := StartCluster("127.0.0.1:0", WithDataDir(dir))
	require.NoError(t, err)
	t.Cleanup(second.Close)
	after := MustBroker(t, second, cfg, subscribers)
	MustPublish(t, after.Ingress(), newEvent("p-3", "carrot.item.updated.v1", "item-1"))
	MustIdle(t, after)

	assert.ElementsMatch(t, []string{"p-1", "p-2", "p-3"}, subscriber.ids(), "each once: the offsets survived too")
	assert.Len(t, MustRecords(t, second, "knative-broker-default-b", 3), 3)
}

// TestKafkaStoppedAndStartedAgainLosesNothing stops the in-process Kafka
// under a running broker, as POST /_local/kafka/down does, and starts it
// again on the same address and data dir. Events committed before the stop
// are not delivered again (the offsets survived), events whose delivery
// was held across the stop are delivered, the ingress refuses events with
// 503 while Kafka is down, and once it is back the same broker's
// dispatchers deliver what was published after the outage too.
func TestKafkaStoppedAndStartedAgainLosesNothing(t *testing.T) {
	t.Parallel()
	cluster, err := StartCluster("127.0.0.1:0", WithDataDir(t.TempDir()))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	seeds := cluster.Seeds()
	// Deliveries of "held-" events wait until the gate opens, after Kafka
	// is back: they are in flight, uncommitted, across the outage.
	gate := make(chan struct{})
	subscriber := newFakeSubscriber(t, func(d delivery, w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(d.event.ID(), "held-") {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	})
	b := MustBroker(t, cluster, MustConfig(t, trigger("view", "", "", "")), map[string]string{"view": subscriber.URL})

	var published []string
	publish := func(id string) { // until the ingress accepts it, as an outbox relay would
		published = append(published, id)
		require.Eventually(t, func() bool {
			return post(t, b.Ingress(), newEvent(id, "carrot.item.updated.v1", id), ContentModeBinary).Code == http.StatusAccepted
		}, waitFor, 50*time.Millisecond, "the ingress never accepted %s", id)
	}
	for i := range 5 {
		publish(fmt.Sprintf("done-%d", i))
	}
	MustIdle(t, b)
	for i := range 5 {
		publish(fmt.Sprintf("held-%d", i))
	}
	require.Eventually(t, func() bool { return len(subscriber.ids()) == 10 }, waitFor, 20*time.Millisecond)

	require.NoError(t, cluster.Stop())
	assert.False(t, cluster.Running())
	require.Eventually(t, func() bool { return !b.KafkaReachable() }, waitFor, 20*time.Millisecond)
	refused := post(t, b.Ingress(), newEvent("during", "carrot.item.updated.v1", "during"), ContentModeBinary)
	assert.Equal(t, http.StatusServiceUnavailable, refused.Code, refused.Body.String())
	assert.NotEmpty(t, refused.Header().Get("Retry-After"))
	assert.Equal(t, "application/problem+json", refused.Header().Get("Content-Type"))

	require.NoError(t, cluster.Start())
	assert.Equal(t, seeds, cluster.Seeds(), "the same address")
	close(gate)
	for i := range 5 {
		publish(fmt.Sprintf("after-%d", i))
	}
	require.Eventually(t, func() bool {
		got := slices.Compact(slices.Sorted(slices.Values(subscriber.ids())))
		return slices.Equal(got, slices.Sorted(slices.Values(published)))
	}, waitFor, 50*time.Millisecond, "delivered %v, want %v", subscriber.ids(), published)
	MustIdle(t, b)
	assert.True(t, b.KafkaReachable())
	ids := subscriber.ids()
	assert.NotContains(t, ids, "during", "a refused event is not delivered")
	for i := range 5 {
		done := fmt.Sprintf("done-%d", i)
		assert.Equal(t, 1, countOf(ids, done), "%s was committed before the stop, yet delivered again", done)
	}
}

func countOf(ids []string, id string) int {
	n := 0
	for _, x := range ids {
		if x == id {
			n++
		}
	}
	return n
}

func TestClusterInMemoryCannotBeStopped(t *testing.T) {
	t.Parallel()
	cluster := MustCluster(t)
	require.ErrorIs(t, cluster.Stop(), ErrNoDataDir)
	assert.True(t, cluster.Running())
}

func TestRestartLosesNothingAndRepeatsOnlyWhatWasInFlight(t *testing.T) {
	t.Parallel()
	cluster := MustCluster(t)
	cfg := MustConfig(t, trigger("view", ordered, "", ""))
	const total, answered = 80, 30
	// The first subscriber accepts 30 events, then hangs on every request
	// until the broker gives up on it: those are in flight at the stop.
	before := newFakeSubscriber(t, func(d delivery, w http.ResponseWriter, r *http.Request) {
		if d.n <= answered {
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
