package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.uber.org/zap"

	"github.com/carrot-market/carrot/infra/telemetry"
)

// MetricsPortEnv names the port a function serves its Prometheus metrics
// on (telemetry.MetricsPath), on the address of CARROT_LISTEN_HOST. It is
// a port of its own, apart from $PORT, so that no route of the API and no
// gateway reaches the metrics, and scraping them does not count as a
// request that keeps an instance alive. Unset, a function serves no
// metrics; the manifests set 9464, and the local runtime a free port per
// instance (infra/serving).
const MetricsPortEnv = "CARROT_METRICS_PORT"

// requestDuration is OpenTelemetry's http.server.request.duration: one
// observation per request, by method, route template and status, so its
// count is the requests by route and status.
var requestDuration = telemetry.Must(telemetry.Meter("github.com/carrot-market/carrot/infra/web").Float64Histogram(
	"http.server.request.duration",
	metric.WithUnit("s"),
	metric.WithDescription("Duration of HTTP server requests, by method, route template and status."),
	metric.WithExplicitBucketBoundaries(telemetry.DurationBuckets...)))

// MeasureRequests is middleware that records every request next serves in
// http.server.request.duration. The route label is the template of the
// route a router of NewRouter matched (/items/{itemId}), never the path, so
// the number of series stays bounded; a request no route matched has
// none. A panic is recorded as the 500 LogRequests answers when it sits
// inside this middleware.
func MeasureRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		route := new(string)
		defer func() {
			attrs := []attribute.KeyValue{
				semconv.HTTPRequestMethodKey.String(knownMethod(r.Method)),
				semconv.HTTPResponseStatusCodeKey.Int(sw.code()),
			}
			if *route != "" {
				attrs = append(attrs, semconv.HTTPRouteKey.String(*route))
			}
			requestDuration.Record(context.WithoutCancel(r.Context()), time.Since(start).Seconds(), metric.WithAttributes(attrs...))
		}()
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), routeKey{}, route)))
	})
}

// routeKey holds, in a request's context, where recordRoute writes the
// template of the route that matched.
type routeKey struct{}

// recordRoute is router middleware that hands the matched route's template
// to MeasureRequests.
func recordRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if route, ok := r.Context().Value(routeKey{}).(*string); ok {
			if cur := mux.CurrentRoute(r); cur != nil {
				if tmpl, err := cur.GetPathTemplate(); err == nil {
					*route = tmpl
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// knownMethod is the method as OpenTelemetry labels it: the standard ones
// by name, any other as _OTHER, so that a client cannot make new series.
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

// metricsAddrFromEnv is where $CARROT_METRICS_PORT asks for the metrics,
// on host; "" when it is unset.
func metricsAddrFromEnv(host string) (string, error) {
	p := os.Getenv(MetricsPortEnv)
	if p == "" {
		return "", nil
	}
	if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("web: $%s %q is not a port number", MetricsPortEnv, p)
	}
	return net.JoinHostPort(host, p), nil
}

// serveMetrics serves telemetry.MetricsHandler at telemetry.MetricsPath on
// addr until the returned stop is called; with addr "" it serves nothing.
// Failing to listen fails wiring.
func serveMetrics(addr string, log *zap.SugaredLogger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("web: cannot serve metrics on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+telemetry.MetricsPath, telemetry.MetricsHandler())
	srv := NewServer(mux, log)
	// Serve returns only when stop closes the server or the listener
	// fails; the function's own server goes on either way.
	go func() { _ = srv.Serve(ln) }()
	log.Infow("serving metrics", "addr", ln.Addr().String(), "path", telemetry.MetricsPath)
	return func() { _ = srv.Close() }, nil
}
