package broker

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// statusTimeout bounds the Kafka requests Status makes.
const statusTimeout = 3 * time.Second

// TriggerStatus is what one trigger's dispatcher has done since the Broker
// started. Counts are of records, not of HTTP requests, except Retried.
type TriggerStatus struct {
	Name string
	// Lag is how many records of the broker topic the trigger's consumer
	// group has not committed yet, or -1 when Kafka could not tell.
	Lag          int64
	Delivered    int64 // the subscriber answered 2xx
	Retried      int64 // requests sent again after a retryable answer
	DeadLettered int64 // handed to the dead-letter sink
	Dropped      int64 // failed with no dead-letter sink, or the sink refused it
	Filtered     int64 // did not pass the trigger's filters
	LastError    string
}

// triggerCounters is a dispatcher's part of TriggerStatus. It is safe for
// concurrent use.
type triggerCounters struct {
	delivered, retried, deadLettered, dropped, filtered atomic.Int64

	mu        sync.Mutex
	lastError string
}

func (c *triggerCounters) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastError = err.Error()
}

func (c *triggerCounters) snapshot(name string) TriggerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return TriggerStatus{
		Name:         name,
		Lag:          -1,
		Delivered:    c.delivered.Load(),
		Retried:      c.retried.Load(),
		DeadLettered: c.deadLettered.Load(),
		Dropped:      c.dropped.Load(),
		Filtered:     c.filtered.Load(),
		LastError:    c.lastError,
	}
}

// Status reports every trigger, in the order of Config.Triggers. It asks
// Kafka for the lag of each consumer group and is safe for concurrent use.
func (b *Broker) Status() []TriggerStatus {
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	statuses := make([]TriggerStatus, 0, len(b.dispatchers))
	for _, d := range b.dispatchers {
		status := d.counters.snapshot(d.trigger.Name)
		lag, err := groupLag(ctx, b.admin, b.cfg.Broker.Topic, d.trigger.ConsumerGroup())
		if err != nil {
			status.LastError = strings.TrimPrefix(status.LastError+"; lag: "+err.Error(), "; ")
		} else {
			status.Lag = lag
		}
		statuses = append(statuses, status)
	}
	return statuses
}

// groupLag sums, over the partitions of topic, the records past group's
// committed offset, or past the log start where it committed none (a new
// group starts at the earliest offset).
func groupLag(ctx context.Context, admin *kadm.Client, topic, group string) (int64, error) {
	ranges, err := uncommitted(ctx, admin, topic, group)
	if err != nil {
		return 0, err
	}
	var lag int64
	for _, r := range ranges {
		lag += r.end - r.from
	}
	return lag, nil
}
