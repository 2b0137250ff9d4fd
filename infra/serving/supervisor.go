package serving

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/carrot-market/carrot/infra/web"
)

// waitDelay bounds how long an exited process's output pipes are read
// when a process it started still holds them.
const waitDelay = time.Second

// lifecycle is what a supervisor reports to, and asks of, the function
// that owns the instance's routing state. Its methods are safe for
// concurrent use.
type lifecycle interface {
	// startable returns why no instance may start now, or nil.
	startable() error
	// launched records the process of inst; an error means an outage
	// began meanwhile and the process must be killed.
	launched(inst *instance, pid, port, metricsPort int) error
	// markReady lets inst take requests; false means it was stopped
	// meanwhile.
	markReady(inst *instance) bool
	// setRoutable follows a readiness change of a ready instance.
	setRoutable(inst *instance, ready bool, cause error)
	// fail discards an instance that failed.
	fail(inst *instance, cause error)
	// forget drops an instance whose process is gone.
	forget(inst *instance)
	// inFlightOf counts the requests inst is serving.
	inFlightOf(inst *instance) int
}

// supervisor is the kubelet of one function's instances: it starts an
// instance's process with its environment, probes readiness and liveness,
// and stops the process. It keeps no routing state: it tells the function
// through lifecycle.
type supervisor struct {
	spec   Spec
	opts   Options
	output *sharedOutput
	ctx    context.Context // ends when the runtime closes
	owner  lifecycle

	binaryMu sync.Mutex
	binary   string
}

// resolveBinary returns the function's executable, asking Options.Binary
// until it succeeds once.
func (s *supervisor) resolveBinary() (string, error) {
	s.binaryMu.Lock()
	defer s.binaryMu.Unlock()
	if s.binary != "" {
		return s.binary, nil
	}
	path, err := s.opts.Binary(s.spec)
	if err != nil {
		return "", fmt.Errorf("serving: binary of %s: %w", s.spec.Name, err)
	}
	s.binary = path
	return path, nil
}

// run supervises one instance from start to its process being gone: it
// starts the process, waits for readiness, probes it, and stops it when
// asked to or when it fails.
func (s *supervisor) run(inst *instance) {
	defer inst.stop()
	err := s.launch(inst)
	if err == nil {
		err = s.supervise(inst)
	}
	if err != nil {
		s.owner.fail(inst, err)
	}
	s.terminate(inst)
	s.owner.forget(inst)
}

// launch starts the process with its port and environment. When the
// function may not start instances (an outage) it fails at once, and a
// process that started as the outage began is killed, so that no
// instance runs while it lasts.
func (s *supervisor) launch(inst *instance) error {
	if err := s.owner.startable(); err != nil {
		return err
	}
	binary, err := s.resolveBinary()
	if err != nil {
		return err
	}
	port, err := s.opts.Port()
	if err != nil {
		return err
	}
	metricsPort, err := s.opts.Port()
	if err != nil {
		return err
	}
	if inst.ctx.Err() != nil {
		return nil // Stopped before it started: nothing to do.
	}
	prefix := s.opts.LinePrefix(s.spec.Name, inst.id)
	stdout := &lineWriter{out: s.output, prefix: prefix}
	stderr := &lineWriter{out: s.output, prefix: prefix}
	cmd := exec.Command(binary)
	cmd.Env = s.environ(port, metricsPort, inst.rev)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = processAttributes()
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", binary, err)
	}
	inst.cmd = cmd
	inst.endpoint = newEndpoint(port)
	inst.proxy = newProxy(s.spec, s.opts.Logger, inst)
	go func() {
		inst.waitErr = cmd.Wait()
		stdout.flush()
		stderr.flush()
		close(inst.exited)
	}()
	if err := s.owner.launched(inst, cmd.Process.Pid, port, metricsPort); err != nil {
		_ = signalGroup(cmd.Process.Pid, syscall.SIGKILL)
		return err
	}
	s.opts.Logger.Infow("instance started", "function", s.spec.Name, "revision", inst.rev.name, "instance", inst.id, "pid", cmd.Process.Pid, "port", port)
	return nil
}

// environ is the instance's environment, later entries winning: the
// runtime's own, the manifest's, Options.Env, Options.FunctionEnv, the
// revision's (Rollout), then what Knative sets itself (PORT and the K_
// variables), CARROT_LISTEN_HOST=127.0.0.1, so that the instance
// listens where its probes and proxy reach it and nowhere else, and
// CARROT_METRICS_PORT, a port of its own for its metrics.
func (s *supervisor) environ(port, metricsPort int, rev *revision) []string {
	env := os.Environ()
	add := func(vars map[string]string) {
		for _, k := range slices.Sorted(maps.Keys(vars)) {
			env = append(env, k+"="+vars[k])
		}
	}
	add(s.spec.Env)
	add(s.opts.Env)
	if s.opts.FunctionEnv != nil {
		add(s.opts.FunctionEnv(s.spec.Name))
	}
	add(rev.env)
	add(map[string]string{
		"PORT":             strconv.Itoa(port),
		"K_SERVICE":        s.spec.Name,
		"K_CONFIGURATION":  s.spec.Name,
		"K_REVISION":       rev.name,
		web.ListenHostEnv:  loopback,
		web.MetricsPortEnv: strconv.Itoa(metricsPort),
	})
	return env
}

// supervise waits for the first successful readiness probe, then probes
// readiness and liveness at their periods. It returns nil when the
// instance is asked to stop, and the failure otherwise: the process
// exited, did not become ready in time, or failed liveness.
func (s *supervisor) supervise(inst *instance) error {
	if inst.cmd == nil {
		return nil
	}
	if err := s.awaitReady(inst); err != nil || !s.owner.markReady(inst) {
		return err
	}
	readinessTicker := time.NewTicker(s.spec.Readiness.Period)
	defer readinessTicker.Stop()
	readiness := probeCounter{threshold: s.spec.Readiness.FailureThreshold}
	var liveness probeCounter
	var livenessTicks <-chan time.Time
	if s.spec.Liveness != nil {
		t := time.NewTicker(s.spec.Liveness.Period)
		defer t.Stop()
		livenessTicks = t.C
		liveness.threshold = s.spec.Liveness.FailureThreshold
	}
	for {
		select {
		case <-inst.exited:
			return exitError(inst)
		case <-inst.ctx.Done():
			return nil
		case <-readinessTicker.C:
			err := inst.endpoint.probe(inst.ctx, s.spec.Readiness)
			if err != nil && inst.ctx.Err() != nil {
				continue // Stopping: a failed probe says nothing.
			}
			switch readiness.observe(err == nil) {
			case probeRecovered:
				s.owner.setRoutable(inst, true, nil)
			case probeFailed:
				s.owner.setRoutable(inst, false, err)
			}
		case <-livenessTicks:
			err := inst.endpoint.probe(inst.ctx, *s.spec.Liveness)
			if err != nil && inst.ctx.Err() != nil {
				continue
			}
			if liveness.observe(err == nil) == probeFailed {
				return fmt.Errorf("liveness probe failed %d times: %w", liveness.failures, err)
			}
		}
	}
}

// probeChange is what one probe result changed.
type probeChange int

const (
	probeSteady    probeChange = iota
	probeFailed                // failures reached the threshold just now
	probeRecovered             // a success after failures had reached the threshold
)

// probeCounter counts a probe's consecutive failures against its
// failureThreshold, as the kubelet does.
type probeCounter struct {
	threshold int
	failures  int
}

// observe records one probe result and says whether it crossed the
// threshold either way.
func (c *probeCounter) observe(ok bool) probeChange {
	if ok {
		failed := c.failures >= c.threshold
		c.failures = 0
		if failed {
			return probeRecovered
		}
		return probeSteady
	}
	c.failures++
	if c.failures == c.threshold {
		return probeFailed
	}
	return probeSteady
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
func (s *supervisor) awaitReady(inst *instance) error {
	deadline := time.NewTimer(s.opts.StartTimeout)
	defer deadline.Stop()
	began := time.Now()
	poll := time.NewTimer(readinessFirstPoll)
	defer poll.Stop()
	for {
		if inst.endpoint.probe(inst.ctx, s.spec.Readiness) == nil {
			return nil
		}
		select {
		case <-inst.exited:
			return exitError(inst)
		case <-inst.ctx.Done():
			return nil
		case <-deadline.C:
			return fmt.Errorf("not ready within %s", s.opts.StartTimeout)
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
func (s *supervisor) terminate(inst *instance) {
	if inst.cmd == nil {
		return
	}
	pid := inst.cmd.Process.Pid
	select {
	case <-inst.exited:
	default:
		s.awaitIdle(inst)
		_ = signalGroup(pid, syscall.SIGTERM)
		timeout := time.NewTimer(s.opts.StopTimeout)
		select {
		case <-inst.exited:
		case <-timeout.C:
			s.opts.Logger.Warnw("instance did not stop in time; killing it", "function", s.spec.Name, "instance", inst.id, "pid", pid)
		}
		timeout.Stop()
	}
	_ = signalGroup(pid, syscall.SIGKILL) // ESRCH when the group is gone already.
	<-inst.exited
	inst.endpoint.transport.CloseIdleConnections()
	s.opts.Logger.Infow("instance gone", "function", s.spec.Name, "instance", inst.id, "pid", pid)
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
func (s *supervisor) awaitIdle(inst *instance) {
	deadline := time.Now().Add(s.spec.Timeout)
	for s.owner.inFlightOf(inst) > 0 && time.Now().Before(deadline) {
		select {
		case <-inst.exited:
			return
		case <-s.ctx.Done():
			return
		case <-time.After(drainPoll):
		}
	}
}

// backoff is a function's start backoff: consecutive failures of
// instances that were not yet stable, and the time before which no
// instance starts. It holds no lock; its function's mutex guards it.
type backoff struct {
	failures  int
	notBefore time.Time
}

// failed records the failure, at now, of an instance that became ready at
// readyAt (zero when it never did). A failure after stableAfter of
// readiness starts the count over.
func (b *backoff) failed(now, readyAt time.Time) {
	if readyAt.IsZero() || now.Sub(readyAt) < stableAfter {
		b.failures++
	} else {
		b.failures = 1
	}
	b.notBefore = now.Add(startBackoff(b.failures))
}

// holds reports whether starts must wait at now.
func (b *backoff) holds(now time.Time) bool { return now.Before(b.notBefore) }

// reset forgets the failures: the next start may come at once.
func (b *backoff) reset() { *b = backoff{} }

// Start backoff: an instance that fails before it has been ready for
// stableAfter delays the next start of its function, so that a binary that
// crashes at once does not spin. The first failure delays nothing; then
// the delay doubles from firstBackoff up to maxBackoff.
const (
	stableAfter  = 10 * time.Second
	firstBackoff = 250 * time.Millisecond
	maxBackoff   = 5 * time.Second
)

// startBackoff is the delay before the next start after n consecutive
// failures.
func startBackoff(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	return min(firstBackoff<<min(n-2, 16), maxBackoff)
}
