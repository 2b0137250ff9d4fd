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
// the function's timeout. It answers problems of its own, whose details
// name no address, port, instance or Go error (those are logged):
//   - 503 with Retry-After at once when the queue is full, when no
//     instance could be started (the last one failed and the start backoff
//     holds the next, or an outage), or while the runtime shuts down;
//   - 504 when the timeout passes before an instance took the request or
//     before the instance answered;
//   - 503 with Retry-After when the instance failed while it had the
//     request (it crashed, was killed or reset the connection) and the
//     request could not be sent again. The caller may retry; a POST with
//     an Idempotency-Key is then done once.
//
// A response already streaming when its instance dies is cut short.
//
// A request goes to another instance, as Knative's activator does, only
// when that cannot do anything twice: when it could not even connect to
// its instance (the process died after it was granted the slot; up to
// maxAttempts instances), and, once, when it is a GET, HEAD or OPTIONS
// without a body, which carrot's functions answer without changing
// anything.
func (f *function) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), f.spec.Timeout)
	defer cancel()
	resent := false
	for attempt := 1; ; attempt++ {
		inst, err := f.acquire(ctx)
		if err != nil {
			f.refuse(w, err)
			return
		}
		a := &attemptResult{reconnect: attempt < maxAttempts, resend: attempt < maxAttempts && !resent && safeToResend(r)}
		traced := httptrace.WithClientTrace(context.WithValue(ctx, attemptKey{}, a),
			&httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { a.connected.Store(true) }})
		inst.proxy.ServeHTTP(w, r.WithContext(traced))
		f.release(inst)
		if a.err == nil {
			return
		}
		if a.connected.Load() {
			resent = true
		} else {
			f.fail(inst, a.err)
		}
	}
}

// maxAttempts bounds how many instances one request tries.
const maxAttempts = 3

// unavailableDetail is all a caller learns when the instance that had its
// request failed.
const unavailableDetail = "the function failed before it answered; retry later"

// attemptResult lets the proxy's error handler hand a failed attempt back
// to ServeHTTP instead of answering, when the request may go to another
// instance: reconnect allows it after a failed connect, resend after any
// failure. connected records that the attempt got a connection at all:
// then the request may have reached the instance (the transport redials
// idempotent requests on its own), and only resend allows sending it
// again.
type attemptResult struct {
	reconnect, resend bool
	connected         atomic.Bool
	err               error
}

type attemptKey struct{}

// retries reports whether the attempt that failed with err may go to
// another instance.
func (a *attemptResult) retries(err error) bool {
	return a.resend || (a.reconnect && !a.connected.Load() && isConnectError(err))
}

// isConnectError reports an error of dialing the instance: the request was
// not sent, so sending it elsewhere cannot do anything twice.
func isConnectError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// safeToResend reports a request that may be sent to a second instance
// after the first failed with it: a safe method (RFC 9110, 9.2.1) and no
// body, so nothing of it was consumed.
func safeToResend(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return r.ContentLength == 0
	}
	return false
}

// refuse answers a request that got no instance. Why none could be
// started is in the log of the failure, not in the answer (it may hold an
// exit status or an address), unless it is the outage drill.
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
	case errors.As(err, &noInstance) && errors.Is(err, errOutage):
		p = web.NewProblem(http.StatusServiceUnavailable, fmt.Sprintf("%s: %v", f.spec.Name, err))
	case errors.As(err, &noInstance):
		p = web.NewProblem(http.StatusServiceUnavailable, f.spec.Name+": no instance could be started; retry later")
	default: // The caller went away.
		p = web.NewProblem(http.StatusServiceUnavailable, unavailableDetail)
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
			if a, ok := r.Context().Value(attemptKey{}).(*attemptResult); ok && r.Context().Err() == nil && a.retries(err) {
				a.err = err
				log.Infow("instance failed the request; trying another", "function", spec.Name, "instance", inst.id, "error", err)
				return
			}
			log.Warnw("instance failed the request", "function", spec.Name, "instance", inst.id, "error", err)
			web.WriteProblem(w, web.NewProblem(http.StatusServiceUnavailable, unavailableDetail))
		},
	}
}
