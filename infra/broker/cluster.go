package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Cluster is an in-process, single-node Kafka cluster (franz-go's kfake)
// that speaks the real Kafka protocol, so kcat and every Kafka client can
// use it. It keeps everything in memory unless WithDataDir is given.
// Topics are created on first use with DefaultPartitions partitions; New
// creates the broker's topics with the configured count. Its methods are
// safe for concurrent use.
type Cluster struct {
	opts    []kfake.Opt // without the listener
	dataDir string

	mu     sync.Mutex
	fake   *kfake.Cluster // nil while stopped
	addrs  []string       // where it listens, kept across Stop and Start
	closed bool
}

// ClusterOption configures StartCluster.
type ClusterOption func(*Cluster)

// WithDataDir keeps the cluster's topics, records and committed offsets in
// dir, so that a cluster started again on the same dir carries on where
// the last one stopped. Stop and Start need it.
func WithDataDir(dir string) ClusterOption {
	return func(c *Cluster) {
		c.dataDir = dir
		c.opts = append(c.opts, kfake.DataDir(dir))
	}
}

// ErrNoDataDir is returned by Stop for a cluster that keeps everything in
// memory: stopping it would lose everything.
var ErrNoDataDir = errors.New("broker: a Kafka cluster without a data dir cannot be stopped and started again")

// StartCluster starts a cluster listening on addr, for example
// 127.0.0.1:9092, or 127.0.0.1:0 for a free port (see Seeds).
func StartCluster(addr string, opts ...ClusterOption) (*Cluster, error) {
	c := &Cluster{opts: []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(DefaultPartitions),
	}}
	for _, opt := range opts {
		opt(c)
	}
	fake, err := c.listen(addr)
	if err != nil {
		return nil, err
	}
	c.fake, c.addrs = fake, fake.ListenAddrs()
	return c, nil
}

func (c *Cluster) listen(addr string) (*kfake.Cluster, error) {
	opts := append(slices.Clone(c.opts),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, addr) }))
	fake, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("broker: start kafka on %s: %w", addr, err)
	}
	return fake, nil
}

// Seeds returns the bootstrap servers of the cluster, for New. They stay
// the same across Stop and Start.
func (c *Cluster) Seeds() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.addrs)
}

// Running reports whether the cluster serves: started and not stopped.
func (c *Cluster) Running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fake != nil
}

// Stop shuts the cluster down as a crash of the Kafka node would look to
// its clients (their connections close, new ones are refused), after
// saving its topics, records and committed offsets to the data dir. It
// fails with ErrNoDataDir for a cluster kept in memory. Stopping a stopped
// cluster does nothing.
func (c *Cluster) Stop() error {
	if c.dataDir == "" {
		return ErrNoDataDir
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fake != nil {
		c.fake.Close()
		c.fake = nil
	}
	return nil
}

// Start starts a stopped cluster again on the same address and data dir,
// so that it carries on with everything Kafka acknowledged before Stop:
// clients reconnect on their own, and consumer groups rejoin and resume
// from their committed offsets. Starting a running cluster does nothing.
func (c *Cluster) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return errors.New("broker: the Kafka cluster is closed")
	case c.fake != nil:
		return nil
	}
	fake, err := c.listen(c.addrs[0])
	if err != nil {
		return err
	}
	c.fake = fake
	return nil
}

// Close stops the cluster for good; with WithDataDir it first saves its
// state.
func (c *Cluster) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.fake != nil {
		c.fake.Close()
		c.fake = nil
	}
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
