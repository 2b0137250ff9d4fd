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

// function is one Service: it owns the routing state of its instances
// and the mutex that guards it, and wires the parts the package comment
// names: the activator's router and the queue-proxy's queue (queue.go),
// the autoscaler's scaler (autoscaler.go), the kubelet's supervisor
// (supervisor.go) and the Configuration's revisions (revision.go). The
// parts hold no lock of their own; every field after mu, and the routing
// fields of its instances, are guarded by mu.
type function struct {
	serving    *Serving
	spec       Spec // with defaults applied
	router     router
	scaler     scaler
	supervisor *supervisor

	mu          sync.Mutex
	closed      bool
	instances   []*instance // by id; stopping ones stay until their process is gone
	queue       queue
	revisions   revisions
	backoff     backoff
	nextID      int
	lastFailure error
	counters    struct{ started, coldStarts, stopped, replaced, rejected, timedOut int64 }
	// outage makes every instance start fail at once (SetOutage).
	outage bool
}

var _ lifecycle = (*function)(nil)

func newFunction(s *Serving, spec Spec) *function {
	spec = spec.withDefaults()
	if s.opts.IdleGrace > 0 {
		spec.IdleGrace = s.opts.IdleGrace
	}
	if cc := spec.ContainerConcurrency; cc > 0 {
		spec.Target = math.Min(spec.Target, float64(cc))
	}
	f := &function{
		serving:   s,
		spec:      spec,
		router:    newRouter(spec),
		scaler:    newScaler(spec, s.opts.MaxScaleLimit),
		queue:     newQueue(spec),
		revisions: newRevisions(spec.Name),
	}
	f.supervisor = &supervisor{spec: spec, opts: s.opts, output: s.output, ctx: s.ctx, owner: f}
	return f
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
	if f.queue.len() == 0 {
		if inst := f.takeSlotLocked(); inst != nil {
			f.mu.Unlock()
			return inst, nil
		}
	}
	w := f.queue.push(f.liveLocked())
	if w == nil {
		f.counters.rejected++
		f.mu.Unlock()
		return nil, errQueueFull
	}
	live := f.liveLocked()
	f.scaleUpLocked(time.Now())
	if live == 0 && f.liveLocked() > 0 {
		f.counters.coldStarts++
	}
	f.dispatchLocked()
	if f.outage && f.liveLocked() == 0 {
		// No instance can start before the outage ends: answer now
		// rather than once the start backoff has passed.
		f.queue.failAll(noInstanceError{cause: f.outageError()})
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
	if f.queue.remove(w) {
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

// takeSlotLocked reserves a slot on the instance the router picks, or
// returns nil when none has one free.
func (f *function) takeSlotLocked() *instance {
	inst := f.router.pick(f.instances, f.revisions.serving)
	if inst != nil {
		inst.inFlight++
	}
	return inst
}

// dispatchLocked hands free slots to queued requests in arrival order.
func (f *function) dispatchLocked() { f.queue.dispatch(f.takeSlotLocked) }

// liveLocked counts the instances of the serving revision that are not
// stopping.
func (f *function) liveLocked() int { return countLive(f.instances, f.revisions.serving) }

func (f *function) demandLocked() int { return demand(f.queue.len(), f.instances) }

// autoscale stops idle instances and starts the ones that are due.
func (f *function) autoscale(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, inst := range f.scaler.toStop(f.instances, f.revisions.serving, f.demandLocked(), now) {
		f.stopLocked(inst, "idle for "+f.spec.IdleGrace.String())
	}
	f.scaleUpLocked(now)
}

// scaleUpLocked starts instances until there are as many live ones as
// desired, unless a recent failure asks to wait.
func (f *function) scaleUpLocked(now time.Time) {
	if f.closed || f.backoff.holds(now) {
		return
	}
	for range f.scaler.toStart(f.liveLocked(), f.demandLocked()) {
		f.startLocked(now, f.revisions.serving)
	}
}

// startLocked adds an instance of rev and has a supervisor start its
// process in the background.
func (f *function) startLocked(now time.Time, rev *revision) {
	f.nextID++
	inst := newInstance(f.serving.ctx, f.nextID, rev, now)
	f.instances = append(f.instances, inst)
	f.counters.started++
	f.serving.processes.Go(func() { f.supervisor.run(inst) })
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

// startable implements lifecycle: no instance starts during an outage.
func (f *function) startable() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.outage {
		return f.outageError()
	}
	return nil
}

// launched implements lifecycle.
func (f *function) launched(inst *instance, pid, port, metricsPort int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	inst.pid, inst.port, inst.metricsPort = pid, port, metricsPort
	if f.outage {
		return f.outageError()
	}
	return nil
}

// markReady implements lifecycle.
func (f *function) markReady(inst *instance) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if inst.state != stateStarting {
		return false
	}
	now := time.Now()
	inst.state, inst.readyAt, inst.lastActive = stateReady, now, now
	f.serving.opts.Logger.Infow("instance ready", "function", f.spec.Name, "revision", inst.rev.name, "instance", inst.id, "pid", inst.pid, "port", inst.port)
	if ro := f.revisions.rolloutOf(inst.rev); ro != nil {
		ro.instanceReady()
	}
	f.dispatchLocked()
	return true
}

// setRoutable implements lifecycle.
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

// fail implements lifecycle: it discards an instance that failed, unless
// it was being stopped anyway, and starts another when demand or
// min-scale needs one. When no instance is left, queued requests get the
// failure rather than waiting for their timeout.
func (f *function) fail(inst *instance, cause error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if inst.state == stateStopping {
		return
	}
	if inst.rev != f.revisions.serving {
		// An instance of a revision that does not serve: a rollout's,
		// which fails with it, or a failed rollout's.
		f.stopLocked(inst, "failed: "+cause.Error())
		if ro := f.revisions.rolloutOf(inst.rev); ro != nil {
			ro.fail(fmt.Errorf("instance %d: %w", inst.id, cause))
		}
		return
	}
	now := time.Now()
	inst.state = stateStopping
	inst.stop()
	f.counters.replaced++
	f.lastFailure = fmt.Errorf("instance %d: %w", inst.id, cause)
	f.backoff.failed(now, inst.readyAt)
	f.serving.opts.Logger.Warnw("instance failed", "function", f.spec.Name, "instance", inst.id, "pid", inst.pid, "error", cause)
	f.scaleUpLocked(now)
	if f.liveLocked() == 0 && f.queue.len() > 0 {
		f.queue.failAll(noInstanceError{cause: f.lastFailure})
	}
}

// forget implements lifecycle.
func (f *function) forget(inst *instance) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i := slices.Index(f.instances, inst); i >= 0 {
		f.instances = slices.Delete(f.instances, i, i+1)
	}
}

// inFlightOf implements lifecycle.
func (f *function) inFlightOf(inst *instance) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return inst.inFlight
}

// close refuses new requests, answers queued ones and stops every
// instance; the caller waits for the processes.
func (f *function) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	f.queue.failAll(errClosed)
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
