package gateway

import (
	"maps"
	"mime"
	"net/http"

	"github.com/carrot-market/carrot/infra/web"
)

// guard is h, the handler that reaches function, except that an answer
// saying the function could not be reached or failed on the way
// (unavailable) is replaced with the gateway's own 503 problem: Retry-After,
// UnavailableDetail, the headers the gateway had set before h ran and none
// of h's. The replaced status is logged. Every other answer passes as h
// writes it.
func guard(function string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&guardWriter{ResponseWriter: w, own: w.Header().Clone(), function: function, r: r}, r)
	})
}

// unavailable reports an answer that says the function was not reached or
// failed on the way: a 502 or 504, which carrot's functions never answer,
// and a 503 that is not problem+json. Every answer of carrot's functions is
// problem+json, their own 503 (overload, storage throttled) with
// Retry-After; Knative's activator, queue-proxy and ingress answer in plain
// text, with internal details, and the local runtime's activator
// (infra/serving) answers 504 when a function's timeout passed.
func unavailable(status int, h http.Header) bool {
	switch status {
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		return true
	case http.StatusServiceUnavailable:
		media, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
		return media != "application/problem+json"
	}
	return false
}

// guardWriter decides at the final status of h's answer whether to pass it
// or replace it. Unwrap lets http.ResponseController reach Flush.
type guardWriter struct {
	http.ResponseWriter
	own      http.Header
	function string
	r        *http.Request
	decided  bool
	replaced bool // h's answer is dropped: the gateway's 503 was sent
}

func (g *guardWriter) WriteHeader(status int) {
	switch {
	case g.replaced:
		return
	case g.decided || status < http.StatusOK:
		g.ResponseWriter.WriteHeader(status)
		return
	}
	g.decided = true
	if !unavailable(status, g.Header()) {
		g.ResponseWriter.WriteHeader(status)
		return
	}
	g.replaced = true
	web.Log(g.r.Context()).Warnw("function unavailable", "target", g.function, "status", status,
		"requestId", g.r.Header.Get(web.RequestIDHeader))
	h := g.Header()
	clear(h)
	maps.Copy(h, g.own)
	web.WriteProblem(g.ResponseWriter, web.NewProblem(http.StatusServiceUnavailable, UnavailableDetail))
}

func (g *guardWriter) Write(b []byte) (int, error) {
	if !g.decided {
		g.WriteHeader(http.StatusOK)
	}
	if g.replaced {
		return len(b), nil
	}
	return g.ResponseWriter.Write(b)
}

func (g *guardWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }
