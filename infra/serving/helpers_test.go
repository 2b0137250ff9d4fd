package serving

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
)

const (
	fakeImportPath = "github.com/carrot-market/carrot/infra/serving/testdata/fakefn"
	// helperRuntimeEnv makes the test binary act as a runtime whose
	// instances must die with it (TestInstancesDieWithTheRuntime); its
	// value is the fake function's binary.
	helperRuntimeEnv = "SERVING_TEST_HELPER_RUNTIME"
	// eventually bounds every wait for asynchronous state; it is generous
	// because the tests share two cores.
	eventually = 20 * time.Second
	tick       = 20 * time.Millisecond
)

// fakeBinary is the fake function, built once per test run.
var fakeBinary string

func TestMain(m *testing.M) {
	if binary := os.Getenv(helperRuntimeEnv); binary != "" {
		runHelperRuntime(binary)
		return
	}
	dir, err := os.MkdirTemp("", "serving-fakefn-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fakeBinary, err = Build(context.Background(), fakeImportPath, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// fakeSpec is a function run by the fake binary: one request at a time,
// one instance, probes on the fake's health paths.
func fakeSpec() Spec {
	return Spec{
		Name:                 "fake",
		ImportPath:           fakeImportPath,
		ContainerConcurrency: 1,
		MaxScale:             1,
		Timeout:              30 * time.Second,
		Readiness:            Probe{Path: "/health/readiness", Period: 100 * time.Millisecond},
		Liveness:             &Probe{Path: "/health/liveness", Period: 100 * time.Millisecond, FailureThreshold: 2},
	}
}

// fakeOptions runs the fake binary without a drain, logging to t.
func fakeOptions(t *testing.T) Options {
	return Options{
		Binary: func(Spec) (string, error) { return fakeBinary, nil },
		Env:    map[string]string{"DRAIN_SECONDS": "0"},
		Logger: zaptest.NewLogger(t).Sugar(),
		Output: io.Discard,
	}
}

// harness is a started Serving with one function behind an HTTP server.
type harness struct {
	t       *testing.T
	serving *Serving
	server  *httptest.Server
	name    string
}

// mustServe starts spec under opts; everything stops when the test ends.
func mustServe(t *testing.T, spec Spec, opts Options) *harness {
	t.Helper()
	s, err := New([]Spec{spec}, opts)
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	server := httptest.NewServer(s.Handler(spec.Name))
	t.Cleanup(func() {
		s.Close()
		server.Close()
	})
	return &harness{t: t, serving: s, server: server, name: spec.Name}
}

// response is what a test request got.
type response struct {
	status int
	header http.Header
	body   string
}

// get sends GET path to the function.
func (h *harness) get(path string) response {
	h.t.Helper()
	resp, err := http.Get(h.server.URL + path)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

// fetch sends GET path to the function from any goroutine; a request that
// failed has status 0 and its error as the body.
func (h *harness) fetch(path string) response {
	return h.send(http.MethodGet, path, "")
}

// send sends method path with body (none when empty) to the function from
// any goroutine; a request that failed has status 0 and its error as the
// body.
func (h *harness) send(method, path, body string) response {
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.server.URL+path, reader)
	if err != nil {
		return response{body: err.Error()}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{body: err.Error()}
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(got)}
}

// internals matches what no answer may show: addresses, ports, instance
// numbers and Go's error text.
var internals = regexp.MustCompile(`127\.0\.0\.1|instance \d|tcp|EOF|reset|refused|broken pipe`)

// assertUnavailable checks that r is the 503 of a function that failed
// before it answered: problem+json with Retry-After, showing nothing of the
// inside.
func assertUnavailable(t *testing.T, r response) {
	t.Helper()
	assert.Equal(t, http.StatusServiceUnavailable, r.status, r.body)
	assert.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	assert.NotRegexp(t, internals, r.body)
}

// getAll sends n concurrent GET path requests; the channel yields each
// response as it arrives.
func (h *harness) getAll(n int, path string) <-chan response {
	out := make(chan response, n)
	for range n {
		go func() { out <- h.fetch(path) }()
	}
	return out
}

// load is GET requests sent in a loop by several clients; see startLoad.
type load struct {
	served  atomic.Int64 // the answers that were 200
	clients sync.WaitGroup
	done    chan struct{}
	mu      sync.Mutex
	failed  []string
}

// startLoad sends GET path from n clients, each sending its next request
// as soon as the last one is answered, until stop is called.
func (h *harness) startLoad(n int, path string) *load {
	l := &load{done: make(chan struct{})}
	for range n {
		l.clients.Go(func() {
			for {
				select {
				case <-l.done:
					return
				default:
				}
				r := h.fetch(path)
				if r.status == http.StatusOK {
					l.served.Add(1)
					continue
				}
				l.mu.Lock()
				l.failed = append(l.failed, fmt.Sprintf("%d: %s", r.status, r.body))
				l.mu.Unlock()
			}
		})
	}
	return l
}

// stop waits for every client's last request and returns the answers that
// were not 200.
func (l *load) stop() []string {
	close(l.done)
	l.clients.Wait()
	return l.failed
}

// pid asks the function for the pid of the instance that serves it.
func (h *harness) pid() int {
	h.t.Helper()
	r := h.get("/pid")
	require.Equal(h.t, http.StatusOK, r.status, r.body)
	pid, err := strconv.Atoi(strings.TrimSpace(r.body))
	require.NoError(h.t, err)
	return pid
}

func (h *harness) status() FunctionStatus {
	for _, st := range h.serving.Status() {
		if st.Name == h.name {
			return st
		}
	}
	h.t.Fatalf("no status for %s", h.name)
	return FunctionStatus{}
}

// readyInstances counts the instances that take requests.
func (st FunctionStatus) readyInstances() int {
	n := 0
	for _, inst := range st.Instances {
		if inst.Ready {
			n++
		}
	}
	return n
}

// releaseAll lets every /hold and /stream of every instance finish, by
// calling the instances directly rather than through the queue.
func (h *harness) releaseAll() {
	h.t.Helper()
	for _, inst := range h.status().Instances {
		callInstance(h.t, inst.Port, "/release")
	}
}

// callInstance sends GET path straight to an instance's port.
func callInstance(t *testing.T, port int, path string) string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	return string(body)
}

// fakeStats are the fake's own counters of /work and /hold requests.
type fakeStats struct {
	InFlight    int `json:"inFlight"`
	MaxInFlight int `json:"maxInFlight"`
	Served      int `json:"served"`
}

func statsOf(t *testing.T, port int) fakeStats {
	t.Helper()
	var st fakeStats
	require.NoError(t, json.Unmarshal([]byte(callInstance(t, port, "/stats")), &st))
	return st
}

// processGone reports whether no process has pid, and no process is in
// the group it led.
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) && errors.Is(syscall.Kill(-pid, 0), syscall.ESRCH)
}

// runHelperRuntime is the runtime TestInstancesDieWithTheRuntime kills:
// it keeps one instance of the fake running, prints that instance's pid,
// and waits to be killed.
func runHelperRuntime(binary string) {
	spec := fakeSpec()
	spec.MinScale = 1
	s, err := New([]Spec{spec}, Options{
		Binary: func(Spec) (string, error) { return binary, nil },
		Env:    map[string]string{"DRAIN_SECONDS": "0"},
		Output: io.Discard,
	})
	if err == nil {
		err = s.Start(context.Background())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		if st := s.Status()[0]; st.readyInstances() == 1 {
			fmt.Println(st.Instances[0].PID)
			break
		}
		time.Sleep(tick)
	}
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // Blocks until the test kills this process.
	os.Exit(0)
}
