package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"

	"github.com/carrot-market/carrot/infra/serving"
	"github.com/carrot-market/carrot/infra/web"
)

// BrokerIngressPath is the broker's ingress on the cluster listener, as
// knative/eventing names the broker.
const BrokerIngressPath = "/broker/default/carrot"

// tokenTTL is how long a token signed by the drill itself stays valid.
const tokenTTL = time.Hour

// Config says where the system under drill is.
type Config struct {
	// BaseURL is the public API, e.g. http://127.0.0.1:8088.
	BaseURL string
	// ClusterURL is the broker ingress's listener, e.g.
	// http://127.0.0.1:8089; empty when it is not reachable.
	ClusterURL string
	// JWTSecret, when set, signs tokens here instead of asking the local
	// runtime's POST /auth/dev-token (which a cluster does not have).
	JWTSecret string
	// Services is the folder of the Knative Services (knative/services),
	// read for each function's target and max-scale; empty finds it above
	// the working directory.
	Services string
	// MaxScaleLimit is the runtime's cap on every function's instances
	// (CARROT_MAX_SCALE); 0 means serving.DefaultMaxScaleLimit.
	MaxScaleLimit int
	// Client sends every request; nil uses one with a 60 s timeout.
	Client *http.Client
}

// Env is a system under drill: its addresses, an HTTP client, the tokens
// of the drill's users, and whether the local runtime's /_local routes
// answer. It is safe for concurrent use.
type Env struct {
	BaseURL    string
	ClusterURL string
	// Local is true when GET /_local/status answers: instance counts,
	// outages, rollouts and the Kafka switch are available.
	Local bool
	// Specs are the functions' Knative settings by name, nil when the
	// manifests were not found.
	Specs map[string]serving.Spec
	// MaxScaleLimit is Config.MaxScaleLimit, defaulted.
	MaxScaleLimit int

	client *http.Client
	auth   *web.Auth

	mu     sync.Mutex
	tokens map[string]string
}

// NewEnv checks that the system answers and finds out whether it is the
// local runtime.
func NewEnv(ctx context.Context, c Config) (*Env, error) {
	e := &Env{
		BaseURL:       strings.TrimRight(c.BaseURL, "/"),
		ClusterURL:    strings.TrimRight(c.ClusterURL, "/"),
		client:        c.Client,
		tokens:        map[string]string{},
		MaxScaleLimit: c.MaxScaleLimit,
	}
	if e.MaxScaleLimit <= 0 {
		e.MaxScaleLimit = serving.DefaultMaxScaleLimit
	}
	if e.client == nil {
		e.client = &http.Client{Timeout: 60 * time.Second}
	}
	if c.JWTSecret != "" {
		auth, err := web.NewAuth([]byte(c.JWTSecret))
		if err != nil {
			return nil, err
		}
		e.auth = auth
	}
	res, err := e.send(ctx, http.MethodGet, "/_local/status", "", nil)
	if err != nil {
		return nil, fmt.Errorf("drill: %s does not answer: %w", e.BaseURL, err)
	}
	e.Local = res.Status == http.StatusOK
	e.Specs = loadSpecs(c.Services)
	return e, nil
}

// loadSpecs reads the Knative Services of dir, or of knative/services in
// the nearest folder above the working directory that has one. It returns
// nil when there are none: the drills then report what needs them as n/a.
func loadSpecs(dir string) map[string]serving.Spec {
	if dir == "" {
		dir = findServices()
	}
	if dir == "" {
		return nil
	}
	// Only the scaling settings are read: the environment's references get
	// placeholders.
	specs, err := serving.LoadServices(dir,
		serving.WithConfigMap("carrot-config", map[string]string{"aws-region": "-", "dynamodb-table-prefix": "-"}),
		serving.WithSecret("carrot-jwt", map[string]string{"secret": "-"}))
	if err != nil {
		return nil
	}
	byName := map[string]serving.Spec{}
	for _, s := range specs {
		byName[s.Name] = s
	}
	return byName
}

func findServices() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		candidate := filepath.Join(dir, "knative", "services")
		if fi, err := os.Stat(candidate); err == nil && fi.IsDir() {
			return candidate
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
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

// String describes the answer for a report.
func (r Response) String() string {
	if r.Err != nil {
		return "no answer: " + r.Err.Error()
	}
	return fmt.Sprintf("%d %.300s", r.Status, bytes.TrimSpace(r.Body))
}

// brief is res's status alone when it is a 2xx, else res in full.
func brief(res Response) string {
	if res.OK() {
		return fmt.Sprint(res.Status)
	}
	return res.String()
}

// Do sends a request to the public API as user ("" sends no token) with
// body as JSON (nil sends none). A request that got no answer returns a
// Response with Err set, not an error: drills count those.
func (e *Env) Do(ctx context.Context, user, method, path string, body any) Response {
	token := ""
	if user != "" {
		var err error
		if token, err = e.Token(ctx, user); err != nil {
			return Response{Sent: time.Now(), Err: err}
		}
	}
	var in []byte
	if body != nil {
		var err error
		if in, err = json.Marshal(body); err != nil {
			return Response{Sent: time.Now(), Err: err}
		}
	}
	res, err := e.send(ctx, method, path, token, in)
	if err != nil {
		res.Err = err
	}
	return res
}

// send sends one request to the base URL.
func (e *Env) send(ctx context.Context, method, path, token string, body []byte) (Response, error) {
	return e.sendTo(ctx, method, e.BaseURL+path, token, body)
}

func (e *Env) sendTo(ctx context.Context, method, url, token string, body []byte) (Response, error) {
	var in io.Reader
	if body != nil {
		in = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, in)
	if err != nil {
		return Response{Sent: time.Now()}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res := Response{Sent: time.Now()}
	resp, err := e.client.Do(req)
	if err != nil {
		res.Latency = time.Since(res.Sent)
		return res, err
	}
	defer resp.Body.Close()
	res.Body, err = io.ReadAll(resp.Body)
	res.Latency = time.Since(res.Sent)
	res.Status, res.Header = resp.StatusCode, resp.Header
	return res, err
}

// Token returns a token of user: signed here when Config.JWTSecret is set,
// else from the local runtime's POST /auth/dev-token.
func (e *Env) Token(ctx context.Context, user string) (string, error) {
	e.mu.Lock()
	tok, ok := e.tokens[user]
	e.mu.Unlock()
	if ok {
		return tok, nil
	}
	var err error
	if e.auth != nil {
		tok, err = e.auth.Issue(user, tokenTTL)
	} else {
		tok, err = e.devToken(ctx, user)
	}
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	e.tokens[user] = tok
	e.mu.Unlock()
	return tok, nil
}

func (e *Env) devToken(ctx context.Context, user string) (string, error) {
	res, err := e.send(ctx, http.MethodPost, "/auth/dev-token", "", []byte(`{"userId":`+strconv.Quote(user)+`}`))
	if err != nil {
		return "", fmt.Errorf("dev token of %s: %w", user, err)
	}
	var out struct{ Token string }
	if res.Status != http.StatusOK || json.Unmarshal(res.Body, &out) != nil || out.Token == "" {
		return "", fmt.Errorf("dev token of %s: %s (against a cluster, pass its JWT secret: -jwt-secret or CARROT_JWT_SECRET)", user, res)
	}
	return out.Token, nil
}

// ErrNotLocal is returned by the runtime controls against a system that is
// not the local runtime.
var ErrNotLocal = errors.New("drill: this needs the local runtime's /_local routes")

// Status asks the local runtime's GET /_local/status.
func (e *Env) Status(ctx context.Context) (Status, error) {
	var st Status
	if !e.Local {
		return st, ErrNotLocal
	}
	res, err := e.send(ctx, http.MethodGet, "/_local/status", "", nil)
	if err != nil {
		return st, err
	}
	if res.Status != http.StatusOK {
		return st, fmt.Errorf("GET /_local/status: %s", res)
	}
	return st, res.Decode(&st)
}

// RolloutResult is the answer of a rollout: traffic has moved from Previous to
// Revision.
type RolloutResult struct {
	Function string `json:"function"`
	Revision string `json:"revision"`
	Previous string `json:"previous"`
}

// Rollout starts a new revision of function with env added to its
// environment and returns once traffic has moved to it.
func (e *Env) Rollout(ctx context.Context, function string, env map[string]string) (RolloutResult, error) {
	var out RolloutResult
	err := e.control(ctx, http.MethodPost, "/_local/functions/"+function+"/rollout", map[string]any{"env": env}, &out)
	return out, err
}

// SetOutage takes function down (its instances killed and unable to
// start) or, with down false, brings it back.
func (e *Env) SetOutage(ctx context.Context, function string, down bool) error {
	method := http.MethodDelete
	if down {
		method = http.MethodPost
	}
	return e.control(ctx, method, "/_local/functions/"+function+"/outage", nil, nil)
}

// MakeUnhealthy makes one instance of function fail its liveness probe and
// returns its pid.
func (e *Env) MakeUnhealthy(ctx context.Context, function string) (int, error) {
	var out struct {
		PID int `json:"pid"`
	}
	err := e.control(ctx, http.MethodPost, "/_local/functions/"+function+"/unhealthy", nil, &out)
	return out.PID, err
}

// SetKafka stops the in-process Kafka or, with up true, starts it again.
func (e *Env) SetKafka(ctx context.Context, up bool) error {
	path := "/_local/kafka/down"
	if up {
		path = "/_local/kafka/up"
	}
	return e.control(ctx, http.MethodPost, path, nil, nil)
}

// control calls one of the runtime's /_local routes and decodes its answer
// into out (nil ignores it).
func (e *Env) control(ctx context.Context, method, path string, body, out any) error {
	if !e.Local {
		return ErrNotLocal
	}
	var in []byte
	if body != nil {
		var err error
		if in, err = json.Marshal(body); err != nil {
			return err
		}
	}
	res, err := e.send(ctx, method, path, "", in)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if !res.OK() {
		return fmt.Errorf("%s %s: %s", method, path, res)
	}
	if out == nil || len(bytes.TrimSpace(res.Body)) == 0 {
		return nil
	}
	return res.Decode(out)
}

// SendEvent hands ev to the broker ingress in binary mode, as a source
// would, and returns once the broker accepted it.
func (e *Env) SendEvent(ctx context.Context, ev cloudevents.Event) error {
	if e.ClusterURL == "" {
		return errors.New("drill: no broker ingress URL (-cluster)")
	}
	client, err := cloudevents.NewClientHTTP()
	if err != nil {
		return err
	}
	target := cloudevents.ContextWithTarget(ctx, e.ClusterURL+BrokerIngressPath)
	if result := client.Send(binding.WithForceBinary(target), ev); !cloudevents.IsACK(result) {
		return fmt.Errorf("the broker ingress refused event %s: %w", ev.ID(), result)
	}
	return nil
}
