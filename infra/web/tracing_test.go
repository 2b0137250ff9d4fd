package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/carrot-market/carrot/events"
)

const testTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// TestTracedCarriesTheCallersTrace runs without a tracer provider, as a
// process does whose OTEL_* variables are unset: no span is recorded, but
// the caller's trace context still reaches the handler.
func TestTracedCarriesTheCallersTrace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header string
		want   string
	}{
		{header: testTraceparent, want: testTraceparent},
		// A later version is read as version 00 and goes on as one.
		{header: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future", want: testTraceparent},
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
			h := Traced("pay", http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
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
	Traced("pay", r).ServeHTTP(httptest.NewRecorder(), req)
	assert.Equal(t, testTraceparent, got)
}

func TestRouterNamesTheSpanAfterTheRoute(t *testing.T) {
	t.Parallel()
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	ctx, span := provider.Tracer("test").Start(t.Context(), "GET")
	r := NewRouter()
	r.HandleFunc("/items/{itemId}", func(http.ResponseWriter, *http.Request) {}).Methods(http.MethodGet)
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/items/i-1", nil).WithContext(ctx))
	span.End()

	var names []string
	for _, s := range recorder.Ended() {
		names = append(names, s.Name())
	}
	assert.Equal(t, []string{"GET /items/{itemId}"}, names)
}
