package tests

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/infra/telemetry"
	"github.com/carrot-market/carrot/infra/telemetry/telemetrytest"
	"github.com/carrot-market/carrot/tests/system"
)

// functionMetric is the value of series with labels summed over the
// instances of function that run now, each scraped on its metrics port.
func functionMetric(t *testing.T, sys *System, function, series string, labels map[string]string) float64 {
	t.Helper()
	instances := sys.MustStatus(t).Function(function).Instances
	require.NotEmpty(t, instances, "%s runs no instance", function)
	var sum float64
	for _, inst := range instances {
		require.NotZero(t, inst.MetricsPort, "%s instance %d", function, inst.ID)
		url := "http://127.0.0.1:" + strconv.Itoa(inst.MetricsPort) + telemetry.MetricsPath
		sum += telemetrytest.MustScrape(t, url).Value(series, labels)
	}
	return sum
}

// TestMetricsMoveWithRequestsAndDeliveries reads GET /metrics of the
// functions (each instance on its own metrics port, which the runtime's
// status shows) and of the runtime, before and after an item is listed,
// and checks that the series the README names move: the command's request
// by route and status, its DynamoDB calls and its outbox send, the event
// the mypage function handled, the broker's delivery to the mypage trigger,
// and the runtime's own gateway request. The metrics port serves nothing
// else.
func TestMetricsMoveWithRequestsAndDeliveries(t *testing.T) {
	sys := MustStart(t, system.Options{})
	// A first item starts register-item and mypage (two cold starts) so
	// that the second meets running instances whose counters go on.
	sys.MustWarmUp(t)

	posted := map[string]string{"http_route": "/items", "http_request_method": "POST", "http_response_status_code": "201"}
	registered := map[string]string{"cloudevents_event_type": string(events.ItemRegistered), "outcome": "handled"}
	delivered := map[string]string{"messaging_destination_subscription_name": "mypage", "outcome": "delivered"}
	published := map[string]string{"path": "publish", "outcome": "sent"}
	dynamoCalls := map[string]string{"db_system_name": "aws.dynamodb"}

	runtimeBefore := telemetrytest.MustScrape(t, sys.Gateway+telemetry.MetricsPath)
	for _, tt := range []struct {
		function, series string
		labels           map[string]string
	}{
		{"register-item", "http_server_request_duration_seconds", posted},
		{"register-item", "db_client_operation_duration_seconds", dynamoCalls},
		{"mypage", "carrot_events_handled_total", registered},
	} {
		assert.Positive(t, functionMetric(t, sys, tt.function, tt.series, tt.labels), "%s %s %v", tt.function, tt.series, tt.labels)
	}
	assert.Positive(t, runtimeBefore.Value("carrot_serving_cold_starts_total", map[string]string{"faas_name": "register-item"}))
	assert.Positive(t, runtimeBefore.Value("carrot_serving_instances", map[string]string{"faas_name": "mypage", "state": "ready"}))

	requestsBefore := functionMetric(t, sys, "register-item", "http_server_request_duration_seconds", posted)
	sentBefore := functionMetric(t, sys, "register-item", "carrot_outbox_sends_total", published)
	callsBefore := functionMetric(t, sys, "register-item", "db_client_operation_duration_seconds", dynamoCalls)
	handledBefore := functionMetric(t, sys, "mypage", "carrot_events_handled_total", registered)

	itemID := sys.MustRegister(t, seller, "radio", 3000)
	sys.EventuallyPage(t, seller, itemID, map[string]any{"itemName": "radio", "itemStatus": "CREATED"})
	sys.EventuallyQuiet(t)

	assert.Equal(t, requestsBefore+1, functionMetric(t, sys, "register-item", "http_server_request_duration_seconds", posted),
		"register-item measured the POST /items by its route and status")
	assert.Greater(t, functionMetric(t, sys, "register-item", "carrot_outbox_sends_total", published), sentBefore,
		"register-item sent the item's event")
	assert.Greater(t, functionMetric(t, sys, "register-item", "db_client_operation_duration_seconds", dynamoCalls), callsBefore,
		"register-item measured its DynamoDB calls")
	assert.Greater(t, functionMetric(t, sys, "mypage", "carrot_events_handled_total", registered), handledBefore,
		"mypage counted the event it handled")

	runtimeAfter := telemetrytest.MustScrape(t, sys.Gateway+telemetry.MetricsPath)
	assert.Greater(t, runtimeAfter.Value("carrot_broker_records_total", delivered), runtimeBefore.Value("carrot_broker_records_total", delivered),
		"the broker delivered to the mypage trigger")
	assert.True(t, runtimeAfter.Has("carrot_broker_lag", map[string]string{"messaging_destination_subscription_name": "mypage"}))
	assert.Equal(t, runtimeBefore.Value("http_server_request_duration_seconds", posted)+1, runtimeAfter.Value("http_server_request_duration_seconds", posted),
		"the runtime's gateway measured the POST /items too")

	inst := sys.MustStatus(t).Function("register-item").Instances[0]
	res, err := http.Get("http://127.0.0.1:" + strconv.Itoa(inst.MetricsPort) + "/items")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "the metrics port serves no route of the API")
	sys.MustStop(t)
}
