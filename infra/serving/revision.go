package serving

import (
	"fmt"
	"maps"
	"sync"
)

// revision is one immutable version of a function, as Knative's Revision:
// its name and the environment Rollout changed. Instances keep the
// revision they were started with.
type revision struct {
	name string
	env  map[string]string
}

// revisionName is Knative's name of a Configuration's n-th revision.
func revisionName(function string, n int) string {
	return fmt.Sprintf("%s-%05d", function, n)
}

// revisions is a function's Configuration: the revision that serves, the
// rollout in progress, and how many revisions were made. It holds no lock
// of its own; its function's mutex guards it.
type revisions struct {
	function string
	// serving takes every new request; only its instances are routed to,
	// scaled and counted live.
	serving *revision
	// pending is the rollout in progress, nil when there is none.
	pending *rollout
	// made counts the revisions created, failed ones included, so that
	// names are never reused (as Knative's Configuration does).
	made int
}

func newRevisions(function string) revisions {
	return revisions{function: function, serving: &revision{name: revisionName(function, 1)}, made: 1}
}

// begin makes the next revision, with the serving revision's environment
// and env set over it, as a rollout that waits for want ready instances.
// It fails with ErrRolloutInProgress while another rollout is pending.
func (r *revisions) begin(env map[string]string, want int) (*rollout, error) {
	if r.pending != nil {
		return nil, fmt.Errorf("serving: %s: %w", r.function, ErrRolloutInProgress)
	}
	merged := maps.Clone(r.serving.env)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, env)
	r.made++
	r.pending = &rollout{
		rev:      &revision{name: revisionName(r.function, r.made), env: merged},
		previous: r.serving,
		want:     want,
		done:     make(chan struct{}),
	}
	return r.pending, nil
}

// end closes the pending rollout: without cause its revision serves from
// now on; with one the previous revision keeps serving.
func (r *revisions) end(cause error) {
	if cause == nil {
		r.serving = r.pending.rev
	}
	r.pending = nil
}

// rolloutOf returns the pending rollout that starts rev, or nil.
func (r *revisions) rolloutOf(rev *revision) *rollout {
	if r.pending != nil && r.pending.rev == rev {
		return r.pending
	}
	return nil
}

// rollout is a new revision waiting for its instances to be ready; done
// is closed once all are, or once one failed. Its fields are guarded by
// the function's mutex.
type rollout struct {
	rev      *revision
	previous *revision
	want     int // instances that must be ready
	ready    int
	err      error // the first failure of one of its instances
	done     chan struct{}
	once     sync.Once
}

func (ro *rollout) instanceReady() {
	ro.ready++
	if ro.ready >= ro.want {
		ro.once.Do(func() { close(ro.done) })
	}
}

func (ro *rollout) fail(err error) {
	if ro.err == nil {
		ro.err = err
	}
	ro.once.Do(func() { close(ro.done) })
}

// complete reports whether every instance the rollout waits for is ready.
func (ro *rollout) complete() bool { return ro.err == nil && ro.ready >= ro.want }
