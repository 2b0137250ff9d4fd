package system

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/web"
)

// BrokerIngressPath is the broker's ingress on the cluster listener, as
// knative/eventing names the broker.
const BrokerIngressPath = "/broker/default/carrot"

// tokenTTL is how long a token signed by the harness itself stays valid:
// longer than any test, drill or bench run.
const tokenTTL = 2 * time.Hour

// Day is the date n days after today in Seoul, the marketplace's time
// (market.Seoul), as YYYY-MM-DD: a meeting on it stays ahead whenever a
// test, drill or bench runs, as a meeting must.
func Day(n int) string {
	return time.Now().In(market.Seoul).AddDate(0, 0, n).Format(time.DateOnly)
}

// ClientConfig says where a running system is and how to reach it.
type ClientConfig struct {
	// Gateway is the base URL of the public API, e.g.
	// http://127.0.0.1:8088.
	Gateway string
	// Cluster is the base URL of the broker ingress and the activators,
	// e.g. http://127.0.0.1:8089; empty when it is not reachable.
	Cluster string
	// JWTSecret, when set, signs tokens here instead of asking the local
	// runtime's POST /auth/dev-token (which a cluster does not have).
	JWTSecret string
	// HTTP sends every request; nil uses one with a 60 s timeout.
	HTTP *http.Client
}

// Client talks to a running system: its public API with the tokens of
// its users, and the local runtime's /_local/status. It is safe for
// concurrent use.
type Client struct {
	Gateway string // base URL of the public API
	Cluster string // base URL of the broker ingress and the activators, or ""
	// Local is true when GET /_local/status answered when Attach looked:
	// the system is the local runtime, with its /_local controls.
	Local bool

	http *http.Client
	auth *web.Auth

	mu     sync.Mutex
	tokens map[string]string
	pids   map[int]bool // every function instance a status ever showed
}

// NewClient returns a client of the system c describes without asking it
// anything; Local is false.
func NewClient(c ClientConfig) (*Client, error) {
	cl := &Client{
		Gateway: strings.TrimRight(c.Gateway, "/"),
		Cluster: strings.TrimRight(c.Cluster, "/"),
		http:    c.HTTP,
		tokens:  map[string]string{},
		pids:    map[int]bool{},
	}
	if cl.http == nil {
		cl.http = &http.Client{Timeout: 60 * time.Second}
	}
	if c.JWTSecret != "" {
		auth, err := web.NewAuth([]byte(c.JWTSecret), market.IsUserID)
		if err != nil {
			return nil, err
		}
		cl.auth = auth
	}
	return cl, nil
}

// Attach returns a client of a system already running at c.Gateway after
// checking that it answers, and sets Local when it is the local runtime.
func Attach(ctx context.Context, c ClientConfig) (*Client, error) {
	cl, err := NewClient(c)
	if err != nil {
		return nil, err
	}
	res := cl.Do(ctx, "", http.MethodGet, "/_local/status", nil)
	if res.Err != nil {
		return nil, fmt.Errorf("%s does not answer: %w", cl.Gateway, res.Err)
	}
	cl.Local = res.Status == http.StatusOK
	return cl, nil
}

// Response is an HTTP answer, read whole, with when it was sent and how
// long it took. Status is 0 when no answer came (Err says why).
type Response struct {
	Status  int
	Header  http.Header
	Body    []byte
	Sent    time.Time
	Latency time.Duration
	Err     error
}

// OK reports whether the answer is a 2xx.
func (r Response) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Decode decodes the body as JSON into v.
func (r Response) Decode(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("answer %d is not the JSON expected: %w: %.200s", r.Status, err, r.Body)
	}
	return nil
}

// Failer is the part of testing.TB (and of testify's CollectT) that JSON
// needs to fail a test.
type Failer interface {
	Errorf(format string, args ...any)
	FailNow()
}

// JSON decodes the body as one JSON object, failing t when it is not one.
func (r Response) JSON(t Failer) map[string]any {
	var m map[string]any
	if err := r.Decode(&m); err != nil {
		t.Errorf("%v", err)
		t.FailNow()
	}
	return m
}

// String describes the answer for a message or a report.
func (r Response) String() string {
	if r.Err != nil {
		return "no answer: " + r.Err.Error()
	}
	return fmt.Sprintf("%d %.300s", r.Status, bytes.TrimSpace(r.Body))
}

// Do sends a request to the public API as user ("" sends no token) with
// body as JSON (nil sends none). A request that got no answer returns a
// Response with Err set.
func (c *Client) Do(ctx context.Context, user, method, path string, body any) Response {
	var in io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return Response{Sent: time.Now(), Err: err}
		}
		in = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Gateway+path, in)
	if err != nil {
		return Response{Sent: time.Now(), Err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		tok, err := c.Token(ctx, user)
		if err != nil {
			return Response{Sent: time.Now(), Err: err}
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return c.RoundTrip(req)
}

// RoundTrip sends req as it is, for what Do cannot express (a body
// streamed slowly, another listener), and reads the answer whole.
func (c *Client) RoundTrip(req *http.Request) Response {
	res := Response{Sent: time.Now()}
	resp, err := c.http.Do(req)
	if err != nil {
		res.Latency, res.Err = time.Since(res.Sent), err
		return res
	}
	defer resp.Body.Close()
	res.Body, res.Err = io.ReadAll(resp.Body)
	res.Latency = time.Since(res.Sent)
	res.Status, res.Header = resp.StatusCode, resp.Header
	return res
}

// Token returns a token of user: signed here when ClientConfig.JWTSecret
// is set, else from the local runtime's POST /auth/dev-token. Dev tokens
// survive a restart: the runtime keeps its JWT secret in its data folder.
func (c *Client) Token(ctx context.Context, user string) (string, error) {
	c.mu.Lock()
	tok, ok := c.tokens[user]
	c.mu.Unlock()
	if ok {
		return tok, nil
	}
	var err error
	if c.auth != nil {
		tok, err = c.auth.Issue(user, tokenTTL)
	} else {
		tok, err = c.devToken(ctx, user)
	}
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.tokens[user] = tok
	c.mu.Unlock()
	return tok, nil
}

func (c *Client) devToken(ctx context.Context, user string) (string, error) {
	res := c.Do(ctx, "", http.MethodPost, "/auth/dev-token", json.RawMessage(`{"userId":`+strconv.Quote(user)+`}`))
	if res.Err != nil {
		return "", fmt.Errorf("dev token of %s: %w", user, res.Err)
	}
	var out struct{ Token string }
	if res.Status != http.StatusOK || json.Unmarshal(res.Body, &out) != nil || out.Token == "" {
		return "", fmt.Errorf("dev token of %s: %s (against a cluster, pass its JWT secret: CARROT_JWT_SECRET)", user, res)
	}
	return out.Token, nil
}

// Status asks the local runtime's GET /_local/status, and remembers the
// pids of the function instances it shows (see SeenPIDs).
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	res := c.Do(ctx, "", http.MethodGet, "/_local/status", nil)
	if res.Err != nil {
		return st, res.Err
	}
	if res.Status != http.StatusOK {
		return st, fmt.Errorf("GET /_local/status: %s", res)
	}
	if err := res.Decode(&st); err != nil {
		return st, fmt.Errorf("GET /_local/status: %w", err)
	}
	c.mu.Lock()
	for _, f := range st.Functions {
		for _, inst := range f.Instances {
			if inst.PID > 0 {
				c.pids[inst.PID] = true
			}
		}
	}
	c.mu.Unlock()
	return st, nil
}

// SeenPIDs lists the pid of every function instance a Status has shown.
func (c *Client) SeenPIDs() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	pids := make([]int, 0, len(c.pids))
	for pid := range c.pids {
		pids = append(pids, pid)
	}
	return pids
}
