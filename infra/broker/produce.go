package broker

import (
	"context"
	"errors"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Waits between attempts to write a reply or dead letter while Kafka does
// not acknowledge it.
const (
	firstProduceRetry = 100 * time.Millisecond
	lastProduceRetry  = 5 * time.Second
)

// producer writes events to Kafka. Every write waits for Kafka's
// acknowledgement (all in-sync replicas, idempotent), so an event it
// reports written survives a crash of the broker process. Each record
// carries the span context of the write in its traceparent header.
type producer struct {
	client *kgo.Client
}

// produce writes e to topic once.
func (p producer) produce(ctx context.Context, topic string, e cloudevents.Event, contentMode string) error {
	record, err := newRecord(topic, e, contentMode)
	if err != nil {
		return err
	}
	injectRecord(ctx, record)
	return p.client.ProduceSync(ctx, record).FirstErr()
}

// errKafkaLost is why a write was given up when Kafka turned unreachable.
var errKafkaLost = errors.New("kafka became unreachable")

// produceUnless writes e to topic once, but gives up waiting for Kafka's
// acknowledgement when ctx ends or lost is closed. A write given up on may
// still be acknowledged later: franz-go cannot take back a record it may
// have sent.
func (p producer) produceUnless(ctx context.Context, lost <-chan struct{}, topic string, e cloudevents.Event, contentMode string) error {
	record, err := newRecord(topic, e, contentMode)
	if err != nil {
		return err
	}
	injectRecord(ctx, record)
	done := make(chan error, 1)
	p.client.Produce(ctx, record, func(_ *kgo.Record, err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-lost:
		return errKafkaLost
	}
}

// produceUntilAcknowledged writes e to topic, trying again with a growing
// wait until Kafka acknowledges it or ctx ends, and reports each failure
// to onFailure. Dispatchers use it for replies and dead letters: the
// record they come from must not be committed before they are written,
// and while Kafka is unreachable no dispatcher can make progress anyway.
// It gives up at once on an error that trying again cannot cure (a record
// too large, a topic it may not write), returning it.
func (p producer) produceUntilAcknowledged(ctx context.Context, topic string, e cloudevents.Event, contentMode string, onFailure func(error)) error {
	wait := firstProduceRetry
	for {
		err := p.produce(ctx, topic, e, contentMode)
		if err == nil || ctx.Err() != nil || permanent(err) {
			return err
		}
		onFailure(err)
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
		wait = min(2*wait, lastProduceRetry)
	}
}

// permanent reports whether Kafka refused a write for good.
func permanent(err error) bool {
	var kafkaErr *kerr.Error
	return errors.As(err, &kafkaErr) && !kafkaErr.Retriable
}
