package serving

import (
	"errors"
	"math"
	"slices"
)

var (
	errQueueFull = errors.New("queue full")
	errClosed    = errors.New("the local runtime is shutting down")
)

// noInstanceError answers the queued requests of a function whose last
// instance failed while no other could be started; they get 503 with
// Retry-After.
type noInstanceError struct{ cause error }

func (e noInstanceError) Error() string { return "no instance could be started: " + e.cause.Error() }

func (e noInstanceError) Unwrap() error { return e.cause }

// router is the activator's rule for where a request goes. Its method is
// pure; the caller holds the function's mutex while the instances it
// reads may change.
type router struct {
	soft int // the autoscaler's target, rounded up
	hard int // containerConcurrency; 0 is unlimited
}

func newRouter(spec Spec) router {
	return router{soft: int(math.Ceil(spec.Target)), hard: spec.ContainerConcurrency}
}

// pick chooses the ready instance of rev for the next request: the first
// one, by id, below the target, so that extra instances fall idle and are
// stopped; else the least busy one below containerConcurrency; else nil.
func (r router) pick(instances []*instance, rev *revision) *instance {
	var least *instance
	for _, inst := range instances {
		if inst.state != stateReady || inst.rev != rev || (r.hard > 0 && inst.inFlight >= r.hard) {
			continue
		}
		if inst.inFlight < r.soft {
			return inst
		}
		if least == nil || inst.inFlight < least.inFlight {
			least = inst
		}
	}
	return least
}

// queue is the queue-proxy of a function: the requests waiting for a
// slot, first come, first served, and how many may wait. It holds no lock
// of its own; its function's mutex guards it.
type queue struct {
	units   int // concurrency units per instance: containerConcurrency, or 100
	waiters []*waiter
}

// waiter is a queued request. It receives exactly one grant: an instance
// with a slot already reserved for it, or an error.
type waiter struct{ grant chan grant }

type grant struct {
	inst *instance
	err  error
}

func newQueue(spec Spec) queue { return queue{units: spec.concurrencyUnits()} }

// capacity is the queue-proxy's depth with live instances: 10 per unit of
// concurrency per instance, counting at least one, so that a function
// scaled to zero can queue the requests that start it.
func (q *queue) capacity(live int) int {
	return QueueDepthPerConcurrency * q.units * max(1, live)
}

// len is the number of requests waiting.
func (q *queue) len() int { return len(q.waiters) }

// push queues a request while live instances leave room for it, and
// returns nil when the queue is full: the request is refused at once.
func (q *queue) push(live int) *waiter {
	if len(q.waiters) >= q.capacity(live) {
		return nil
	}
	w := &waiter{grant: make(chan grant, 1)}
	q.waiters = append(q.waiters, w)
	return w
}

// remove takes w out of the queue; false means it was granted already and
// its grant waits in its channel.
func (q *queue) remove(w *waiter) bool {
	i := slices.Index(q.waiters, w)
	if i < 0 {
		return false
	}
	q.waiters = slices.Delete(q.waiters, i, i+1)
	return true
}

// dispatch grants queued requests, in arrival order, the instances take
// returns with a slot reserved, until take returns nil.
func (q *queue) dispatch(take func() *instance) {
	for len(q.waiters) > 0 {
		inst := take()
		if inst == nil {
			return
		}
		w := q.waiters[0]
		q.waiters = slices.Delete(q.waiters, 0, 1)
		w.grant <- grant{inst: inst}
	}
}

// failAll answers every queued request with err.
func (q *queue) failAll(err error) {
	for _, w := range q.waiters {
		w.grant <- grant{err: err}
	}
	q.waiters = nil
}
