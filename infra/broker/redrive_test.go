package broker

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestRedriveSendsDeadLettersBackOnce(t *testing.T) {
	t.Parallel()
	subscriber := newFakeSubscriber(t, status(http.StatusServiceUnavailable))
	// The broker's delivery: 3 retries 0.1 s apart, then the KafkaSink.
	cluster, b := MustStart(t, trigger("view", ordered, "", ""), map[string]string{"view": subscriber.URL})
	ingress := httptest.NewServer(b.Ingress())
	t.Cleanup(ingress.Close)

	ids := []string{"r-1", "r-2", "r-3"}
	for i, id := range ids {
		MustPublish(t, b.Ingress(), newEvent(id, "carrot.item.updated.v1", fmt.Sprintf("item-%d", i%2)))
	}
	MustRecords(t, cluster, "dead-letters", len(ids))
	assert.EqualValues(t, len(ids), statusOf(t, MustIdle(t, b), "view").DeadLettered)

	subscriber.answerWith(nil)
	cfg := RedriveConfig{Seeds: cluster.Seeds(), Ingress: ingress.URL, Topic: "dead-letters"}
	result, err := Redrive(t.Context(), cfg)
	require.NoError(t, err)
	assert.Equal(t, len(ids), result.Redriven)
	assert.Equal(t, map[string]int{subscriber.URL: len(ids)}, result.ByDestination, "counted by the subscriber that failed them")

	status := statusOf(t, MustIdle(t, b), "view")
	assert.EqualValues(t, len(ids), status.Delivered)
	assert.EqualValues(t, len(ids), status.DeadLettered, "nothing dead-lettered again")
	var delivered []string
	for _, d := range subscriber.received()[len(subscriber.received())-len(ids):] {
		delivered = append(delivered, d.event.ID())
		for name := range d.event.Extensions() {
			assert.NotContains(t, name, "knativeerror", "event %s is re-driven without its failure", d.event.ID())
		}
		assert.Equal(t, "carrot.item.updated.v1", d.event.Type())
	}
	assert.ElementsMatch(t, ids, delivered, "each dead letter once")

	again, err := Redrive(t.Context(), cfg)
	require.NoError(t, err)
	assert.Zero(t, again.Redriven, "what was re-driven is remembered")
	MustIdle(t, b)
	assert.Len(t, subscriber.ids(), len(ids)*4+len(ids), "4 failed attempts and 1 delivery each, nothing more")
}

func TestRedrivePassesOverWhatCannotBeSent(t *testing.T) {
	t.Parallel()
	cluster := MustCluster(t)
	ingress := newFakeSubscriber(t, func(d delivery, w http.ResponseWriter, _ *http.Request) {
		if d.event.ID() == "refused" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	cfg := RedriveConfig{Seeds: cluster.Seeds(), Ingress: ingress.URL, Topic: "letters", Group: "test"}

	empty, err := Redrive(t.Context(), cfg)
	require.NoError(t, err, "a dead-letter topic that does not exist yet holds nothing")
	assert.Zero(t, empty.Redriven)

	mustProduce(t, cluster, &kgo.Record{Topic: "letters", Value: []byte("not an event")})
	for _, id := range []string{"refused", "taken"} {
		r, err := newRecord("letters", newEvent(id, "carrot.item.updated.v1", "item-1"), ContentModeBinary)
		require.NoError(t, err)
		mustProduce(t, cluster, r)
	}
	result, err := Redrive(t.Context(), cfg)
	require.NoError(t, err)
	assert.Equal(t, RedriveResult{Redriven: 1, Refused: 1, Unreadable: 1, ByDestination: map[string]int{"<nil>": 1}}, result)

	again, err := Redrive(t.Context(), cfg)
	require.NoError(t, err)
	assert.Equal(t, RedriveResult{ByDestination: map[string]int{}}, again, "passed over for good")
}

func TestRedriveStopsWhenTheIngressStaysDown(t *testing.T) {
	t.Parallel()
	cluster := MustCluster(t)
	ingress := newFakeSubscriber(t, status(http.StatusServiceUnavailable))
	r, err := newRecord("letters", newEvent("e-1", "carrot.item.updated.v1", "item-1"), ContentModeStructured)
	require.NoError(t, err)
	mustProduce(t, cluster, r)
	cfg := RedriveConfig{Seeds: cluster.Seeds(), Ingress: ingress.URL, Topic: "letters", GiveUpAfter: 300 * time.Millisecond}

	result, err := Redrive(t.Context(), cfg)
	require.Error(t, err)
	assert.Zero(t, result.Redriven)

	ingress.answerWith(status(http.StatusAccepted))
	result, err = Redrive(t.Context(), cfg)
	require.NoError(t, err)
	assert.Equal(t, 1, result.Redriven, "nothing was committed for the letter that was not taken")
}

// mustProduce writes r and waits for Kafka's acknowledgement.
func mustProduce(tb testing.TB, cluster *Cluster, r *kgo.Record) {
	tb.Helper()
	client, err := kgo.NewClient(kgo.SeedBrokers(cluster.Seeds()...), kgo.AllowAutoTopicCreation())
	require.NoError(tb, err)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(tb, client.ProduceSync(ctx, r).FirstErr())
}
