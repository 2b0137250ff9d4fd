package serving

import (
	"context"
	"fmt"
	"maps"
	"net/http/httputil"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// instanceState is where an instance is in its life. Only ready instances
// receive new requests.
type instanceState int

const (
	stateStarting instanceState = iota // process starting, readiness not yet answered
	stateReady
	stateUnready // readiness failed FailureThreshold times after it was ready
	stateStopping
)

func (s instanceState) String() string {
	return [...]string{"starting", "ready", "unready", "stopping"}[s]
}

// waitDelay bounds how long an exited process's output pipes are read
// when a process it started still holds them.
const waitDelay = time.Second

// instance is one process of a function. The fields under "routing" are
// guarded by the function's mutex; the others are written by the
// instance's supervisor before the instance turns ready, or, for pid and
// port, under the function's mutex too.
type instance struct {
	id        int
	rev       *revision // the revision it runs, never changed
	startedAt time.Time
	ctx       context.Context // ends when the instance must stop
	stop      context.CancelFunc

	cmd      *exec.Cmd
	exited   chan struct{} // closed once the process is reaped
	waitErr  error         // what Wait returned, readable once exited is closed
	proxy    *httputil.ReverseProxy
	endpoint *endpoint

	// routing
	state      instanceState
	pid, port  int
	inFlight   int
	readyAt    time.Time
	lastActive time.Time
}

func newInstance(parent context.Context, id int, rev *revision, now time.Time) *instance {
	ctx, stop := context.WithCancel(parent)
	return &instance{id: id, rev: rev, startedAt: now, ctx: ctx, stop: stop, exited: make(chan struct{}), lastActive: now}
}

// run supervises one instance from start to its process being gone: it
// starts the process, waits for readiness, probes it, and stops it when
// asked to or when it fails.
func (f *function) run(inst *instance) {
	defer inst.stop()
	err := f.launch(inst)
	if err == nil {
		err = f.supervise(inst)
	}
	if err != nil {
		f.fail(inst, err)
	}
	f.terminate(inst)
	f.forget(inst)
}

// launch starts the process with its port and environment. During an
// outage it fails at once, and a process that started as the outage began
// is killed, so that no instance runs while it lasts.
func (f *function) launch(inst *instance) error {
	if f.inOutage() {
		return f.outageError()
	}
	binary, err := f.resolveBinary()
	if err != nil {
		return err
	}
	port, err := f.serving.opts.Port()
	if err != nil {
		return err
	}
	if inst.ctx.Err() != nil {
		return nil // Stopped before it started: nothing to do.
	}
	prefix := f.serving.opts.LinePrefix(f.spec.Name, inst.id)
	stdout := &lineWriter{out: f.serving.output, prefix: prefix}
	stderr := &lineWriter{out: f.serving.output, prefix: prefix}
	cmd := exec.Command(binary)
	cmd.Env = f.environ(port, inst.rev)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = processAttributes()
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", binary, err)
	}
	inst.cmd = cmd
	inst.endpoint = newEndpoint(port)
	inst.proxy = f.newProxy(inst, inst.endpoint.base, inst.endpoint.transport)
	go func() {
		inst.waitErr = cmd.Wait()
		stdout.flush()
		stderr.flush()
		close(inst.exited)
	}()
	f.mu.Lock()
	inst.pid, inst.port = cmd.Process.Pid, port
	outage := f.outage
	f.mu.Unlock()
	if outage {
		_ = signalGroup(inst.pid, syscall.SIGKILL)
		return f.outageError()
	}
	f.serving.opts.Logger.Infow("instance started", "function", f.spec.Name, "revision", inst.rev.name, "instance", inst.id, "pid", inst.pid, "port", port)
	return nil
}

// environ is the instance's environment, later entries winning: the
// runtime's own, the manifest's, Options.Env, Options.FunctionEnv, the
// revision's (Rollout), then what Knative sets itself (PORT and the K_
// variables).
func (f *function) environ(port int, rev *revision) []string {
	env := os.Environ()
	add := func(vars map[string]string) {
		for _, k := range slices.Sorted(maps.Keys(vars)) {
			env = append(env, k+"="+vars[k])
		}
	}
	add(f.spec.Env)
	add(f.serving.opts.Env)
	if f.serving.opts.FunctionEnv != nil {
		add(f.serving.opts.FunctionEnv(f.spec.Name))
	}
	add(rev.env)
	add(map[string]string{
		"PORT":            strconv.Itoa(port),
		"K_SERVICE":       f.spec.Name,
		"K_CONFIGURATION": f.spec.Name,
		"K_REVISION":      rev.name,
	})
	return env
}

// supervise waits for the first successful readiness probe, then probes
// readiness and liveness at their periods. It returns nil when the
// instance is asked to stop, and the failure otherwise: the process
// exited, did not become ready in time, or failed liveness.
func (f *function) supervise(inst *instance) error {
	if inst.cmd == nil {
		return nil
	}
	if err := f.awaitReady(inst); err != nil || !f.markReady(inst) {
		return err
	}
	readiness := time.NewTicker(f.spec.Readiness.Period)
	defer readiness.Stop()
	var liveness <-chan time.Time
	if f.spec.Liveness != nil {
		t := time.NewTicker(f.spec.Liveness.Period)
		defer t.Stop()
		liveness = t.C
	}
	readinessFailures, livenessFailures := 0, 0
	for {
		select {
		case <-inst.exited:
			return exitError(inst)
		case <-inst.ctx.Done():
			return nil
		case <-readiness.C:
			err := inst.endpoint.probe(inst.ctx, f.spec.Readiness)
			switch {
			case err == nil:
				if readinessFailures >= f.spec.Readiness.FailureThreshold {
					f.setRoutable(inst, true, nil)
				}
				readinessFailures = 0
			case inst.ctx.Err() == nil:
				readinessFailures++
				if readinessFailures == f.spec.Readiness.FailureThreshold {
					f.setRoutable(inst, false, err)
				}
			}
		case <-liveness:
			err := inst.endpoint.probe(inst.ctx, *f.spec.Liveness)
			switch {
			case err == nil:
				livenessFailures = 0
			case inst.ctx.Err() == nil:
				livenessFailures++
				if livenessFailures >= f.spec.Liveness.FailureThreshold {
					return fmt.Errorf("liveness probe failed %d times: %w", livenessFailures, err)
				}
			}
		}
	}
}

// Readiness probes of a starting instance come fast at first and then
// every readinessPollInterval, as the queue-proxy probes aggressively at
// startup: the wait before the next probe is a quarter of the time waited
// so far, at least readinessFirstPoll and at most readinessPollInterval.
// So an instance that gets ready within the first 100 ms is seen ready at
// most a quarter later (a 20 ms start at about 25 ms, not at the 25 ms
// tick plus the probe), for about 20 probes, and a slow start is probed
// at the steady interval.
const (
	readinessFirstPoll    = time.Millisecond
	readinessPollInterval = 25 * time.Millisecond
)

// readinessWait is the wait before the next readiness probe of an
// instance that has been starting for elapsed.
func readinessWait(elapsed time.Duration) time.Duration {
	return min(max(elapsed/4, readinessFirstPoll), readinessPollInterval)
}

// awaitReady probes readiness until it succeeds; nil also means the
// instance was asked to stop meanwhile.
func (f *function) awaitReady(inst *instance) error {
	deadline := time.NewTimer(f.serving.opts.StartTimeout)
	defer deadline.Stop()
	began := time.Now()
	poll := time.NewTimer(readinessFirstPoll)
	defer poll.Stop()
	for {
		if inst.endpoint.probe(inst.ctx, f.spec.Readiness) == nil {
			return nil
		}
		select {
		case <-inst.exited:
			return exitError(inst)
		case <-inst.ctx.Done():
			return nil
		case <-deadline.C:
			return fmt.Errorf("not ready within %s", f.serving.opts.StartTimeout)
		case <-poll.C:
		}
		poll.Reset(readinessWait(time.Since(began)))
	}
}

func exitError(inst *instance) error {
	if inst.waitErr == nil {
		return fmt.Errorf("exited with status 0")
	}
	return fmt.Errorf("exited: %w", inst.waitErr)
}

// terminate ends the process: once its requests in flight are done
// (awaitIdle), SIGTERM to its group, then SIGKILL to the group after
// Options.StopTimeout, and once more after it exited, for the processes it
// may have started. It returns once the process is reaped.
//
// Pitfall: the last SIGKILL targets the group id after the leader was
// reaped; a new group with the same id could only exist after the pid
// space wrapped around within that instant.
func (f *function) terminate(inst *instance) {
	if inst.cmd == nil {
		return
	}
	pid := inst.cmd.Process.Pid
	select {
	case <-inst.exited:
	default:
		f.awaitIdle(inst)
		_ = signalGroup(pid, syscall.SIGTERM)
		timeout := time.NewTimer(f.serving.opts.StopTimeout)
		select {
		case <-inst.exited:
		case <-timeout.C:
			f.serving.opts.Logger.Warnw("instance did not stop in time; killing it", "function", f.spec.Name, "instance", inst.id, "pid", pid)
		}
		timeout.Stop()
	}
	_ = signalGroup(pid, syscall.SIGKILL) // ESRCH when the group is gone already.
	<-inst.exited
	inst.endpoint.transport.CloseIdleConnections()
	f.serving.opts.Logger.Infow("instance gone", "function", f.spec.Name, "instance", inst.id, "pid", pid)
}

// drainPoll is how often a stopping instance's requests in flight are
// counted while it drains.
const drainPoll = 10 * time.Millisecond

// awaitIdle returns once a stopping instance has no request in flight, so
// that SIGTERM never races a request the proxy is about to send on a kept
// alive connection: an instance replaced by a rollout or for failing
// liveness finishes what it was given. It returns early when the process
// exits or the runtime closes, and after the function's timeout, which no
// request outlives.
func (f *function) awaitIdle(inst *instance) {
	deadline := time.Now().Add(f.spec.Timeout)
	for f.inFlightOf(inst) > 0 && time.Now().Before(deadline) {
		select {
		case <-inst.exited:
			return
		case <-f.serving.ctx.Done():
			return
		case <-time.After(drainPoll):
		}
	}
}

func (f *function) inFlightOf(inst *instance) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return inst.inFlight
}
