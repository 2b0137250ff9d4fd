package broker

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"knative.dev/eventing/pkg/eventfilter"
	"knative.dev/eventing/pkg/kncloudevents"
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
			d.counters.fail(fmt.Errorf("poll %s[%d]: %w", topic, partition, err))
			d.log.Warnw("kafka poll failed", "topic", topic, "partition", partition, "error", err)
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
