package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/web"
	"github.com/carrot-market/carrot/tests/drill"
)

// benchSecret signs the bench's tokens; the runtime gets it as
// CARROT_JWT_SECRET, so no request is spent on /auth/dev-token.
const benchSecret = "bench-secret-of-at-least-thirty-two-bytes"

// system is one carrot runtime process, started as `make run` starts it,
// on ports, a data folder and a table prefix of its own.
type system struct {
	Gateway, Cluster, Kafka string // base URLs (Kafka: host:port)
	DataDir, Prefix         string
	Endpoint                string // DynamoDB
	auth                    *web.Auth
	client                  *http.Client
	cmd                     *exec.Cmd
	exited                  chan struct{}
	out                     *lockedBuffer
	tokens                  sync.Map
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 8<<20 { // keep the tail only
		b.buf.Reset()
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}

// startSystem runs binary (the runtime) from root with extra environment,
// and waits until /_local/status answers.
func startSystem(ctx context.Context, binary, root, dataDir, prefix, endpoint string, extra map[string]string) (*system, error) {
	auth, err := web.NewAuth([]byte(benchSecret))
	if err != nil {
		return nil, err
	}
	s := &system{
		DataDir: dataDir, Prefix: prefix, Endpoint: endpoint, auth: auth, out: &lockedBuffer{},
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}},
	}
	gw, cl, kf := freeAddr(), freeAddr(), freeAddr()
	s.Gateway, s.Cluster, s.Kafka = "http://"+gw, "http://"+cl, kf
	env := map[string]string{
		"CARROT_GATEWAY_ADDR": gw, "CARROT_CLUSTER_ADDR": cl, "KAFKA_ADDR": kf,
		"CARROT_DATA_DIR": dataDir, "DYNAMODB_TABLE_PREFIX": prefix, dynamo.EnvEndpoint: endpoint,
		web.SecretEnv: benchSecret, "CARROT_RELAY_EVERY": "30s",
	}
	for k, v := range extra {
		env[k] = v
	}
	s.cmd = exec.Command(binary, root)
	s.cmd.Env = environ(env)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	// The runtime's children die with it; its own process group lets a
	// kill reach everything even if it crashes.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	s.exited = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if _, err := s.status(); err == nil {
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("the runtime exited during start-up:\n%s", s.out.tail(4000))
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("the runtime did not answer in time:\n%s", s.out.tail(4000))
		}
	}
}

// stop sends SIGINT, as Ctrl-C, and kills the process group if the
// runtime does not exit in time.
func (s *system) stop() {
	if s == nil || s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
}

func environ(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := extra[k]; !ok {
			env = append(env, kv)
		}
	}
	for k, v := range extra {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (s *system) status() (drill.Status, error) {
	var st drill.Status
	res, err := s.client.Get(s.Gateway + "/_local/status")
	if err != nil {
		return st, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return st, fmt.Errorf("status answered %d", res.StatusCode)
	}
	return st, json.NewDecoder(res.Body).Decode(&st)
}

// token signs a token of user with the runtime's secret.
func (s *system) token(user string) string {
	if t, ok := s.tokens.Load(user); ok {
		return t.(string)
	}
	t, err := s.auth.Issue(user, 2*time.Hour)
	if err != nil {
		panic(err)
	}
	s.tokens.Store(user, t)
	return t
}

// header returns the headers of a JSON request by user.
func (s *system) header(user string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if user != "" {
		h.Set("Authorization", "Bearer "+s.token(user))
	}
	return h
}

// do sends one request and reads the answer.
func (s *system) do(method, url, user string, body any) (int, []byte, error) {
	var in io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		in = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, in)
	if err != nil {
		return 0, nil, err
	}
	req.Header = s.header(user)
	res, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// instance returns the pid and port of a ready instance of fn, starting
// one through the gateway's activator when there is none.
func (s *system) instance(fn string) (pid, port int, err error) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		st, err := s.status()
		if err != nil {
			return 0, 0, err
		}
		for _, in := range st.Function(fn).Instances {
			if in.Ready && in.PID > 0 {
				return in.PID, in.Port, nil
			}
		}
		_, _, _ = s.do(http.MethodGet, s.Cluster+"/functions/"+fn+"/health/readiness", "", nil)
		time.Sleep(100 * time.Millisecond)
	}
	return 0, 0, fmt.Errorf("no ready instance of %s", fn)
}

// waitQuiet waits until every trigger has no lag and nothing is in
// flight, so that one measurement's events do not load the next.
func (s *system) waitQuiet(max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		st, err := s.status()
		if err == nil && quiet(st) {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// quiet reports whether every trigger has caught up and no function has
// a request in flight or queued.
func quiet(st drill.Status) bool {
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

// rss returns VmRSS of pid in bytes.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}
