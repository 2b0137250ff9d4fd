package web

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// mustProblem checks that rec holds a problem+json answer with status and
// returns its body. It is webtest.MustProblem for the tests inside package
// web, which cannot import webtest since webtest imports web.
func mustProblem(tb testing.TB, rec *httptest.ResponseRecorder, status int) Problem {
	tb.Helper()
	require.Equal(tb, status, rec.Code, "body: %s", rec.Body.String())
	require.Equal(tb, "application/problem+json", rec.Header().Get("Content-Type"))
	var p Problem
	require.NoError(tb, json.Unmarshal(rec.Body.Bytes(), &p))
	assert.Equal(tb, status, p.Status)
	assert.NotEmpty(tb, p.Title)
	assert.Regexp(tb, `^https://carrot\.dev/problems/[a-z-]+$`, p.Type)
	return p
}

func get(tb testing.TB, url string) (int, string) {
	tb.Helper()
	res, err := http.Get(url)
	require.NoError(tb, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(tb, err)
	return res.StatusCode, string(body)
}

// statusOf is the status a GET of url answers.
func statusOf(tb testing.TB, url string) int {
	tb.Helper()
	status, _ := get(tb, url)
	return status
}

func TestServeProbesDrainsAndStops(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	core, logs := observer.New(zap.InfoLevel)

	started, release := make(chan struct{}), make(chan struct{})
	slowCtxErr := make(chan error, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		slowCtxErr <- r.Context().Err()
		JSON(w, http.StatusOK, map[string]string{"done": "yes"})
	})
	mux.HandleFunc("/fast", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })

	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- serve(ctx, ln, zap.New(core).Sugar(), mux, serverConfig{drain: 300 * time.Millisecond})
	}()

	status, body := get(t, base+LivenessPath)
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"status":"alive"}`, body)
	assert.Equal(t, http.StatusOK, statusOf(t, base+ReadinessPath))
	assert.Equal(t, http.StatusAccepted, statusOf(t, base+"/fast"))

	slow := make(chan int, 1)
	go func() {
		res, err := http.Get(base + "/slow")
		if err != nil {
			slow <- 0
			return
		}
		res.Body.Close()
		slow <- res.StatusCode
	}()
	<-started
	cancel()

	require.Eventually(t, func() bool {
		return statusOf(t, base+ReadinessPath) == http.StatusServiceUnavailable
	}, time.Second, 10*time.Millisecond, "readiness must fail while draining")
	assert.Equal(t, http.StatusOK, statusOf(t, base+LivenessPath), "a draining server is still alive")
	assert.Equal(t, http.StatusAccepted, statusOf(t, base+"/fast"), "a draining server still serves")

	close(release)
	assert.Equal(t, http.StatusOK, <-slow, "an in-flight request completes")
	assert.NoError(t, <-slowCtxErr, "request contexts outlive the server's context")
	select {
	case err := <-served:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not return after the drain")
	}
	_, err = http.Get(base + LivenessPath)
	assert.Error(t, err, "the listener is closed")

	requests := logs.FilterMessage("request").All()
	require.Len(t, requests, 3, "one line per request, none for probes")
	fast := requests[0].ContextMap()
	assert.Equal(t, "GET", fast["method"])
	assert.Equal(t, "/fast", fast["path"])
	assert.EqualValues(t, http.StatusAccepted, fast["status"])
	assert.NotEmpty(t, fast["duration"])
}

func TestServeReadsTheEnvironment(t *testing.T) {
	t.Setenv("PORT", "0")
	t.Setenv("DRAIN_SECONDS", "0")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.NoError(t, Serve(ctx, "test", http.NotFoundHandler()))

	t.Setenv("PORT", "http")
	assert.ErrorContains(t, Serve(context.Background(), "test", http.NotFoundHandler()), "PORT")
	t.Setenv("PORT", "0")
	t.Setenv("DRAIN_SECONDS", "-1")
	assert.ErrorContains(t, Serve(context.Background(), "test", http.NotFoundHandler()), "DRAIN_SECONDS")
	t.Setenv("DRAIN_SECONDS", "0")
	t.Setenv(ListenHostEnv, "localhost")
	assert.ErrorContains(t, Serve(context.Background(), "test", http.NotFoundHandler()), ListenHostEnv)
}

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name                       string
		port, host, drain, metrics string
		want                       serverConfig
	}{
		{name: "defaults", want: serverConfig{addr: ":8080", drain: DefaultDrain}},
		{name: "port and drain", port: "9090", drain: "7", want: serverConfig{addr: ":9090", drain: 7 * time.Second}},
		{name: "loopback", port: "9090", host: "127.0.0.1", want: serverConfig{addr: "127.0.0.1:9090", drain: DefaultDrain}},
		{name: "loopback, default port", host: "127.0.0.1", want: serverConfig{addr: "127.0.0.1:8080", drain: DefaultDrain}},
		{name: "IPv6 loopback", port: "9090", host: "::1", want: serverConfig{addr: "[::1]:9090", drain: DefaultDrain}},
		{name: "metrics", port: "9090", host: "127.0.0.1", metrics: "9464",
			want: serverConfig{addr: "127.0.0.1:9090", drain: DefaultDrain, metricsAddr: "127.0.0.1:9464"}},
		{name: "metrics on every interface", metrics: "9464", want: serverConfig{addr: ":8080", drain: DefaultDrain, metricsAddr: ":9464"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PORT", tt.port)
			t.Setenv(ListenHostEnv, tt.host)
			t.Setenv("DRAIN_SECONDS", tt.drain)
			t.Setenv(MetricsPortEnv, tt.metrics)
			cfg, err := configFromEnv()
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestLogRequestsRecoversPanics(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.InfoLevel)
	h := LogRequests(zap.New(core).Sugar())(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/items", nil))

	p := mustProblem(t, rec, http.StatusInternalServerError)
	assert.Equal(t, InternalDetail, p.Detail)
	require.Equal(t, 1, logs.FilterMessage("handler panicked").Len())
	assert.Contains(t, logs.FilterMessage("handler panicked").All()[0].ContextMap()["stack"], "server_test.go")
	line := logs.FilterMessage("request").All()
	require.Len(t, line, 1)
	assert.EqualValues(t, http.StatusInternalServerError, line[0].ContextMap()["status"])
}

func TestLogRequestsGivesHandlersTheLogger(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.InfoLevel)
	h := LogRequests(zap.New(core).Sugar())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Log(r.Context()).Info("inside")
		w.WriteHeader(http.StatusNoContent)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, 1, logs.FilterMessage("inside").Len())
}

func TestLogRequestsLogsTheRequestID(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name           string
		sent, answered string // the X-Request-Id of the request and of the answer
		want           string // "": no requestId field
	}{
		{"none", "", "", ""},
		{"a function's request", "req-1", "", "req-1"},
		{"the gateway's answer", "", "req-2", "req-2"},
		{"the gateway replaced the caller's", "bad id", "req-3", "req-3"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			core, logs := observer.New(zap.InfoLevel)
			h := LogRequests(zap.New(core).Sugar())(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if tt.answered != "" {
					w.Header().Set(RequestIDHeader, tt.answered)
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			r := httptest.NewRequest(http.MethodGet, "/items", nil)
			if tt.sent != "" {
				r.Header.Set(RequestIDHeader, tt.sent)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			lines := logs.FilterMessage("request").All()
			require.Len(t, lines, 1)
			id, ok := lines[0].ContextMap()["requestId"]
			assert.Equal(t, tt.want != "", ok, "a requestId field")
			if ok {
				assert.Equal(t, tt.want, id)
			}
		})
	}
}

func TestLogger(t *testing.T) {
	t.Setenv("LOG_LEVEL", "warn")
	l := Logger("pay")
	assert.False(t, l.Desugar().Core().Enabled(zap.InfoLevel))
	assert.True(t, l.Desugar().Core().Enabled(zap.WarnLevel))
	t.Setenv("LOG_LEVEL", "nonsense")
	assert.True(t, Logger("pay").Desugar().Core().Enabled(zap.InfoLevel))
}
