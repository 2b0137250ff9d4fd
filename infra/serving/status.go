package serving

import "time"

// FunctionStatus is a snapshot of one function. Counters count since New.
type FunctionStatus struct {
	Name string `json:"name"`
	// Revision is the revision that takes every new request, Knative
	// style: <name>-00001, then one up per Rollout.
	Revision string `json:"revision"`
	// RollingOut is the revision a Rollout in progress is starting, or "".
	RollingOut string `json:"rollingOut,omitempty"`
	// Outage is true while SetOutage keeps the function's instances from
	// starting.
	Outage    bool             `json:"outage"`
	Instances []InstanceStatus `json:"instances"`
	InFlight  int              `json:"inFlight"` // requests being served, on every instance
	Queued    int              `json:"queued"`   // requests waiting for a free instance
	Started   int64            `json:"started"`  // instances started
	// ColdStarts counts requests that found no live instance and started
	// the first one: scale from zero, or after every instance failed.
	ColdStarts int64 `json:"coldStarts"`
	// Stopped counts instances the runtime stopped: idle, or at Close.
	Stopped int64 `json:"stopped"`
	// Replaced counts instances discarded because they failed: the process
	// exited on its own or was killed, liveness failed, or it never became
	// ready. A new instance starts when demand or min-scale needs one.
	Replaced int64 `json:"replaced"`
	// Rejected counts requests answered 503 because the queue was full.
	Rejected int64 `json:"rejected"`
	// TimedOut counts requests answered 504 because they waited longer
	// than the function's timeout for an instance.
	TimedOut    int64  `json:"timedOut"`
	LastFailure string `json:"lastFailure,omitempty"`
}

// InstanceStatus is one instance of a function.
type InstanceStatus struct {
	ID       int    `json:"id"`       // 1, 2, ... per function, never reused
	Revision string `json:"revision"` // the revision it runs
	PID      int    `json:"pid"`      // 0 until the process has started
	Port     int    `json:"port"`
	// MetricsPort serves the instance's Prometheus metrics
	// (CARROT_METRICS_PORT).
	MetricsPort int    `json:"metricsPort"`
	State       string `json:"state"` // starting, ready, unready or stopping
	// Ready is true when new requests may go to it: ready, and of the
	// serving revision.
	Ready     bool      `json:"ready"`
	InFlight  int       `json:"inFlight"`
	StartedAt time.Time `json:"startedAt"`
}

// status snapshots f.
func (f *function) status() FunctionStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := FunctionStatus{
		Name:       f.spec.Name,
		Revision:   f.revisions.serving.name,
		Outage:     f.outage,
		Instances:  make([]InstanceStatus, 0, len(f.instances)),
		Queued:     f.queue.len(),
		Started:    f.counters.started,
		ColdStarts: f.counters.coldStarts,
		Stopped:    f.counters.stopped,
		Replaced:   f.counters.replaced,
		Rejected:   f.counters.rejected,
		TimedOut:   f.counters.timedOut,
	}
	if f.lastFailure != nil {
		st.LastFailure = f.lastFailure.Error()
	}
	if ro := f.revisions.pending; ro != nil {
		st.RollingOut = ro.rev.name
	}
	for _, inst := range f.instances {
		st.InFlight += inst.inFlight
		st.Instances = append(st.Instances, InstanceStatus{
			ID:          inst.id,
			Revision:    inst.rev.name,
			PID:         inst.pid,
			Port:        inst.port,
			MetricsPort: inst.metricsPort,
			State:       inst.state.String(),
			Ready:       inst.state == stateReady && inst.rev == f.revisions.serving,
			InFlight:    inst.inFlight,
			StartedAt:   inst.startedAt,
		})
	}
	return st
}
