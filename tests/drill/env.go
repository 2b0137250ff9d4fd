package drill

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"

	"github.com/carrot-market/carrot/infra/serving"
	"github.com/carrot-market/carrot/tests/system"
)

// Config says what the drills know of the system beyond how to reach it.
type Config struct {
	// Services is the folder of the Knative Services (knative/services),
	// read for each function's target and max-scale; empty finds it above
	// the working directory.
	Services string
	// MaxScaleLimit is the runtime's cap on every function's instances
	// (CARROT_MAX_SCALE); 0 means serving.DefaultMaxScaleLimit.
	MaxScaleLimit int
}

// Env is a system under drill: a client of it (see system.Attach; its
// Local says whether the local runtime's /_local routes answer: instance
// counts, outages, rollouts and the Kafka switch are available), and the
// functions' settings. It is safe for concurrent use.
type Env struct {
	*system.Client
	// Specs are the functions' Knative settings by name, nil when the
	// manifests were not found.
	Specs map[string]serving.Spec
	// MaxScaleLimit is Config.MaxScaleLimit, defaulted.
	MaxScaleLimit int
}

// NewEnv points the drills at the system client reaches.
func NewEnv(client *system.Client, c Config) *Env {
	e := &Env{Client: client, MaxScaleLimit: c.MaxScaleLimit, Specs: loadSpecs(c.Services)}
	if e.MaxScaleLimit <= 0 {
		e.MaxScaleLimit = serving.DefaultMaxScaleLimit
	}
	return e
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

// brief is res's status alone when it is a 2xx, else res in full.
func brief(res system.Response) string {
	if res.OK() {
		return fmt.Sprint(res.Status)
	}
	return res.String()
}

// ErrNotLocal is returned by the runtime controls against a system that is
// not the local runtime.
var ErrNotLocal = errors.New("drill: this needs the local runtime's /_local routes")

// Status asks the local runtime's GET /_local/status.
func (e *Env) Status(ctx context.Context) (system.Status, error) {
	if !e.Local {
		return system.Status{}, ErrNotLocal
	}
	return e.Client.Status(ctx)
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
	res := e.Do(ctx, "", method, path, body)
	if res.Err != nil {
		return fmt.Errorf("%s %s: %w", method, path, res.Err)
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
	if e.Cluster == "" {
		return errors.New("drill: no broker ingress URL (-cluster)")
	}
	client, err := cloudevents.NewClientHTTP()
	if err != nil {
		return err
	}
	target := cloudevents.ContextWithTarget(ctx, e.Cluster+system.BrokerIngressPath)
	if result := client.Send(binding.WithForceBinary(target), ev); !cloudevents.IsACK(result) {
		return fmt.Errorf("the broker ingress refused event %s: %w", ev.ID(), result)
	}
	return nil
}
