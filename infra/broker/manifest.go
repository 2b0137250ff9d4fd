package broker

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/apis/feature"

	"github.com/carrot-market/carrot/infra/manifest"
)

const (
	kindKafkaSink = "KafkaSink"
	kindConfigMap = "ConfigMap"

	partitionsKey = "default.topic.partitions"
)

// LoadConfig reads every .yaml and .yml file directly in dir (for carrot,
// knative/eventing) and returns the one Broker, its Triggers and the
// KafkaSinks. Kinds the broker does not run (Service, PingSource,
// SinkBinding, other ConfigMaps...) are skipped; the broker's ConfigMap is
// read for default.topic.partitions.
//
// It fails fast on a manifest Knative would refuse: every document is
// decoded strictly into its API type (package manifest), and Broker and
// Trigger are checked with their own Validate (with Knative's default
// feature flags, plus delivery-retryafter so that retryAfterMax may be
// set). It also fails on what the broker could not run: no broker or
// several, a trigger of another broker, a dead-letter KafkaSink that is
// not in dir, a bad delivery.order value.
func LoadConfig(dir string) (*Config, error) {
	docs, err := manifest.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("broker: read manifests: %w", err)
	}
	m := manifests{
		brokers:    manifest.Objects[*eventingv1.Broker](docs),
		triggers:   manifest.Objects[*eventingv1.Trigger](docs),
		sinks:      manifest.Objects[*manifest.KafkaSink](docs),
		configMaps: map[string]map[string]string{},
	}
	for _, c := range manifest.Objects[*corev1.ConfigMap](docs) {
		m.configMaps[c.Name] = c.Data
	}
	cfg, err := m.config(validationContext())
	if err != nil {
		return nil, fmt.Errorf("broker: %s: %w", dir, err)
	}
	return cfg, nil
}

// manifests are the documents LoadConfig reads, before they are checked
// against each other.
type manifests struct {
	brokers    []*eventingv1.Broker
	triggers   []*eventingv1.Trigger
	sinks      []*manifest.KafkaSink
	configMaps map[string]map[string]string
}

// config checks the documents against each other and builds the Config.
func (m *manifests) config(ctx context.Context) (*Config, error) {
	if len(m.brokers) != 1 {
		return nil, fmt.Errorf("want exactly one Broker, found %d", len(m.brokers))
	}
	broker, err := m.broker(ctx, *m.brokers[0])
	if err != nil {
		return nil, err
	}
	cfg := &Config{Broker: broker, KafkaSinks: map[string]KafkaSink{}}
	for _, s := range m.sinks {
		sink, err := kafkaSinkFrom(s)
		if err != nil {
			return nil, err
		}
		cfg.KafkaSinks[sink.Name] = sink
	}
	for _, t := range m.triggers {
		trigger, err := m.trigger(ctx, broker, *t)
		if err != nil {
			return nil, err
		}
		if _, dup := cfg.Trigger(trigger.Name); dup {
			return nil, fmt.Errorf("Trigger %s is defined twice", trigger.Name)
		}
		if err := checkDeadLetterSink(cfg, trigger); err != nil {
			return nil, err
		}
		cfg.Triggers = append(cfg.Triggers, trigger)
	}
	slices.SortFunc(cfg.Triggers, func(a, b TriggerConfig) int { return strings.Compare(a.Name, b.Name) })
	return cfg, nil
}

func (m *manifests) broker(ctx context.Context, b eventingv1.Broker) (BrokerConfig, error) {
	if b.Namespace == "" {
		b.Namespace = DefaultNamespace
	}
	if err := b.Validate(ctx); err != nil {
		return BrokerConfig{}, fmt.Errorf("Broker %s: %w", b.Name, err)
	}
	partitions := int32(DefaultPartitions)
	if b.Spec.Config != nil && b.Spec.Config.Kind == kindConfigMap {
		if value, ok := m.configMaps[b.Spec.Config.Name][partitionsKey]; ok {
			n, err := strconv.ParseInt(value, 10, 32)
			if err != nil || n < 1 {
				return BrokerConfig{}, fmt.Errorf("ConfigMap %s: %s is %q, not a partition count", b.Spec.Config.Name, partitionsKey, value)
			}
			partitions = int32(n)
		}
	}
	return BrokerConfig{
		Name:       b.Name,
		Namespace:  b.Namespace,
		Class:      b.Annotations[eventingv1.BrokerClassAnnotationKey],
		Topic:      brokerTopic(b.Namespace, b.Name),
		Partitions: partitions,
		Delivery:   b.Spec.Delivery.DeepCopy(),
	}, nil
}

func (m *manifests) trigger(ctx context.Context, broker BrokerConfig, t eventingv1.Trigger) (TriggerConfig, error) {
	if t.Namespace == "" {
		t.Namespace = DefaultNamespace
	}
	t.SetDefaults(ctx)
	if err := t.Validate(ctx); err != nil {
		return TriggerConfig{}, fmt.Errorf("Trigger %s: %w", t.Name, err)
	}
	if t.Spec.Broker != broker.Name || t.Namespace != broker.Namespace {
		return TriggerConfig{}, fmt.Errorf("Trigger %s belongs to broker %s/%s, not %s/%s", t.Name, t.Namespace, t.Spec.Broker, broker.Namespace, broker.Name)
	}
	ordered := false
	switch order := t.Annotations[OrderAnnotation]; order {
	case OrderOrdered:
		ordered = true
	case OrderUnordered, "":
	default:
		return TriggerConfig{}, fmt.Errorf("Trigger %s: %s is %q, want %q or %q", t.Name, OrderAnnotation, order, OrderOrdered, OrderUnordered)
	}
	return TriggerConfig{
		Name:       t.Name,
		Namespace:  t.Namespace,
		Ordered:    ordered,
		Filters:    t.Spec.Filters,
		Filter:     t.Spec.Filter,
		Subscriber: t.Spec.Subscriber,
		Delivery:   mergeDelivery(broker.Delivery, t.Spec.Delivery),
	}, nil
}

func kafkaSinkFrom(s *manifest.KafkaSink) (KafkaSink, error) {
	sink := KafkaSink{Name: s.Name, Topic: s.Spec.Topic, ContentMode: ContentModeBinary}
	if s.Spec.ContentMode != nil && *s.Spec.ContentMode != "" {
		sink.ContentMode = *s.Spec.ContentMode
	}
	switch {
	case sink.Name == "" || sink.Topic == "":
		return KafkaSink{}, fmt.Errorf("KafkaSink %q needs metadata.name and spec.topic", sink.Name)
	case sink.ContentMode != ContentModeBinary && sink.ContentMode != ContentModeStructured:
		return KafkaSink{}, fmt.Errorf("KafkaSink %s: contentMode %q is neither %s nor %s", sink.Name, sink.ContentMode, ContentModeBinary, ContentModeStructured)
	}
	return sink, nil
}

// checkDeadLetterSink fails when a trigger dead-letters to a KafkaSink that
// the manifests do not define: its events would have nowhere to go.
func checkDeadLetterSink(cfg *Config, t TriggerConfig) error {
	if t.Delivery == nil || t.Delivery.DeadLetterSink == nil || !isKafkaSinkRef(t.Delivery.DeadLetterSink.Ref) {
		return nil
	}
	if _, ok := cfg.kafkaSinkOf(t.Delivery); !ok {
		return fmt.Errorf("Trigger %s dead-letters to KafkaSink %s, which is not defined", t.Name, t.Delivery.DeadLetterSink.Ref.Name)
	}
	return nil
}

// validationContext carries the feature flags manifests are validated
// with: Knative's defaults, plus delivery-retryafter.
func validationContext() context.Context {
	flags, err := feature.NewFlagsConfigFromMap(map[string]string{feature.DeliveryRetryAfter: string(feature.Enabled)})
	if err != nil {
		panic(err) // The map above is constant; this cannot fail.
	}
	return feature.ToContext(context.Background(), flags)
}
