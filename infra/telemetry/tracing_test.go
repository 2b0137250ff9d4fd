package telemetry

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// The tests set variables, so none runs in parallel.

func TestTracingEnabled(t *testing.T) {
	const endpoint = "http://127.0.0.1:4318"
	// Each case lists the variables set and whether spans are exported.
	tests := map[string]struct {
		env  map[string]string
		want bool
	}{
		"nothing set":        {nil, false},
		"an endpoint":        {map[string]string{EndpointEnv: endpoint}, true},
		"a traces endpoint":  {map[string]string{TracesEndpointEnv: endpoint + "/v1/traces"}, true},
		"the SDK disabled":   {map[string]string{EndpointEnv: endpoint, SDKDisabledEnv: "true"}, false},
		"no traces exporter": {map[string]string{EndpointEnv: endpoint, TracesExporterEnv: "none"}, false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			for _, name := range []string{EndpointEnv, TracesEndpointEnv, SDKDisabledEnv, TracesExporterEnv} {
				t.Setenv(name, tt.env[name])
			}
			assert.Equal(t, tt.want, TracingEnabled())
		})
	}
}

func TestStartTracingFailsOnlyOnAProtocolItCannotSpeak(t *testing.T) {
	t.Setenv(EndpointEnv, "http://127.0.0.1:1")
	for _, protocol := range []string{"", "http/protobuf", "grpc"} {
		t.Setenv(ProtocolEnv, protocol)
		stop, err := StartTracing(t.Context(), "test", zap.NewNop().Sugar())
		require.NoError(t, err, "protocol %q", protocol)
		assert.NoError(t, stop(t.Context()), "nothing to flush, and no collector is needed to stop")
	}
	t.Setenv(ProtocolEnv, "http/json")
	_, err := StartTracing(t.Context(), "test", zap.NewNop().Sugar())
	assert.ErrorContains(t, err, "http/json")
}
