package main

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// paired takes turns between its two requests, first one then the other
// leading, and counts an answer other than 2xx as a failure, not a sample.
func TestPairedTakesTurns(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var order []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		order = append(order, r.URL.Path)
		mu.Unlock()
		if r.URL.Path == "/y" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	xs, ys := paired(request{Method: http.MethodGet, URL: srv.URL + "/x"}, request{Method: http.MethodGet, URL: srv.URL + "/y"}, 20)
	assert.Len(t, xs.samples, 20)
	assert.Zero(t, xs.errors)
	assert.Empty(t, ys.samples)
	assert.Equal(t, 20, ys.errors)
	assert.Equal(t, 20, xs.summary().N)
	// Two warm-up pairs, then x leads in even rounds and y in odd ones.
	assert.Equal(t, []string{"/x", "/y", "/x", "/y", "/x", "/y", "/y", "/x", "/x", "/y", "/y", "/x"}, order[:12])
}
