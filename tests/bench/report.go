package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Budget is the limit one measurement must keep: at most (or at least,
// when Min) Limit, in the unit of the measured value.
type Budget struct {
	Min   bool
	Limit float64
	Text  string // as the issue states it, e.g. "≤ 1.5x raw"
}

// Holds reports whether v keeps the budget.
func (b Budget) Holds(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	if b.Min {
		return v >= b.Limit
	}
	return v <= b.Limit
}

// Use reports v measured against the budget as a fraction where 1 is the
// limit and less is better, for the chart.
func (b Budget) Use(v float64) float64 {
	if b.Limit == 0 || math.IsNaN(v) {
		return math.NaN()
	}
	if b.Min {
		if v == 0 {
			return math.Inf(1)
		}
		return b.Limit / v
	}
	return v / b.Limit
}

// Row is one line of the results table. Checked is the number the budget
// applies to (a ratio, an overhead in ms, a rate); Budget is nil for rows
// that only inform.
type Row struct {
	Section string  `json:"section"`
	Name    string  `json:"name"`
	Carrot  string  `json:"carrot"`
	Raw     string  `json:"raw"`
	Ratio   string  `json:"ratio"`
	Checked float64 `json:"checked"`
	Budget  *Budget `json:"budget,omitempty"`
	Note    string  `json:"note,omitempty"`
}

// Verdict is PASS, MISS or "" for an informative row.
func (r Row) Verdict() string {
	switch {
	case r.Budget == nil:
		return ""
	case r.Budget.Holds(r.Checked):
		return "PASS"
	default:
		return "MISS"
	}
}

// Machine says where the numbers come from.
type Machine struct {
	CPU   string
	Cores int
	Go    string
	OS    string
	Date  time.Time
}

func thisMachine() Machine {
	m := Machine{CPU: "unknown", Cores: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, Date: time.Now().UTC()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// Markdown renders the table with the machine under it.
func Markdown(rows []Row, m Machine, took time.Duration) string {
	var b strings.Builder
	b.WriteString("| # | measurement | carrot | raw / reference | ratio or overhead | budget | verdict |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		budget := ""
		if r.Budget != nil {
			budget = r.Budget.Text
		}
		name := r.Name
		if r.Note != "" {
			name += " (" + r.Note + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n",
			cell(r.Section), cell(name), cell(r.Carrot), cell(r.Raw), cell(r.Ratio), cell(budget), r.Verdict())
	}
	pass, miss := 0, 0
	for _, r := range rows {
		switch r.Verdict() {
		case "PASS":
			pass++
		case "MISS":
			miss++
		}
	}
	fmt.Fprintf(&b, "\n%d budgets kept, %d missed. Machine: %s, %d cores, %s, %s; measured %s in %s.\n",
		pass, miss, m.CPU, m.Cores, m.Go, m.OS, m.Date.Format("2006-01-02 15:04 MST"), took.Round(time.Second))
	return b.String()
}

func cell(s string) string {
	if s == "" {
		return "–"
	}
	return strings.ReplaceAll(s, "|", `\|`)
}

// Summary is the latency distribution of one run.
type Summary struct {
	N        int           `json:"n"`
	Errors   int           `json:"errors"`
	P50, P99 time.Duration `json:"-"`
	Rate     float64       `json:"rate"` // successes per second of wall time
}

// summarize computes exact quantiles of samples; wall is the run's
// duration, for the rate.
func summarize(samples []time.Duration, errors int, wall time.Duration) Summary {
	s := Summary{N: len(samples), Errors: errors}
	if len(samples) > 0 {
		sorted := slices.Clone(samples)
		slices.Sort(sorted)
		s.P50, s.P99 = quantile(sorted, 0.50), quantile(sorted, 0.99)
	}
	if wall > 0 {
		s.Rate = float64(len(samples)) / wall.Seconds()
	}
	return s
}

// quantile is the nearest-rank quantile of sorted samples.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func latency(s Summary) string {
	if s.N == 0 {
		return "no sample"
	}
	out := fmt.Sprintf("p50 %s, p99 %s", ms(s.P50), ms(s.P99))
	if s.Rate > 0 {
		out = fmt.Sprintf("%.0f/s, ", s.Rate) + out
	}
	if s.Errors > 0 {
		out += fmt.Sprintf(", %d errors", s.Errors)
	}
	return out
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}
