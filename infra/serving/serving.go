package serving

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/carrot-market/carrot/infra/web"
)

// Defaults of Options.
const (
	DefaultMaxScaleLimit = 10
	DefaultStartTimeout  = 30 * time.Second
	// DefaultStopTimeout leaves a function's default 3 s drain and some
	// in-flight requests time to finish before SIGKILL.
	DefaultStopTimeout = 10 * time.Second
)

// loopback is the only address instances listen on and are reached at.
const loopback = "127.0.0.1"

// autoscaleInterval is how often idle instances are looked for and
// min-scale and delayed starts are caught up. Scaling out on demand does
// not wait for it.
const autoscaleInterval = 100 * time.Millisecond

// Options configure a Serving. Binary is required.
type Options struct {
	// Binary returns the executable of a function, for example by calling
	// Build into a cache folder. It is called once per function: the first
	// path it returns is kept; an error is retried at the next start.
	Binary func(Spec) (string, error)
	// Env is added to every instance's environment, over the manifest's
	// (DYNAMODB_ENDPOINT, DRAIN_SECONDS...). Instances also inherit the
	// runtime's own environment, under both. DRAIN_SECONDS=0 is safe
	// locally: an instance gets no new request once it is told to stop,
	// so a drain only delays its exit.
	Env map[string]string
	// FunctionEnv, when set, returns variables for one function (K_SINK...)
	// that win over Env.
	FunctionEnv func(name string) map[string]string
	// Logger receives the runtime's own events; nil logs nothing.
	Logger *zap.SugaredLogger
	// Output receives every line instances print on stdout or stderr,
	// behind LinePrefix; nil means os.Stderr.
	Output io.Writer
	// LinePrefix returns the prefix of an instance's output lines; nil
	// means "<name>-<instance> | ".
	LinePrefix func(name string, instance int) string
	// IdleGrace, when positive, replaces every function's idle grace
	// (tests use a short one).
	IdleGrace time.Duration
	// Port returns a free TCP port for a new instance; nil means FreePort.
	Port func() (int, error)
	// MaxScaleLimit caps every function's instances, max-scale 0
	// (unlimited) included; 0 means DefaultMaxScaleLimit.
	MaxScaleLimit int
	// StartTimeout bounds the wait for a new instance's first successful
	// readiness probe; 0 means DefaultStartTimeout.
	StartTimeout time.Duration
	// StopTimeout is how long a stopping instance may drain after SIGTERM
	// before its process group gets SIGKILL; 0 means DefaultStopTimeout.
	StopTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = zap.NewNop().Sugar()
	}
	if o.Output == nil {
		o.Output = os.Stderr
	}
	if o.LinePrefix == nil {
		o.LinePrefix = func(name string, instance int) string { return fmt.Sprintf("%s-%d | ", name, instance) }
	}
	if o.Port == nil {
		o.Port = FreePort
	}
	o.MaxScaleLimit = positiveOr(o.MaxScaleLimit, DefaultMaxScaleLimit)
	o.StartTimeout = positiveOr(o.StartTimeout, DefaultStartTimeout)
	o.StopTimeout = positiveOr(o.StopTimeout, DefaultStopTimeout)
	return o
}

// Serving runs Knative Services as OS processes on this machine: for each
// function an activator and queue-proxy (Handler), an autoscaler and the
// kubelet's probes. Its methods are safe for concurrent use.
//
// Instances are started in their own process group with a parent-death
// signal, so they die with the runtime even when it crashes; Close stops
// them all.
type Serving struct {
	opts      Options
	output    *sharedOutput
	functions map[string]*function
	names     []string

	// ctx ends when Close starts; the autoscale loop and every instance's
	// supervision watch it.
	ctx    context.Context
	cancel context.CancelFunc

	loops     sync.WaitGroup // the autoscale loop
	processes sync.WaitGroup // one per instance, until its process is gone

	mu        sync.Mutex
	started   bool
	stopOnCtx func() bool
	closeOnce sync.Once
	closed    bool
}

// New checks specs and opts and returns a Serving that runs nothing yet:
// Start starts min-scale instances and the autoscaler, and any request to
// Handler starts an instance on demand. It fails on a missing Binary, a
// duplicate or empty name, or negative limits.
func New(specs []Spec, opts Options) (*Serving, error) {
	if opts.Binary == nil {
		return nil, errors.New("serving: Options.Binary is required")
	}
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Serving{
		opts:      opts,
		output:    &sharedOutput{w: opts.Output},
		functions: make(map[string]*function, len(specs)),
		ctx:       ctx,
		cancel:    cancel,
	}
	for _, spec := range specs {
		if err := checkSpec(spec); err != nil {
			cancel()
			return nil, err
		}
		if _, dup := s.functions[spec.Name]; dup {
			cancel()
			return nil, fmt.Errorf("serving: function %s is given twice", spec.Name)
		}
		s.functions[spec.Name] = newFunction(s, spec)
		s.names = append(s.names, spec.Name)
	}
	slices.Sort(s.names)
	return s, nil
}

func checkSpec(spec Spec) error {
	switch {
	case spec.Name == "":
		return errors.New("serving: a function needs a name")
	case spec.ContainerConcurrency < 0:
		return fmt.Errorf("serving: %s: containerConcurrency %d is negative", spec.Name, spec.ContainerConcurrency)
	case spec.MinScale < 0 || spec.MaxScale < 0:
		return fmt.Errorf("serving: %s: min-scale %d and max-scale %d must not be negative", spec.Name, spec.MinScale, spec.MaxScale)
	case spec.MaxScale > 0 && spec.MinScale > spec.MaxScale:
		return fmt.Errorf("serving: %s: min-scale %d is above max-scale %d", spec.Name, spec.MinScale, spec.MaxScale)
	}
	return nil
}

// Start resolves the binary of every function, failing on the first that
// cannot be had, then starts each function's min-scale instances and the
// autoscaler, and returns without waiting for them to be ready. When ctx
// ends, the Serving closes as if Close were called. Start may be called
// once.
func (s *Serving) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return errors.New("serving: Start was called already, or Close")
	}
	s.started = true
	for _, name := range s.names {
		if _, err := s.functions[name].supervisor.resolveBinary(); err != nil {
			return err
		}
	}
	for _, name := range s.names {
		s.functions[name].autoscale(time.Now())
	}
	s.loops.Go(s.autoscaleLoop)
	s.stopOnCtx = context.AfterFunc(ctx, s.Close)
	return nil
}

func (s *Serving) autoscaleLoop() {
	ticker := time.NewTicker(autoscaleInterval)
	defer ticker.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-ticker.C:
			for _, name := range s.names {
				s.functions[name].autoscale(now)
			}
		}
	}
}

// Close refuses new requests with 503, answers queued ones with 503,
// stops every instance (SIGTERM, then SIGKILL to its process group after
// Options.StopTimeout) and returns once every process is gone. Requests in
// flight get what their instance answers while it drains, or 502. Close is
// idempotent.
func (s *Serving) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		if s.stopOnCtx != nil {
			s.stopOnCtx()
		}
		s.mu.Unlock()
		s.cancel()
		for _, name := range s.names {
			s.functions[name].close()
		}
		s.loops.Wait()
		s.processes.Wait()
	})
}

// Handler returns the entry point of the function called name: the
// activator and queue-proxy of Knative in one. See the package comment for
// its rules. It serves before Start too, but only Start runs the loop that
// stops idle instances and retries delayed starts. An unknown name gets a
// handler that answers 404 problems; use Names to check the wiring.
func (s *Serving) Handler(name string) http.Handler {
	if f, ok := s.functions[name]; ok {
		return f
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		web.WriteProblem(w, web.NewProblem(http.StatusNotFound, "no function is called "+name))
	})
}

// Names returns the functions' names, sorted.
func (s *Serving) Names() []string { return slices.Clone(s.names) }

// Status reports every function, sorted by name.
func (s *Serving) Status() []FunctionStatus {
	out := make([]FunctionStatus, 0, len(s.names))
	for _, name := range s.names {
		out = append(out, s.functions[name].status())
	}
	return out
}

// Kill sends SIGKILL to the process group of one instance, as a crash
// would: the instance's requests in flight fail with 502, and it is
// counted as replaced. It is an operator's drill, also used by tests.
func (s *Serving) Kill(name string, instance int) error {
	f, ok := s.functions[name]
	if !ok {
		return fmt.Errorf("serving: no function is called %s", name)
	}
	pid := f.pidOf(instance)
	if pid == 0 {
		return fmt.Errorf("serving: %s has no running instance %d", name, instance)
	}
	if err := signalGroup(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("serving: kill %s instance %d: %w", name, instance, err)
	}
	return nil
}

// FreePort returns a TCP port that is free on 127.0.0.1 at the time of the
// call. Another process may take it before the instance listens; the
// instance then fails to start and another is started.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(loopback, "0"))
	if err != nil {
		return 0, fmt.Errorf("serving: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
