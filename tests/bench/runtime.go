package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/carrot-market/carrot/tests/system"
)

// benchSecret signs the bench's tokens; the runtime gets it as
// CARROT_JWT_SECRET, so no request is spent on /auth/dev-token.
const benchSecret = "bench-secret-of-at-least-thirty-two-bytes"

// startSystem runs binary (the runtime) from root on ports, a data folder
// and a table prefix of its own, with the manifests' idle windows unless
// idleGrace is set and env added to its environment, and waits until
// /_local/status answers. The runtime
// leads its own process group, so that a kill reaches everything even if
// it crashes; the caller must Close it.
func startSystem(ctx context.Context, binary, root, dataDir, prefix, endpoint string, idleGrace time.Duration, env map[string]string) (*system.System, error) {
	return system.Start(ctx, system.Options{
		Binary: binary, Root: root, DataDir: dataDir, Prefix: prefix, Endpoint: endpoint, Env: env,
		IdleGrace: idleGrace, RelayEvery: 30 * time.Second, JWTSecret: benchSecret,
		HTTP:         &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}},
		StartTimeout: 3 * time.Minute, StopTimeout: 30 * time.Second, OwnGroup: true,
	})
}

// header returns the headers of a JSON request by user.
func header(sys *system.System, user string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if user != "" {
		tok, err := sys.Token(context.Background(), user) // signed here: it cannot fail but for a bad secret
		if err != nil {
			panic(err)
		}
		h.Set("Authorization", "Bearer "+tok)
	}
	return h
}

// instance returns the pid and port of a ready instance of fn, starting
// one through the gateway's activator when there is none.
func instance(sys *system.System, fn string) (pid, port int, err error) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		st, err := sys.Status(context.Background())
		if err != nil {
			return 0, 0, err
		}
		for _, in := range st.Function(fn).Instances {
			if in.Ready && in.PID > 0 {
				return in.PID, in.Port, nil
			}
		}
		if req, err := http.NewRequest(http.MethodGet, sys.Cluster+"/functions/"+fn+"/health/readiness", nil); err == nil {
			_ = sys.RoundTrip(req)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return 0, 0, fmt.Errorf("no ready instance of %s", fn)
}

// waitQuiet waits until every trigger has no lag and nothing is in
// flight, so that one measurement's events do not load the next.
func waitQuiet(sys *system.System, max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		st, err := sys.Status(context.Background())
		if err == nil && quiet(st) {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// quiet reports whether every trigger has caught up and no function has
// a request in flight or queued.
func quiet(st system.Status) bool {
	if !st.CaughtUp() {
		return false
	}
	for _, f := range st.Functions {
		if f.InFlight > 0 || f.Queued > 0 {
			return false
		}
	}
	return true
}
