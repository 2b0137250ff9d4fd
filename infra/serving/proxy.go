package serving

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/carrot-market/carrot/infra/web"
)

// ServeHTTP is the activator and queue-proxy of the function: it waits for
// a free slot on a ready instance (starting one when needed), then proxies
// the request to it. The whole request, queueing included, is bounded by
// the function's timeout. It answers problems of its own:
//   - 503 with Retry-After at once when the queue is full, when no
//     instance could be started (the last one failed and the start backoff
//     holds the next, or an outage), or while the runtime shuts down;
//   - 504 when the timeout passes before an instance took the request or
//     before the instance answered;
//   - 502 when the instance failed while it had the request (it crashed
//     or was killed mid-request). The caller may retry.
//
// A response already streaming when its instance dies is cut short.
//
// A request that could not even connect to its instance (the process died
// after it was granted the slot) never reached it, so, like Knative's
// activator, it discards that instance and tries another, up to
// maxConnectAttempts times.
func (f *function) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), f.spec.Timeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		inst, err := f.acquire(ctx)
		if err != nil {
			f.refuse(w, err)
			return
		}
		refused := &connectFailure{retry: attempt < maxConnectAttempts}
		traced := httptrace.WithClientTrace(context.WithValue(ctx, connectFailureKey{}, refused),
			&httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { refused.connected.Store(true) }})
		inst.proxy.ServeHTTP(w, r.WithContext(traced))
		f.release(inst)
		if refused.err == nil {
			return
		}
		f.fail(inst, refused.err)
	}
}

// maxConnectAttempts bounds how many instances one request tries when it
// cannot connect to them.
const maxConnectAttempts = 3

// connectFailure lets the proxy's error handler hand a failed connect back
// to ServeHTTP instead of answering, while retry allows it. connected
// records that the request got a connection at all: then it may have
// reached the instance (the transport redials idempotent requests on its
// own), and it must not be sent again.
type connectFailure struct {
	retry     bool
	connected atomic.Bool
	err       error
}

type connectFailureKey struct{}

// isConnectError reports an error of dialing the instance: the request was
// not sent, so sending it elsewhere cannot do anything twice.
func isConnectError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// refuse answers a request that got no instance.
func (f *function) refuse(w http.ResponseWriter, err error) {
	var noInstance noInstanceError
	var p web.Problem
	switch {
	case errors.Is(err, errQueueFull):
		p = web.NewProblem(http.StatusServiceUnavailable, fmt.Sprintf(
			"%s is at capacity: every instance is busy and its queue is full; retry later", f.spec.Name))
	case errors.Is(err, errClosed):
		p = web.NewProblem(http.StatusServiceUnavailable, errClosed.Error())
	case errors.Is(err, context.DeadlineExceeded):
		p = web.NewProblem(http.StatusGatewayTimeout, fmt.Sprintf("no instance of %s took the request within %s", f.spec.Name, f.spec.Timeout))
	case errors.As(err, &noInstance):
		p = web.NewProblem(http.StatusServiceUnavailable, fmt.Sprintf("%s: %v", f.spec.Name, err))
	default: // The caller went away.
		p = web.NewProblem(http.StatusServiceUnavailable, fmt.Sprintf("%s: %v", f.spec.Name, err))
	}
	web.WriteProblem(w, p)
}

// newProxy returns the reverse proxy to one instance, at its endpoint. It keeps the Host
// header and the forwarding headers of the hop before it, as the
// queue-proxy does. Streamed responses (no Content-Length, or
// text/event-stream) reach the caller as they are produced: the proxy
// flushes those at once by itself. A response of known length is copied
// without a flush per write, which cost 40% of the gateway's CPU per
// request when every write was flushed (FlushInterval -1).
func newProxy(spec Spec, log *zap.SugaredLogger, inst *instance) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(inst.endpoint.base)
			pr.Out.Host = pr.In.Host
			for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
				if v, ok := pr.In.Header[h]; ok {
					pr.Out.Header[h] = v
				}
			}
		},
		Transport: inst.endpoint.transport,
		ErrorLog:  zap.NewStdLog(log.Desugar()),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(r.Context().Err(), context.DeadlineExceeded) {
				web.WriteProblem(w, web.NewProblem(http.StatusGatewayTimeout,
					fmt.Sprintf("%s did not answer within %s", spec.Name, spec.Timeout)))
				return
			}
			if cf, ok := r.Context().Value(connectFailureKey{}).(*connectFailure); ok && cf.retry && !cf.connected.Load() && isConnectError(err) {
				cf.err = err
				log.Infow("instance refused the connection; trying another", "function", spec.Name, "instance", inst.id, "error", err)
				return
			}
			log.Infow("proxy failed", "function", spec.Name, "instance", inst.id, "error", err)
			web.WriteProblem(w, web.NewProblem(http.StatusBadGateway,
				fmt.Sprintf("instance %d of %s failed: %v", inst.id, spec.Name, err)))
		},
	}
}
