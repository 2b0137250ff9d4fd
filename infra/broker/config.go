package broker

import (
	"fmt"
	"slices"

	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// DefaultNamespace is the namespace of every object whose manifest names
// none, as kubectl apply would place it.
const DefaultNamespace = "default"

// DefaultPartitions is the partition count of the broker topic when the
// broker's ConfigMap does not set default.topic.partitions.
const DefaultPartitions = 10

// OrderAnnotation is the Kafka broker's annotation that makes a trigger
// deliver one record at a time per partition, in order. Its values are
// OrderOrdered and OrderUnordered, the default.
const (
	OrderAnnotation = "kafka.eventing.knative.dev/delivery.order"
	OrderOrdered    = "ordered"
	OrderUnordered  = "unordered"
)

// Content modes of a KafkaSink: structured puts the whole event as JSON in
// the record value, binary puts attributes in ce_ headers and the data in
// the value. Knative's default is binary.
const (
	ContentModeStructured = "structured"
	ContentModeBinary     = "binary"
)

// Config is what the broker needs from the Knative manifests: one Broker,
// its Triggers and the KafkaSinks they dead-letter to.
type Config struct {
	Broker     BrokerConfig
	Triggers   []TriggerConfig      // sorted by name
	KafkaSinks map[string]KafkaSink // by name
}

// BrokerConfig is one Knative Broker.
type BrokerConfig struct {
	Name      string
	Namespace string
	Class     string // the eventing.knative.dev/broker.class annotation, e.g. Kafka
	// Topic holds every event sent to the broker, named as Knative's Kafka
	// broker names it: knative-broker-<namespace>-<name>.
	Topic string
	// Partitions is the ConfigMap's default.topic.partitions, else
	// DefaultPartitions. The replication factor of the ConfigMap is not
	// used: topics are created with the cluster's default, so that one
	// local broker node is enough.
	Partitions int32
	// Delivery is the default of every trigger that sets none; nil when
	// the broker sets none either.
	Delivery *eventingduckv1.DeliverySpec
}

// TriggerConfig is one Knative Trigger of the broker.
type TriggerConfig struct {
	Name      string
	Namespace string
	// Ordered is true when OrderAnnotation says ordered: one record at a
	// time per partition, and a failing record blocks its partition while
	// it is retried.
	Ordered bool
	// Filters are the SubscriptionsAPI filters (spec.filters). When there
	// are none, Filter (spec.filter.attributes) applies, as in Knative.
	Filters []eventingv1.SubscriptionsAPIFilter
	Filter  *eventingv1.TriggerFilter
	// Subscriber is a ref whose name the runtime resolves to a URL, or a
	// URI, or a ref with a relative URI appended to the ref's URL.
	Subscriber duckv1.Destination
	// Delivery is the effective delivery spec, merged as Knative merges it:
	// the trigger's spec when it sets one, else the broker's; and the
	// broker's dead-letter sink when the trigger's spec names none. Nil
	// means one attempt and no dead-letter sink.
	Delivery *eventingduckv1.DeliverySpec
}

// ConsumerGroup is the Kafka consumer group of the trigger, named as
// Knative's Kafka broker names it by default.
func (t TriggerConfig) ConsumerGroup() string {
	return "knative-trigger-" + t.Namespace + "-" + t.Name
}

// KafkaSink is an eventing.knative.dev/v1alpha1 KafkaSink: a topic that
// events are written to, here used as a dead-letter sink.
type KafkaSink struct {
	Name        string
	Topic       string
	ContentMode string // ContentModeStructured or ContentModeBinary
}

// DeadLetterTopics lists the topics of the KafkaSinks the triggers
// dead-letter to, sorted and without repeats.
func (c *Config) DeadLetterTopics() []string {
	var topics []string
	for _, t := range c.Triggers {
		if sink, ok := c.kafkaSinkOf(t.Delivery); ok {
			topics = append(topics, sink.Topic)
		}
	}
	slices.Sort(topics)
	return slices.Compact(topics)
}

// Trigger returns the trigger called name.
func (c *Config) Trigger(name string) (TriggerConfig, bool) {
	for _, t := range c.Triggers {
		if t.Name == name {
			return t, true
		}
	}
	return TriggerConfig{}, false
}

// kafkaSinkOf returns the KafkaSink that delivery dead-letters to, if its
// dead-letter sink is a ref to a KafkaSink.
func (c *Config) kafkaSinkOf(delivery *eventingduckv1.DeliverySpec) (KafkaSink, bool) {
	if delivery == nil || delivery.DeadLetterSink == nil || !isKafkaSinkRef(delivery.DeadLetterSink.Ref) {
		return KafkaSink{}, false
	}
	sink, ok := c.KafkaSinks[delivery.DeadLetterSink.Ref.Name]
	return sink, ok
}

func isKafkaSinkRef(ref *duckv1.KReference) bool {
	return ref != nil && ref.Kind == kindKafkaSink
}

// brokerTopic is the topic name Knative's Kafka broker gives a broker.
func brokerTopic(namespace, name string) string {
	return fmt.Sprintf("knative-broker-%s-%s", namespace, name)
}

// mergeDelivery returns the delivery spec a trigger runs with, as Knative's
// trigger reconciler computes it: the trigger's own spec wins whole when
// set; the broker's dead-letter sink fills in when the trigger names none.
func mergeDelivery(broker, trigger *eventingduckv1.DeliverySpec) *eventingduckv1.DeliverySpec {
	merged := trigger.DeepCopy()
	if merged == nil {
		return broker.DeepCopy()
	}
	if merged.DeadLetterSink == nil && broker != nil && broker.DeadLetterSink != nil {
		merged.DeadLetterSink = broker.DeadLetterSink.DeepCopy()
	}
	return merged
}
