package local

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/infra/broker"
	"github.com/carrot-market/carrot/infra/serving"
	"github.com/carrot-market/carrot/infra/telemetry/telemetrytest"
)

// TestRuntimeMetricsFollowTheStatus checks that GET /metrics of the local
// gateway reports the broker's triggers and serving's functions as their
// status snapshots say, and follows them as they move.
func TestRuntimeMetricsFollowTheStatus(t *testing.T) {
	var mu sync.Mutex
	trigger := broker.TriggerStatus{Name: "metrics-trigger", Lag: 3, Delivered: 5, Retried: 2, DeadLettered: 1}
	fn := serving.FunctionStatus{Name: "metrics-fn", Queued: 4, ColdStarts: 1, Rejected: 6,
		Instances: []serving.InstanceStatus{{State: "ready"}, {State: "ready"}, {State: "starting"}}}
	observed, err := observeRuntime(
		func() []serving.FunctionStatus { mu.Lock(); defer mu.Unlock(); return []serving.FunctionStatus{fn} },
		func() []broker.TriggerStatus { mu.Lock(); defer mu.Unlock(); return []broker.TriggerStatus{trigger} })
	require.NoError(t, err)
	t.Cleanup(func() { _ = observed.Unregister() })
	gw := mustGateway(t, &fakeFunctions{}, &fakeKafka{})
	scrape := func() telemetrytest.Metrics {
		srv := httptest.NewServer(gw)
		defer srv.Close()
		return telemetrytest.MustScrape(t, srv.URL+"/metrics")
	}
	onTrigger := map[string]string{"messaging_destination_subscription_name": "metrics-trigger"}
	records := func(outcome string) map[string]string {
		return map[string]string{"messaging_destination_subscription_name": "metrics-trigger", "outcome": outcome}
	}
	onFunction := map[string]string{"faas_name": "metrics-fn"}
	state := func(s string) map[string]string { return map[string]string{"faas_name": "metrics-fn", "state": s} }

	m := scrape()
	for _, tt := range []struct {
		series string
		labels map[string]string
		want   float64
	}{
		{"carrot_broker_lag", onTrigger, 3},
		{"carrot_broker_records_total", records("delivered"), 5},
		{"carrot_broker_records_total", records("dead_lettered"), 1},
		{"carrot_broker_records_total", records("filtered"), 0},
		{"carrot_broker_retries_total", onTrigger, 2},
		{"carrot_serving_instances", state("ready"), 2},
		{"carrot_serving_instances", state("starting"), 1},
		{"carrot_serving_instances", state("stopping"), 0},
		{"carrot_serving_requests", state("queued"), 4},
		{"carrot_serving_requests", state("in_flight"), 0},
		{"carrot_serving_cold_starts_total", onFunction, 1},
		{"carrot_serving_rejections_total", onFunction, 6},
	} {
		assert.True(t, m.Has(tt.series, tt.labels), "%s %v", tt.series, tt.labels)
		assert.Equal(t, tt.want, m.Value(tt.series, tt.labels), "%s %v", tt.series, tt.labels)
	}

	mu.Lock()
	trigger.Delivered, trigger.Retried, trigger.Lag = 7, 3, -1
	fn.ColdStarts, fn.Instances = 2, nil
	mu.Unlock()
	m = scrape()
	assert.Equal(t, 7.0, m.Value("carrot_broker_records_total", records("delivered")))
	assert.Equal(t, 3.0, m.Value("carrot_broker_retries_total", onTrigger))
	assert.False(t, m.Has("carrot_broker_lag", onTrigger), "a lag Kafka could not tell is left out")
	assert.Equal(t, 2.0, m.Value("carrot_serving_cold_starts_total", onFunction))
	assert.Equal(t, 0.0, m.Value("carrot_serving_instances", state("ready")))
}

func TestRuntimeMetricsAreOnlyRead(t *testing.T) {
	t.Parallel()
	gw := mustGateway(t, &fakeFunctions{}, &fakeKafka{})
	rec := httptest.NewRecorder()
	gw.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/metrics", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
}
