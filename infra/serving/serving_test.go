package serving

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/infra/web"
)

func TestFirstRequestStartsAnInstance(t *testing.T) {
	t.Parallel()
	spec := fakeSpec()
	spec.Env = map[string]string{"FROM_MANIFEST": "manifest", "OVERRIDDEN": "manifest"}
	opts := fakeOptions(t)
	opts.Env["OVERRIDDEN"] = "options"
	// An *os.File takes the instances' concurrent writes as they come.
	output, err := os.CreateTemp(t.TempDir(), "output")
	require.NoError(t, err)
	t.Cleanup(func() { _ = output.Close() })
	opts.Output = output
	h := mustServe(t, spec, opts)
	require.Empty(t, h.status().Instances, "min-scale 0 starts nothing")

	pid := h.pid()

	st := h.status()
	require.Len(t, st.Instances, 1)
	assert.Equal(t, pid, st.Instances[0].PID)
	assert.True(t, st.Instances[0].Ready)
	assert.Equal(t, "ready", st.Instances[0].State)
	assert.EqualValues(t, 1, st.Started)
	assert.EqualValues(t, 1, st.ColdStarts, "the first request found no instance")
	assert.Equal(t, "manifest", h.get("/env?name=FROM_MANIFEST").body)
	assert.Equal(t, "options", h.get("/env?name=OVERRIDDEN").body)
	assert.Equal(t, "fake", h.get("/env?name=K_SERVICE").body)
	assert.Equal(t, strconv.Itoa(st.Instances[0].Port), h.get("/env?name=PORT").body)
	assert.Equal(t, "127.0.0.1", h.get("/env?name="+web.ListenHostEnv).body, "instances listen on loopback alone")
	assert.NotZero(t, st.Instances[0].MetricsPort)
	assert.NotEqual(t, st.Instances[0].Port, st.Instances[0].MetricsPort, "metrics have a port of their own")
	assert.Equal(t, strconv.Itoa(st.Instances[0].MetricsPort), h.get("/env?name="+web.MetricsPortEnv).body)
	logged, err := os.ReadFile(output.Name())
	require.NoError(t, err)
	assert.Contains(t, string(logged), "fake-1 | fakefn "+strconv.Itoa(pid)+" serving", "instance output is prefixed")
}

func TestInstanceNeverServesMoreThanContainerConcurrency(t *testing.T) {
	t.Parallel()
	spec := fakeSpec()
	spec.ContainerConcurrency = 2
	h := mustServe(t, spec, fakeOptions(t))

	const requests = 8
	results := h.getAll(requests, "/work?ms=30")
	for range requests {
		r := <-results
		require.Equal(t, http.StatusOK, r.status, r.body)
	}

	st := h.status()
	require.Len(t, st.Instances, 1)
	stats := statsOf(t, st.Instances[0].Port)
	assert.Equal(t, requests, stats.Served)
	assert.LessOrEqual(t, stats.MaxInFlight, 2, "the fake saw more requests at once than containerConcurrency")
}

func TestFullQueueAnswers503AtOnce(t *testing.T) {
	t.Parallel()
	h := mustServe(t, fakeSpec(), fakeOptions(t)) // containerConcurrency 1, max-scale 1
	h.pid()                                       // An instance is ready: the capacity is 1 in flight + 10 queued.
	const requests, admitted = 15, 1 + QueueDepthPerConcurrency

	results := h.getAll(requests, "/hold")

	require.Eventually(t, func() bool {
		st := h.status()
		return st.InFlight == 1 && st.Queued == QueueDepthPerConcurrency && st.Rejected == requests-admitted
	}, eventually, tick)
	// Every rejected request has its answer while the admitted ones are still held.
	for range requests - admitted {
		r := <-results
		require.Equal(t, http.StatusServiceUnavailable, r.status, r.body)
		assert.Equal(t, "2", r.header.Get("Retry-After"))
		assert.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
		assert.Contains(t, r.body, `"status":503`)
	}
	h.releaseAll()
	for range admitted {
		r := <-results
		assert.Equal(t, http.StatusOK, r.status, r.body)
	}
	assert.EqualValues(t, requests-admitted, h.status().Rejected)
}

func TestConcurrencyAboveTargetScalesOutUpToMaxScale(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		containerConcurrency int
		target               float64
		requests             int
		queued               int // once max-scale instances are ready
	}{
		"queue beyond the instances' slots": {containerConcurrency: 1, target: 1, requests: 8, queued: 5},
		"target below containerConcurrency": {containerConcurrency: 4, target: 2, requests: 5, queued: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			spec := fakeSpec()
			spec.ContainerConcurrency, spec.Target, spec.MaxScale = tc.containerConcurrency, tc.target, 3
			opts := fakeOptions(t)
			opts.IdleGrace = 300 * time.Millisecond
			h := mustServe(t, spec, opts)

			results := h.getAll(tc.requests, "/hold")

			require.Eventually(t, func() bool {
				st := h.status()
				return st.readyInstances() == 3 && st.InFlight == tc.requests-tc.queued && st.Queued == tc.queued
			}, eventually, tick)
			assert.EqualValues(t, 3, h.status().Started)
			for _, inst := range h.status().Instances {
				assert.LessOrEqual(t, inst.InFlight, tc.containerConcurrency)
			}
			h.releaseAll()
			for range tc.requests {
				r := <-results
				assert.Equal(t, http.StatusOK, r.status, r.body)
			}
			assert.EqualValues(t, 3, h.status().Started, "max-scale was exceeded")
			assert.EqualValues(t, 1, h.status().ColdStarts, "only the first instance started from zero")
			require.Eventually(t, func() bool { return len(h.status().Instances) == 0 }, eventually, tick,
				"idle instances are stopped")
			assert.EqualValues(t, 3, h.status().Stopped)
		})
	}
}

func TestIdleInstanceScalesToZero(t *testing.T) {
	t.Parallel()
	opts := fakeOptions(t)
	opts.IdleGrace = 200 * time.Millisecond
	h := mustServe(t, fakeSpec(), opts)
	pid := h.pid()

	require.Eventually(t, func() bool {
		st := h.status()
		return len(st.Instances) == 0 && st.Stopped == 1
	}, eventually, tick)
	assert.True(t, processGone(pid))
	assert.Zero(t, h.status().Replaced)

	assert.NotEqual(t, pid, h.pid(), "the next request starts a new instance")
	assert.EqualValues(t, 2, h.status().Started)
	assert.EqualValues(t, 2, h.status().ColdStarts, "both starts were from zero")
}

func TestMinScaleInstancesAreKept(t *testing.T) {
	t.Parallel()
	spec := fakeSpec()
	spec.MinScale = 1
	opts := fakeOptions(t)
	opts.IdleGrace = 50 * time.Millisecond
	h := mustServe(t, spec, opts)

	require.Eventually(t, func() bool { return h.status().readyInstances() == 1 }, eventually, tick,
		"Start starts min-scale instances without a request")
	pid := h.status().Instances[0].PID
	assert.Equal(t, pid, h.pid())
	assert.Never(t, func() bool {
		st := h.status()
		return len(st.Instances) != 1 || st.Stopped != 0
	}, 20*opts.IdleGrace, tick)
	assert.EqualValues(t, 1, h.status().Started)
	assert.Zero(t, h.status().ColdStarts, "a min-scale instance waits for requests")
}

func TestFailingLivenessReplacesTheInstance(t *testing.T) {
	t.Parallel()
	h := mustServe(t, fakeSpec(), fakeOptions(t))
	sick := h.pid()

	require.Equal(t, http.StatusOK, h.get("/sick").status)

	require.Eventually(t, func() bool { return h.status().Replaced == 1 && processGone(sick) }, eventually, tick)
	assert.Contains(t, h.status().LastFailure, "liveness")
	healthy := h.pid()
	assert.NotEqual(t, sick, healthy)
	assert.EqualValues(t, 1, h.status().Replaced)
}

// TestKilledInstanceIsReplacedOnTheNextRequest kills an instance with
// SIGKILL while it holds a request. A request that may have taken effect
// (a POST) is answered 503 with Retry-After; one that is safe to send
// again (a GET without a body) goes to the instance that replaces it.
func TestKilledInstanceIsReplacedOnTheNextRequest(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		method, body string
		resent       bool
	}{
		"a POST fails":                 {method: http.MethodPost, body: `{"n":1}`},
		"a GET goes to a new instance": {method: http.MethodGet, resent: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := mustServe(t, fakeSpec(), fakeOptions(t))
			killed := h.pid()
			held := make(chan response, 1)
			go func() { held <- h.send(tc.method, "/hold", tc.body) }()
			require.Eventually(t, func() bool { return h.status().InFlight == 1 }, eventually, tick)

			require.NoError(t, h.serving.Kill("fake", h.status().Instances[0].ID))

			require.Eventually(t, func() bool { return h.status().Replaced == 1 && processGone(killed) }, eventually, tick)
			if tc.resent {
				require.Eventually(t, func() bool {
					st := h.status()
					return st.readyInstances() == 1 && st.InFlight == 1
				}, eventually, tick, "the GET reaches the new instance")
				h.releaseAll()
			}
			r := <-held
			if tc.resent {
				assert.Equal(t, http.StatusOK, r.status, r.body)
				assert.NotEqual(t, strconv.Itoa(killed), strings.TrimSpace(r.body))
			} else {
				assertUnavailable(t, r)
			}
			assert.NotEqual(t, killed, h.pid())
			assert.EqualValues(t, 1, h.status().Replaced)
		})
	}
	h := mustServe(t, fakeSpec(), fakeOptions(t))
	assert.Error(t, h.serving.Kill("fake", 99))
	assert.Error(t, h.serving.Kill("nobody", 1))
}

// TestInstanceThatDiesMidRequest has the instance exit while it handles a
// request: a GET without a body is sent once more, to the instance that
// replaces it, and anything else is answered 503 with Retry-After.
func TestInstanceThatDiesMidRequest(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		method, body string
		status       int
	}{
		"GET":          {method: http.MethodGet, status: http.StatusOK},
		"HEAD":         {method: http.MethodHead, status: http.StatusOK},
		"POST":         {method: http.MethodPost, body: `{"n":1}`, status: http.StatusServiceUnavailable},
		"GET and body": {method: http.MethodGet, body: `{"n":1}`, status: http.StatusServiceUnavailable},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := mustServe(t, fakeSpec(), fakeOptions(t))
			dies := h.pid()
			once := filepath.Join(t.TempDir(), "crashed")

			r := h.send(tc.method, "/crash?once="+once, tc.body)

			require.FileExists(t, once, "the instance got the request")
			if tc.status == http.StatusOK {
				assert.Equal(t, http.StatusOK, r.status, r.body)
			} else {
				assertUnavailable(t, r)
			}
			require.Eventually(t, func() bool { return h.status().Replaced == 1 && processGone(dies) }, eventually, tick)
			assert.NotEqual(t, dies, h.pid())
		})
	}
}

// TestRequestsRightAfterAKill send requests to an instance the moment it
// was killed, before the runtime may have noticed: each is served by a new
// instance or answered 503 with Retry-After, never with the inside's text.
func TestRequestsRightAfterAKill(t *testing.T) {
	t.Parallel()
	spec := fakeSpec()
	spec.ContainerConcurrency, spec.MaxScale = 4, 2
	h := mustServe(t, spec, fakeOptions(t))
	for round := range 5 {
		// The victim comes from the status it is killed by: with two
		// instances, the one that answers /pid may be the other.
		h.pid() // an instance serves
		instances := h.status().Instances
		i := slices.IndexFunc(instances, func(in InstanceStatus) bool { return in.Ready })
		require.GreaterOrEqual(t, i, 0, "a ready instance: %+v", instances)
		killed := instances[i].PID
		require.NoError(t, h.serving.Kill("fake", instances[i].ID))
		answers := make(chan response, 4)
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodGet, http.MethodPost} {
			go func() { answers <- h.send(method, "/work?ms=1", `{"n":1}`) }()
		}
		for range 4 {
			r := <-answers
			if r.status != http.StatusOK {
				assertUnavailable(t, r)
			}
		}
		require.Eventually(t, func() bool { return processGone(killed) && h.status().Replaced == int64(round+1) }, eventually, tick)
	}
}

func TestInstanceThatCannotStartFailsQueuedRequests(t *testing.T) {
	t.Parallel()
	opts := fakeOptions(t)
	opts.FunctionEnv = func(string) map[string]string { return map[string]string{"FAKEFN_EXIT": "1"} }
	h := mustServe(t, fakeSpec(), opts)

	r := h.get("/pid")

	assert.Equal(t, http.StatusServiceUnavailable, r.status, r.body)
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	assert.Contains(t, r.body, "no instance could be started")
	assert.GreaterOrEqual(t, h.status().Replaced, int64(1))
}

func TestUnreadyInstanceGetsNoRequests(t *testing.T) {
	t.Parallel()
	spec := fakeSpec()
	spec.MinScale = 1
	spec.Timeout = time.Second
	h := mustServe(t, spec, fakeOptions(t))
	require.Eventually(t, func() bool { return h.status().readyInstances() == 1 }, eventually, tick)
	port := h.status().Instances[0].Port

	callInstance(t, port, "/unready")
	require.Eventually(t, func() bool { return h.status().Instances[0].State == "unready" }, eventually, tick)
	r := h.get("/pid")
	assert.Equal(t, http.StatusGatewayTimeout, r.status, "the request waited in the queue for a ready instance: %s", r.body)
	assert.EqualValues(t, 1, h.status().TimedOut)

	callInstance(t, port, "/ready")
	require.Eventually(t, func() bool { return h.status().readyInstances() == 1 }, eventually, tick)
	h.pid()
	assert.EqualValues(t, 1, h.status().Started, "an unready instance is not replaced")
}

func TestSlowAnswerPastTheTimeoutGets504(t *testing.T) {
	t.Parallel()
	spec := fakeSpec()
	spec.Timeout = time.Second
	h := mustServe(t, spec, fakeOptions(t))

	r := h.get("/work?ms=10000")

	assert.Equal(t, http.StatusGatewayTimeout, r.status, r.body)
	assert.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
}

func TestStreamedResponseIsFlushedAsItIsWritten(t *testing.T) {
	t.Parallel()
	h := mustServe(t, fakeSpec(), fakeOptions(t))

	resp, err := http.Get(h.server.URL + "/stream")
	require.NoError(t, err)
	defer resp.Body.Close()
	body := bufio.NewReader(resp.Body)
	first, err := body.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "first\n", first, "the first line arrives before the handler finishes")

	h.releaseAll()
	second, err := body.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "second\n", second)
}

func TestCloseLeavesNoProcess(t *testing.T) {
	t.Parallel()
	spec := fakeSpec()
	spec.MinScale, spec.MaxScale = 2, 2
	h := mustServe(t, spec, fakeOptions(t))
	require.Eventually(t, func() bool { return h.status().readyInstances() == 2 }, eventually, tick)
	var pids []int
	for _, inst := range h.status().Instances {
		pids = append(pids, inst.PID)
	}

	h.serving.Close()

	for _, pid := range pids {
		assert.True(t, processGone(pid), "process %d outlived Close", pid)
	}
	assert.Empty(t, h.status().Instances)
	assert.EqualValues(t, 2, h.status().Stopped)
	r := h.get("/pid")
	assert.Equal(t, http.StatusServiceUnavailable, r.status, r.body)
}

func TestInstancesDieWithTheRuntime(t *testing.T) {
	t.Parallel()
	runtime := exec.Command(os.Args[0], "-test.run=^$")
	runtime.Env = append(os.Environ(), helperRuntimeEnv+"="+fakeBinary)
	stdin, err := runtime.StdinPipe()
	require.NoError(t, err)
	defer stdin.Close()
	stdout, err := runtime.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, runtime.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	instance, err := strconv.Atoi(strings.TrimSpace(line))
	require.NoError(t, err)
	require.False(t, processGone(instance))

	require.NoError(t, runtime.Process.Kill())
	_ = runtime.Wait()

	require.Eventually(t, func() bool { return processGone(instance) }, eventually, tick,
		"instance %d outlived its runtime", instance)
}

func TestUnknownFunctionAnswers404(t *testing.T) {
	t.Parallel()
	s, err := New(nil, fakeOptions(t))
	require.NoError(t, err)
	defer s.Close()
	w := httptest.NewRecorder()
	s.Handler("nobody").ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.Empty(t, s.Names())
}

func TestNewAndStartFailFast(t *testing.T) {
	t.Parallel()
	good := fakeSpec()
	tests := map[string]struct {
		specs []Spec
		opts  Options
	}{
		"no binary":       {specs: []Spec{good}, opts: Options{}},
		"duplicate name":  {specs: []Spec{good, good}, opts: fakeOptions(t)},
		"no name":         {specs: []Spec{{}}, opts: fakeOptions(t)},
		"min above max":   {specs: []Spec{{Name: "x", MinScale: 3, MaxScale: 2}}, opts: fakeOptions(t)},
		"negative limits": {specs: []Spec{{Name: "x", ContainerConcurrency: -1}}, opts: fakeOptions(t)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New(tc.specs, tc.opts)
			assert.Error(t, err)
		})
	}

	opts := fakeOptions(t)
	opts.Binary = func(Spec) (string, error) { return "", errors.New("does not compile") }
	s, err := New([]Spec{good}, opts)
	require.NoError(t, err)
	defer s.Close()
	assert.ErrorContains(t, s.Start(context.Background()), "does not compile")
}
