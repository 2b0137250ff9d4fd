package drill

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/carrot-market/carrot/tests/system"
)

// Options say how hard and how long a drill runs.
type Options struct {
	// Short runs the shortened form that `make test` runs: less load for
	// less time, the same invariants.
	Short bool
	// Concurrency, when positive, replaces the number of concurrent
	// clients of the overload and autoscale drills.
	Concurrency int
	// Sample is the timeline's period; 0 means 500 ms.
	Sample time.Duration
	// ScaleDownWait bounds each wait for functions to scale to zero; 0
	// means 90 s, enough for the manifests' 60 s window. Run the runtime
	// with CARROT_IDLE_GRACE=10s to keep drills short.
	ScaleDownWait time.Duration
	// Settle bounds each wait for an effect to travel through the broker;
	// 0 means 60 s.
	Settle time.Duration
	// Progress, when set, receives a progress bar (a terminal's stderr).
	Progress io.Writer
	// Logf, when set, receives a line for each step of the drill.
	Logf func(format string, args ...any)
}

func (o Options) withDefaults() Options {
	if o.Sample <= 0 {
		o.Sample = 500 * time.Millisecond
	}
	if o.ScaleDownWait <= 0 {
		o.ScaleDownWait = 90 * time.Second
	}
	if o.Settle <= 0 {
		o.Settle = 60 * time.Second
	}
	return o
}

// pick returns full, or short in the shortened form.
func pick[T any](o Options, full, short T) T {
	if o.Short {
		return short
	}
	return full
}

// clients returns Options.Concurrency when it is set, or else full, or
// short in the shortened form: the number of concurrent clients of the
// drills that take the command's -c.
func clients(o Options, full, short int) int {
	if o.Concurrency > 0 {
		return o.Concurrency
	}
	return pick(o, full, short)
}

// run is one drill in progress: every request it sends is recorded, the
// runtime's status is sampled in the background, and its report is filled
// in as it goes. Its methods are safe for concurrent use.
type run struct {
	env   *Env
	opts  Options
	began time.Time
	bar   *progress

	mu      sync.Mutex
	rep     *Report
	results []vegeta.Result
	samples []sample

	stopSampling context.CancelFunc
	sampling     sync.WaitGroup
}

// sample is one look at /_local/status.
type sample struct {
	at        time.Time
	instances map[string]int
	revisions map[string]string
	lags      map[string]int64
}

// begin starts a drill: its report, its progress bar and, on the local
// runtime, the sampling of /_local/status.
func (e *Env) begin(ctx context.Context, name, title string, opts Options) *run {
	opts = opts.withDefaults()
	r := &run{
		env: e, opts: opts, began: time.Now(),
		rep: &Report{Name: name, Title: title, Started: time.Now()},
		bar: newProgress(opts.Progress, name),
	}
	sampleCtx, cancel := context.WithCancel(ctx)
	r.stopSampling = cancel
	if e.Local {
		r.sampling.Add(1)
		go r.sample(sampleCtx)
	}
	return r
}

// sample looks at /_local/status every period until ctx ends.
func (r *run) sample(ctx context.Context) {
	defer r.sampling.Done()
	ticker := time.NewTicker(r.opts.Sample)
	defer ticker.Stop()
	for {
		lookCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := r.env.Status(lookCtx)
		cancel()
		if err == nil {
			r.record(st)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// record keeps a status as a sample of the timeline.
func (r *run) record(st system.Status) {
	s := sample{at: time.Now(), instances: st.Instances(), revisions: revisions(st), lags: lags(st)}
	r.mu.Lock()
	r.samples = append(r.samples, s)
	r.mu.Unlock()
}

// lags is each trigger's lag, leaving out those Kafka could not tell
// (-1, e.g. while it is down).
func lags(st system.Status) map[string]int64 {
	out := make(map[string]int64, len(st.Triggers))
	for _, tr := range st.Triggers {
		if tr.Lag >= 0 {
			out[tr.Name] = tr.Lag
		}
	}
	return out
}

// finish stops the sampling and completes the report: summary and
// timeline.
func (r *run) finish() *Report {
	r.stopSampling()
	r.sampling.Wait()
	r.bar.finish()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.Duration = time.Since(r.began)
	r.rep.Summary = summarize(r.results)
	r.rep.Timeline = r.timeline()
	return r.rep
}

// summarize computes a Summary with vegeta's Metrics.
func summarize(results []vegeta.Result) Summary {
	var m vegeta.Metrics
	for i := range results {
		m.Add(&results[i])
	}
	m.Close()
	s := Summary{
		Requests: m.Requests, Rate: m.Rate, Status: m.StatusCodes, Success: m.Success,
		P50: m.Latencies.P50, P95: m.Latencies.P95, P99: m.Latencies.P99, Max: m.Latencies.Max,
		Errors: m.Errors,
	}
	if s.Status == nil {
		s.Status = map[string]int{}
	}
	return s
}

// timeline buckets the results and samples by sampling period.
func (r *run) timeline() []Point {
	period := r.opts.Sample
	n := int(r.rep.Duration/period) + 1
	points := make([]Point, n)
	latencies := make([][]time.Duration, n)
	for i := range points {
		points[i].At = (time.Duration(i) * period).Seconds()
	}
	for _, res := range r.results {
		i := min(max(int(res.Timestamp.Sub(r.began)/period), 0), n-1)
		points[i].Requests++
		latencies[i] = append(latencies[i], res.Latency)
	}
	for i := range points {
		points[i].P50, points[i].P99 = quantileMs(latencies[i], 0.50), quantileMs(latencies[i], 0.99)
	}
	if !r.env.Local {
		return points
	}
	var last *sample
	next := 0
	for i := range points {
		end := r.began.Add(time.Duration(i+1) * period)
		for next < len(r.samples) && r.samples[next].at.Before(end) {
			last = &r.samples[next]
			next++
		}
		if last != nil {
			points[i].Instances, points[i].Revisions, points[i].Lag = last.instances, last.revisions, last.lags
		}
	}
	return points
}

// quantileMs returns the q-quantile of ds in milliseconds, 0 for none.
func quantileMs(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	sorted := append([]time.Duration(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	i := min(int(q*float64(len(sorted))), len(sorted)-1)
	return float64(sorted[i]) / float64(time.Millisecond)
}

// do sends one request of the drill and records it.
func (r *run) do(ctx context.Context, user, method, path string, body any) system.Response {
	res := r.env.Do(ctx, user, method, path, body)
	r.add(toResult(method, path, res))
	return res
}

func toResult(method, path string, res system.Response) vegeta.Result {
	out := vegeta.Result{
		Method: method, URL: path, Code: uint16(res.Status), Timestamp: res.Sent,
		Latency: res.Latency, Headers: res.Header,
	}
	switch {
	case res.Err != nil:
		out.Code, out.Error = 0, res.Err.Error()
	case res.Status >= 400:
		out.Error = fmt.Sprintf("%d %s", res.Status, http.StatusText(res.Status))
	}
	return out
}

// add records results of the drill.
func (r *run) add(results ...vegeta.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.results = append(r.results, results...)
}

// mark records that the drill acted on the system now.
func (r *run) mark(label string) {
	r.logf("%s", label)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.Marks = append(r.rep.Marks, Mark{At: time.Since(r.began).Seconds(), Label: label})
}

// row adds a drill-specific result.
func (r *run) row(name, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.Rows = append(r.rep.Rows, Row{Name: name, Value: fmt.Sprintf(format, args...)})
}

// check adds an invariant; timing adds a bound on a duration.
func (r *run) check(name string, ok bool, format string, args ...any) bool {
	r.addCheck(Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	return ok
}

func (r *run) timing(name string, ok bool, format string, args ...any) {
	r.addCheck(Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...), Timing: true})
}

func (r *run) addCheck(c Check) {
	r.logf("%s %s: %s", verdict(c), c.Name, c.Detail)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.Checks = append(r.rep.Checks, c)
}

// logf reports a step to Options.Logf and the progress bar.
func (r *run) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if r.opts.Logf != nil {
		r.opts.Logf("%s: %s", r.rep.Name, line)
	}
	r.bar.describe(line)
}

// status asks /_local/status, bounded by a few seconds.
func (r *run) status(ctx context.Context) (system.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := r.env.Status(ctx)
	if err == nil {
		r.record(st)
	}
	return st, err
}

// waitStatus polls /_local/status until cond holds or within passes, and
// returns the last status seen and whether cond held.
func (r *run) waitStatus(ctx context.Context, within time.Duration, cond func(system.Status) bool) (system.Status, bool) {
	deadline := time.Now().Add(within)
	var last system.Status
	for {
		st, err := r.status(ctx)
		if err == nil {
			last = st
			if cond(st) {
				return st, true
			}
		}
		if time.Now().After(deadline) || sleep(ctx, 200*time.Millisecond) != nil {
			return last, false
		}
	}
}

// eventually calls try until it returns nil or within passes, and returns
// its last error.
func eventually(ctx context.Context, within time.Duration, try func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := try()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		if e := sleep(ctx, 250*time.Millisecond); e != nil {
			return fmt.Errorf("%w (last: %v)", e, err)
		}
	}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// drill runs body as the drill called name and returns its report, also
// when body fails part way: what was measured until then is reported.
func (e *Env) drill(ctx context.Context, name, title string, opts Options, body func(*run) error) (*Report, error) {
	r := e.begin(ctx, name, title, opts)
	err := body(r)
	if err != nil {
		r.logf("stopped: %v", err)
	}
	return r.finish(), err
}
