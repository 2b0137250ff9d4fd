package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mustProblem checks that rec holds a problem+json answer with status and
// returns its body.
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

func TestErrorKeepsAChallengeSetBefore(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	rec.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	Error(rec, httptest.NewRequest(http.MethodGet, "/", nil), &StatusError{Status: http.StatusUnauthorized, Detail: "x"})
	assert.Equal(t, `Bearer error="invalid_token"`, rec.Header().Get("WWW-Authenticate"))
}

func TestJSON(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	JSON(rec, http.StatusCreated, map[string]any{"itemId": "1", "price": 10})
	assert.Equal(t, http.StatusCreated, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.JSONEq(t, `{"itemId":"1","price":10}`, rec.Body.String())

	rec = httptest.NewRecorder()
	JSON(rec, http.StatusOK, map[string]any{"bad": make(chan int)})
	p := mustProblem(t, rec, http.StatusInternalServerError)
	assert.Equal(t, InternalDetail, p.Detail)
}

func TestRouterProblems(t *testing.T) {
	t.Parallel()
	r := NewRouter()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	r.Handle("/items", ok).Methods(http.MethodGet, http.MethodPost)
	r.Handle("/items/{itemId}", ok).Methods(http.MethodGet)
	r.Handle("/items/{itemId}", ok).Methods(http.MethodDelete, http.MethodPatch)

	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodGet, "/items", http.StatusNoContent, ""},
		{http.MethodGet, "/nowhere", http.StatusNotFound, ""},
		{http.MethodPut, "/items", http.StatusMethodNotAllowed, "GET, POST"},
		{http.MethodPost, "/items/1", http.StatusMethodNotAllowed, "DELETE, GET, PATCH"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if tt.status < 400 {
				assert.Equal(t, tt.status, rec.Code)
				return
			}
			p := mustProblem(t, rec, tt.status)
			assert.Contains(t, p.Detail, tt.path)
			assert.Equal(t, tt.allow, rec.Header().Get("Allow"))
		})
	}
}
