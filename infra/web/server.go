package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"go.uber.org/zap"
)

// Health probe paths; the Knative manifests point their probes here.
const (
	ReadinessPath = "/health/readiness"
	LivenessPath  = "/health/liveness"
)

// Server timeouts. WriteTimeout bounds every handler, the relay included,
// so work triggered over HTTP must finish well within it.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 60 * time.Second
	IdleTimeout       = 90 * time.Second
	// ShutdownTimeout bounds waiting for in-flight requests after the
	// drain; it stays below Knative's termination grace period.
	ShutdownTimeout = 20 * time.Second
	// DefaultDrain is how long a terminating server keeps serving while
	// answering not-ready, so the endpoints drop it before it stops.
	DefaultDrain = 3 * time.Second
)

// ListenHostEnv names the IP address a function listens on. Unset, it
// listens on every interface, as it must in a cluster, where Knative's
// queue-proxy reaches the container from outside its loopback. The local
// runtime sets 127.0.0.1 for every instance it starts (infra/serving), so
// that nothing beyond this machine reaches an instance; a manifest never
// sets it.
const ListenHostEnv = "CARROT_LISTEN_HOST"

// MaxHeaderBytes bounds a request's line and header fields. Go's server
// answers a longer one 431 itself, before any handler, having read at most
// this plus 4 KiB of it.
const MaxHeaderBytes = 64 << 10

// NewServer returns a server of h with carrot's limits: the timeouts above
// and MaxHeaderBytes. So a client that sends its header or body slowly, or
// not at all, or stays idle, holds a connection for a bounded time, and a
// header flood costs at most MaxHeaderBytes. The server's own errors go to
// log. Every server of carrot is made here: each function's (Serve) and
// the local runtime's gateway.
func NewServer(h http.Handler, log *zap.SugaredLogger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          zap.NewStdLog(log.Desugar()),
	}
}

// serverConfig is what Serve reads from the environment.
type serverConfig struct {
	// service names the function in its spans (Traced).
	service string
	addr    string
	drain   time.Duration
	// devEndpoints adds POST /_dev/unhealthy ($CARROT_DEV_ENDPOINTS=1).
	devEndpoints bool
	// metricsAddr serves the metrics ($CARROT_METRICS_PORT); "" serves none.
	metricsAddr string
}

// configFromEnv reads $PORT (default 8080), $CARROT_LISTEN_HOST (an IP
// address; every interface when unset), $DRAIN_SECONDS (a whole number,
// default 3; 0 in tests), $CARROT_METRICS_PORT and $CARROT_DEV_ENDPOINTS. A bad value fails
// wiring, not a request.
func configFromEnv() (serverConfig, error) {
	cfg := serverConfig{drain: DefaultDrain, devEndpoints: devEndpointsFromEnv()}
	port := "8080"
	if p := os.Getenv("PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 65535 {
			return cfg, fmt.Errorf("web: $PORT %q is not a port number", p)
		}
		port = p
	}
	host := os.Getenv(ListenHostEnv)
	if host != "" && net.ParseIP(host) == nil {
		return cfg, fmt.Errorf("web: $%s %q is not an IP address", ListenHostEnv, host)
	}
	cfg.addr = net.JoinHostPort(host, port)
	var err error
	if cfg.metricsAddr, err = metricsAddrFromEnv(host); err != nil {
		return cfg, err
	}
	if d := os.Getenv("DRAIN_SECONDS"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return cfg, fmt.Errorf("web: $DRAIN_SECONDS %q is not a whole number of seconds", d)
		}
		cfg.drain = time.Duration(n) * time.Second
	}
	return cfg, nil
}

// Serve runs the function called name: it serves h on $PORT (default
// 8080) of every interface, or of $CARROT_LISTEN_HOST alone, with explicit
// timeouts, answers the readiness and liveness probes itself, records a
// server span per other request (Traced), logs one line per request
// (LogRequests) and recovers panics as 500 problems.
// It measures every request but the probes (MeasureRequests) and, with
// $CARROT_METRICS_PORT set, serves the metrics on that port of the same
// host until it returns.
//
// When ctx ends, Serve answers readiness with 503, keeps serving for
// $DRAIN_SECONDS (default 3) so that Knative stops routing to it, then
// shuts down, waiting up to ShutdownTimeout for in-flight requests. Request
// contexts do not end with ctx, so a request in flight is not cut short.
// Callers pass knative.dev/pkg/signals.NewContext(), which ends on SIGTERM
// or SIGINT. Serve returns nil after a clean shutdown.
//
// With $CARROT_DEV_ENDPOINTS=1 (the local runtime sets it, never a
// manifest) it also serves POST /_dev/unhealthy, which makes liveness
// answer 500 from then on; without it that path is h's, usually a 404.
func Serve(ctx context.Context, name string, h http.Handler) error {
	cfg, err := configFromEnv()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("web: %s cannot listen on %s: %w", name, cfg.addr, err)
	}
	log := Logger(name)
	stopMetrics, err := serveMetrics(cfg.metricsAddr, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics()
	cfg.service = name
	return serve(ctx, ln, log, h, cfg)
}

func serve(ctx context.Context, ln net.Listener, log *zap.SugaredLogger, h http.Handler, cfg serverConfig) error {
	hl := &health{}
	srv := NewServer(withHealth(hl, cfg.devEndpoints, log, Traced(cfg.service, MeasureRequests(LogRequests(log)(h)))), log)
	srv.BaseContext = func(net.Listener) context.Context {
		return WithLogger(context.WithoutCancel(ctx), log)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Infow("serving", "addr", ln.Addr().String())

	select {
	case err := <-served:
		return fmt.Errorf("web: server stopped: %w", err)
	case <-ctx.Done():
	}
	hl.draining.Store(true)
	log.Infow("draining", "drain", cfg.drain.String())
	select {
	case <-time.After(cfg.drain):
	case err := <-served:
		return fmt.Errorf("web: server stopped while draining: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("web: shutdown: %w", err)
	}
	log.Infow("stopped")
	return nil
}

// withHealth answers the probes before h sees the request: liveness is
// 200 while the process serves, until POST /_dev/unhealthy (served only
// when dev is true) makes it 500; readiness turns 503 once draining
// starts.
func withHealth(hl *health, dev bool, log *zap.SugaredLogger, h http.Handler) http.Handler {
	unhealthy := LogRequests(log)(http.HandlerFunc(hl.makeUnhealthy))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == LivenessPath:
			if hl.unhealthy.Load() {
				JSON(w, http.StatusInternalServerError, map[string]string{"status": "unhealthy"})
				return
			}
			JSON(w, http.StatusOK, map[string]string{"status": "alive"})
		case r.URL.Path == ReadinessPath:
			if hl.draining.Load() {
				JSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
				return
			}
			JSON(w, http.StatusOK, map[string]string{"status": "ready"})
		case dev && r.URL.Path == DevUnhealthyPath:
			unhealthy.ServeHTTP(w, r)
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// LogRequests is middleware that puts log into each request's context
// (see Log) and writes one line per request with its method, path, status
// and duration, and its request id (RequestIDHeader) when the answer or the
// request carries one; log should carry the function name, as Logger's
// does. A
// panic in a handler is logged with its stack and answered with a 500
// problem when nothing was sent yet; http.ErrAbortHandler passes through.
func LogRequests(log *zap.SugaredLogger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w}
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					log.Errorw("handler panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()),
						"method", r.Method, "path", r.URL.Path)
					if sw.status == 0 {
						WriteProblem(sw, NewProblem(http.StatusInternalServerError, InternalDetail))
					}
				}
				fields := []any{"method", r.Method, "path", r.URL.Path, "status", sw.code(),
					"duration", time.Since(start).String(), "bytes", sw.bytes}
				if id := requestID(sw, r); id != "" {
					fields = append(fields, "requestId", id)
				}
				if id := TraceID(r); id != "" {
					fields = append(fields, "traceId", id)
				}
				log.Infow("request", fields...)
			}()
			next.ServeHTTP(sw, r.WithContext(WithLogger(r.Context(), log)))
		})
	}
}

// requestID is the id the gateway gave the request: on its answer where
// the gateway made it (infra/gateway), on the request in a function.
func requestID(w http.ResponseWriter, r *http.Request) string {
	if id := w.Header().Get(RequestIDHeader); id != "" {
		return id
	}
	return r.Header.Get(RequestIDHeader)
}

// statusWriter remembers the status a handler sent. Unwrap lets
// http.ResponseController reach the underlying writer's Flush and
// deadlines.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusWriter) WriteHeader(status int) {
	if s.status == 0 {
		s.status = status
	}
	s.ResponseWriter.WriteHeader(status)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) code() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

// NewRouter returns a router whose unknown paths answer a 404 problem,
// whose known paths called with another method answer a 405 problem with
// the Allow header, and whose routes name the request's span (Traced)
// after their template.
func NewRouter() *mux.Router {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(NotFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if methods := allowedMethods(r, req); len(methods) > 0 {
			w.Header().Set("Allow", strings.Join(methods, ", "))
		}
		MethodNotAllowed(w, req)
	})
	r.Use(nameSpan)
	r.Use(recordRoute)
	return r
}

// allowedMethods lists the methods the routes of router take on req's path.
func allowedMethods(router *mux.Router, req *http.Request) []string {
	var methods []string
	_ = router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		var m mux.RouteMatch
		if route.Match(req, &m) || errors.Is(m.MatchErr, mux.ErrMethodMismatch) {
			if ms, err := route.GetMethods(); err == nil {
				methods = append(methods, ms...)
			}
		}
		return nil
	})
	slices.Sort(methods)
	return slices.Compact(methods)
}
