package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/carrot-market/carrot/events"
)

const testTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestTraceparent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header string
		want   string
	}{
		{header: testTraceparent, want: testTraceparent},
		{header: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future", want: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"},
		{header: ""},
		{header: "garbage"},
		{header: "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"},
		{header: "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
		{header: "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"},
		{header: "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		{header: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"},
		{header: "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01"},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			t.Parallel()
			var got string
			h := Traceparent(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got = events.Traceparent(r.Context())
			}))
			r := httptest.NewRequest(http.MethodPost, "/items", nil)
			r.Header.Set("traceparent", tt.header)
			h.ServeHTTP(httptest.NewRecorder(), r)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRouterCarriesTheTraceparent(t *testing.T) {
	t.Parallel()
	var got string
	r := NewRouter()
	r.HandleFunc("/items", func(_ http.ResponseWriter, r *http.Request) { got = events.Traceparent(r.Context()) })
	req := httptest.NewRequest(http.MethodGet, "/items", nil)
	req.Header.Set("traceparent", testTraceparent)
	r.ServeHTTP(httptest.NewRecorder(), req)
	assert.Equal(t, testTraceparent, got)
}
