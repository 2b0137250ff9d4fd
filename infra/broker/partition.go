package broker

import (
	"context"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A partition's queue pauses fetching when it holds pauseAt records and
// resumes it when it is down to resumeAt, so that a partition blocked by
// retries neither grows memory nor holds up the other partitions.
const (
	pauseAt  = 1000
	resumeAt = 100
)

// partitionWorker delivers the records of one partition of the broker
// topic for one trigger. Up to maxInFlight records are handled at once
// (1 for an ordered trigger, which then handles them strictly in offset
// order); offsets are marked for commit only up to the first record that
// is not finished.
type partitionWorker struct {
	partition   int32
	maxInFlight int
	handle      func(context.Context, *kgo.Record) bool
	client      *kgo.Client
	topic       string

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{}

	mu     sync.Mutex
	queue  []*kgo.Record
	paused bool

	window commitWindow
}

// enqueue appends records fetched for the partition. It never blocks.
func (w *partitionWorker) enqueue(records []*kgo.Record) {
	w.mu.Lock()
	w.queue = append(w.queue, records...)
	if !w.paused && len(w.queue) >= pauseAt {
		w.paused = true
		w.client.PauseFetchPartitions(map[string][]int32{w.topic: {w.partition}})
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run handles records until stop. Records in flight when it stops are
// abandoned: they are not marked, so they are delivered again by whoever
// consumes the partition next.
func (w *partitionWorker) run() {
	defer close(w.done)
	var inFlight sync.WaitGroup
	defer inFlight.Wait()
	slots := make(chan struct{}, w.maxInFlight)
	for {
		record, ok := w.next()
		if !ok {
			return
		}
		select {
		case slots <- struct{}{}:
		case <-w.ctx.Done():
			return
		}
		w.window.begin(record)
		inFlight.Go(func() {
			defer func() { <-slots }()
			if !w.handle(w.ctx, record) {
				return
			}
			if head := w.window.finish(record); head != nil {
				w.client.MarkCommitRecords(head)
			}
		})
	}
}

// next takes the oldest queued record, waiting for one; false once the
// worker is stopped.
func (w *partitionWorker) next() (*kgo.Record, bool) {
	for {
		if w.ctx.Err() != nil {
			return nil, false
		}
		w.mu.Lock()
		if len(w.queue) > 0 {
			record := w.queue[0]
			w.queue[0] = nil
			w.queue = w.queue[1:]
			if w.paused && len(w.queue) <= resumeAt {
				w.paused = false
				w.client.ResumeFetchPartitions(map[string][]int32{w.topic: {w.partition}})
			}
			w.mu.Unlock()
			return record, true
		}
		w.mu.Unlock()
		select {
		case <-w.wake:
		case <-w.ctx.Done():
			return nil, false
		}
	}
}

// stop abandons what is in flight, waits for the worker to end and drops
// its queue, resuming fetching if it had paused it, so that the partition
// fetches again if it is assigned anew.
func (w *partitionWorker) stop() {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	w.queue = nil
	if w.paused {
		w.paused = false
		w.client.ResumeFetchPartitions(map[string][]int32{w.topic: {w.partition}})
	}
}

// commitWindow tracks the records of one partition in flight, in the order
// they began, which is offset order. It is safe for concurrent use.
type commitWindow struct {
	mu      sync.Mutex
	pending []pendingRecord
}

type pendingRecord struct {
	record   *kgo.Record
	finished bool
}

func (c *commitWindow) begin(r *kgo.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = append(c.pending, pendingRecord{record: r})
}

// finish marks r finished and returns the last record of the finished run
// at the front of the window, which may now be committed, or nil when an
// earlier record is still in flight.
func (c *commitWindow) finish(r *kgo.Record) *kgo.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.pending {
		if c.pending[i].record == r {
			c.pending[i].finished = true
			break
		}
	}
	var head *kgo.Record
	for len(c.pending) > 0 && c.pending[0].finished {
		head = c.pending[0].record
		c.pending = c.pending[1:]
	}
	return head
}
