package broker

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"knative.dev/eventing/pkg/eventfilter"
	"knative.dev/eventing/pkg/kncloudevents"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/logging"
)

// pollBatch bounds how many records one poll hands to the partitions.
const pollBatch = 500

// commitTimeout bounds the final commit when a dispatcher stops.
const commitTimeout = 5 * time.Second

// dispatcher is one trigger: its own consumer group on the broker topic,
// one partitionWorker per assigned partition, and the trigger's filter,
// subscriber, retry policy and dead-letter sink.
type dispatcher struct {
	trigger    TriggerConfig
	topic      string
	filter     eventfilter.Filter
	policy     kncloudevents.RetryConfig
	deadLetter deadLetterSink // nil: failed events are dropped
	subscriber func() (string, error)
	poster     poster
	replies    producer
	log        *zap.SugaredLogger
	counters   triggerCounters

	client      *kgo.Client
	maxInFlight int

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu         sync.Mutex
	partitions map[int32]*partitionWorker
}

// subscriberURL returns the URL the trigger's subscriber has right now: its
// URI, or the URL resolve gives its ref's name with a relative URI
// appended, as Knative resolves a Destination.
func subscriberURL(dest duckv1.Destination, resolve func(string) (string, error)) func() (string, error) {
	return func() (string, error) {
		if dest.Ref == nil {
			if dest.URI == nil {
				return "", errors.New("destination has neither ref nor uri")
			}
			return dest.URI.String(), nil
		}
		base, err := resolve(dest.Ref.Name)
		if err != nil {
			return "", err
		}
		if dest.URI == nil {
			return base, nil
		}
		u, err := url.Parse(base)
		if err != nil {
			return "", fmt.Errorf("%s resolved to %q: %w", dest.Ref.Name, base, err)
		}
		return u.ResolveReference(dest.URI.URL()).String(), nil
	}
}

// start joins the consumer group and runs until close.
func (d *dispatcher) start() {
	go d.poll()
}

// poll hands fetched records to their partition's worker. It never blocks
// on a worker, so one partition stuck in retries does not hold up others.
func (d *dispatcher) poll() {
	defer close(d.done)
	for {
		fetches := d.client.PollRecords(d.ctx, pollBatch)
		if d.ctx.Err() != nil || fetches.IsClientClosed() {
			d.client.AllowRebalance()
			return
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			d.counters.fail(fmt.Errorf("fetch %s[%d]: %w", topic, partition, err))
			d.log.Warnw("fetch failed", "topic", topic, "partition", partition, "error", err)
		})
		d.mu.Lock()
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) > 0 {
				d.worker(p.Partition).enqueue(p.Records)
			}
		})
		d.mu.Unlock()
		d.client.AllowRebalance()
	}
}

// worker returns the partition's worker, starting it on first use. The
// caller holds d.mu.
func (d *dispatcher) worker(partition int32) *partitionWorker {
	if w, ok := d.partitions[partition]; ok {
		return w
	}
	ctx, cancel := context.WithCancel(d.ctx)
	w := &partitionWorker{
		partition:   partition,
		maxInFlight: d.maxInFlight,
		handle:      d.handle,
		client:      d.client,
		topic:       d.topic,
		ctx:         ctx,
		cancel:      cancel,
		done:        make(chan struct{}),
		wake:        make(chan struct{}, 1),
	}
	d.partitions[partition] = w
	go w.run()
	return w
}

// stopWorkers stops the workers of the partitions that match, waiting for
// each to end.
func (d *dispatcher) stopWorkers(match func(partition int32) bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for p, w := range d.partitions {
		if match(p) {
			w.stop()
			delete(d.partitions, p)
		}
	}
}

func allPartitions(int32) bool { return true }

// onRevoked runs when the group takes partitions away (another broker
// joined, or this one leaves): their workers stop, abandoning what is in
// flight, and what they finished is committed before another member
// takes over.
func (d *dispatcher) onRevoked(ctx context.Context, client *kgo.Client, revoked map[string][]int32) {
	d.stopWorkers(func(p int32) bool { return slices.Contains(revoked[d.topic], p) })
	if err := client.CommitMarkedOffsets(ctx); err != nil && ctx.Err() == nil {
		d.counters.fail(fmt.Errorf("commit: %w", err))
		d.log.Warnw("commit on revoke failed", "error", err)
	}
}

// onLost runs when the group membership is lost: committing is pointless,
// the workers just stop.
func (d *dispatcher) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	d.stopWorkers(func(p int32) bool { return slices.Contains(lost[d.topic], p) })
}

// close stops polling and every worker, abandoning in-flight deliveries,
// commits what was finished and leaves the group.
func (d *dispatcher) close() {
	d.cancel()
	<-d.done
	d.stopWorkers(allPartitions)
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	if err := d.client.CommitMarkedOffsets(ctx); err != nil {
		d.log.Warnw("final commit failed; the last records will be delivered again", "error", err)
	}
	d.client.CloseAllowingRebalance()
	d.filter.Cleanup()
}

// handle takes one record through the trigger and reports whether it is
// finished (delivered, dead-lettered, dropped or filtered out) and may be
// committed. It reports false only when ctx ended first.
func (d *dispatcher) handle(ctx context.Context, r *kgo.Record) bool {
	ctx = logging.WithLogger(ctx, d.log)
	e, err := eventOf(r)
	if err != nil {
		// It can never be delivered, and there is no event to put in a
		// dead letter: skip it, as Knative's Kafka dispatcher does.
		d.counters.dropped.Add(1)
		d.counters.fail(fmt.Errorf("record %d/%d is no CloudEvent: %w", r.Partition, r.Offset, err))
		d.log.Errorw("skipped a record that is no CloudEvent", "partition", r.Partition, "offset", r.Offset, "error", err)
		return true
	}
	if d.filter.Filter(ctx, e) == eventfilter.FailFilter {
		d.counters.filtered.Add(1)
		return true
	}
	result := d.poster.sendWithRetries(ctx, e, d.policy, d.subscriber)
	if result.count > 1 {
		d.counters.retried.Add(int64(result.count - 1))
	}
	if result.abandoned {
		return false
	}
	outcome := "delivered"
	if result.last.ok() {
		d.counters.delivered.Add(1)
		if !d.publishReply(ctx, e, result.last) {
			return false
		}
	} else {
		d.counters.fail(fmt.Errorf("event %s: subscriber answered %s", e.ID(), describe(result.last)))
		var finished bool
		if outcome, finished = d.sendToDeadLetterSink(ctx, e, result); !finished {
			return false
		}
	}
	d.log.Infow("delivery", "id", e.ID(), "type", e.Type(),
		"status", describe(result.last), "attempts", result.count, "outcome", outcome, "partition", r.Partition, "offset", r.Offset)
	return true
}

// publishReply writes the event a 2xx answer carries back to the broker
// topic, as Knative sends replies to the broker. A reply that is not a
// valid event, or that Kafka refuses for good, is logged and dropped. It
// reports false only when ctx ended before Kafka acknowledged the reply.
func (d *dispatcher) publishReply(ctx context.Context, cause cloudevents.Event, a answer) bool {
	reply, err := replyOf(ctx, a)
	if err != nil {
		d.counters.fail(fmt.Errorf("reply to %s: %w", cause.ID(), err))
		d.log.Warnw("dropped an invalid reply", "id", cause.ID(), "error", err)
		return true
	}
	if reply == nil {
		return true
	}
	err = d.replies.produceUntilAcknowledged(ctx, d.topic, *reply, ContentModeStructured, d.kafkaFailed)
	if err != nil && ctx.Err() == nil {
		d.counters.fail(fmt.Errorf("reply to %s: %w", cause.ID(), err))
		d.log.Errorw("kafka refused a reply; dropped it", "id", cause.ID(), "reply", reply.ID(), "error", err)
	}
	return ctx.Err() == nil
}

// sendToDeadLetterSink hands a failed event to the dead-letter sink, or
// drops it when there is none or the sink refuses it (Knative's Kafka
// dispatcher moves on too). It reports the outcome, and false only when
// ctx ended first.
func (d *dispatcher) sendToDeadLetterSink(ctx context.Context, e cloudevents.Event, result attempts) (string, bool) {
	if d.deadLetter == nil {
		d.counters.dropped.Add(1)
		return "dropped: no dead-letter sink", true
	}
	letter, err := withErrorExtensions(ctx, e, result.target, result.last)
	if err == nil {
		err = d.deadLetter.send(ctx, letter)
	}
	switch {
	case ctx.Err() != nil:
		return "", false
	case err != nil:
		d.counters.dropped.Add(1)
		d.counters.fail(fmt.Errorf("event %s: %w", e.ID(), err))
		return "dropped: " + err.Error(), true
	}
	d.counters.deadLettered.Add(1)
	return "dead-lettered to " + d.deadLetter.String(), true
}

// kafkaFailed records a failed write to Kafka that will be tried again.
func (d *dispatcher) kafkaFailed(err error) {
	d.counters.fail(fmt.Errorf("kafka: %w", err))
	d.log.Warnw("kafka write failed; trying again", "error", err)
}
