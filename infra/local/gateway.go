package local

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/edge"
	"github.com/carrot-market/carrot/infra/gateway"
	"github.com/carrot-market/carrot/infra/serving"
	"github.com/carrot-market/carrot/infra/telemetry"
	"github.com/carrot-market/carrot/infra/web"
)

// Activators hands out the entry point of each function: a handler that
// starts an instance when there is none and respects the function's
// concurrency limits, as Knative's activator and queue-proxy do.
type Activators interface {
	Handler(function string) http.Handler
}

// Functions are the activators with the operator's controls of the
// functions' runtime (*serving.Serving).
type Functions interface {
	Activators
	Rollout(ctx context.Context, name string, env map[string]string) (serving.RolloutResult, error)
	SetOutage(name string, on bool) error
}

// KafkaSwitch stops and starts the runtime's Kafka. It answers
// ErrExternalKafka when Kafka is not the runtime's own.
type KafkaSwitch interface {
	SetKafka(up bool) error
}

// ErrExternalKafka is returned when asked to switch off a Kafka the runtime
// does not run (KAFKA_BOOTSTRAP_SERVERS).
var ErrExternalKafka = errors.New("Kafka is external (KAFKA_BOOTSTRAP_SERVERS): stop and start it by hand")

// devTokenTTL is how long a token from /auth/dev-token stays valid.
const devTokenTTL = 24 * time.Hour

// Gateway is the public entry of the local runtime, as the seed's gateway
// on :8088: the cluster's gateway (infra/gateway) in front of the
// functions' activators, every route of the API to the function that owns
// it behind the same gateway.Edge (request id, headers, CORS for the
// browser origins origins), plus local-only routes: POST /auth/dev-token,
// GET /_local/status, GET /metrics (the runtime's own: its gateway, the
// broker's triggers and serving's functions, observeRuntime), and the
// drills' controls (see controls.go).
func Gateway(fns Functions, kafka KafkaSwitch, letters DeadLetters, auth *web.Auth, status func() any, origins []string) http.Handler {
	r := web.NewRouter()
	gateway.Mount(r, fns)
	r.Handle("/auth/dev-token", devToken(auth)).Methods(http.MethodPost)
	r.Handle(telemetry.MetricsPath, telemetry.MetricsHandler()).Methods(http.MethodGet)
	r.HandleFunc("/_local/status", func(w http.ResponseWriter, _ *http.Request) {
		web.JSON(w, http.StatusOK, status())
	}).Methods(http.MethodGet)
	c := controls{fns: fns, kafka: kafka, letters: letters}
	r.HandleFunc("/_local/functions/{name}/rollout", c.rollout).Methods(http.MethodPost)
	r.HandleFunc("/_local/functions/{name}/outage", c.startOutage).Methods(http.MethodPost)
	r.HandleFunc("/_local/functions/{name}/outage", c.endOutage).Methods(http.MethodDelete)
	r.HandleFunc("/_local/functions/{name}/unhealthy", c.unhealthy).Methods(http.MethodPost)
	r.HandleFunc("/_local/kafka/down", c.kafkaDown).Methods(http.MethodPost)
	r.HandleFunc("/_local/kafka/up", c.kafkaUp).Methods(http.MethodPost)
	r.HandleFunc("/_local/dead-letters/redrive", c.redrive).Methods(http.MethodPost)
	return gateway.Edge(r, origins)
}

// devToken issues a token for any user id the domain accepts
// (market.IsUserID): there are no passwords on a developer's machine. It exists only in the local runtime.
func devToken(auth *web.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			UserID string `json:"userId"`
		}
		if err := web.Decode(r, &in); err != nil {
			edge.Error(w, r, err)
			return
		}
		if !market.IsUserID(in.UserID) {
			var f market.Fields
			f.Add("userId", "%s", market.UserIDRule)
			edge.Error(w, r, f.Err())
			return
		}
		tok, err := auth.Issue(in.UserID, devTokenTTL)
		if err != nil {
			var f market.Fields
			f.Add("userId", "%v", err)
			edge.Error(w, r, f.Err())
			return
		}
		web.JSON(w, http.StatusOK, map[string]string{"token": tok, "userId": in.UserID})
	})
}
