package drill

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/carrot-market/carrot/tests/system"
)

// Report is what one drill measured and concluded.
type Report struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	// Skipped, when set, says why the drill did not run; nothing else is
	// filled in then.
	Skipped  string        `json:"skipped,omitempty"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration"`
	Summary  Summary       `json:"summary"`
	// Timeline has one point per sampling period (Options.Sample) from the
	// drill's start to its end.
	Timeline []Point `json:"timeline"`
	// Marks are the moments the drill acted: outage start, rollout, ...
	Marks []Mark `json:"marks"`
	// Rows are drill-specific results, such as the cold start of each
	// function or the attempts of each trigger, in the order measured.
	Rows   []Row   `json:"rows"`
	Checks []Check `json:"checks"`
	// Chart and JSON are where Save wrote the chart and the report.
	Chart string `json:"chart,omitempty"`
	JSON  string `json:"-"`
	// TraceID names the trace the drill looked at in Jaeger, if any, and
	// Waterfall is where Save drew it (SaveWaterfall).
	TraceID   string       `json:"traceId,omitempty"`
	Waterfall string       `json:"waterfall,omitempty"`
	trace     system.Trace // the spans of TraceID
}

// Summary sums up every request the drill sent, load and single requests
// alike. Latencies come from vegeta's Metrics.
type Summary struct {
	Requests uint64         `json:"requests"`
	Rate     float64        `json:"rate"` // requests per second while any was sent
	Status   map[string]int `json:"status"`
	// Success is the share of 2xx and 3xx answers, from 0 to 1.
	Success float64       `json:"success"`
	P50     time.Duration `json:"p50"`
	P95     time.Duration `json:"p95"`
	P99     time.Duration `json:"p99"`
	Max     time.Duration `json:"max"`
	Errors  []string      `json:"errors,omitempty"`
}

// Point is one sampling period of the timeline. Latencies are of the
// requests sent in it, in milliseconds, 0 when none was; Instances,
// Revisions and Lag are the last /_local/status of the period, nil when
// the system is not the local runtime. Lag is each trigger's backlog on the
// broker topic (records its consumer group has not committed); a trigger
// whose lag Kafka could not tell (while it is down) is left out.
type Point struct {
	At        float64           `json:"at"` // seconds since the drill started
	Requests  int               `json:"requests"`
	P50       float64           `json:"p50Ms"`
	P99       float64           `json:"p99Ms"`
	Instances map[string]int    `json:"instances,omitempty"`
	Revisions map[string]string `json:"revisions,omitempty"`
	Lag       map[string]int64  `json:"lag,omitempty"`
}

// Mark is a moment the drill acted on the system.
type Mark struct {
	At    float64 `json:"at"` // seconds since the drill started
	Label string  `json:"label"`
}

// Row is one drill-specific result.
type Row struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Check is an invariant computed from what the drill measured. Timing
// checks bound a duration: they depend on the machine, so they are
// reported but never fail a test or the drill command.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
	Timing bool   `json:"timing,omitempty"`
}

// Failed returns the checks that failed and are not timing checks.
func (r *Report) Failed() []Check {
	var failed []Check
	for _, c := range r.Checks {
		if !c.OK && !c.Timing {
			failed = append(failed, c)
		}
	}
	return failed
}

// WriteTable writes the report as a table a person reads at a glance.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "== %s: %s\n", r.Name, r.Title)
	if r.Skipped != "" {
		fmt.Fprintf(tw, "skipped\t%s\n", r.Skipped)
		return tw.Flush()
	}
	s := r.Summary
	fmt.Fprintf(tw, "requests\t%d in %s (%.0f/s)\n", s.Requests, r.Duration.Round(100*time.Millisecond), s.Rate)
	fmt.Fprintf(tw, "status\t%s\n", histogram(s.Status))
	fmt.Fprintf(tw, "success\t%.2f%%\n", 100*s.Success)
	fmt.Fprintf(tw, "latency\tp50 %s  p95 %s  p99 %s  max %s\n", ms(s.P50), ms(s.P95), ms(s.P99), ms(s.Max))
	fmt.Fprintf(tw, "instances\t%s\n", r.instancesOverTime())
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\n", row.Name, row.Value)
	}
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", verdict(c), c.Name, c.Detail)
	}
	if r.Chart != "" {
		fmt.Fprintf(tw, "chart\t%s\n", r.Chart)
	}
	if r.Waterfall != "" {
		fmt.Fprintf(tw, "waterfall\t%s\n", r.Waterfall)
	}
	return tw.Flush()
}

func verdict(c Check) string {
	switch {
	case c.OK && c.Timing:
		return "ok (timing)"
	case c.OK:
		return "PASS"
	case c.Timing:
		return "slow (timing)"
	default:
		return "FAIL"
	}
}

// histogram prints status counts in status order, "0" (no answer) last.
func histogram(counts map[string]int) string {
	codes := make([]string, 0, len(counts))
	for code := range counts {
		codes = append(codes, code)
	}
	sort.Slice(codes, func(i, j int) bool {
		if (codes[i] == "0") != (codes[j] == "0") {
			return codes[j] == "0"
		}
		return codes[i] < codes[j]
	})
	parts := make([]string, 0, len(codes))
	for _, code := range codes {
		name := code
		if code == "0" {
			name = "no answer"
		}
		parts = append(parts, fmt.Sprintf("%s: %d", name, counts[code]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "  ")
}

func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond / 10).String()
}

// instancesOverTime describes, per function that ran during the drill,
// its peak instance count and the count at the end: "pay 3→0".
func (r *Report) instancesOverTime() string {
	names := r.functionsShown()
	if len(names) == 0 {
		if len(r.Timeline) > 0 && r.Timeline[0].Instances == nil {
			return "n/a (not the local runtime; watch kubectl get pods -w)"
		}
		return "none ran"
	}
	parts := make([]string, 0, len(names))
	for _, name := range names {
		peak, last := 0, 0
		for _, p := range r.Timeline {
			if n, ok := p.Instances[name]; ok {
				peak, last = max(peak, n), n
			}
		}
		parts = append(parts, fmt.Sprintf("%s %d→%d", name, peak, last))
	}
	return "peak→end: " + strings.Join(parts, "  ")
}

// functionsShown lists the functions that had an instance at some point
// of the timeline, by name.
func (r *Report) functionsShown() []string {
	seen := map[string]bool{}
	for _, p := range r.Timeline {
		for name, n := range p.Instances {
			if n > 0 {
				seen[name] = true
			}
		}
	}
	names := make([]string, 0, len(seen))
	for name := range seen {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Save writes the report as JSON and its chart as PNG into dir, named
// after the drill, and records their paths in the report.
func (r *Report) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if r.Skipped == "" {
		chart := filepath.Join(dir, r.Name+".png")
		if err := r.SaveChart(chart); err != nil {
			return fmt.Errorf("chart of %s: %w", r.Name, err)
		}
		r.Chart = chart
	}
	if len(r.trace) > 0 {
		waterfall := filepath.Join(dir, r.Name+"-trace.png")
		if err := SaveWaterfall(r.trace, fmt.Sprintf("%s: trace %s", r.Name, r.TraceID), waterfall); err != nil {
			return fmt.Errorf("waterfall of %s: %w", r.Name, err)
		}
		r.Waterfall = waterfall
	}
	r.JSON = filepath.Join(dir, r.Name+".json")
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(r.JSON, append(b, '\n'), 0o644)
}
