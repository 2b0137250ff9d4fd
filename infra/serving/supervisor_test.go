package serving

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestStartBackoffDoublesUpToItsMaximum(t *testing.T) {
	t.Parallel()
	want := []time.Duration{0, 0, 250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for n, d := range want {
		assert.Equal(t, d, startBackoff(n), "after %d failures", n)
	}
	assert.Equal(t, maxBackoff, startBackoff(1000))
}

func TestBackoffCountsOnlyFailuresBeforeAnInstanceIsStable(t *testing.T) {
	t.Parallel()
	now := time.Now()
	var b backoff

	b.failed(now, time.Time{}) // never ready
	assert.False(t, b.holds(now), "the first failure delays nothing")
	b.failed(now, now.Add(-time.Second))
	assert.True(t, b.holds(now))
	assert.False(t, b.holds(now.Add(firstBackoff)))
	b.failed(now, now.Add(-stableAfter)) // was stable: the count starts over
	assert.Equal(t, 1, b.failures)
	assert.False(t, b.holds(now))
	b.failed(now, time.Time{})
	b.reset()
	assert.False(t, b.holds(now))
}

func TestProbeCounterCrossesTheFailureThresholdOnceEachWay(t *testing.T) {
	t.Parallel()
	c := probeCounter{threshold: 2}
	results := []bool{true, false, true, false, false, false, true, true}
	want := []probeChange{probeSteady, probeSteady, probeSteady, probeSteady, probeFailed, probeSteady, probeRecovered, probeSteady}
	for i, ok := range results {
		assert.Equal(t, want[i], c.observe(ok), "result %d", i)
	}
}

func TestReadinessWaitIsAQuarterOfTheWaitWithinBounds(t *testing.T) {
	t.Parallel()
	assert.Equal(t, readinessFirstPoll, readinessWait(0))
	assert.Equal(t, 5*time.Millisecond, readinessWait(20*time.Millisecond))
	assert.Equal(t, readinessPollInterval, readinessWait(time.Second))
}

func TestEnvironLetsKnativesVariablesWinOverEveryOther(t *testing.T) {
	t.Parallel()
	s := &supervisor{
		spec: Spec{Name: "fn", Env: map[string]string{"A": "manifest", "B": "manifest", "PORT": "1"}},
		opts: Options{
			Env:         map[string]string{"B": "options", "C": "options"},
			FunctionEnv: func(name string) map[string]string { return map[string]string{"C": name} },
		},
	}

	env := s.environ(8080, 9464, &revision{name: "fn-00002", env: map[string]string{"A": "revision"}})

	last := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		last[k] = v
	}
	assert.Equal(t, "revision", last["A"])
	assert.Equal(t, "options", last["B"])
	assert.Equal(t, "fn", last["C"])
	assert.Equal(t, "8080", last["PORT"])
	assert.Equal(t, "9464", last["CARROT_METRICS_PORT"])
	assert.Equal(t, "fn-00002", last["K_REVISION"])
	assert.True(t, slices.Contains(env, "K_SERVICE=fn") && slices.Contains(env, "K_CONFIGURATION=fn"))
}

// fakeOwner records what a supervisor reports.
type fakeOwner struct {
	mu        sync.Mutex
	refuse    error
	failures  []error
	forgotten []int
}

func (o *fakeOwner) startable() error                        { return o.refuse }
func (o *fakeOwner) launched(*instance, int, int, int) error { return o.refuse }
func (o *fakeOwner) markReady(*instance) bool                { return true }
func (o *fakeOwner) setRoutable(*instance, bool, error)      {}
func (o *fakeOwner) inFlightOf(*instance) int                { return 0 }
func (o *fakeOwner) fail(_ *instance, cause error) {
	o.mu.Lock()
	o.failures = append(o.failures, cause)
	o.mu.Unlock()
}

func (o *fakeOwner) forget(inst *instance) {
	o.mu.Lock()
	o.forgotten = append(o.forgotten, inst.id)
	o.mu.Unlock()
}

func TestSupervisorStartsNothingTheOwnerRefuses(t *testing.T) {
	t.Parallel()
	owner := &fakeOwner{refuse: errors.New("outage")}
	s := &supervisor{spec: Spec{Name: "fn"}, opts: fakeOptions(t).withDefaults(), owner: owner}
	s.opts.Binary = func(Spec) (string, error) { t.Fatal("no binary is needed"); return "", nil }

	s.run(newInstance(context.Background(), 1, &revision{name: "fn-00001"}, time.Now()))

	assert.Equal(t, []error{owner.refuse}, owner.failures, "the refusal is the instance's failure")
	assert.Equal(t, []int{1}, owner.forgotten)
}

func TestSupervisorOfAnInstanceStoppedBeforeItStartedOnlyForgetsIt(t *testing.T) {
	t.Parallel()
	owner := &fakeOwner{}
	s := &supervisor{spec: Spec{Name: "fn"}, opts: fakeOptions(t).withDefaults(), owner: owner}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	s.run(newInstance(ctx, 7, &revision{name: "fn-00001"}, time.Now()))

	assert.Empty(t, owner.failures)
	assert.Equal(t, []int{7}, owner.forgotten)
}
