package tests

// The end-to-end tests start carrot the way `make run` does: the runtime
// binary of infra/local/cmd/carrot, built once by TestMain, runs as a real
// OS process per test with its own ports, data folder and DynamoDB table
// prefix, so that tests run in parallel with each other and with other
// packages. This file holds what they share: starting and stopping a
// system, tokens, requests, the runtime's status and waiting.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/dynamo/dynamotest"
	"github.com/carrot-market/carrot/tests/drill"
)

// Bounds of the waits. They are generous: under -race on two cores the
// runtime builds every function before it answers, and the first request
// to a function includes its cold start.
const (
	readyTimeout = 120 * time.Second // the runtime answers /_local/status
	stopTimeout  = 60 * time.Second  // the runtime exits after SIGINT
	settle       = 60 * time.Second  // an effect travels through the broker
	tick         = 200 * time.Millisecond
)

var (
	// repoRoot is the repository, the runtime's first argument.
	repoRoot string
	// carrotBinary is the runtime TestMain built.
	carrotBinary string
)

// TestMain builds the runtime once, as `make run` does, for every test
// that starts a system.
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		return 1
	}
	repoRoot = root
	dir, err := os.MkdirTemp("", "carrot-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	carrotBinary = filepath.Join(dir, "carrot")
	build := exec.Command("go", "build", "-o", carrotBinary, "./infra/local/cmd/carrot")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "tests: building the runtime failed: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// Options change how a system starts.
type Options struct {
	// IdleGrace is CARROT_IDLE_GRACE; zero keeps the manifests' windows
	// (60 s), so instances stay warm for the whole test.
	IdleGrace time.Duration
	// MaxScale is CARROT_MAX_SCALE, the runtime's cap on every function's
	// instances; zero keeps its default (10), below which the manifests'
	// max-scale apply.
	MaxScale int
}

// System is one running carrot: the runtime process and the addresses it
// serves. Its methods that take no testing.TB are safe for concurrent use.
type System struct {
	Gateway  string // base URL of the public API, e.g. http://127.0.0.1:41234
	Cluster  string // base URL of the broker ingress and the activators
	Kafka    string // host:port of the in-process Kafka
	DataDir  string // CARROT_DATA_DIR: Kafka's log, the JWT secret, the functions' binaries
	Prefix   string // DYNAMODB_TABLE_PREFIX
	DynamoDB *dynamodb.Client

	env    []string
	client *http.Client
	output *output

	mu     sync.Mutex
	proc   *exec.Cmd
	exited chan struct{} // closed once proc has exited
	tokens map[string]string
	pids   map[int]bool // every function instance status ever showed
}

// MustStart starts a system on fresh ports, data folder and tables, waits
// until it answers, and stops it and deletes its tables when the test
// ends. It skips the test when DynamoDB Local is not there, except under
// CI=true, where it fails.
func MustStart(t *testing.T, opts Options) *System {
	t.Helper()
	ddb := dynamotest.MustClient(t)
	s := &System{
		DataDir:  t.TempDir(),
		Prefix:   randomPrefix(),
		DynamoDB: ddb,
		client:   &http.Client{Timeout: 60 * time.Second},
		output:   &output{},
		tokens:   map[string]string{},
		pids:     map[int]bool{},
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := dynamo.DeleteTables(ctx, ddb, s.Prefix); err != nil {
			t.Errorf("delete tables %s*: %v", s.Prefix, err)
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the runtime's last output:\n%s", s.output.tail(150))
		}
		s.kill()
	})
	// A port found free may be taken by another process before the
	// runtime binds it; then it exits at once and other ports are tried.
	for attempt := 1; ; attempt++ {
		gateway, cluster, kafka := freeAddr(t), freeAddr(t), freeAddr(t)
		s.Gateway, s.Cluster, s.Kafka = "http://"+gateway, "http://"+cluster, kafka
		s.env = environ(map[string]string{
			"CARROT_GATEWAY_ADDR":   gateway,
			"CARROT_CLUSTER_ADDR":   cluster,
			"KAFKA_ADDR":            kafka,
			"CARROT_DATA_DIR":       s.DataDir,
			"DYNAMODB_TABLE_PREFIX": s.Prefix,
			"CARROT_RELAY_EVERY":    "1s",
			"CARROT_IDLE_GRACE":     durationEnv(opts.IdleGrace),
			"CARROT_MAX_SCALE":      countEnv(opts.MaxScale),
		})
		err := s.start()
		if err == nil {
			return s
		}
		if attempt < 3 && strings.Contains(s.output.String(), "address already in use") {
			t.Logf("start %d: %v; trying other ports", attempt, err)
			continue
		}
		t.Fatalf("carrot did not start: %v\n%s", err, s.output.tail(150))
	}
}

// Restart stops the system with SIGINT (see Stop) and starts it again on
// the same ports, data folder and tables.
func (s *System) Restart(t *testing.T) {
	t.Helper()
	s.Stop(t)
	s.output.mark("restart")
	if err := s.start(); err != nil {
		t.Fatalf("carrot did not start again: %v\n%s", err, s.output.tail(150))
	}
}

// start runs the runtime and waits until /_local/status answers.
func (s *System) start() error {
	cmd := exec.Command(carrotBinary, repoRoot)
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = s.output, s.output
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.proc, s.exited = cmd, exited
	s.mu.Unlock()

	deadline := time.Now().Add(readyTimeout)
	for {
		if _, err := s.Status(); err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("the runtime exited during start-up: %v", cmd.ProcessState)
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("/_local/status did not answer within %s", readyTimeout)
		}
	}
}

// Stop sends SIGINT, as Ctrl-C after `make run`, and asserts that the
// runtime exits cleanly and leaves no function process behind: neither
// one whose pid /_local/status ever showed, nor any process running a
// binary of its data folder.
func (s *System) Stop(t *testing.T) {
	t.Helper()
	_, _ = s.Status() // records the pids of the instances running now
	s.mu.Lock()
	proc, exited := s.proc, s.exited
	s.mu.Unlock()
	require.NotNil(t, proc, "the system is not running")
	require.NoError(t, proc.Process.Signal(os.Interrupt))
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		s.kill()
		t.Fatalf("the runtime did not exit within %s of SIGINT", stopTimeout)
	}
	assert.Equal(t, 0, proc.ProcessState.ExitCode(), "the runtime's exit status after SIGINT")
	s.mu.Lock()
	s.proc = nil
	var pids []int
	for pid := range s.pids {
		pids = append(pids, pid)
	}
	s.mu.Unlock()
	require.NotEmpty(t, pids, "no function instance ever ran")
	binDir := filepath.Join(s.DataDir, "bin") + string(filepath.Separator)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		for _, pid := range pids {
			assert.False(c, alive(pid, binDir), "function process %d is still running", pid)
		}
		assert.Empty(c, processesUnder(binDir), "processes still run binaries of %s", binDir)
	}, 15*time.Second, tick, "the runtime left function processes behind")
}

// kill ends a runtime still running at the end of a test without checks.
func (s *System) kill() {
	s.mu.Lock()
	proc, exited := s.proc, s.exited
	s.proc = nil
	s.mu.Unlock()
	if proc == nil {
		return
	}
	_ = proc.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		_ = proc.Process.Kill()
		<-exited
	}
}

// Output returns everything the runtime and its functions printed.
func (s *System) Output() string { return s.output.String() }

// Response is an HTTP answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as one JSON object.
func (r Response) JSON(t require.TestingT) map[string]any {
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "%s", r.Body)
	return m
}

// String returns the body as text.
func (r Response) String() string { return fmt.Sprintf("%d %s", r.Status, r.Body) }

// Do sends a request through the gateway as user ("" sends no token) with
// body as JSON (nil sends none), and fails the test when no answer comes.
func (s *System) Do(t require.TestingT, user, method, path string, body any) Response {
	res, err := s.Send(user, method, path, body)
	require.NoError(t, err, "%s %s", method, path)
	return res
}

// Send is Do for goroutines and EventuallyWithT: it returns the error.
func (s *System) Send(user, method, path string, body any) (Response, error) {
	var in io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return Response{}, err
		}
		in = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.Gateway+path, in)
	if err != nil {
		return Response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		tok, err := s.Token(user)
		if err != nil {
			return Response{}, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return s.roundTrip(req)
}

func (s *System) roundTrip(req *http.Request) (Response, error) {
	resp, err := s.client.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}

// Token returns a dev token of user from POST /auth/dev-token. Tokens
// survive a restart: the runtime keeps its JWT secret in its data folder.
func (s *System) Token(user string) (string, error) {
	s.mu.Lock()
	tok, ok := s.tokens[user]
	s.mu.Unlock()
	if ok {
		return tok, nil
	}
	req, err := http.NewRequest(http.MethodPost, s.Gateway+"/auth/dev-token", strings.NewReader(`{"userId":`+strconv.Quote(user)+`}`))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := s.roundTrip(req)
	if err != nil {
		return "", err
	}
	var out struct{ Token string }
	if err := json.Unmarshal(res.Body, &out); err != nil || res.Status != http.StatusOK || out.Token == "" {
		return "", fmt.Errorf("dev token of %s: %s", user, res)
	}
	s.mu.Lock()
	s.tokens[user] = out.Token
	s.mu.Unlock()
	return out.Token, nil
}

// Status is what GET /_local/status answers, as the drills read it.
type Status = drill.Status

// Status asks GET /_local/status, and remembers the pids of the function
// instances it shows, for Stop's check.
func (s *System) Status() (Status, error) {
	req, err := http.NewRequest(http.MethodGet, s.Gateway+"/_local/status", nil)
	if err != nil {
		return Status{}, err
	}
	res, err := s.roundTrip(req)
	if err != nil {
		return Status{}, err
	}
	if res.Status != http.StatusOK {
		return Status{}, fmt.Errorf("GET /_local/status: %s", res)
	}
	var st Status
	if err := json.Unmarshal(res.Body, &st); err != nil {
		return Status{}, fmt.Errorf("GET /_local/status: %w", err)
	}
	s.mu.Lock()
	for _, f := range st.Functions {
		for _, inst := range f.Instances {
			if inst.PID > 0 {
				s.pids[inst.PID] = true
			}
		}
	}
	s.mu.Unlock()
	return st, nil
}

// MustStatus is Status for the test goroutine.
func (s *System) MustStatus(t require.TestingT) Status {
	st, err := s.Status()
	require.NoError(t, err)
	return st
}

// MustRegister lists an item of seller priced price and returns its id.
func (s *System) MustRegister(t require.TestingT, seller, name string, price int) string {
	res := s.Do(t, seller, http.MethodPost, "/items", map[string]any{"name": name, "category": "electronics", "price": price})
	require.Equal(t, http.StatusCreated, res.Status, "POST /items: %s", res)
	return res.JSON(t)["itemId"].(string)
}

// EventuallyPage waits until user's GET /myPages/{itemId} shows every
// field of want (numbers compare by value), and returns the row.
func (s *System) EventuallyPage(t *testing.T, user, itemID string, want map[string]any) map[string]any {
	t.Helper()
	var row map[string]any
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		res, err := s.Send(user, http.MethodGet, "/myPages/"+itemID, nil)
		if !assert.NoError(c, err) || !assert.Equal(c, http.StatusOK, res.Status, "%s", res) {
			return
		}
		row = res.JSON(c)
		for field, value := range want {
			assert.EqualValues(c, value, row[field], "MyPage %s of item %s", field, itemID)
		}
	}, settle, tick, "MyPage of item %s never showed %v", itemID, want)
	return row
}

// EventuallyQuiet waits until every trigger has caught up with the broker
// topic (lag 0) and its counts stopped changing for several seconds, and
// returns that status. Events that kept bouncing between functions would
// keep the counts growing, and the wait would fail.
func (s *System) EventuallyQuiet(t *testing.T) Status {
	t.Helper()
	const stableFor = 3 * time.Second
	var last Status
	var since time.Time
	require.Eventually(t, func() bool {
		st, err := s.Status()
		if err != nil {
			return false
		}
		caughtUp := st.CaughtUp()
		if !caughtUp || !st.SameTriggerCounts(last) {
			since = time.Now()
		}
		last = st
		return caughtUp && time.Since(since) >= stableFor
	}, settle, 500*time.Millisecond, "the triggers never came to rest: %+v", last.Triggers)
	return last
}

// Topic names of the running system, as knative/eventing names them.
const (
	brokerTopic      = "knative-broker-default-carrot"
	deadLetterTopic  = "carrot-dead-letters"
	brokerIngressURI = "/broker/default/carrot"
)

// Events reads topic from its start to its end as of now, from the
// system's Kafka, and decodes every record as a structured CloudEvent (the
// layout of the broker topic and of the dead-letter KafkaSink).
func (s *System) Events(t *testing.T, topic string) []cloudevents.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := kgo.NewClient(kgo.SeedBrokers(s.Kafka))
	require.NoError(t, err)
	ends, err := kadm.NewClient(admin).ListEndOffsets(ctx, topic)
	admin.Close()
	require.NoError(t, err)
	require.NoError(t, ends.Error(), "end offsets of %s", topic)
	remaining := map[int32]int64{} // partition → end offset not reached yet
	partitions := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			remaining[o.Partition] = o.Offset
			partitions[o.Partition] = kgo.NewOffset().AtStart()
		}
	})
	if len(remaining) == 0 {
		return nil
	}
	consumer, err := kgo.NewClient(kgo.SeedBrokers(s.Kafka), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: partitions}))
	require.NoError(t, err)
	defer consumer.Close()
	var out []cloudevents.Event
	for len(remaining) > 0 {
		fetches := consumer.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "reading %s: %d partitions not read to their end", topic, len(remaining))
		fetches.EachError(func(_ string, p int32, err error) { require.NoError(t, err, "reading %s[%d]", topic, p) })
		fetches.EachRecord(func(r *kgo.Record) {
			if end, ok := remaining[r.Partition]; !ok || r.Offset >= end {
				return
			}
			var e cloudevents.Event
			require.NoError(t, json.Unmarshal(r.Value, &e), "record %s[%d]@%d: %s", topic, r.Partition, r.Offset, r.Value)
			out = append(out, e)
			if r.Offset+1 >= remaining[r.Partition] {
				delete(remaining, r.Partition)
			}
		})
	}
	return out
}

// output collects the runtime's output lines. It is safe for concurrent
// use.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func (o *output) mark(what string) {
	_, _ = fmt.Fprintf(o, "----- %s -----\n", what)
}

// tail returns the last n lines.
func (o *output) tail(n int) string {
	lines := strings.Split(strings.TrimRight(o.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Lines returns the output lines that contain every one of parts.
func (s *System) Lines(parts ...string) []string {
	var found []string
	sc := bufio.NewScanner(strings.NewReader(s.output.String()))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
lines:
	for sc.Scan() {
		for _, p := range parts {
			if !strings.Contains(sc.Text(), p) {
				continue lines
			}
		}
		found = append(found, sc.Text())
	}
	return found
}

// environ is this process's environment with vars set (an empty value
// unsets one), minus what would point the runtime elsewhere.
func environ(vars map[string]string) []string {
	drop := map[string]bool{"KAFKA_BOOTSTRAP_SERVERS": true, "CARROT_JWT_SECRET": true}
	for k := range vars {
		drop[k] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			env = append(env, kv)
		}
	}
	for k, v := range vars {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func durationEnv(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return d.String()
}

func countEnv(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// freeAddr returns 127.0.0.1:<a port that was free a moment ago>.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// randomPrefix returns a table prefix no other test uses.
func randomPrefix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "e2e" + hex.EncodeToString(b) + "-"
}

// alive reports whether pid is a running process (not a zombie) whose
// executable lies under binDir. A pid reused by an unrelated process does
// not count. Without /proc it asks the kernel whether pid exists at all.
func alive(pid int, binDir string) bool {
	if runtime.GOOS != "linux" {
		return syscall.Kill(pid, 0) == nil
	}
	exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe"))
	return err == nil && strings.HasPrefix(exe, binDir)
}

// processesUnder lists the running processes whose executable lies under
// binDir (on Linux; elsewhere none can be found).
func processesUnder(binDir string) []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var found []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && strings.HasPrefix(exe, binDir) {
			found = append(found, fmt.Sprintf("%d %s", pid, exe))
		}
	}
	return found
}

// signal sends sig to pid; a process already gone is no error.
func signal(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}
