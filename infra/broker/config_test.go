package broker

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestLoadConfigReadsTheRepositoryManifests(t *testing.T) {
	cfg, err := LoadConfig("../../knative/eventing")
	require.NoError(t, err)

	assert.Equal(t, "carrot", cfg.Broker.Name)
	assert.Equal(t, "Kafka", cfg.Broker.Class)
	assert.Equal(t, "knative-broker-default-carrot", cfg.Broker.Topic)
	assert.EqualValues(t, 10, cfg.Broker.Partitions)
	assert.Equal(t, []string{"carrot-dead-letters"}, cfg.DeadLetterTopics())
	assert.Equal(t, ContentModeStructured, cfg.KafkaSinks["carrot-dead-letters"].ContentMode)

	wantTypes := map[string][]string{
		"item-policy": {
			"carrot.reservation.completed.v1", "carrot.reservation.reopened.v1",
			"carrot.reservation.deleted.v1", "carrot.review.written.v1",
		},
		"mypage": {
			"carrot.item.registered.v1", "carrot.item.updated.v1", "carrot.item.deleted.v1",
			"carrot.item.reserved.v1", "carrot.item.released.v1", "carrot.item.soldout.v1",
			"carrot.item.scored.v1", "carrot.reservation.requested.v1",
			"carrot.reservation.confirmed.v1", "carrot.reservation.deleted.v1",
			"carrot.reservation.completed.v1", "carrot.reservation.reopened.v1",
			"carrot.payment.approved.v1", "carrot.payment.cancelled.v1",
		},
		"reservation-policy": {"carrot.payment.approved.v1", "carrot.payment.cancelled.v1"},
	}
	require.Len(t, cfg.Triggers, len(wantTypes))
	for _, trigger := range cfg.Triggers {
		t.Run(trigger.Name, func(t *testing.T) {
			want, ok := wantTypes[trigger.Name]
			require.True(t, ok, "unexpected trigger %s", trigger.Name)
			assert.True(t, trigger.Ordered)
			assert.Equal(t, "knative-trigger-default-"+trigger.Name, trigger.ConsumerGroup())
			require.NotNil(t, trigger.Subscriber.Ref)
			assert.Equal(t, trigger.Name, trigger.Subscriber.Ref.Name)

			require.Len(t, trigger.Filters, 1)
			var types []string
			for _, f := range trigger.Filters[0].Any {
				types = append(types, f.Exact["type"])
			}
			assert.ElementsMatch(t, want, types)

			require.NotNil(t, trigger.Delivery)
			assertOutlastsAnOutage(t, trigger)
			require.NotNil(t, trigger.Delivery.DeadLetterSink)
			assert.Equal(t, "carrot-dead-letters", trigger.Delivery.DeadLetterSink.Ref.Name)
		})
	}
}

func TestLoadConfigMergesTheBrokerDelivery(t *testing.T) {
	dir := MustManifests(t, `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: inherits}
spec:
  broker: b
  subscriber: {uri: "http://example.test/"}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: overrides}
spec:
  broker: b
  subscriber: {uri: "http://example.test/"}
  delivery: {retry: 1}
`)
	cfg, err := LoadConfig(dir)
	require.NoError(t, err)

	inherits, _ := cfg.Trigger("inherits")
	assert.EqualValues(t, 3, *inherits.Delivery.Retry, "no trigger delivery: the broker's applies")
	assert.Equal(t, "dead", inherits.Delivery.DeadLetterSink.Ref.Name)

	overrides, _ := cfg.Trigger("overrides")
	assert.EqualValues(t, 1, *overrides.Delivery.Retry, "the trigger's delivery wins whole")
	assert.Nil(t, overrides.Delivery.BackoffPolicy)
	require.NotNil(t, overrides.Delivery.DeadLetterSink, "the broker's dead-letter sink fills in")
	assert.Equal(t, "dead", overrides.Delivery.DeadLetterSink.Ref.Name)
	assert.False(t, overrides.Ordered)
}

func TestNewCreatesTheBrokerAndDeadLetterTopics(t *testing.T) {
	t.Parallel()
	cluster, _ := MustStart(t, "", nil)

	client, err := kgo.NewClient(kgo.SeedBrokers(cluster.Seeds()...))
	require.NoError(t, err)
	defer client.Close()
	topics, err := kadm.NewClient(client).ListTopics(t.Context())
	require.NoError(t, err)
	require.True(t, topics.Has("knative-broker-default-b"))
	assert.Len(t, topics["knative-broker-default-b"].Partitions, 4, "default.topic.partitions of the broker's ConfigMap")
	assert.True(t, topics.Has("dead-letters"))
}

func TestLoadConfigFailsFast(t *testing.T) {
	tests := map[string]string{
		"invalid trigger": `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: no-subscriber}
spec: {broker: b}
`,
		"unknown field": `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: typo}
spec:
  broker: b
  subscriber: {uri: "http://example.test/"}
  filterz: []
`,
		"bad backoff delay": `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: slow}
spec:
  broker: b
  subscriber: {uri: "http://example.test/"}
  delivery: {backoffDelay: "two seconds"}
`,
		"other broker": `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: elsewhere}
spec:
  broker: other
  subscriber: {uri: "http://example.test/"}
`,
		"missing kafka sink": `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: lost}
spec:
  broker: b
  subscriber: {uri: "http://example.test/"}
  delivery:
    deadLetterSink:
      ref: {apiVersion: eventing.knative.dev/v1alpha1, kind: KafkaSink, name: nowhere}
`,
		"bad order": `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: sorted
  annotations: {kafka.eventing.knative.dev/delivery.order: sorted}
spec:
  broker: b
  subscriber: {uri: "http://example.test/"}
`,
		"second broker": `
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: b2
  annotations: {eventing.knative.dev/broker.class: Kafka}
`,
		"no kind": `
metadata: {name: what}
`,
	}
	for name, manifest := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := LoadConfig(MustManifests(t, manifest))
			assert.Error(t, err)
			t.Log(err)
		})
	}
}

// assertOutlastsAnOutage checks the sizing of a trigger's delivery that
// SPEC 5 asks for ("a trigger's retries outlast a realistic outage"), as
// this broker runs it: the backoffs of a subscriber that never answers add
// up to more than ten minutes, no two tries are more than a minute apart
// (a consumer that comes back gets its events within that minute), and
// every try has a timeout, so a hung subscriber cannot hold its ordered
// partition for ever.
func assertOutlastsAnOutage(t *testing.T, trigger TriggerConfig) {
	t.Helper()
	policy, err := retryPolicy(trigger.Delivery)
	require.NoError(t, err)
	var total, longest time.Duration
	for attempt := range policy.RetryMax {
		wait := backoff(policy, attempt, answer{status: http.StatusServiceUnavailable})
		total += wait
		longest = max(longest, wait)
	}
	assert.GreaterOrEqual(t, total, 10*time.Minute, "%s gives up after %s of retries", trigger.Name, total)
	assert.LessOrEqual(t, longest, time.Minute, "%s waits up to %s between two tries", trigger.Name, longest)
	assert.Positive(t, policy.RequestTimeout, "%s sets no per-try timeout", trigger.Name)
	assert.LessOrEqual(t, policy.RequestTimeout, time.Minute, "%s", trigger.Name)
}
