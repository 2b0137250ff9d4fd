package web_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/carrot-market/carrot/infra/web"
	"github.com/carrot-market/carrot/infra/web/webtest"
)

// TestError covers the plumbing's own translation; infra/edge's tests
// cover the domain's.
func TestError(t *testing.T) {
	t.Parallel()
	webtest.CheckErrors(t, web.Error, []webtest.ErrorCase{
		{Name: "invalid with fields", Err: &web.StatusError{Status: 400, Detail: "the request has invalid fields",
			Fields: []web.FieldError{{Field: "price", Message: "must be at most 1000000000"}}},
			Status: 400, Type: "invalid", Detail: "the request has invalid fields",
			Fields: []web.FieldError{{Field: "price", Message: "must be at most 1000000000"}}},
		{Name: "unauthorized", Err: &web.StatusError{Status: 401, Detail: "log in"}, Status: 401, Type: "unauthorized",
			Detail: "log in", Header: "WWW-Authenticate", HeaderWant: `Bearer realm="carrot"`},
		{Name: "unavailable wrapped", Err: fmt.Errorf("store: %w", &web.StatusError{Status: 503, Detail: "try later"}), Status: 503,
			Type: "unavailable", Detail: "try later", Header: "Retry-After", HeaderWant: "2"},
		{Name: "plain error hides its text", Err: errors.New("operation error DynamoDB: PutItem, https response error"),
			Status: 500, Type: "internal", Detail: web.InternalDetail},
		{Name: "wrapping status error keeps its own answer", Err: &web.StatusError{Status: 400, Detail: "wrong form", Err: errors.New("dynamo")},
			Status: 400, Type: "invalid", Detail: "wrong form"},
		{Name: "status error 413", Err: &web.StatusError{Status: 413, Detail: "the body exceeds 65536 bytes"},
			Status: 413, Type: "payload-too-large", Detail: "the body exceeds 65536 bytes"},
		{Name: "status error with title", Err: &web.StatusError{Status: 415, Title: "Not JSON", Detail: "send JSON"},
			Status: 415, Type: "unsupported-media-type", Detail: "send JSON"},
	})
}

func TestErrorKeepsAChallengeSetBefore(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	rec.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	web.Error(rec, httptest.NewRequest(http.MethodGet, "/", nil), &web.StatusError{Status: http.StatusUnauthorized, Detail: "x"})
	assert.Equal(t, `Bearer error="invalid_token"`, rec.Header().Get("WWW-Authenticate"))
}

func TestJSON(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	web.JSON(rec, http.StatusCreated, map[string]any{"itemId": "1", "price": 10})
	assert.Equal(t, http.StatusCreated, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.JSONEq(t, `{"itemId":"1","price":10}`, rec.Body.String())

	rec = httptest.NewRecorder()
	web.JSON(rec, http.StatusOK, map[string]any{"bad": make(chan int)})
	p := webtest.MustProblem(t, rec, http.StatusInternalServerError)
	assert.Equal(t, web.InternalDetail, p.Detail)
}

func TestRouterProblems(t *testing.T) {
	t.Parallel()
	r := web.NewRouter()
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
			p := webtest.MustProblem(t, rec, tt.status)
			assert.Contains(t, p.Detail, tt.path)
			assert.Equal(t, tt.allow, rec.Header().Get("Allow"))
		})
	}
}
