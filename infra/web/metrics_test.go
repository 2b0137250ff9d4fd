package web

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/carrot-market/carrot/infra/telemetry"
	"github.com/carrot-market/carrot/infra/telemetry/telemetrytest"
)

const requestSeries = "http_server_request_duration_seconds"

func TestMeasureRequestsByRouteAndStatus(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	r := NewRouter()
	r.HandleFunc("/measured/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusCreated) }).Methods(http.MethodPost)
	r.HandleFunc("/measured/{id}/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, ln, zap.NewNop().Sugar(), r, serverConfig{}) }()
	t.Cleanup(func() {
		cancel()
		<-served
	})

	tests := []struct {
		name   string
		method string
		path   string
		labels map[string]string
	}{
		{name: "a route, by its template", method: http.MethodPost, path: "/measured/1",
			labels: map[string]string{"http_route": "/measured/{id}", "http_request_method": "POST", "http_response_status_code": "201"}},
		{name: "another id, the same series", method: http.MethodPost, path: "/measured/2",
			labels: map[string]string{"http_route": "/measured/{id}", "http_request_method": "POST", "http_response_status_code": "201"}},
		{name: "the wrong method", method: http.MethodGet, path: "/measured/3",
			labels: map[string]string{"http_request_method": "GET", "http_response_status_code": "405"}},
		{name: "a panic, as its 500", method: http.MethodGet, path: "/measured/4/panic",
			labels: map[string]string{"http_route": "/measured/{id}/panic", "http_response_status_code": "500"}},
		{name: "an unknown method", method: "BREW", path: "/measured/5",
			labels: map[string]string{"http_request_method": "_OTHER"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := telemetrytest.MustRead(t).Value(requestSeries, tt.labels)
			req, err := http.NewRequest(tt.method, base+tt.path, nil)
			require.NoError(t, err)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			res.Body.Close()
			assert.Equal(t, before+1, telemetrytest.MustRead(t).Value(requestSeries, tt.labels))
		})
	}

	probes := map[string]string{"http_route": LivenessPath}
	before := telemetrytest.MustRead(t).Value(requestSeries, nil)
	assert.Equal(t, http.StatusOK, statusOf(t, base+LivenessPath))
	assert.Equal(t, before, telemetrytest.MustRead(t).Value(requestSeries, nil), "probes are not measured")
	assert.False(t, telemetrytest.MustRead(t).Has(requestSeries, probes))
	assert.False(t, telemetrytest.MustRead(t).Has(requestSeries, map[string]string{"http_route": "/measured/1"}),
		"a path is never a label")
}

func TestServeServesMetricsOnTheirOwnPort(t *testing.T) {
	port := freePort(t)
	t.Setenv("PORT", strconv.Itoa(freePort(t)))
	t.Setenv(ListenHostEnv, "127.0.0.1")
	t.Setenv("DRAIN_SECONDS", "0")
	t.Setenv(MetricsPortEnv, strconv.Itoa(port))
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, "test", http.NotFoundHandler()) }()

	metricsURL := "http://127.0.0.1:" + strconv.Itoa(port) + telemetry.MetricsPath
	require.Eventually(t, func() bool {
		res, err := http.Get(metricsURL)
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, 5*time.Second, 20*time.Millisecond)
	assert.NotEmpty(t, telemetrytest.MustScrape(t, metricsURL))
	assert.Equal(t, http.StatusNotFound, statusOf(t, "http://127.0.0.1:"+strconv.Itoa(port)+"/"), "the metrics port serves metrics alone")

	cancel()
	require.NoError(t, <-served)
	_, err := http.Get(metricsURL)
	assert.Error(t, err, "the metrics listener closes with the server")

	t.Setenv(MetricsPortEnv, "metrics")
	assert.ErrorContains(t, Serve(context.Background(), "test", http.NotFoundHandler()), MetricsPortEnv)
}

func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
