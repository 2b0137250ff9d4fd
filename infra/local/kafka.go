package local

import (
	"time"

	"go.uber.org/zap"

	"github.com/carrot-market/carrot/infra/broker"
)

// kafkaSwitch stops and starts the runtime's in-process Kafka for the
// broker-outage drill. cluster is nil when Kafka is external.
type kafkaSwitch struct {
	cluster *broker.Cluster
	broker  *broker.Broker
	log     *zap.SugaredLogger
	// relay is kicked once the broker reaches Kafka again, so the outbox
	// relay runs at once rather than at its next tick.
	relay chan<- struct{}
}

// reachAgain bounds the wait for the broker to see Kafka back.
const reachAgain = 30 * time.Second

// KafkaStatus is the kafka part of GET /_local/status.
type KafkaStatus struct {
	// Up is true while the in-process Kafka runs, or, for an external
	// one, while the broker reaches it.
	Up bool `json:"up"`
	// External is true for KAFKA_BOOTSTRAP_SERVERS, which the runtime
	// cannot switch off.
	External bool `json:"external"`
}

func (k *kafkaSwitch) status() KafkaStatus {
	if k.cluster == nil {
		return KafkaStatus{Up: k.broker.KafkaReachable(), External: true}
	}
	return KafkaStatus{Up: k.cluster.Running()}
}

// SetKafka stops the in-process Kafka (saving everything it acknowledged
// to its data dir) or starts it again on the same address and data dir.
// While it is down the broker's ingress answers 503 and the functions'
// outboxes keep their events; once it is up the dispatchers resume from
// their committed offsets.
func (k *kafkaSwitch) SetKafka(up bool) error {
	if k.cluster == nil {
		return ErrExternalKafka
	}
	if up {
		if err := k.cluster.Start(); err != nil {
			return err
		}
		k.log.Infow("Kafka started again", "bootstrap", k.cluster.Seeds())
		go k.kickRelay()
		return nil
	}
	if err := k.cluster.Stop(); err != nil {
		return err
	}
	k.log.Warnw("Kafka stopped on request; the broker ingress answers 503 until POST /_local/kafka/up")
	return nil
}

// kickRelay wakes the outbox relay once the broker reaches Kafka again.
// Each function drains its own outbox within seconds anyway; this catches
// what a function stopped during the outage left behind.
func (k *kafkaSwitch) kickRelay() {
	if k.relay == nil {
		return
	}
	for deadline := time.Now().Add(reachAgain); !k.broker.KafkaReachable(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			return
		}
	}
	select {
	case k.relay <- struct{}{}:
	default: // a kick is pending already
	}
}
