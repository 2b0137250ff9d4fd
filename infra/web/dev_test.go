package web

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// mustServeDev serves a handler answering 204 on /work, with or without
// the dev endpoints, until the test ends.
func mustServeDev(t *testing.T, dev bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("/work", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/", NotFound)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, ln, zap.NewNop().Sugar(), mux, serverConfig{devEndpoints: dev}) }()
	t.Cleanup(func() {
		cancel()
		<-served
	})
	return "http://" + ln.Addr().String()
}

func post(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Post(url, "application/json", nil)
	require.NoError(t, err)
	defer res.Body.Close()
	var body json.RawMessage
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, string(body)
}

func TestDevUnhealthyIsAbsentWithoutTheEnvironment(t *testing.T) {
	t.Parallel()
	base := mustServeDev(t, false)

	status, _ := post(t, base+DevUnhealthyPath)

	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, http.StatusOK, statusOf(t, base+LivenessPath))
}

func TestDevUnhealthyFailsLivenessOnly(t *testing.T) {
	t.Parallel()
	base := mustServeDev(t, true)
	require.Equal(t, http.StatusOK, statusOf(t, base+LivenessPath))
	assert.Equal(t, http.StatusMethodNotAllowed, statusOf(t, base+DevUnhealthyPath), "only POST makes it unhealthy")
	require.Equal(t, http.StatusOK, statusOf(t, base+LivenessPath))

	status, body := post(t, base+DevUnhealthyPath)

	require.Equal(t, http.StatusOK, status, body)
	var out struct{ PID int }
	require.NoError(t, json.Unmarshal([]byte(body), &out))
	assert.Equal(t, os.Getpid(), out.PID)
	assert.Equal(t, http.StatusInternalServerError, statusOf(t, base+LivenessPath), "liveness fails from now on")
	assert.Equal(t, http.StatusOK, statusOf(t, base+ReadinessPath), "readiness keeps working")
	assert.Equal(t, http.StatusNoContent, statusOf(t, base+"/work"), "requests keep working")
}

func TestDevEndpointsFromEnv(t *testing.T) {
	t.Setenv(DevEndpointsEnv, "1")
	cfg, err := configFromEnv()
	require.NoError(t, err)
	assert.True(t, cfg.devEndpoints)
	t.Setenv(DevEndpointsEnv, "")
	cfg, err = configFromEnv()
	require.NoError(t, err)
	assert.False(t, cfg.devEndpoints)
}
