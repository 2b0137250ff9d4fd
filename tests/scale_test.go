package tests

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/tests/system"
)

// TestScaleFromZeroAndBack watches a function in /_local/status: with no
// instance, a request starts one; once it has been idle for the grace
// (CARROT_IDLE_GRACE=3s) it is stopped, its process gone, and the next
// request starts a new one from zero again.
func TestScaleFromZeroAndBack(t *testing.T) {
	sys := MustStart(t, system.Options{IdleGrace: 3 * time.Second})
	const fn = "register-item"

	st := sys.MustStatus(t).Function(fn)
	require.Equal(t, fn, st.Name)
	require.Empty(t, st.Instances, "%s runs before any request", fn)
	require.Zero(t, st.Started)

	// The request's body is held back until the status has been read, so
	// the instance is seen serving it whatever the machine's speed. It goes
	// to the function's activator: the gateway reads a body whole before a
	// function sees it, so through the gateway nothing would start.
	tok, err := sys.Token(t.Context(), seller)
	require.NoError(t, err)
	body, writeBody := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, sys.Cluster+"/functions/"+fn+"/items", body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	answered := make(chan system.Response, 1)
	go func() {
		res := sys.RoundTrip(req)
		if res.Err != nil {
			res = system.Response{Status: -1, Body: []byte(res.Err.Error())}
		}
		answered <- res
	}()
	var pid int
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		st, err := sys.Status(t.Context())
		if !assert.NoError(c, err) {
			return
		}
		f := st.Function(fn)
		if assert.Len(c, f.Instances, 1, "instances of %s while a request is in flight", fn) {
			inst := f.Instances[0]
			assert.True(c, inst.Ready, "instance %+v", inst)
			assert.Equal(c, 1, inst.InFlight, "instance %+v", inst)
			assert.Positive(c, inst.PID)
			pid = inst.PID
		}
		assert.EqualValues(c, 1, f.Started)
	}, settle, tick, "%s did not scale from zero to one", fn)
	assert.True(t, sys.Runs(pid), "instance process %d", pid)
	_, err = io.WriteString(writeBody, `{"name":"kettle","category":"kitchen","price":7000}`)
	require.NoError(t, err)
	require.NoError(t, writeBody.Close())
	res := <-answered
	require.Equal(t, http.StatusCreated, res.Status, "%s", res)
	itemID := res.JSON(t)["itemId"].(string)

	eventuallyScaledToZero(t, sys, fn, 1)
	assert.Eventually(t, func() bool { return !sys.Runs(pid) }, 15*time.Second, tick, "the idle instance's process %d still runs", pid)

	assert.Equal(t, "kettle", sys.MustGetItem(t, itemID)["name"])
	st = sys.MustStatus(t).Function(fn)
	assert.EqualValues(t, 2, st.Started, "the second request did not start an instance from zero: %+v", st)
	eventuallyScaledToZero(t, sys, fn, 2)

	sys.MustStop(t)
}

// eventuallyScaledToZero waits until fn has no instance and its stopped
// count is stopped, with none replaced: it scaled down for being idle.
func eventuallyScaledToZero(t *testing.T, sys *System, fn string, stopped int64) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		st, err := sys.Status(t.Context())
		if !assert.NoError(c, err) {
			return
		}
		f := st.Function(fn)
		assert.Empty(c, f.Instances)
		assert.Equal(c, stopped, f.Stopped)
		assert.Zero(c, f.Replaced, "last failure: %s", f.LastFailure)
	}, settle, tick, "%s did not scale back to zero", fn)
}
