package serving

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRolloutUnderLoadFailsNoRequest(t *testing.T) {
	t.Parallel()
	spec := fakeSpec()
	spec.ContainerConcurrency, spec.MaxScale = 2, 3
	h := mustServe(t, spec, fakeOptions(t))
	assert.Equal(t, "fake-00001", h.get("/env?name=K_REVISION").body)
	assert.Equal(t, "fake-00001", h.status().Revision)

	traffic := h.startLoad(4, "/work?ms=20")
	require.Eventually(t, func() bool { return traffic.served.Load() >= 20 }, eventually, tick)

	res, err := h.serving.Rollout(context.Background(), "fake", map[string]string{"COLOR": "blue"})
	require.NoError(t, err)
	assert.Equal(t, RolloutResult{Function: "fake", Revision: "fake-00002", Previous: "fake-00001"}, res)
	after := traffic.served.Load()
	require.Eventually(t, func() bool { return traffic.served.Load() >= after+20 }, eventually, tick)
	assert.Empty(t, traffic.stop(), "requests failed during the rollout")

	st := h.status()
	assert.Equal(t, "fake-00002", st.Revision)
	assert.Empty(t, st.RollingOut)
	assert.Zero(t, st.Replaced)
	require.Eventually(t, func() bool {
		for _, inst := range h.status().Instances {
			if inst.Revision != "fake-00002" {
				return false
			}
		}
		return true
	}, eventually, tick, "old instances are stopped: %+v", h.status().Instances)
	assert.Equal(t, "fake-00002", h.get("/env?name=K_REVISION").body)
	assert.Equal(t, "blue", h.get("/env?name=COLOR").body, "the rollout's environment")

	res, err = h.serving.Rollout(context.Background(), "fake", nil)
	require.NoError(t, err)
	assert.Equal(t, "fake-00003", res.Revision)
	assert.Equal(t, "blue", h.get("/env?name=COLOR").body, "a revision keeps its predecessor's environment")
}

func TestRolloutThatNeverGetsReadyKeepsTheOldRevision(t *testing.T) {
	t.Parallel()
	opts := fakeOptions(t)
	opts.StartTimeout = time.Second
	h := mustServe(t, fakeSpec(), opts)
	pid := h.pid()

	_, err := h.serving.Rollout(context.Background(), "fake", map[string]string{"FAKEFN_NEVER_READY": "1"})

	var failed *RolloutError
	require.ErrorAs(t, err, &failed)
	assert.Equal(t, "fake-00002", failed.Revision)
	assert.Equal(t, "fake-00001", failed.Previous)
	assert.ErrorContains(t, err, "not ready within")
	assert.Equal(t, pid, h.pid(), "the old instance still serves")
	st := h.status()
	assert.Equal(t, "fake-00001", st.Revision)
	assert.Zero(t, st.Replaced, "a failed revision is not the serving one's failure")
	require.Eventually(t, func() bool { return len(h.status().Instances) == 1 }, eventually, tick,
		"the failed revision's instances are stopped")
	assert.Equal(t, "fake-00001", h.status().Instances[0].Revision)

	res, err := h.serving.Rollout(context.Background(), "fake", nil)
	require.NoError(t, err)
	assert.Equal(t, "fake-00003", res.Revision, "a failed revision's name is not reused")
	assert.Empty(t, h.get("/env?name=FAKEFN_NEVER_READY").body, "the failed revision's environment is not kept")
}

func TestRolloutOfAnUnknownFunctionOrDuringAnother(t *testing.T) {
	t.Parallel()
	opts := fakeOptions(t)
	opts.StartTimeout = 2 * time.Second
	h := mustServe(t, fakeSpec(), opts)
	_, err := h.serving.Rollout(context.Background(), "nobody", nil)
	assert.ErrorIs(t, err, ErrUnknownFunction)
	assert.ErrorIs(t, h.serving.SetOutage("nobody", true), ErrUnknownFunction)

	first := make(chan error, 1)
	go func() {
		_, err := h.serving.Rollout(context.Background(), "fake", map[string]string{"FAKEFN_NEVER_READY": "1"})
		first <- err
	}()
	require.Eventually(t, func() bool { return h.status().RollingOut == "fake-00002" }, eventually, tick)
	_, err = h.serving.Rollout(context.Background(), "fake", nil)
	assert.ErrorIs(t, err, ErrRolloutInProgress)
	var failed *RolloutError
	assert.ErrorAs(t, <-first, &failed)
}

func TestOutageRefusesRequestsUntilItEnds(t *testing.T) {
	t.Parallel()
	h := mustServe(t, fakeSpec(), fakeOptions(t))
	pid := h.pid()

	require.NoError(t, h.serving.SetOutage("fake", true))

	require.Eventually(t, func() bool { return processGone(pid) }, eventually, tick, "the running instance is killed")
	require.Eventually(t, func() bool {
		return !slices.ContainsFunc(h.status().Instances, func(i InstanceStatus) bool { return i.PID == pid })
	}, eventually, tick, "and forgotten: its process exit is seen a moment after it is gone")
	for range 3 {
		r := h.get("/pid")
		assert.Equal(t, http.StatusServiceUnavailable, r.status, r.body)
		assert.NotEmpty(t, r.header.Get("Retry-After"))
		assert.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
		assert.Contains(t, r.body, "instances of fake cannot start: outage")
	}
	st := h.status()
	assert.True(t, st.Outage)
	assert.GreaterOrEqual(t, st.Replaced, int64(2), "the killed instance and the failed starts")
	assert.Contains(t, st.LastFailure, "cannot start: outage")
	assert.Zero(t, st.TimedOut, "no request waited for its timeout")
	for _, inst := range st.Instances {
		assert.Zero(t, inst.PID, "no process started during the outage")
	}

	require.NoError(t, h.serving.SetOutage("fake", false))
	assert.False(t, h.status().Outage)
	assert.NotEqual(t, pid, h.pid(), "the next request starts an instance")
}

func TestUnhealthyInstanceFinishesItsRequestsWhileReplaced(t *testing.T) {
	t.Parallel()
	spec := fakeSpec()
	spec.ContainerConcurrency, spec.MaxScale = 2, 2
	h := mustServe(t, spec, fakeOptions(t))
	sickPID := h.pid()
	sick := h.status()
	require.Len(t, sick.Instances, 1)
	sickPort := sick.Instances[0].Port
	held := h.getAll(1, "/hold")
	require.Eventually(t, func() bool { return h.status().InFlight == 1 }, eventually, tick)

	callInstance(t, sickPort, "/sick")

	require.Eventually(t, func() bool {
		st := h.status()
		return st.Replaced == 1 && st.readyInstances() == 1 && !hasInstance(st, sickPID, true)
	}, eventually, tick, "a replacement is ready while the sick instance still holds a request")
	assert.False(t, processGone(sickPID), "the sick instance drains its request first")
	healthy := h.pid()
	assert.NotEqual(t, sickPID, healthy)

	callInstance(t, sickPort, "/release")
	r := <-held
	assert.Equal(t, http.StatusOK, r.status, "the request in flight on the replaced instance succeeds: %s", r.body)
	require.Eventually(t, func() bool { return processGone(sickPID) }, eventually, tick)
	assert.Contains(t, h.status().LastFailure, "liveness")
}

// hasInstance reports whether an instance runs as pid, ready for new
// requests when ready is true.
func hasInstance(st FunctionStatus, pid int, ready bool) bool {
	for _, inst := range st.Instances {
		if inst.PID == pid && (!ready || inst.Ready) {
			return true
		}
	}
	return false
}
