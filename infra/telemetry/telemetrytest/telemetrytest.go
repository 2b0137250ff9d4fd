// Package telemetrytest reads Prometheus metrics in tests: those of this
// process (telemetry.MetricsHandler) or those a server serves at a URL,
// and the value of one series of them.
package telemetrytest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/infra/telemetry"
)

// Metrics are the metric families of one scrape, by name.
type Metrics map[string]*dto.MetricFamily

// MustRead scrapes this process's own metrics.
func MustRead(tb testing.TB) Metrics {
	tb.Helper()
	rec := httptest.NewRecorder()
	telemetry.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, telemetry.MetricsPath, nil))
	require.Equal(tb, http.StatusOK, rec.Code, rec.Body.String())
	return mustParse(tb, rec.Body)
}

// MustScrape scrapes the metrics served at url, which must answer 200.
func MustScrape(tb testing.TB, url string) Metrics {
	tb.Helper()
	res, err := http.Get(url)
	require.NoError(tb, err)
	defer res.Body.Close()
	require.Equal(tb, http.StatusOK, res.StatusCode)
	return mustParse(tb, res.Body)
}

func mustParse(tb testing.TB, r io.Reader) Metrics {
	tb.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	require.NoError(tb, err)
	return families
}

// Value is the sum over the series of the family name whose labels include
// labels: a counter's or gauge's value, a histogram's count. It is 0 when
// no series matches, as a counter that never moved.
func (m Metrics) Value(name string, labels map[string]string) float64 {
	fam, ok := m[name]
	if !ok {
		return 0
	}
	var sum float64
	for _, s := range fam.GetMetric() {
		if !matches(s, labels) {
			continue
		}
		switch {
		case s.Counter != nil:
			sum += s.Counter.GetValue()
		case s.Gauge != nil:
			sum += s.Gauge.GetValue()
		case s.Histogram != nil:
			sum += float64(s.Histogram.GetSampleCount())
		case s.Untyped != nil:
			sum += s.Untyped.GetValue()
		}
	}
	return sum
}

// Has reports whether the family name has a series whose labels include
// labels.
func (m Metrics) Has(name string, labels map[string]string) bool {
	fam, ok := m[name]
	if !ok {
		return false
	}
	for _, s := range fam.GetMetric() {
		if matches(s, labels) {
			return true
		}
	}
	return false
}

func matches(s *dto.Metric, labels map[string]string) bool {
	found := 0
	for _, l := range s.GetLabel() {
		if want, ok := labels[l.GetName()]; ok {
			if want != l.GetValue() {
				return false
			}
			found++
		}
	}
	return found == len(labels)
}
