package serving

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readyInstances returns instances of rev, ids 1 to len(inFlight), ready
// and serving inFlight[i] requests each.
func readyInstances(rev *revision, inFlight ...int) []*instance {
	out := make([]*instance, len(inFlight))
	for i, n := range inFlight {
		out[i] = &instance{id: i + 1, rev: rev, state: stateReady, inFlight: n}
	}
	return out
}

func TestRouterPicksTheFirstInstanceBelowTheTarget(t *testing.T) {
	t.Parallel()
	rev, other := &revision{name: "fn-00001"}, &revision{name: "fn-00002"}
	tests := map[string]struct {
		router    router
		instances []*instance
		want      int // the id picked, 0 for none
	}{
		"first below target":                    {router{soft: 2, hard: 4}, readyInstances(rev, 2, 1, 0), 2},
		"least busy below containerConcurrency": {router{soft: 1, hard: 4}, readyInstances(rev, 3, 2, 3), 2},
		"every instance full":                   {router{soft: 1, hard: 2}, readyInstances(rev, 2, 2), 0},
		"unlimited concurrency":                 {router{soft: 70, hard: 0}, readyInstances(rev, 500), 1},
		"no instance":                           {router{soft: 1, hard: 1}, nil, 0},
		"not ready": {router{soft: 1, hard: 1}, []*instance{
			{id: 1, rev: rev, state: stateStarting}, {id: 2, rev: rev, state: stateUnready}, {id: 3, rev: rev, state: stateStopping},
		}, 0},
		"other revision": {router{soft: 1, hard: 1}, []*instance{{id: 1, rev: other, state: stateReady}}, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := tc.router.pick(tc.instances, rev)
			if tc.want == 0 {
				assert.Nil(t, got)
				return
			}
			require.NotNil(t, got)
			assert.Equal(t, tc.want, got.id)
		})
	}
}

func TestQueueCapacityIsTenPerConcurrencyUnitPerLiveInstance(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		spec Spec
		live int
		want int
	}{
		"scaled to zero still queues": {Spec{ContainerConcurrency: 1}, 0, 10},
		"one instance":                {Spec{ContainerConcurrency: 1}, 1, 10},
		"three instances of 4":        {Spec{ContainerConcurrency: 4}, 3, 120},
		"unlimited counts as 100":     {Spec{ContainerConcurrency: 0}, 2, 2000},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			q := newQueue(tc.spec)
			assert.Equal(t, tc.want, q.capacity(tc.live))
		})
	}
}

func TestQueueRefusesBeyondItsCapacity(t *testing.T) {
	t.Parallel()
	q := newQueue(Spec{ContainerConcurrency: 1})
	for range 10 {
		require.NotNil(t, q.push(1))
	}

	assert.Nil(t, q.push(1), "the 11th request with one live instance")
	assert.NotNil(t, q.push(2), "a second live instance makes room")
	assert.Equal(t, 11, q.len())
}

func TestQueueDispatchesInArrivalOrderWhileSlotsAreFree(t *testing.T) {
	t.Parallel()
	q := newQueue(Spec{ContainerConcurrency: 1})
	first, second, third := q.push(1), q.push(1), q.push(1)
	slots := []*instance{{id: 1}, {id: 2}}

	q.dispatch(func() *instance {
		if len(slots) == 0 {
			return nil
		}
		inst := slots[0]
		slots = slots[1:]
		return inst
	})

	assert.Equal(t, 1, (<-first.grant).inst.id)
	assert.Equal(t, 2, (<-second.grant).inst.id)
	assert.Equal(t, 1, q.len(), "the third waits for a slot")
	assert.Empty(t, third.grant)
}

func TestQueueRemoveAndFailAll(t *testing.T) {
	t.Parallel()
	q := newQueue(Spec{ContainerConcurrency: 1})
	gone, kept := q.push(1), q.push(1)

	assert.True(t, q.remove(gone))
	assert.False(t, q.remove(gone), "removed already")
	boom := errors.New("boom")
	q.failAll(boom)

	assert.Equal(t, 0, q.len())
	assert.ErrorIs(t, (<-kept.grant).err, boom)
	assert.Empty(t, gone.grant, "a removed request gets no grant")
}
