package serving

import (
	"math"
	"time"
)

// Knative's defaults, as Knative Serving v0.50 ships them in its
// config-autoscaler, config-defaults and the Kubernetes probe defaults.
const (
	// DefaultIdleGrace is the autoscaler's stable window: how long an
	// instance may stay idle before it is stopped.
	DefaultIdleGrace = 60 * time.Second
	// DefaultTimeout is config-defaults' revision-timeout-seconds.
	DefaultTimeout = 300 * time.Second
	// QueueDepthPerConcurrency is the queue-proxy's queue: each unit of
	// containerConcurrency may have this many requests waiting.
	QueueDepthPerConcurrency = 10
	// unlimitedConcurrencyUnits stands in for containerConcurrency 0 where a
	// number is needed (the queue size, the default target). It is
	// config-autoscaler's container-concurrency-target-default.
	unlimitedConcurrencyUnits = 100
	// targetUtilization is config-autoscaler's
	// container-concurrency-target-percentage, as a fraction.
	targetUtilization = 0.7
	// minTarget is Knative's smallest target (autoscaling.TargetMin).
	minTarget = 0.01

	defaultProbePeriod      = 10 * time.Second // Kubernetes' periodSeconds
	defaultProbeTimeout     = time.Second      // Kubernetes' timeoutSeconds
	defaultFailureThreshold = 3                // Kubernetes' failureThreshold
	// defaultReadinessPeriod replaces Knative's readiness periodSeconds 0,
	// which means "probe aggressively" in the queue-proxy.
	defaultReadinessPeriod = time.Second
)

// Spec is what the local runtime needs to run one Knative Service as OS
// processes. LoadServices fills it from a manifest; tests may build one by
// hand, and New fills the zero fields with Knative's defaults.
type Spec struct {
	Name string `json:"name"`
	// ImportPath is the Go package of the function's binary: the ko://
	// image of the manifest without its scheme.
	ImportPath string `json:"importPath"`
	// ContainerConcurrency is the hard limit of requests in flight per
	// instance; 0 means unlimited.
	ContainerConcurrency int `json:"containerConcurrency"`
	// Target is the concurrency per instance the autoscaler aims for, as
	// Knative resolves it: the target annotation capped at
	// containerConcurrency (or containerConcurrency, or 100 when that is 0),
	// times the 70% target utilization. 0 means that default.
	Target float64 `json:"target"`
	// MinScale instances are kept running from Start to Close.
	MinScale int `json:"minScale"`
	// MaxScale bounds the instances; 0 means unlimited, which the runtime
	// caps at Options.MaxScaleLimit.
	MaxScale int `json:"maxScale"`
	// IdleGrace is how long an instance may serve nothing before it is
	// stopped (the window annotation); 0 means DefaultIdleGrace.
	IdleGrace time.Duration `json:"idleGrace"`
	// Timeout bounds a whole request, the time spent queued included
	// (timeoutSeconds); 0 means DefaultTimeout.
	Timeout time.Duration `json:"timeout"`
	// Env is the container's environment with every reference resolved.
	Env map[string]string `json:"env,omitempty"`
	// Readiness decides when an instance may receive requests. Its zero
	// value is a TCP probe of the port, as Knative's default.
	Readiness Probe `json:"readiness"`
	// Liveness, when set, replaces an instance that fails it
	// FailureThreshold times in a row.
	Liveness *Probe `json:"liveness,omitempty"`
}

// Probe is an HTTP GET probe of the instance's port, or a TCP connect
// when Path is empty. A probe succeeds on a status from 200 to 399.
type Probe struct {
	Path             string        `json:"path,omitempty"`
	Period           time.Duration `json:"period"`
	Timeout          time.Duration `json:"timeout"`
	FailureThreshold int           `json:"failureThreshold"`
}

// DefaultTarget is Knative's target when the manifest sets none:
// 70% of containerConcurrency, or 70 when containerConcurrency is 0.
func DefaultTarget(containerConcurrency int) float64 {
	total := float64(containerConcurrency)
	if total == 0 {
		total = unlimitedConcurrencyUnits
	}
	return math.Max(minTarget, total*targetUtilization)
}

// withDefaults returns s with its zero fields set to Knative's defaults.
func (s Spec) withDefaults() Spec {
	s.Target = positiveOr(s.Target, DefaultTarget(s.ContainerConcurrency))
	s.IdleGrace = positiveOr(s.IdleGrace, DefaultIdleGrace)
	s.Timeout = positiveOr(s.Timeout, DefaultTimeout)
	s.Readiness = s.Readiness.withDefaults(defaultReadinessPeriod)
	if s.Liveness != nil {
		l := s.Liveness.withDefaults(defaultProbePeriod)
		s.Liveness = &l
	}
	return s
}

func (p Probe) withDefaults(period time.Duration) Probe {
	p.Period = positiveOr(p.Period, period)
	p.Timeout = positiveOr(p.Timeout, defaultProbeTimeout)
	p.FailureThreshold = positiveOr(p.FailureThreshold, defaultFailureThreshold)
	return p
}

// positiveOr returns v, or def when v is zero or negative: the rule of
// every count and duration of Spec and Options whose 0 means a default.
func positiveOr[T int | float64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// concurrencyUnits is containerConcurrency, or 100 when it is unlimited.
func (s Spec) concurrencyUnits() int {
	if s.ContainerConcurrency == 0 {
		return unlimitedConcurrencyUnits
	}
	return s.ContainerConcurrency
}
