package broker

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Cluster is an in-process, single-node Kafka cluster (franz-go's kfake)
// that speaks the real Kafka protocol, so kcat and every Kafka client can
// use it. It keeps everything in memory unless WithDataDir is given.
// Topics are created on first use with DefaultPartitions partitions; New
// creates the broker's topics with the configured count.
type Cluster struct {
	fake *kfake.Cluster
}

// ClusterOption configures StartCluster.
type ClusterOption func(*[]kfake.Opt)

// WithDataDir keeps the cluster's topics, records and committed offsets in
// dir, so that a cluster started again on the same dir carries on where
// the last one stopped.
func WithDataDir(dir string) ClusterOption {
	return func(opts *[]kfake.Opt) { *opts = append(*opts, kfake.DataDir(dir)) }
}

// StartCluster starts a cluster listening on addr, for example
// 127.0.0.1:9092, or 127.0.0.1:0 for a free port (see Seeds).
func StartCluster(addr string, opts ...ClusterOption) (*Cluster, error) {
	fakeOpts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, addr) }),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(DefaultPartitions),
	}
	for _, opt := range opts {
		opt(&fakeOpts)
	}
	fake, err := kfake.NewCluster(fakeOpts...)
	if err != nil {
		return nil, fmt.Errorf("broker: start kafka on %s: %w", addr, err)
	}
	return &Cluster{fake: fake}, nil
}

// Seeds returns the bootstrap servers of the cluster, for New.
func (c *Cluster) Seeds() []string {
	return c.fake.ListenAddrs()
}

// Close stops the cluster; with WithDataDir it first saves its state.
func (c *Cluster) Close() {
	c.fake.Close()
}

// ensureTopics creates the broker topic with the configured partition
// count and the topic of every KafkaSink with the cluster's default, as
// Knative's controllers do, and leaves existing topics as they are.
// Replication is the cluster's default.
func ensureTopics(ctx context.Context, client *kgo.Client, cfg *Config) error {
	adm := kadm.NewClient(client)
	want := map[string]int32{cfg.Broker.Topic: cfg.Broker.Partitions}
	for _, sink := range cfg.KafkaSinks {
		want[sink.Topic] = -1
	}
	for topic, partitions := range want {
		resp, err := adm.CreateTopic(ctx, partitions, -1, nil, topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", topic, err)
		}
	}
	return nil
}
