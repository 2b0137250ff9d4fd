package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBudgetHolds(t *testing.T) {
	t.Parallel()
	atMost := Budget{Limit: 1.5}
	atLeast := Budget{Min: true, Limit: 3000}
	tests := []struct {
		name   string
		budget Budget
		value  float64
		holds  bool
		use    float64
	}{
		{"under a maximum", atMost, 1.2, true, 0.8},
		{"at a maximum", atMost, 1.5, true, 1},
		{"over a maximum", atMost, 3, false, 2},
		{"over a minimum", atLeast, 6000, true, 0.5},
		{"under a minimum", atLeast, 1500, false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.holds, tt.budget.Holds(tt.value))
			assert.InDelta(t, tt.use, tt.budget.Use(tt.value), 1e-9)
		})
	}
	assert.False(t, atMost.Holds(math.NaN()), "no measurement keeps no budget")
}

func TestRowVerdict(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "", Row{Checked: 1}.Verdict(), "a row without a budget only informs")
	assert.Equal(t, "PASS", Row{Checked: 1, Budget: &Budget{Limit: 2}}.Verdict())
	assert.Equal(t, "MISS", Row{Checked: 3, Budget: &Budget{Limit: 2}}.Verdict())
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	rows := []Row{
		{Section: "1", Name: "pay", Note: "POST /payments", Carrot: "p50 3 ms", Raw: "p50 2 ms", Ratio: "1.5x", Checked: 1.5, Budget: &Budget{Limit: 1.5, Text: "≤ 1.5x"}},
		{Section: "7", Name: "a|b", Carrot: "20 MiB"},
	}
	m := Machine{CPU: "Test CPU", Cores: 2, Go: "go1.0", OS: "linux/amd64", Date: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)}
	got := Markdown(rows, m, 90*time.Second)
	lines := strings.Split(got, "\n")
	assert.Equal(t, "| # | measurement | carrot | raw / reference | ratio or overhead | budget | verdict |", lines[0])
	assert.Equal(t, "| 1 | pay (POST /payments) | p50 3 ms | p50 2 ms | 1.5x | ≤ 1.5x | PASS |", lines[2])
	assert.Equal(t, `| 7 | a\|b | 20 MiB | – | – | – |  |`, lines[3], "pipes are escaped and empty cells dashed")
	assert.Contains(t, got, "1 budgets kept, 0 missed. Machine: Test CPU, 2 cores, go1.0, linux/amd64; measured 2026-01-02 03:04 UTC in 1m30s.")
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	var samples []time.Duration
	for i := 100; i >= 1; i-- {
		samples = append(samples, time.Duration(i)*time.Millisecond)
	}
	s := summarize(samples, 2, 10*time.Second)
	assert.Equal(t, 100, s.N)
	assert.Equal(t, 2, s.Errors)
	assert.Equal(t, 50*time.Millisecond, s.P50)
	assert.Equal(t, 99*time.Millisecond, s.P99)
	assert.InDelta(t, 10, s.Rate, 1e-9)
	assert.Equal(t, 100*time.Millisecond, samples[0], "the samples keep their order")
	assert.Equal(t, Summary{}, summarize(nil, 0, 0))
}

func TestRemapKeepsOneFreshIDPerID(t *testing.T) {
	t.Parallel()
	m := map[string]string{}
	a := "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	b := "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"
	first := remapString("claim#"+a+"#"+b, m)
	again := remapString(a, m)
	assert.NotContains(t, first, a)
	assert.Equal(t, "claim#"+m[a]+"#"+m[b], first)
	assert.Equal(t, m[a], again, "the same id maps to the same fresh id")
	assert.Equal(t, "sally", remapString("sally", m), "what is no UUID stays")
}
