// Package broker runs Knative Eventing's Broker and Trigger semantics on a
// real Kafka protocol for carrot's local runtime, the way Knative's Kafka
// broker does in a cluster.
//
// LoadConfig reads the Broker, Triggers and KafkaSinks from carrot's
// manifests (knative/eventing) into Knative's own API types and validates
// them with Knative's own rules. StartCluster runs an in-process Kafka
// cluster (kfake) that kcat and every Kafka client can talk to; an
// external cluster works the same when its seed brokers are passed to New.
//
// A Broker has an HTTP ingress that appends CloudEvents to one topic,
// knative-broker-<namespace>-<name>, keyed by the partitionkey extension,
// and one dispatcher per Trigger. Each dispatcher is its own consumer
// group: it applies the trigger's filters with Knative's filter code,
// delivers matching events to the subscriber in binary mode with the
// Knative retry contract, sends what cannot be delivered to the dead-letter
// sink with the knativeerror* extensions, and publishes reply events back
// to the broker topic.
//
// Delivery is at least once. An offset is committed only after its record
// was delivered, dead-lettered or filtered out, so a broker that stops, or
// crashes, resumes where it stopped; the records in flight at that moment
// are delivered again. Subscribers must be idempotent.
package broker
