package web

import (
	"net/http"
	"os"
	"sync/atomic"
)

// Development-only endpoints, for drills on a developer's machine.
const (
	// DevEndpointsEnv set to 1 makes Serve add the dev-only endpoints.
	// The local runtime sets it for every instance; no manifest of a
	// cluster may (tests/manifests_test.go checks it).
	DevEndpointsEnv = "CARROT_DEV_ENDPOINTS"
	// DevUnhealthyPath, called with POST, makes the instance fail its
	// liveness probe from then on, as the seed's callMemleak did.
	DevUnhealthyPath = "/_dev/unhealthy"
)

// devEndpointsFromEnv reports whether $CARROT_DEV_ENDPOINTS is 1.
func devEndpointsFromEnv() bool { return os.Getenv(DevEndpointsEnv) == "1" }

// health is what the probes answer: readiness fails while draining,
// liveness once the instance was made unhealthy.
type health struct {
	draining  atomic.Bool
	unhealthy atomic.Bool
}

// makeUnhealthy answers POST /_dev/unhealthy: from now on liveness answers
// 500 while readiness and every other route keep working, as a leaking
// process does until the kubelet kills it. It answers the process id, so
// a drill can watch that very process be replaced.
func (hl *health) makeUnhealthy(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		MethodNotAllowed(w, r)
		return
	}
	hl.unhealthy.Store(true)
	Log(r.Context()).Warnw("made unhealthy on request: liveness fails from now on")
	JSON(w, http.StatusOK, map[string]int{"pid": os.Getpid()})
}
