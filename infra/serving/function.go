package serving

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Start backoff: an instance that fails before it has been ready for
// stableAfter delays the next start of its function, so that a binary that
// crashes at once does not spin. The first failure delays nothing; then
// the delay doubles from firstBackoff up to maxBackoff.
const (
	stableAfter  = 10 * time.Second
	firstBackoff = 250 * time.Millisecond
	maxBackoff   = 5 * time.Second
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

// function is the activator, queue-proxy and autoscaler of one Service.
// Every field after mu is guarded by it; instances' routing fields too.
type function struct {
	serving  *Serving
	spec     Spec // with defaults applied
	minScale int
	maxScale int

	binaryMu sync.Mutex
	binary   string

	mu          sync.Mutex
	closed      bool
	instances   []*instance // by id; stopping ones stay until their process is gone
	queue       []*waiter   // first come, first served
	nextID      int
	failures    int       // consecutive failures, for the start backoff
	notBefore   time.Time // no instance starts before this
	lastFailure error
	counters    struct{ started, stopped, replaced, rejected, timedOut int64 }

	// revision takes every new request; only its instances are routed to,
	// scaled and counted live.
	revision *revision
	// pending is the rollout in progress, nil when there is none.
	pending *rollout
	// revisions counts the revisions created, failed ones included, so
	// that names are never reused (as Knative's Configuration does).
	revisions int
	// outage makes every instance start fail at once (SetOutage).
	outage bool
}

// waiter is a queued request. It receives exactly one grant: an instance
// with a slot already reserved for it, or an error.
type waiter struct{ grant chan grant }

type grant struct {
	inst *instance
	err  error
}

func newFunction(s *Serving, spec Spec) *function {
	spec = spec.withDefaults()
	if s.opts.IdleGrace > 0 {
		spec.IdleGrace = s.opts.IdleGrace
	}
	if cc := spec.ContainerConcurrency; cc > 0 {
		spec.Target = math.Min(spec.Target, float64(cc))
	}
	maxScale := spec.MaxScale
	if maxScale == 0 || maxScale > s.opts.MaxScaleLimit {
		maxScale = s.opts.MaxScaleLimit
	}
	return &function{
		serving: s, spec: spec, minScale: min(spec.MinScale, maxScale), maxScale: maxScale,
		revision: &revision{name: revisionName(spec.Name, 1)}, revisions: 1,
	}
}

// resolveBinary returns the function's executable, asking Options.Binary
// until it succeeds once.
func (f *function) resolveBinary() (string, error) {
	f.binaryMu.Lock()
	defer f.binaryMu.Unlock()
	if f.binary != "" {
		return f.binary, nil
	}
	path, err := f.serving.opts.Binary(f.spec)
	if err != nil {
		return "", fmt.Errorf("serving: binary of %s: %w", f.spec.Name, err)
	}
	f.binary = path
	return path, nil
}

// acquire returns a ready instance with a slot reserved for the caller,
// who must release it. Without a free slot the request waits in the queue,
// which may start instances, until ctx ends; a full queue fails at once
// with errQueueFull.
func (f *function) acquire(ctx context.Context) (*instance, error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, errClosed
	}
	if len(f.queue) == 0 {
		if inst := f.pickLocked(); inst != nil {
			inst.inFlight++
			f.mu.Unlock()
			return inst, nil
		}
	}
	if len(f.queue) >= f.queueCapacityLocked() {
		f.counters.rejected++
		f.mu.Unlock()
		return nil, errQueueFull
	}
	w := &waiter{grant: make(chan grant, 1)}
	f.queue = append(f.queue, w)
	f.scaleUpLocked(time.Now())
	f.dispatchLocked()
	if f.outage && f.liveLocked() == 0 {
		// No instance can start before the outage ends: answer now
		// rather than once the start backoff has passed.
		f.failQueueLocked(noInstanceError{cause: f.outageError()})
	}
	f.mu.Unlock()

	select {
	case g := <-w.grant:
		return g.inst, g.err
	case <-ctx.Done():
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		f.counters.timedOut++
	}
	if i := slices.Index(f.queue, w); i >= 0 {
		f.queue = slices.Delete(f.queue, i, i+1)
		return nil, ctx.Err()
	}
	// The grant was sent before the request could leave the queue.
	if g := <-w.grant; g.inst != nil {
		f.releaseLocked(g.inst)
	}
	return nil, ctx.Err()
}

// release frees the slot acquire reserved on inst.
func (f *function) release(inst *instance) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.releaseLocked(inst)
}

func (f *function) releaseLocked(inst *instance) {
	inst.inFlight--
	inst.lastActive = time.Now()
	f.dispatchLocked()
}

// pickLocked chooses the ready instance for the next request: the first
// one, by id, below the target, so that extra instances fall idle and are
// stopped; else the least busy one below containerConcurrency; else nil.
func (f *function) pickLocked() *instance {
	soft := int(math.Ceil(f.spec.Target))
	hard := f.spec.ContainerConcurrency
	var least *instance
	for _, inst := range f.instances {
		if inst.state != stateReady || inst.rev != f.revision || (hard > 0 && inst.inFlight >= hard) {
			continue
		}
		if inst.inFlight < soft {
			return inst
		}
		if least == nil || inst.inFlight < least.inFlight {
			least = inst
		}
	}
	return least
}

// dispatchLocked hands free slots to queued requests in arrival order.
func (f *function) dispatchLocked() {
	for len(f.queue) > 0 {
		inst := f.pickLocked()
		if inst == nil {
			return
		}
		inst.inFlight++
		w := f.queue[0]
		f.queue = slices.Delete(f.queue, 0, 1)
		w.grant <- grant{inst: inst}
	}
}

// failQueueLocked answers every queued request with err.
func (f *function) failQueueLocked(err error) {
	for _, w := range f.queue {
		w.grant <- grant{err: err}
	}
	f.queue = nil
}

// queueCapacityLocked is the queue-proxy's depth, 10 per unit of
// concurrency, times the live instances (at least one, so that a function
// scaled to zero can queue the requests that start it).
func (f *function) queueCapacityLocked() int {
	return QueueDepthPerConcurrency * f.spec.concurrencyUnits() * max(1, f.liveLocked())
}

// liveLocked counts the instances of the serving revision that are not
// stopping.
func (f *function) liveLocked() int {
	n := 0
	for _, inst := range f.instances {
		if inst.state != stateStopping && inst.rev == f.revision {
			n++
		}
	}
	return n
}

// desiredLocked is the instance count the function needs now:
// ceil((in flight + queued) / target), within min-scale and max-scale.
// Requests still draining on a stopping instance count too, so that an
// instance replaced while busy (liveness, a rollout) has its successor
// started at once.
func (f *function) desiredLocked() int {
	demand := len(f.queue)
	for _, inst := range f.instances {
		demand += inst.inFlight
	}
	desired := int(math.Ceil(float64(demand) / f.spec.Target))
	return min(max(desired, f.minScale), f.maxScale)
}

// autoscale stops idle instances and starts the ones that are due.
func (f *function) autoscale(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scaleDownLocked(now)
	f.scaleUpLocked(now)
}

// scaleUpLocked starts instances until there are as many live ones as
// desired, unless a recent failure asks to wait.
func (f *function) scaleUpLocked(now time.Time) {
	if f.closed || now.Before(f.notBefore) {
		return
	}
	for live := f.liveLocked(); live < f.desiredLocked(); live++ {
		f.startLocked(now)
	}
}

// scaleDownLocked stops, newest first, the instances that served nothing
// for the idle grace, as long as more are live than desired.
func (f *function) scaleDownLocked(now time.Time) {
	live, desired := f.liveLocked(), f.desiredLocked()
	for i := len(f.instances) - 1; i >= 0 && live > desired; i-- {
		inst := f.instances[i]
		idle := inst.rev == f.revision && (inst.state == stateReady || inst.state == stateUnready) &&
			inst.inFlight == 0 && now.Sub(inst.lastActive) >= f.spec.IdleGrace
		if idle {
			f.stopLocked(inst, "idle for "+f.spec.IdleGrace.String())
			live--
		}
	}
}

// startLocked adds an instance of the serving revision and starts its
// process in the background.
func (f *function) startLocked(now time.Time) {
	f.startRevisionLocked(now, f.revision)
}

// startRevisionLocked adds an instance of rev and starts its process in
// the background.
func (f *function) startRevisionLocked(now time.Time, rev *revision) {
	f.nextID++
	inst := newInstance(f.serving.ctx, f.nextID, rev, now)
	f.instances = append(f.instances, inst)
	f.counters.started++
	f.serving.processes.Go(func() { f.run(inst) })
}

// stopLocked takes inst out of routing and has its supervisor stop the
// process; requests in flight on it may finish while it drains.
func (f *function) stopLocked(inst *instance, reason string) {
	if inst.state == stateStopping {
		return
	}
	inst.state = stateStopping
	inst.stop()
	f.counters.stopped++
	f.serving.opts.Logger.Infow("stopping instance", "function", f.spec.Name, "instance", inst.id, "pid", inst.pid, "reason", reason)
}

// markReady lets inst take requests; false means it was stopped meanwhile.
func (f *function) markReady(inst *instance) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if inst.state != stateStarting {
		return false
	}
	now := time.Now()
	inst.state, inst.readyAt, inst.lastActive = stateReady, now, now
	f.serving.opts.Logger.Infow("instance ready", "function", f.spec.Name, "revision", inst.rev.name, "instance", inst.id, "pid", inst.pid, "port", inst.port)
	if ro := f.pending; ro != nil && inst.rev == ro.rev {
		ro.instanceReady()
	}
	f.dispatchLocked()
	return true
}

// setRoutable follows a readiness change of a running instance.
func (f *function) setRoutable(inst *instance, ready bool, cause error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case inst.state == stateStopping:
	case ready && inst.state == stateUnready:
		inst.state = stateReady
		f.serving.opts.Logger.Infow("instance ready again", "function", f.spec.Name, "instance", inst.id)
		f.dispatchLocked()
	case !ready && inst.state == stateReady:
		inst.state = stateUnready
		f.serving.opts.Logger.Warnw("instance not ready; no new requests go to it", "function", f.spec.Name, "instance", inst.id, "error", cause)
	}
}

// fail discards an instance that failed, unless it was being stopped
// anyway, and starts another when demand or min-scale needs one. When no
// instance is left, queued requests get the failure rather than waiting
// for their timeout.
func (f *function) fail(inst *instance, cause error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if inst.state == stateStopping {
		return
	}
	if inst.rev != f.revision {
		// An instance of a revision that does not serve: a rollout's,
		// which fails with it, or a failed rollout's.
		f.stopLocked(inst, "failed: "+cause.Error())
		if ro := f.pending; ro != nil && inst.rev == ro.rev {
			ro.fail(fmt.Errorf("instance %d: %w", inst.id, cause))
		}
		return
	}
	now := time.Now()
	inst.state = stateStopping
	inst.stop()
	f.counters.replaced++
	f.lastFailure = fmt.Errorf("instance %d: %w", inst.id, cause)
	if inst.readyAt.IsZero() || now.Sub(inst.readyAt) < stableAfter {
		f.failures++
	} else {
		f.failures = 1
	}
	f.notBefore = now.Add(startBackoff(f.failures))
	f.serving.opts.Logger.Warnw("instance failed", "function", f.spec.Name, "instance", inst.id, "pid", inst.pid, "error", cause)
	f.scaleUpLocked(now)
	if f.liveLocked() == 0 && len(f.queue) > 0 {
		f.failQueueLocked(noInstanceError{cause: f.lastFailure})
	}
}

// startBackoff is the delay before the next start after n consecutive
// failures.
func startBackoff(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	return min(firstBackoff<<min(n-2, 16), maxBackoff)
}

// forget drops an instance whose process is gone.
func (f *function) forget(inst *instance) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i := slices.Index(f.instances, inst); i >= 0 {
		f.instances = slices.Delete(f.instances, i, i+1)
	}
}

// close refuses new requests, answers queued ones and stops every
// instance; the caller waits for the processes.
func (f *function) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	f.failQueueLocked(errClosed)
	for _, inst := range f.instances {
		f.stopLocked(inst, "closing")
	}
}

// pidOf returns the pid of a running instance, or 0.
func (f *function) pidOf(id int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, inst := range f.instances {
		if inst.id == id && inst.state != stateStopping {
			return inst.pid
		}
	}
	return 0
}
