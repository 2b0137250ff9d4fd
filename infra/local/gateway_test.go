package local

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/infra/gateway"
)

// TestGatewayIsBehindTheEdge checks that the local gateway answers with
// the cluster gateway's Edge: its headers on the API's routes and on the
// local ones, and CORS for a web app on this machine only.
func TestGatewayIsBehindTheEdge(t *testing.T) {
	t.Parallel()
	gw := mustGateway(t, &fakeFunctions{}, &fakeKafka{})
	tests := []struct {
		name, method, path, origin string
		allowed                    bool
	}{
		{"an API route from a local dev server", http.MethodGet, "/payments/p-1", "http://localhost:5173", true},
		{"a local route from another local port", http.MethodGet, "/_local/status", "http://127.0.0.1:3000", true},
		{"an API route from a site", http.MethodGet, "/payments/p-1", "https://evil.example", false},
		{"a local route over https", http.MethodGet, "/_local/status", "https://localhost:5173", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tt.method, tt.path, nil)
			r.Header.Set("Origin", tt.origin)
			r.Header.Set("Authorization", "Bearer t")
			rec := httptest.NewRecorder()
			gw.ServeHTTP(rec, r)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			assert.Equal(t, "default-src 'none'; frame-ancestors 'none'", rec.Header().Get("Content-Security-Policy"))
			assert.NotEmpty(t, rec.Header().Get("X-Request-Id"))
			if tt.allowed {
				assert.Equal(t, tt.origin, rec.Header().Get("Access-Control-Allow-Origin"))
			} else {
				assert.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
			}
		})
	}
}

// TestConfigFromEnvReadsCORSOrigins checks the local default of the CORS
// allow-list and that CARROT_CORS_ORIGINS replaces it, even with nothing.
func TestConfigFromEnvReadsCORSOrigins(t *testing.T) {
	tests := []struct {
		name string
		env  *string
		want []string
	}{
		{"unset", nil, LocalOrigins},
		{"empty", new(""), nil},
		{"a list", new("https://app.example.com, http://localhost:8080"), []string{"https://app.example.com", "http://localhost:8080"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(gateway.CORSOriginsEnv, "")
			if tt.env == nil {
				require.NoError(t, os.Unsetenv(gateway.CORSOriginsEnv))
			} else {
				t.Setenv(gateway.CORSOriginsEnv, *tt.env)
			}
			c, err := ConfigFromEnv(t.TempDir())
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.CORSOrigins)
		})
	}
	t.Setenv(gateway.CORSOriginsEnv, "*")
	_, err := ConfigFromEnv(t.TempDir())
	assert.ErrorContains(t, err, gateway.CORSOriginsEnv)
}
