package system

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClient drives a fake local runtime: Attach finds its /_local routes,
// Token asks the dev-token route once per user, Do sends the token and the
// body as JSON, and Status decodes the status and remembers its pids.
func TestClient(t *testing.T) {
	devTokens := 0
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_local/status", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"functions":[{"name":"register-item","instances":[{"pid":42}]}],"triggers":[{"name":"mypage","lag":0}],"kafka":{"up":true}}`))
	})
	mux.HandleFunc("POST /auth/dev-token", func(w http.ResponseWriter, r *http.Request) {
		devTokens++
		var in struct{ UserID string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		_, _ = w.Write([]byte(`{"token":"tok-` + in.UserID + `"}`))
	})
	mux.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
		var in map[string]any
		_ = json.NewDecoder(r.Body).Decode(&in)
		w.Header().Set("X-Auth", r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"name": in["name"], "type": r.Header.Get("Content-Type")})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	c, err := Attach(t.Context(), ClientConfig{Gateway: srv.URL + "/"})
	require.NoError(t, err)
	assert.True(t, c.Local)

	for range 2 {
		res := c.Do(t.Context(), "sally", http.MethodPost, "/items", map[string]any{"name": "lamp"})
		require.NoError(t, res.Err)
		assert.Equal(t, http.StatusCreated, res.Status, "%s", res)
		assert.True(t, res.OK())
		assert.Equal(t, "Bearer tok-sally", res.Header.Get("X-Auth"))
		assert.Equal(t, map[string]any{"name": "lamp", "type": "application/json"}, res.JSON(t))
	}
	assert.Equal(t, 1, devTokens, "tokens are kept")

	st, err := c.Status(t.Context())
	require.NoError(t, err)
	assert.True(t, st.CaughtUp())
	assert.Equal(t, map[string]int{"register-item": 1}, st.Instances())
	assert.Equal(t, []int{42}, c.SeenPIDs())
}

// TestAttachElsewhere attaches to a gateway without /_local routes, as a
// cluster's, whose tokens the client signs itself, and to nothing.
func TestAttachElsewhere(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	c, err := Attach(t.Context(), ClientConfig{Gateway: srv.URL, JWTSecret: "a-secret-of-at-least-thirty-two-bytes"})
	require.NoError(t, err)
	assert.False(t, c.Local)
	tok, err := c.Token(t.Context(), "sally")
	require.NoError(t, err)
	assert.NotEmpty(t, tok)
	_, err = c.Status(t.Context())
	assert.Error(t, err)

	srv.Close()
	_, err = Attach(t.Context(), ClientConfig{Gateway: srv.URL})
	assert.Error(t, err)
}
