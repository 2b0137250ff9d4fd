package drill

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampleReport is a report as a drill of 10 s on the local runtime fills it.
func sampleReport() *Report {
	r := &Report{Name: "overload", Title: "siege -c90 -t7S on POST /reservations", Duration: 10 * time.Second,
		Summary: Summary{Requests: 1200, Rate: 120, Status: map[string]int{"201": 300, "200": 800, "503": 90, "0": 10}, Success: 0.91,
			P50: 12 * time.Millisecond, P95: 80 * time.Millisecond, P99: 150 * time.Millisecond, Max: time.Second},
		Marks: []Mark{{At: 1, Label: "siege"}, {At: 8, Label: "siege over"}},
		Rows:  []Row{{Name: "buyer-item pairs", Value: "270"}},
		Checks: []Check{{Name: "only 2xx or 503 with Retry-After", OK: false, Detail: "10 no answer"},
			{Name: "admitted p99 under 2 s", OK: true, Timing: true}},
	}
	for i := range 20 {
		n := min(i, 5)
		if i > 16 {
			n = 0
		}
		r.Timeline = append(r.Timeline, Point{At: float64(i) / 2, Requests: 60, P50: 10 + float64(i), P99: 100 + 5*float64(i),
			Instances: map[string]int{"request-chat": n, "mypage": 1}})
	}
	return r
}

// withBacklog adds to r the triggers' lag of a consumer outage: mypage's
// backlog grows, Kafka cannot tell for a while (a gap), then it drains.
func withBacklog(r *Report) *Report {
	for i := range r.Timeline {
		if i >= 8 && i < 11 {
			continue
		}
		r.Timeline[i].Lag = map[string]int64{"mypage": int64(max(0, 40*min(i, 14)-80*max(0, i-14))), "item-policy": 0}
	}
	return r
}

func TestReportTable(t *testing.T) {
	var b strings.Builder
	require.NoError(t, sampleReport().WriteTable(&b))
	out := b.String()
	assert.Contains(t, out, "200: 800  201: 300  503: 90  no answer: 10")
	assert.Contains(t, out, "peak→end: mypage 1→1  request-chat 5→0")
	assert.Contains(t, out, "FAIL")
	assert.Contains(t, out, "ok (timing)")
	assert.Len(t, sampleReport().Failed(), 1, "a timing check never fails a report")
}

func TestReportSave(t *testing.T) {
	dir := t.TempDir()
	r := sampleReport()
	require.NoError(t, r.Save(dir))
	assert.Equal(t, filepath.Join(dir, "overload.png"), r.Chart)
	png, err := os.ReadFile(r.Chart)
	require.NoError(t, err)
	assert.Equal(t, "\x89PNG", string(png[:4]))
	b, err := os.ReadFile(r.JSON)
	require.NoError(t, err)
	var back Report
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, r.Summary, back.Summary)
	assert.Equal(t, r.Checks, back.Checks)
}

// TestBacklogChart draws the third panel, trigger lag with a gap, only
// when some trigger lagged.
func TestBacklogChart(t *testing.T) {
	assert.False(t, sampleReport().hadBacklog())
	r := withBacklog(sampleReport())
	require.True(t, r.hadBacklog())
	require.NoError(t, r.Save(t.TempDir()))
	png, err := os.ReadFile(r.Chart)
	require.NoError(t, err)
	assert.Equal(t, "\x89PNG", string(png[:4]))
}

func TestSkippedReportHasNoChart(t *testing.T) {
	r := &Report{Name: "retry", Skipped: "needs the local runtime"}
	require.NoError(t, r.Save(t.TempDir()))
	assert.Empty(t, r.Chart)
	var b strings.Builder
	require.NoError(t, r.WriteTable(&b))
	assert.Contains(t, b.String(), "skipped")
}
