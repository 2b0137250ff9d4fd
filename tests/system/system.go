// Package system starts carrot the way `make run` does and drives it: the
// runtime binary of infra/local/cmd/carrot runs as a real OS process with
// its own ports, data folder, DynamoDB table prefix and environment, so
// that several systems run side by side. A Client reaches a system, one
// the harness started or one already running at a base URL, through its
// public API and the runtime's /_local/status.
//
// The end-to-end tests of tests/, the drills and the bench share it. It
// does not import package testing: its only test helper, Response.JSON,
// takes the small Failer interface.
package system

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/web"
)

// Default bounds of the waits. They are generous: under -race on two cores
// the runtime builds every function before it answers.
const (
	DefaultStartTimeout = 120 * time.Second // the runtime answers /_local/status
	DefaultStopTimeout  = 60 * time.Second  // the runtime exits after SIGINT
	// goneTimeout bounds the wait for function processes to end once the
	// runtime has exited.
	goneTimeout = 15 * time.Second
	// startAttempts bounds the starts on other ports when a port found
	// free was taken before the runtime bound it.
	startAttempts = 3
)

// Build builds the runtime of the repository at root into out, as
// `make run` does.
func Build(ctx context.Context, root, out string) error {
	build := exec.CommandContext(ctx, "go", "build", "-o", out, "./infra/local/cmd/carrot")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building the runtime failed: %v\n%s", err, b)
	}
	return nil
}

// Options say which runtime to start and how.
type Options struct {
	// Binary is the runtime, built from infra/local/cmd/carrot (see
	// Build). Required.
	Binary string
	// Root is the repository, the runtime's argument. Required.
	Root string
	// DataDir is CARROT_DATA_DIR: Kafka's log, the JWT secret, the
	// functions' binaries. Required.
	DataDir string
	// Prefix is DYNAMODB_TABLE_PREFIX; empty picks a random one (see
	// RandomPrefix).
	Prefix string
	// Endpoint is DYNAMODB_ENDPOINT; empty takes this process's.
	Endpoint string
	// IdleGrace is CARROT_IDLE_GRACE; zero keeps the manifests' windows
	// (60 s), so instances stay warm.
	IdleGrace time.Duration
	// MaxScale is CARROT_MAX_SCALE, the runtime's cap on every function's
	// instances; zero keeps its default, below which the manifests'
	// max-scale apply.
	MaxScale int
	// RelayEvery is CARROT_RELAY_EVERY, the outbox relay's period; zero
	// means 1 s.
	RelayEvery time.Duration
	// JWTSecret, when set, is the runtime's CARROT_JWT_SECRET and the
	// client signs tokens itself; empty asks POST /auth/dev-token.
	JWTSecret string
	// Env adds to the runtime's environment; an empty value unsets a
	// variable.
	Env map[string]string
	// HTTP sends every request; nil uses one with a 60 s timeout.
	HTTP *http.Client
	// StartTimeout and StopTimeout bound start-up and the exit after
	// SIGINT; zero means DefaultStartTimeout and DefaultStopTimeout.
	StartTimeout, StopTimeout time.Duration
	// OwnGroup makes the runtime lead a process group of its own, so that
	// Kill reaches its functions even if it crashed. A Ctrl-C at the
	// terminal then no longer reaches it: the caller must stop it.
	OwnGroup bool
}

func (o Options) withDefaults() (Options, error) {
	if o.Binary == "" || o.Root == "" || o.DataDir == "" {
		return o, errors.New("system: Options need Binary, Root and DataDir")
	}
	if o.Prefix == "" {
		o.Prefix = RandomPrefix("run")
	}
	if o.Endpoint == "" {
		o.Endpoint = os.Getenv(dynamo.EnvEndpoint)
	}
	if o.RelayEvery <= 0 {
		o.RelayEvery = time.Second
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = DefaultStopTimeout
	}
	return o, nil
}

// System is one carrot runtime process the harness started, and a Client
// of it. Its methods are safe for concurrent use.
type System struct {
	*Client
	Kafka    string // host:port of the runtime's in-process Kafka
	DataDir  string // CARROT_DATA_DIR
	Prefix   string // DYNAMODB_TABLE_PREFIX
	Endpoint string // DYNAMODB_ENDPOINT

	opts   Options
	env    []string
	output *output

	mu     sync.Mutex
	proc   *exec.Cmd
	exited chan struct{} // closed once proc has exited
}

// Start starts a runtime on fresh ports and waits until it answers
// GET /_local/status. When it cannot, the runtime is ended and the error
// ends with its last output.
func Start(ctx context.Context, opts Options) (*System, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	client, err := NewClient(ClientConfig{JWTSecret: opts.JWTSecret, HTTP: opts.HTTP})
	if err != nil {
		return nil, err
	}
	client.Local = true
	s := &System{Client: client, DataDir: opts.DataDir, Prefix: opts.Prefix, Endpoint: opts.Endpoint, opts: opts, output: &output{}}
	// A port found free may be taken by another process before the
	// runtime binds it; then it exits at once and other ports are tried.
	for attempt := 1; ; attempt++ {
		gateway, cluster, kafka, err := freeAddrs()
		if err != nil {
			return nil, err
		}
		s.Gateway, s.Cluster, s.Kafka = "http://"+gateway, "http://"+cluster, kafka
		env := map[string]string{
			"CARROT_GATEWAY_ADDR":     gateway,
			"CARROT_CLUSTER_ADDR":     cluster,
			"KAFKA_ADDR":              kafka,
			"CARROT_DATA_DIR":         opts.DataDir,
			dynamo.EnvTablePrefix:     opts.Prefix,
			dynamo.EnvEndpoint:        opts.Endpoint,
			"CARROT_RELAY_EVERY":      opts.RelayEvery.String(),
			"CARROT_IDLE_GRACE":       durationEnv(opts.IdleGrace),
			"CARROT_MAX_SCALE":        countEnv(opts.MaxScale),
			web.SecretEnv:             opts.JWTSecret,
			"KAFKA_BOOTSTRAP_SERVERS": "", // the runtime's own Kafka, always
		}
		for k, v := range opts.Env {
			env[k] = v
		}
		s.env = Environ(env)
		err = s.start(ctx)
		if err == nil {
			return s, nil
		}
		if attempt < startAttempts && strings.Contains(s.output.String(), "address already in use") {
			s.output.mark(fmt.Sprintf("start %d: %v; trying other ports", attempt, err))
			continue
		}
		return nil, fmt.Errorf("carrot did not start: %w\n%s", err, s.Tail(150))
	}
}

// start runs the runtime and waits until /_local/status answers; when it
// does not, the runtime is ended.
func (s *System) start(ctx context.Context) error {
	cmd := exec.Command(s.opts.Binary, s.opts.Root)
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = s.output, s.output
	if s.opts.OwnGroup {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.proc, s.exited = cmd, exited
	s.mu.Unlock()

	deadline := time.Now().Add(s.opts.StartTimeout)
	for {
		if _, err := s.Status(ctx); err == nil {
			return nil
		}
		select {
		case <-exited:
			s.take()
			return fmt.Errorf("the runtime exited during start-up: %v", cmd.ProcessState)
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Close()
			return fmt.Errorf("/_local/status did not answer within %s", s.opts.StartTimeout)
		}
	}
}

// take forgets the running process and returns it, nil when none runs.
func (s *System) take() (*exec.Cmd, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	proc, exited := s.proc, s.exited
	s.proc, s.exited = nil, nil
	return proc, exited
}

// Restart stops the runtime as Stop does and starts it again on the same
// ports, data folder and tables. Tokens stay valid: the runtime keeps its
// JWT secret in its data folder.
func (s *System) Restart(ctx context.Context) error {
	if err := s.Stop(); err != nil {
		return err
	}
	s.output.mark("restart")
	if err := s.start(ctx); err != nil {
		return fmt.Errorf("carrot did not start again: %w\n%s", err, s.Tail(150))
	}
	return nil
}

// Stop sends SIGINT, as Ctrl-C after `make run`, and checks that the
// runtime exits with status 0 within StopTimeout and leaves no function
// process behind: neither one whose pid a Status ever showed, nor any
// process running a binary of its data folder. A runtime that does not
// exit in time is killed.
func (s *System) Stop() error {
	_, _ = s.Status(context.Background()) // records the pids of the instances running now
	proc, exited := s.take()
	if proc == nil {
		return errors.New("the system is not running")
	}
	if err := proc.Process.Signal(os.Interrupt); err != nil {
		return err
	}
	select {
	case <-exited:
	case <-time.After(s.opts.StopTimeout):
		s.kill(proc, exited)
		return fmt.Errorf("the runtime did not exit within %s of SIGINT", s.opts.StopTimeout)
	}
	var errs []error
	if code := proc.ProcessState.ExitCode(); code != 0 {
		errs = append(errs, fmt.Errorf("the runtime's exit status after SIGINT is %d, not 0", code))
	}
	if left := s.waitGone(); len(left) > 0 {
		errs = append(errs, fmt.Errorf("the runtime left function processes behind: %s", strings.Join(left, ", ")))
	}
	return errors.Join(errs...)
}

// waitGone waits until no function process of the system runs, and
// returns those still running after goneTimeout.
func (s *System) waitGone() []string {
	deadline := time.Now().Add(goneTimeout)
	for {
		var left []string
		for _, pid := range s.SeenPIDs() {
			if s.Runs(pid) {
				left = append(left, fmt.Sprintf("pid %d", pid))
			}
		}
		left = append(left, processesUnder(s.binDir())...)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Close ends the runtime if it still runs, without checks: SIGINT, then
// SIGKILL after StopTimeout. It may be called more than once.
func (s *System) Close() {
	proc, exited := s.take()
	if proc == nil {
		return
	}
	_ = proc.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(s.opts.StopTimeout):
		s.kill(proc, exited)
	}
}

// Kill ends the runtime with SIGKILL, as a crash would, and waits for it
// to exit. Its functions die with it only when Options.OwnGroup is set.
func (s *System) Kill() error {
	proc, exited := s.take()
	if proc == nil {
		return errors.New("the system is not running")
	}
	return s.kill(proc, exited)
}

func (s *System) kill(proc *exec.Cmd, exited chan struct{}) error {
	pid := proc.Process.Pid
	if s.opts.OwnGroup {
		pid = -pid
	}
	err := Signal(pid, syscall.SIGKILL)
	<-exited
	return err
}

// PID returns the runtime's process id, 0 when it does not run.
func (s *System) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.Process.Pid
}

// Output returns everything the runtime and its functions printed.
func (s *System) Output() string { return s.output.String() }

// Tail returns the last n lines of Output.
func (s *System) Tail(n int) string { return s.output.tail(n) }

// Lines returns the output lines that contain every one of parts.
func (s *System) Lines(parts ...string) []string { return s.output.lines(parts) }

// RandomPrefix returns a table prefix that starts with kind and that no
// other system uses.
func RandomPrefix(kind string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return kind + hex.EncodeToString(b) + "-"
}

// freeAddrs returns three addresses 127.0.0.1:<a port that was free a
// moment ago>: the gateway's, the cluster listener's and Kafka's.
func freeAddrs() (gateway, cluster, kafka string, err error) {
	var addrs [3]string
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", "", err
		}
		addrs[i] = ln.Addr().String()
		ln.Close()
	}
	return addrs[0], addrs[1], addrs[2], nil
}

// Environ is this process's environment with vars set (an empty value
// unsets one).
func Environ(vars map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, set := vars[k]; !set {
			env = append(env, kv)
		}
	}
	for k, v := range vars {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func durationEnv(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return d.String()
}

func countEnv(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}
