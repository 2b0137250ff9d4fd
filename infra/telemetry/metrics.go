package telemetry

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// MetricsPath is where Prometheus reads metrics: on a function's own
// metrics port (web.MetricsPortEnv), and on the local runtime's gateway.
const MetricsPath = "/metrics"

// DurationBuckets are the bucket bounds, in seconds, of every latency
// histogram: OpenTelemetry's recommendation for HTTP durations, from 5 ms
// to 10 s.
var DurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// registry holds the process's metrics. Every meter of carrot records into
// it, and MetricsHandler serves it. It is carrot's own provider, not
// OpenTelemetry's global one, so that instrumentation libraries which record
// metrics of their own on the global provider add no second, differently
// labelled copy of carrot's series.
var registry = newRegistry()

type metricsRegistry struct {
	prom     *prometheus.Registry
	provider *sdkmetric.MeterProvider
}

// newRegistry builds the Prometheus registry and the meter provider that
// feeds it. Names follow Prometheus's conventions: dots become
// underscores, a unit suffix (_seconds) and _total on counters.
func newRegistry() metricsRegistry {
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
	)
	if err != nil {
		// Only a registration conflict fails, and the registry is new.
		panic("telemetry: the Prometheus exporter cannot register: " + err.Error())
	}
	return metricsRegistry{prom: reg, provider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))}
}

// Meter returns the meter of the instrumentation scope name (by
// convention the import path of the package that records). Its
// instruments appear on MetricsHandler; they are safe for concurrent use
// and cost a few atomic operations per record.
func Meter(name string) metric.Meter {
	return registry.provider.Meter(name)
}

// MetricsHandler serves every metric of the process in Prometheus's text
// format. Metrics cover the process's life: counters start at zero when it
// starts, as Prometheus expects of a restarted target.
func MetricsHandler() http.Handler {
	return promhttp.HandlerFor(registry.prom, promhttp.HandlerOpts{})
}

// Must returns v, and panics when err is not nil. Instruments are made
// once, in package variables, where an error is a programming mistake
// (a bad name or unit) that must fail the first test that loads them.
func Must[T any](v T, err error) T {
	if err != nil {
		panic("telemetry: " + err.Error())
	}
	return v
}
