package serving

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strconv"
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
// the ports, under the function's mutex too.
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
	state       instanceState
	pid, port   int
	metricsPort int
	inFlight    int
	readyAt     time.Time
	lastActive  time.Time
}

func newInstance(parent context.Context, id int, rev *revision, now time.Time) *instance {
	ctx, stop := context.WithCancel(parent)
	return &instance{id: id, rev: rev, startedAt: now, ctx: ctx, stop: stop, exited: make(chan struct{}), lastActive: now}
}

// endpoint is one instance's address on 127.0.0.1 with the connections
// its proxy and its probes share.
type endpoint struct {
	addr      string
	base      *url.URL
	transport *http.Transport
	client    *http.Client
}

// maxProbeBody is how much of a probe's answer is read before the
// connection is reused.
const maxProbeBody = 64 << 10

func newEndpoint(port int) *endpoint {
	addr := net.JoinHostPort(loopback, strconv.Itoa(port))
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	return &endpoint{
		addr:      addr,
		base:      &url.URL{Scheme: "http", Host: addr},
		transport: transport,
		client:    &http.Client{Transport: transport},
	}
}

// probe runs p once: an HTTP GET of p.Path that must answer 200 to 399,
// or, without a path, a TCP connect.
func (c *endpoint) probe(ctx context.Context, p Probe) error {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	if p.Path == "" {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.JoinPath(p.Path).String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "kube-probe/carrot")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProbeBody))
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("GET %s answered %d", p.Path, resp.StatusCode)
	}
	return nil
}
