package serving

import (
	"context"
	"net/http/httputil"
	"os/exec"
	"time"
)

// instanceState is where an instance is in its life. Only ready instances
// receive new requests.
type instanceState int

const (
	stateStarting instanceState = iota // process starting, readiness not yet answered
	stateReady
	stateUnready // readiness failed FailureThreshold times after it was ready
	stateStopping
)

func (s instanceState) String() string {
	return [...]string{"starting", "ready", "unready", "stopping"}[s]
}

// instance is one process of a function. The fields under "routing" are
// guarded by the function's mutex; the others are written by the
// instance's supervisor before the instance turns ready, or, for pid and
// port, under the function's mutex too.
type instance struct {
	id        int
	rev       *revision // the revision it runs, never changed
	startedAt time.Time
	ctx       context.Context // ends when the instance must stop
	stop      context.CancelFunc

	cmd      *exec.Cmd
	exited   chan struct{} // closed once the process is reaped
	waitErr  error         // what Wait returned, readable once exited is closed
	proxy    *httputil.ReverseProxy
	endpoint *endpoint

	// routing
	state      instanceState
	pid, port  int
	inFlight   int
	readyAt    time.Time
	lastActive time.Time
}

func newInstance(parent context.Context, id int, rev *revision, now time.Time) *instance {
	ctx, stop := context.WithCancel(parent)
	return &instance{id: id, rev: rev, startedAt: now, ctx: ctx, stop: stop, exited: make(chan struct{}), lastActive: now}
}
