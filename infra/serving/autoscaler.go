package serving

import (
	"math"
	"time"
)

// scaler is the autoscaler's rule for one function: how many instances
// the demand needs, and which instances are idle enough to stop. Its
// methods are pure decisions; the function acts on them under its mutex.
type scaler struct {
	target    float64 // concurrency per instance, capped at containerConcurrency
	minScale  int
	maxScale  int // never 0: unlimited is capped at Options.MaxScaleLimit
	idleGrace time.Duration
}

// newScaler reads spec, with its defaults applied, under the runtime's cap
// on instances.
func newScaler(spec Spec, maxScaleLimit int) scaler {
	maxScale := spec.MaxScale
	if maxScale == 0 || maxScale > maxScaleLimit {
		maxScale = maxScaleLimit
	}
	return scaler{target: spec.Target, minScale: min(spec.MinScale, maxScale), maxScale: maxScale, idleGrace: spec.IdleGrace}
}

// desired is the instance count demand (requests in flight and queued)
// needs: ceil(demand / target), within min-scale and max-scale.
func (s scaler) desired(demand int) int {
	desired := int(math.Ceil(float64(demand) / s.target))
	return min(max(desired, s.minScale), s.maxScale)
}

// toStart is how many instances to start when live are running.
func (s scaler) toStart(live, demand int) int {
	return max(0, s.desired(demand)-live)
}

// toStop returns, newest first, the idle instances of rev to stop so that
// no more stay live than demand needs. An instance is idle when it is
// ready or unready, has nothing in flight and served nothing for the idle
// grace.
func (s scaler) toStop(instances []*instance, rev *revision, demand int, now time.Time) []*instance {
	var stop []*instance
	live, desired := countLive(instances, rev), s.desired(demand)
	for i := len(instances) - 1; i >= 0 && live > desired; i-- {
		inst := instances[i]
		idle := inst.rev == rev && (inst.state == stateReady || inst.state == stateUnready) &&
			inst.inFlight == 0 && now.Sub(inst.lastActive) >= s.idleGrace
		if idle {
			stop = append(stop, inst)
			live--
		}
	}
	return stop
}

// demand is what the autoscaler scales on: the queued requests and those
// in flight on every instance. Requests still draining on a stopping
// instance count too, so that an instance replaced while busy (liveness,
// a rollout) has its successor started at once.
func demand(queued int, instances []*instance) int {
	n := queued
	for _, inst := range instances {
		n += inst.inFlight
	}
	return n
}

// countLive counts the instances of rev that are not stopping.
func countLive(instances []*instance, rev *revision) int {
	n := 0
	for _, inst := range instances {
		if inst.state != stateStopping && inst.rev == rev {
			n++
		}
	}
	return n
}
