package serving

import (
	"slices"
	"strings"
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

	env := s.environ(8080, &revision{name: "fn-00002", env: map[string]string{"A": "revision"}})

	last := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		last[k] = v
	}
	assert.Equal(t, "revision", last["A"])
	assert.Equal(t, "options", last["B"])
	assert.Equal(t, "fn", last["C"])
	assert.Equal(t, "8080", last["PORT"])
	assert.Equal(t, "fn-00002", last["K_REVISION"])
	assert.True(t, slices.Contains(env, "K_SERVICE=fn") && slices.Contains(env, "K_CONFIGURATION=fn"))
}
