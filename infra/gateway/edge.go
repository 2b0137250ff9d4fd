package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/rs/cors"

	"github.com/carrot-market/carrot/infra/web"
)

// CORSOriginsEnv is the environment variable of the browser origins
// allowed to call the API (ParseOrigins). The gateway's manifest reads it
// from the optional cors-origins key of carrot-config; without it no
// origin is allowed.
const CORSOriginsEnv = "CARROT_CORS_ORIGINS"

// Edge wraps h, the gateway's routes, with what every request and answer
// of the public edge gets, the same locally and in a cluster:
//   - a request id (WithRequestID);
//   - the headers of an API that serves JSON to programs and never a page
//     (securityHeaders), and Strict-Transport-Security over HTTPS,
//     whatever h answered;
//   - Cache-Control: no-store on every answer to a request that carries an
//     Authorization header, problems included, so that no cache keeps a
//     user's data;
//   - CORS for the browser origins of the allow-list origins (see
//     ParseOrigins): a preflight (OPTIONS with
//     Access-Control-Request-Method) is answered 204 with the methods and
//     headers the API takes and Max-Age, and never reaches h; an origin
//     not on the list gets no CORS header at all; answers vary by Origin;
//   - the request's body read whole, up to web.MaxBodyBytes, before h
//     sees it (readBody), so a function never gets a body that is broken,
//     cut short or too slow: the caller gets a 4xx instead.
func Edge(h http.Handler, origins []string) http.Handler {
	return WithRequestID(withHeaders(newCORS(origins).Handler(readBody(h))))
}

// securityHeaders are the headers every answer of the edge carries: no
// content sniffing, no page may load anything from an answer or frame it,
// and no Referer leaves with a link from it.
var securityHeaders = map[string]string{
	"X-Content-Type-Options":  "nosniff",
	"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
	"Referrer-Policy":         "no-referrer",
	"X-Frame-Options":         "DENY",
}

// hstsHeader makes a browser that reached the API over HTTPS keep to
// HTTPS for this host for a year, so a bearer token never travels in
// clear. It is sent only on answers to requests that came over HTTPS (RFC
// 6797, 7.2): TLS ended at the gateway, or at the ingress in front of it,
// which says so in X-Forwarded-Proto.
const hstsHeader = "max-age=31536000"

// withHeaders sets securityHeaders, Strict-Transport-Security over HTTPS
// and Cache-Control: no-store for an authenticated request on the answer,
// just before its status line is sent, over whatever next set.
func withHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		private := r.Header.Get("Authorization") != ""
		secure := r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
		next.ServeHTTP(&headerWriter{ResponseWriter: w, set: func(h http.Header) {
			for k, v := range securityHeaders {
				h.Set(k, v)
			}
			if secure {
				h.Set("Strict-Transport-Security", hstsHeader)
			}
			if private {
				h.Set("Cache-Control", "no-store")
			}
		}}, r)
	})
}

// headerWriter calls set on the answer's header once, just before the
// final status is sent. Unwrap lets http.ResponseController reach Flush.
type headerWriter struct {
	http.ResponseWriter
	set  func(http.Header)
	sent bool
}

func (w *headerWriter) WriteHeader(status int) {
	if !w.sent && status >= http.StatusOK {
		w.sent = true
		w.set(w.Header())
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *headerWriter) Write(b []byte) (int, error) {
	if !w.sent {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *headerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// corsMaxAge is how long, in seconds, a browser may keep a preflight's
// answer.
const corsMaxAge = 600

// newCORS returns the CORS handling of Edge. The API takes bearer tokens,
// never cookies, so no credentials are allowed. An empty allow-list
// allows no origin (rs/cors would read it as every origin).
func newCORS(origins []string) *cors.Cors {
	opts := cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPatch, http.MethodDelete},
		AllowedHeaders: []string{"Authorization", "Content-Type", web.IdempotencyKeyHeader, "traceparent", web.RequestIDHeader},
		ExposedHeaders: []string{"Location", "Retry-After", web.RequestIDHeader},
		MaxAge:         corsMaxAge,
	}
	if len(origins) == 0 {
		opts.AllowOriginFunc = func(string) bool { return false }
	}
	return cors.New(opts)
}

// ParseOrigins reads an allow-list of browser origins: comma-separated,
// each a scheme (http or https) and a host with an optional port, with no
// path, such as https://app.example.com. One * in an origin stands for
// any run of characters, as in http://localhost:* for any port; * alone,
// every site, is refused: the list says who may call. Blanks are ignored;
// an empty list allows no origin.
func ParseOrigins(s string) ([]string, error) {
	var origins []string
	for _, o := range strings.Split(s, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		scheme, host, ok := strings.Cut(o, "://")
		if !ok || (scheme != "http" && scheme != "https") || host == "" || host == "*" ||
			strings.ContainsAny(host, "/?#@ ") || strings.Count(host, "*") > 1 {
			return nil, fmt.Errorf("gateway: $%s: %q is not an origin such as https://app.example.com or http://localhost:*", CORSOriginsEnv, o)
		}
		origins = append(origins, o)
	}
	return origins, nil
}

// OriginsFromEnv reads $CARROT_CORS_ORIGINS with ParseOrigins.
func OriginsFromEnv() ([]string, error) {
	return ParseOrigins(os.Getenv(CORSOriginsEnv))
}

// readBody reads the request's body whole before next sees it, and hands
// next a copy that can be read again (GetBody), so a transport may resend
// it when nothing of it was written. A body that cannot be read is the
// caller's problem and is answered here: 413 over web.MaxBodyBytes (the
// same limit every function applies), 408 when it does not arrive within
// the server's ReadTimeout, 400 when it is malformed (a broken chunked
// encoding) or cut short. Memory per request is bounded by
// web.MaxBodyBytes.
func readBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		var body []byte
		var err error = errTooLarge
		if r.ContentLength <= web.MaxBodyBytes {
			body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, web.MaxBodyBytes))
		}
		if err != nil {
			web.WriteProblem(w, bodyProblem(err))
			return
		}
		r = r.WithContext(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		r.ContentLength = int64(len(body))
		r.TransferEncoding = nil
		next.ServeHTTP(w, r)
	})
}

var errTooLarge = &http.MaxBytesError{Limit: web.MaxBodyBytes}

// bodyProblem is the answer to a body that could not be read with err.
func bodyProblem(err error) web.Problem {
	var tooLarge *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooLarge):
		return web.NewProblem(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body exceeds %d bytes", web.MaxBodyBytes))
	case errors.As(err, &netErr) && netErr.Timeout():
		return web.NewProblem(http.StatusRequestTimeout, "the body did not arrive in time")
	default:
		return web.NewProblem(http.StatusBadRequest, "the body could not be read: it is malformed or cut short")
	}
}
