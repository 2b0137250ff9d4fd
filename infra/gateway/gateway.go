// Package gateway is carrot's one public entry point: it sends each route
// of the HTTP API (SPEC section 4, declared in functions/registry) to the
// function that owns it, and does nothing else. It holds no business
// logic: it checks no token and makes no domain error; the functions do
// both. An unknown route is a 404 problem and a known path with another
// method a 405. What every answer of the edge gets (headers, CORS, a
// request id, a body read whole) is Edge's; a function that cannot answer
// is a 503 problem with Retry-After that tells nothing of the inside
// (Mount).
//
// The local runtime (infra/local) and the cluster's gateway function
// (registry.Gateway) run the same routing and differ only in their
// Targets: locally the runtime's activator of each function, in a cluster
// a reverse proxy to the function's cluster-local URL (Proxies).
package gateway

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/web"
)

// Targets hands out the handler that reaches one function, by its name in
// functions/registry.
type Targets interface {
	Handler(function string) http.Handler
}

// Mount adds every route of the API to r, for each of its methods (a GET
// also for HEAD), each served by the handler targets gives for the
// function that owns it, inside a client span that the function's own
// span continues (traced). When that handler answers that the function could
// not be reached or failed on the way (unavailable), the caller gets a 503
// problem with Retry-After and UnavailableDetail instead, with none of
// the handler's headers; the handler's status is logged.
func Mount(r *mux.Router, targets Targets) {
	for rt, f := range registry.Routes() {
		r.Handle(rt.Path, guard(f.Name, traced(f.Name, targets.Handler(f.Name)))).Methods(rt.Methods()...)
	}
}

// New returns the gateway in front of targets: the routes of the API and
// nothing else, behind Edge with the browser origins origins.
func New(targets Targets, origins []string) http.Handler {
	r := web.NewRouter()
	Mount(r, targets)
	return Edge(r, origins)
}

// maxRequestIDLength bounds a request id taken from the caller.
const maxRequestIDLength = 128

// WithRequestID gives every request a request id in the X-Request-Id
// header: the caller's own when it is 1 to 128 printable ASCII characters
// without spaces, or else a new random UUID. next sees the request with
// that id, so a proxy passes it on to the function, and the answer carries
// it back, whatever next answers (404s and 503s included). The caller's
// request is not changed: next gets a copy.
func WithRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(web.RequestIDHeader)
		if !validRequestID(id) || len(r.Header.Values(web.RequestIDHeader)) > 1 {
			id = uuid.NewString()
			r = r.Clone(r.Context())
			r.Header.Set(web.RequestIDHeader, id)
		}
		w.Header().Set(web.RequestIDHeader, id)
		next.ServeHTTP(w, r)
	})
}

// validRequestID reports whether id may be passed on and logged as it is:
// a caller could otherwise put line breaks or megabytes in every log line
// that carries it.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}
