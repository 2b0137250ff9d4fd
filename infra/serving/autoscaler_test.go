package serving

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestScalerWantsDemandOverTargetWithinMinAndMaxScale(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		spec   Spec
		limit  int
		demand int
		want   int
	}{
		"nothing to do scales to zero":   {Spec{Target: 0.7, MaxScale: 5}, 10, 0, 0},
		"one request needs an instance":  {Spec{Target: 1, MaxScale: 5}, 10, 1, 1},
		"below one request per instance": {Spec{Target: 0.7, MaxScale: 5}, 10, 1, 2},
		"rounds up":                      {Spec{Target: 0.7, MaxScale: 5}, 10, 3, 5},
		"capped at max-scale":            {Spec{Target: 0.7, MaxScale: 5}, 10, 30, 5},
		"min-scale is kept":              {Spec{Target: 7, MinScale: 2, MaxScale: 5}, 10, 0, 2},
		"unlimited is capped":            {Spec{Target: 70}, 10, 10000, 10},
		"max-scale above the limit":      {Spec{Target: 70, MaxScale: 50}, 10, 10000, 10},
		"min-scale above the limit":      {Spec{Target: 70, MinScale: 20}, 10, 0, 10},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newScaler(tc.spec, tc.limit)
			assert.Equal(t, tc.want, s.desired(tc.demand))
			assert.Equal(t, tc.want, s.toStart(0, tc.demand), "from zero")
			assert.Equal(t, 0, s.toStart(tc.want+1, tc.demand), "never negative")
		})
	}
}

func TestScalerStopsIdleInstancesNewestFirst(t *testing.T) {
	t.Parallel()
	now := time.Now()
	rev, old := &revision{name: "fn-00002"}, &revision{name: "fn-00001"}
	s := newScaler(Spec{Target: 1, MaxScale: 10, IdleGrace: time.Minute}, 10)
	idleSince := now.Add(-time.Minute)
	instances := []*instance{
		{id: 1, rev: rev, state: stateReady, lastActive: idleSince},
		{id: 2, rev: rev, state: stateUnready, lastActive: idleSince},
		{id: 3, rev: rev, state: stateReady, lastActive: now.Add(-time.Second)}, // active recently
		{id: 4, rev: rev, state: stateStarting, lastActive: idleSince},
		{id: 5, rev: rev, state: stateReady, inFlight: 1, lastActive: idleSince},
		{id: 6, rev: old, state: stateReady, lastActive: idleSince},
	}
	ids := func(insts []*instance) []int {
		var out []int
		for _, inst := range insts {
			out = append(out, inst.id)
		}
		return out
	}

	assert.Equal(t, []int{2, 1}, ids(s.toStop(instances, rev, 1, now)), "5 live, 1 wanted: only idle ones go")
	assert.Equal(t, []int{2}, ids(s.toStop(instances, rev, 4, now)), "5 live, 4 wanted")
	assert.Empty(t, s.toStop(instances, rev, 5, now), "as many live as wanted")
	assert.Empty(t, s.toStop(instances, rev, 1, now.Add(-time.Second)), "not idle for the grace yet")
}

func TestDemandCountsQueuedAndEveryInFlightRequest(t *testing.T) {
	t.Parallel()
	rev := &revision{name: "fn-00001"}
	instances := []*instance{
		{rev: rev, state: stateReady, inFlight: 2},
		{rev: rev, state: stateStopping, inFlight: 1}, // draining
		{rev: &revision{name: "fn-00002"}, state: stateStarting},
	}

	assert.Equal(t, 6, demand(3, instances))
	assert.Equal(t, 1, countLive(instances, rev), "stopping and other revisions are not live")
}
