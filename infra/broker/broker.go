package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// setupTimeout bounds what New asks of Kafka before it gives up.
const setupTimeout = 15 * time.Second

// Resolver returns the URL of an addressable (a Knative Service) by name.
// It is called before every delivery attempt. The runtime's resolver may
// route through a scale-from-zero activator, whose URL answers 503 while
// an instance starts: that is retried like any 503.
type Resolver func(name string) (string, error)

// Broker is a Knative Broker on Kafka: an ingress that appends events to
// the broker topic, and one dispatcher per trigger. Create it with New and
// stop it with Close.
type Broker struct {
	cfg         *Config
	kafka       *kgo.Client // produces for the ingress, replies and KafkaSinks
	producer    producer
	admin       *kadm.Client
	dispatchers []*dispatcher
	opts        options
	health      *kafkaHealth
	stopHealth  context.CancelFunc
	healthDone  chan struct{}
	closeOnce   sync.Once
}

// New creates the broker topic and the KafkaSinks' topics when missing,
// joins one consumer group per trigger and starts dispatching. seeds are
// the Kafka bootstrap servers (Cluster.Seeds, or KAFKA_BOOTSTRAP_SERVERS);
// resolve turns a subscriber's (or dead-letter sink's) ref name into a
// URL. New fails when cfg cannot run or Kafka cannot be reached.
func New(cfg *Config, seeds []string, resolve Resolver, opts ...Option) (*Broker, error) {
	if cfg == nil || cfg.Broker.Topic == "" || cfg.Broker.Partitions < 1 {
		return nil, errors.New("broker: a config with a broker topic and partitions is required")
	}
	if len(seeds) == 0 {
		return nil, errors.New("broker: no Kafka seed brokers")
	}
	o := newOptions(opts)
	if o.maxInFlight < 1 || o.commitInterval <= 0 || o.produceTimeout <= 0 {
		return nil, errors.New("broker: max in flight, commit interval and produce timeout must be positive")
	}
	kafka, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(seeds...),
		// franz-go allows no record timeout under a second; the ingress
		// bounds its own wait with a context as well.
		kgo.RecordDeliveryTimeout(max(o.produceTimeout, time.Second)),
		// Every write waits for its acknowledgement before the ingress
		// answers, so franz-go's default 10 ms linger would be added to
		// every event (the ingress took 5,000 events/s at 64 in flight,
		// 12.6 ms each, on a third of a core). Records still batch while a
		// produce request is in flight.
		kgo.ProducerLinger(0),
	}, o.kafka...)...)
	if err != nil {
		return nil, fmt.Errorf("broker: kafka client: %w", err)
	}
	healthCtx, stopHealth := context.WithCancel(context.Background())
	b := &Broker{
		cfg: cfg, kafka: kafka, producer: producer{client: kafka}, admin: kadm.NewClient(kafka), opts: o,
		health: newKafkaHealth(), stopHealth: stopHealth, healthDone: make(chan struct{}),
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if err := ensureTopics(ctx, kafka, cfg); err != nil {
		stopHealth()
		kafka.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	go func() {
		defer close(b.healthDone)
		b.health.watch(healthCtx, kafka, o.log)
	}()
	for _, trigger := range cfg.Triggers {
		d, err := b.newDispatcher(trigger, seeds, resolve)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("broker: trigger %s: %w", trigger.Name, err)
		}
		d.start()
		b.dispatchers = append(b.dispatchers, d)
	}
	return b, nil
}

func (b *Broker) newDispatcher(t TriggerConfig, seeds []string, resolve Resolver) (*dispatcher, error) {
	policy, err := retryPolicy(t.Delivery)
	if err != nil {
		return nil, err
	}
	filter, err := newFilter(t)
	if err != nil {
		return nil, err
	}
	log := b.opts.log.With("trigger", t.Name)
	ctx, cancel := context.WithCancel(context.Background())
	d := &dispatcher{
		trigger:     t,
		topic:       b.cfg.Broker.Topic,
		filter:      filter,
		policy:      policy,
		subscriber:  subscriberURL(t.Subscriber, resolve),
		poster:      poster{client: b.opts.httpClient, structured: deliversStructured(t.Delivery)},
		replies:     b.producer,
		log:         log,
		maxInFlight: b.opts.maxInFlight,
		ctx:         ctx,
		cancel:      cancel,
		done:        make(chan struct{}),
		partitions:  map[int32]*partitionWorker{},
	}
	if t.Ordered {
		d.maxInFlight = 1
	}
	if d.deadLetter, err = b.deadLetterSinkOf(t, d, resolve); err != nil {
		cancel()
		return nil, err
	}
	d.client, err = kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.ConsumerGroup(t.ConsumerGroup()),
		kgo.ConsumeTopics(b.cfg.Broker.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// The Java client's fetch.max.wait.ms. franz-go's 5s default can
		// hold back a group that resumes: a first fetch of only the
		// partitions whose offsets loaded first waits that long.
		kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(b.opts.commitInterval),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsRevoked(d.onRevoked),
		kgo.OnPartitionsLost(d.onLost),
	}, b.opts.kafka...)...)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("kafka consumer: %w", err)
	}
	return d, nil
}

// deadLetterSinkOf returns where t's failed events go: a KafkaSink's topic,
// or a URL for any other sink; nil when t has no dead-letter sink.
func (b *Broker) deadLetterSinkOf(t TriggerConfig, d *dispatcher, resolve Resolver) (deadLetterSink, error) {
	if t.Delivery == nil || t.Delivery.DeadLetterSink == nil {
		return nil, nil
	}
	dest := *t.Delivery.DeadLetterSink
	if isKafkaSinkRef(dest.Ref) {
		sink, ok := b.cfg.kafkaSinkOf(t.Delivery)
		if !ok {
			return nil, fmt.Errorf("dead-letter KafkaSink %s is not in the config", dest.Ref.Name)
		}
		return kafkaDeadLetters{sink: sink, producer: b.producer, onError: d.kafkaFailed}, nil
	}
	name := dest.URI.String()
	if dest.Ref != nil {
		name = dest.Ref.Kind + " " + dest.Ref.Name
	}
	return httpDeadLetters{target: subscriberURL(dest, resolve), poster: d.poster, policy: d.policy, name: name}, nil
}

// KafkaReachable reports whether Kafka answered the broker's last pings.
// While it does not, the ingress answers 503 at once and dispatchers wait;
// they resume on their own once it is back.
func (b *Broker) KafkaReachable() bool {
	reachable, _ := b.health.state()
	return reachable
}

// Close stops every dispatcher, abandoning the deliveries in flight (they
// are not committed and will be delivered again), commits what finished,
// leaves the consumer groups and closes the Kafka clients. The ingress
// answers 503 afterwards. Close is safe to call more than once.
func (b *Broker) Close() {
	b.closeOnce.Do(func() {
		b.stopHealth()
		<-b.healthDone
		var wg sync.WaitGroup
		for _, d := range b.dispatchers {
			wg.Go(d.close)
		}
		wg.Wait()
		b.kafka.Close()
	})
}
