package serving

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// Errors of the runtime controls (Rollout, SetOutage).
var (
	// ErrUnknownFunction is returned for a name no Spec has.
	ErrUnknownFunction = errors.New("no such function")
	// ErrRolloutInProgress is returned by a Rollout that would overlap
	// another of the same function.
	ErrRolloutInProgress = errors.New("a rollout of this function is in progress")
	// ErrClosed is returned by the controls once Close has started.
	ErrClosed = errClosed
)

// RolloutResult says which revision took a function's traffic over from
// which.
type RolloutResult struct {
	Function string `json:"function"`
	Revision string `json:"revision"`
	Previous string `json:"previous"`
}

// RolloutError is returned when a new revision could not become ready:
// its instances were stopped and Previous kept all the traffic.
type RolloutError struct {
	Function string
	Revision string // the revision that failed
	Previous string // the revision that still serves
	Cause    error
}

func (e *RolloutError) Error() string {
	return fmt.Sprintf("revision %s did not become ready, %s keeps serving %s: %v", e.Revision, e.Previous, e.Function, e.Cause)
}

func (e *RolloutError) Unwrap() error { return e.Cause }

// Rollout creates a new revision of the function called name, as `kn
// service update` does: the same binary, the environment of the serving
// revision with env set over it, and K_REVISION <name>-0000N. It starts
// as many instances of it as the serving revision has live (at least
// one), waits until every one is ready, then moves all traffic to it at
// once, Knative's behaviour with no rollout duration: new and queued
// requests go only to the new revision, and the old instances stop once
// their requests in flight are done. No request fails because of a
// rollout.
//
// When an instance of the new revision fails or is not ready within
// Options.StartTimeout, or ctx ends first, the new revision's instances
// are stopped, the serving revision keeps all traffic, and a *RolloutError
// is returned; the failed revision's name is not reused. Rollout returns
// ErrUnknownFunction, ErrRolloutInProgress while another rollout of the
// function runs, and ErrClosed after Close.
func (s *Serving) Rollout(ctx context.Context, name string, env map[string]string) (RolloutResult, error) {
	f, ok := s.functions[name]
	if !ok {
		return RolloutResult{}, fmt.Errorf("serving: %w: %s", ErrUnknownFunction, name)
	}
	return f.rollout(ctx, env)
}

func (f *function) rollout(ctx context.Context, env map[string]string) (RolloutResult, error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return RolloutResult{}, ErrClosed
	}
	ro, err := f.revisions.begin(env, max(1, f.liveLocked()))
	if err != nil {
		f.mu.Unlock()
		return RolloutResult{}, err
	}
	now := time.Now()
	for range ro.want {
		f.startLocked(now, ro.rev)
	}
	f.serving.opts.Logger.Infow("rolling out", "function", f.spec.Name, "revision", ro.rev.name, "previous", ro.previous.name, "instances", ro.want)
	f.mu.Unlock()

	select {
	case <-ro.done:
	case <-ctx.Done():
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	cause := ro.err
	switch {
	case f.closed:
		cause = errClosed
	case cause == nil && !ro.complete():
		cause = ctx.Err()
	}
	f.revisions.end(cause)
	if cause != nil {
		for _, inst := range f.instances {
			if inst.rev == ro.rev {
				f.stopLocked(inst, "its revision failed")
			}
		}
		f.serving.opts.Logger.Warnw("rollout failed", "function", f.spec.Name, "revision", ro.rev.name, "error", cause)
		return RolloutResult{}, &RolloutError{Function: f.spec.Name, Revision: ro.rev.name, Previous: ro.previous.name, Cause: cause}
	}
	for _, inst := range f.instances {
		if inst.rev != ro.rev {
			f.stopLocked(inst, "traffic moved to "+ro.rev.name)
		}
	}
	f.dispatchLocked()
	f.serving.opts.Logger.Infow("traffic moved", "function", f.spec.Name, "revision", ro.rev.name, "previous", ro.previous.name)
	return RolloutResult{Function: f.spec.Name, Revision: ro.rev.name, Previous: ro.previous.name}, nil
}

// SetOutage starts (on) or ends an outage of the function called name, a
// drill of "its instances cannot start", as when its nodes are lost.
//
// Starting one kills every running instance with SIGKILL (requests in
// flight on them fail as ServeHTTP says) and from then on every instance start
// fails at once with "instances of <name> cannot start: outage", through
// the same path as a binary that crashes at start: the failure is counted
// in Replaced and shown as LastFailure, the start backoff grows, and
// requests get 503 with Retry-After at once instead of waiting for their
// timeout. Ending it resets the start backoff, so the next request starts
// an instance at once, and starts min-scale instances again. Both are
// idempotent.
func (s *Serving) SetOutage(name string, on bool) error {
	f, ok := s.functions[name]
	if !ok {
		return fmt.Errorf("serving: %w: %s", ErrUnknownFunction, name)
	}
	f.setOutage(on)
	return nil
}

func (f *function) setOutage(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.outage == on {
		return
	}
	f.outage = on
	if on {
		f.serving.opts.Logger.Warnw("outage: killing every instance; none can start", "function", f.spec.Name)
		for _, inst := range f.instances {
			if inst.pid != 0 {
				_ = signalGroup(inst.pid, syscall.SIGKILL) // ESRCH when it is gone already.
			}
		}
		return
	}
	f.serving.opts.Logger.Infow("outage over: instances may start", "function", f.spec.Name)
	f.backoff.reset()
	f.scaleUpLocked(time.Now())
}

// errOutage is the cause of every failed start during an outage.
var errOutage = errors.New("outage")

func (f *function) outageError() error {
	return fmt.Errorf("instances of %s cannot start: %w", f.spec.Name, errOutage)
}
