package broker

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// The broker pings Kafka every healthInterval, each ping bounded by
// healthTimeout; unreachableAfter failures in a row mark Kafka
// unreachable, one success marks it reachable again.
const (
	healthInterval   = 250 * time.Millisecond
	healthTimeout    = time.Second
	unreachableAfter = 2
)

// kafkaHealth follows whether Kafka answers the broker's client, so that
// the ingress answers 503 at once while it does not, instead of holding
// every sender for the produce timeout. It is safe for concurrent use.
type kafkaHealth struct {
	mu        sync.Mutex
	reachable bool
	lost      chan struct{} // closed when Kafka turns unreachable
}

func newKafkaHealth() *kafkaHealth {
	return &kafkaHealth{reachable: true, lost: make(chan struct{})}
}

// state returns whether Kafka is reachable, and a channel closed once it
// is not (already closed when it is not).
func (h *kafkaHealth) state() (bool, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reachable, h.lost
}

func (h *kafkaHealth) set(reachable bool) (changed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.reachable == reachable {
		return false
	}
	h.reachable = reachable
	if reachable {
		h.lost = make(chan struct{})
	} else {
		close(h.lost)
	}
	return true
}

// watch pings Kafka through client until ctx ends.
func (h *kafkaHealth) watch(ctx context.Context, client *kgo.Client, log *zap.SugaredLogger) {
	ticker := time.NewTicker(healthInterval)
	defer ticker.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		pctx, cancel := context.WithTimeout(ctx, healthTimeout)
		err := client.Ping(pctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			failures = 0
			if h.set(true) {
				log.Infow("kafka is reachable again")
			}
		default:
			failures++
			if failures >= unreachableAfter && h.set(false) {
				log.Warnw("kafka is unreachable; the ingress answers 503 until it is back", "error", err)
			}
		}
	}
}
