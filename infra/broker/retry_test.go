package broker

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRetriesUntilTheSubscriberAccepts(t *testing.T) {
	t.Parallel()
	subscriber := newFakeSubscriber(t, func(d delivery, w http.ResponseWriter, _ *http.Request) {
		if d.attempt <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable) // e.g. the activator while an instance starts
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	_, b := MustStart(t, trigger("flaky", "", "", `    retry: 4
    backoffPolicy: exponential
    backoffDelay: PT0.1S
`), map[string]string{"flaky": subscriber.URL})

	MustPublish(t, b.Ingress(), newEvent("r-1", "carrot.item.updated.v1", "item-1"))
	status := statusOf(t, MustIdle(t, b), "flaky")

	got := subscriber.received()
	require.Len(t, got, 3, "two 503s, then the 200")
	first, second := got[1].at.Sub(got[0].at), got[2].at.Sub(got[1].at)
	assert.GreaterOrEqual(t, first, 100*time.Millisecond, "exponential: the delay before the first retry")
	assert.GreaterOrEqual(t, second, 200*time.Millisecond, "and twice that before the second")
	assert.EqualValues(t, 1, status.Delivered)
	assert.EqualValues(t, 2, status.Retried)
	assert.Zero(t, status.DeadLettered)
}

func TestFailedDeliveriesGoToTheDeadLetterSink(t *testing.T) {
	t.Parallel()
	longBody := strings.Repeat("x", 2000)
	tests := []struct {
		name         string
		answer       int
		body         string
		wantAttempts int
	}{
		{"poison is not retried", http.StatusBadRequest, "bad payload", 1},
		{"retries run out", http.StatusInternalServerError, longBody, 4},
		{"retryable client error", http.StatusTooManyRequests, "", 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			subscriber := newFakeSubscriber(t, func(_ delivery, w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.answer)
				_, _ = w.Write([]byte(tc.body))
			})
			// The broker's delivery: 3 retries, KafkaSink dead.
			cluster, b := MustStart(t, trigger("failing", "", "", ""), map[string]string{"failing": subscriber.URL})

			MustPublish(t, b.Ingress(), newEvent("d-1", "carrot.item.updated.v1", "item-1"))
			letters := MustEvents(t, MustRecords(t, cluster, "dead-letters", 1))
			status := statusOf(t, MustIdle(t, b), "failing")

			assert.Len(t, subscriber.received(), tc.wantAttempts)
			letter := letters[0]
			assert.Equal(t, "d-1", letter.ID())
			assert.Equal(t, "item-1", letter.Extensions()["partitionkey"], "the event keeps its extensions")
			assert.Equal(t, subscriber.URL, mustExtension(t, letter, "knativeerrordest"))
			assert.Equal(t, tc.answer, mustIntExtension(t, letter, "knativeerrorcode"))
			wantData := base64.StdEncoding.EncodeToString([]byte(tc.body))
			if len(wantData) > 1024 {
				wantData = wantData[:1024] // Knative's cut
			}
			if tc.body == "" {
				assert.Empty(t, letter.Extensions()["knativeerrordata"])
			} else {
				assert.Equal(t, wantData, mustExtension(t, letter, "knativeerrordata"))
			}
			assert.EqualValues(t, 1, status.DeadLettered)
			assert.EqualValues(t, tc.wantAttempts-1, status.Retried)
			assert.Zero(t, status.Delivered)
			assert.Contains(t, status.LastError, "d-1")
		})
	}
}

func TestDeadLetterSinkByURIAndNone(t *testing.T) {
	t.Parallel()
	cluster := MustCluster(t)
	deadLetters := newFakeSubscriber(t, nil)
	cfg := MustConfig(t, trigger("to-uri", "", "", `    retry: 0
    deadLetterSink: {uri: "`+deadLetters.URL+`/dead"}
`)+trigger("to-nowhere", "", "", "    retry: 1\n"))
	for i := range cfg.Triggers {
		if cfg.Triggers[i].Name == "to-nowhere" {
			cfg.Triggers[i].Delivery.DeadLetterSink = nil // as under a broker without one
		}
	}
	refuse := status(http.StatusUnprocessableEntity)
	toURI, toNowhere := newFakeSubscriber(t, refuse), newFakeSubscriber(t, refuse)
	b := MustBroker(t, cluster, cfg, map[string]string{"to-uri": toURI.URL, "to-nowhere": toNowhere.URL})

	MustPublish(t, b.Ingress(), newEvent("n-1", "carrot.item.updated.v1", "item-1"))
	statuses := MustIdle(t, b)

	require.Len(t, deadLetters.received(), 1)
	assert.Equal(t, 422, mustIntExtension(t, deadLetters.received()[0].event, "knativeerrorcode"))
	assert.EqualValues(t, 1, statusOf(t, statuses, "to-uri").DeadLettered)
	assert.EqualValues(t, 1, statusOf(t, statuses, "to-nowhere").Dropped)
	assert.Len(t, toNowhere.received(), 1, "422 is not retried")
}

func TestRepliesArePublishedBackToTheBroker(t *testing.T) {
	t.Parallel()
	policy := newFakeSubscriber(t, func(d delivery, w http.ResponseWriter, _ *http.Request) {
		reply := newEvent("reply-to-"+d.event.ID(), "carrot.reservation.completed.v1", "item-9")
		w.Header().Set("Ce-Specversion", "1.0")
		w.Header().Set("Ce-Id", reply.ID())
		w.Header().Set("Ce-Type", reply.Type())
		w.Header().Set("Ce-Source", reply.Source())
		w.Header().Set("Ce-Partitionkey", "item-9")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(reply.Data())
	})
	view := newFakeSubscriber(t, nil)
	_, b := MustStart(t, trigger("policy", "", `filters: [{exact: {type: carrot.payment.approved.v1}}]`, "")+
		trigger("view", "", `filters: [{exact: {type: carrot.reservation.completed.v1}}]`, ""),
		map[string]string{"policy": policy.URL, "view": view.URL})

	MustPublish(t, b.Ingress(), newEvent("pay-1", "carrot.payment.approved.v1", "item-9"))
	require.Eventually(t, func() bool { return len(view.received()) == 1 }, waitFor, 10*time.Millisecond)
	MustIdle(t, b)

	got := view.received()[0].event
	assert.Equal(t, "reply-to-pay-1", got.ID())
	assert.Equal(t, "item-9", got.Extensions()["partitionkey"])
	assert.Len(t, policy.received(), 1)
}

func mustExtension(tb testing.TB, e cloudevents.Event, name string) string {
	tb.Helper()
	value, ok := e.Extensions()[name]
	require.True(tb, ok, "extension %s missing", name)
	s, err := types.Format(value)
	require.NoError(tb, err)
	return s
}

func mustIntExtension(tb testing.TB, e cloudevents.Event, name string) int {
	tb.Helper()
	n, err := strconv.Atoi(mustExtension(tb, e, name))
	require.NoError(tb, err)
	return n
}
