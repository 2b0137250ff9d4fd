package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
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

// TestError covers the plumbing's own translation; infra/edge's tests
// cover the domain's.
func TestError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		status     int
		typ        string
		detail     string
		fields     []FieldError
		header     string
		headerWant string
	}{
		{name: "invalid with fields", err: invalidField("price", "must be at most 1000000000"), status: 400, typ: "invalid",
			detail: "the request has invalid fields", fields: []FieldError{{Field: "price", Message: "must be at most 1000000000"}}},
		{name: "unauthorized", err: &StatusError{Status: 401, Detail: "log in"}, status: 401, typ: "unauthorized",
			detail: "log in", header: "WWW-Authenticate", headerWant: `Bearer realm="carrot"`},
		{name: "unavailable wrapped", err: fmt.Errorf("store: %w", &StatusError{Status: 503, Detail: "try later"}), status: 503,
			typ: "unavailable", detail: "try later", header: "Retry-After", headerWant: "2"},
		{name: "plain error hides its text", err: errors.New("operation error DynamoDB: PutItem, https response error"),
			status: 500, typ: "internal", detail: InternalDetail},
		{name: "wrapping status error keeps its own answer", err: &StatusError{Status: 400, Detail: "wrong form", Err: errors.New("dynamo")},
			status: 400, typ: "invalid", detail: "wrong form"},
		{name: "status error 413", err: errTooLarge, status: 413, typ: "payload-too-large", detail: "the body exceeds 65536 bytes"},
		{name: "status error with title", err: &StatusError{Status: 415, Title: "Not JSON", Detail: "send JSON"},
			status: 415, typ: "unsupported-media-type", detail: "send JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			core, logs := observer.New(zap.DebugLevel)
			r := httptest.NewRequest(http.MethodGet, "/items/7", nil)
			r = r.WithContext(WithLogger(r.Context(), zap.New(core).Sugar()))
			rec := httptest.NewRecorder()

			Error(rec, r, tt.err)

			p := mustProblem(t, rec, tt.status)
			assert.Equal(t, ProblemType+tt.typ, p.Type)
			assert.Equal(t, tt.detail, p.Detail)
			assert.Equal(t, tt.fields, p.Errors)
			if tt.header != "" {
				assert.Equal(t, tt.headerWant, rec.Header().Get(tt.header))
			}
			if tt.status >= 500 {
				assert.NotContains(t, rec.Body.String(), "dynamo")
				assert.NotContains(t, rec.Body.String(), "DynamoDB")
				require.Equal(t, 1, logs.Len(), "a hidden error must be logged")
				assert.Equal(t, tt.err.Error(), logs.All()[0].ContextMap()["error"])
			} else {
				assert.Zero(t, logs.Len())
			}
		})
	}
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
