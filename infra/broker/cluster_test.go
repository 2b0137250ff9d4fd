package broker

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestNewCreatesTheBrokerAndDeadLetterTopics(t *testing.T) {
	t.Parallel()
	cluster, _ := MustStart(t, "", nil)

	client, err := kgo.NewClient(kgo.SeedBrokers(cluster.Seeds()...))
	require.NoError(t, err)
	defer client.Close()
	topics, err := kadm.NewClient(client).ListTopics(context.Background())
	require.NoError(t, err)
	require.True(t, topics.Has("knative-broker-default-b"))
	assert.Len(t, topics["knative-broker-default-b"].Partitions, 4, "default.topic.partitions of the broker's ConfigMap")
	assert.True(t, topics.Has("dead-letters"))
}

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
