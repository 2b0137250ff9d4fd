// Package boot wires one Knative function from its environment: the
// DynamoDB store, the outbox publisher, JWT auth, the REST routes the
// function owns and the CloudEvents endpoint its trigger delivers to; or,
// for the gateway (registry.Gateway), the proxies to the other functions
// (infra/gateway). It is the one place that names concrete adapters; every
// function's main is a single call to Main.
package boot

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"go.uber.org/zap"
	"knative.dev/pkg/signals"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/functions/rest"
	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/edge"
	"github.com/carrot-market/carrot/infra/gateway"
	"github.com/carrot-market/carrot/infra/outbox"
	"github.com/carrot-market/carrot/infra/telemetry"
	"github.com/carrot-market/carrot/infra/web"
)

// Deps are the adapters a function runs on.
type Deps struct {
	Store     *dynamo.Store
	Auth      *web.Auth // nil for a function no route of which needs a token
	Publisher *outbox.Publisher
	Now       func() time.Time // nil: the wall clock
	// Settle is how far the reconciler stays behind now
	// (app.Reconciler.Settle); 0 is its default.
	Settle time.Duration
}

// SettleEnv overrides the reconciler's settle delay (a Go duration such as
// 30s); tests shorten it.
const SettleEnv = "CARROT_RECONCILE_SETTLE"

// Main wires f from the environment and serves it until SIGTERM. Wiring
// fails fast: no way to check tokens, a bad issuer URL, a bad sink URL, a
// missing table or, for the gateway, a bad $CARROT_FUNCTION_URL or
// $CARROT_CORS_ORIGINS stops the process before it answers readiness.
func Main(f registry.Function) {
	ctx := signals.NewContext()
	log := web.Logger(f.Name)
	stopTracing, err := telemetry.StartTracing(ctx, f.Name, log)
	if err != nil {
		log.Fatalw("cannot start", "error", err)
	}
	defer flushSpans(stopTracing, log)
	if f.Proxy {
		proxies, err := gateway.NewProxies(gateway.ConfigFromEnv())
		if err != nil {
			log.Fatalw("cannot start", "error", err)
		}
		origins, err := gateway.OriginsFromEnv()
		if err != nil {
			log.Fatalw("cannot start", "error", err)
		}
		if err := web.Serve(ctx, f.Name, gateway.New(proxies, origins)); err != nil {
			log.Fatalw("stopped with an error", "error", err)
		}
		return
	}
	deps, err := FromEnv(ctx, f)
	if err != nil {
		log.Fatalw("cannot start", "error", err)
	}
	serveErr := web.Serve(ctx, f.Name, Handler(f, deps))
	// The background drain of a publisher that fell behind stops; the relay
	// sends what it left. Rows of sent events left behind would only be
	// sent again; deleting them is worth a moment of the shutdown.
	deps.Publisher.Close()
	flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := deps.Publisher.Flush(flush); err != nil {
		log.Warnw("sent events keep their outbox rows; the relay will send them again", "error", err)
	}
	if serveErr != nil {
		log.Fatalw("stopped with an error", "error", serveErr)
	}
}

// flushSpans exports the spans still buffered, for a moment at most: a
// collector that is down must not hold up the shutdown.
func flushSpans(stop func(context.Context) error, log *zap.SugaredLogger) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := stop(ctx); err != nil {
		log.Warnw("spans not exported at shutdown", "error", err)
	}
}

// FromEnv builds the adapters from the environment: DYNAMODB_ENDPOINT,
// AWS_REGION and DYNAMODB_TABLE_PREFIX for storage, K_SINK for the broker,
// and, for a function with a route that needs a token, CARROT_OIDC_ISSUER
// and CARROT_OIDC_AUDIENCE (an identity provider), CARROT_JWT_SECRET (a
// shared HS256 key), or both (web.AuthConfigFromEnv); a function without
// such a route reads none of them and has no Auth. With
// DYNAMODB_CREATE_TABLES=true missing tables are created (local use);
// otherwise they must exist. Nothing is read from the identity provider:
// a function starts while it is down.
func FromEnv(ctx context.Context, f registry.Function) (Deps, error) {
	cfg := dynamo.ConfigFromEnv()
	client, err := dynamo.NewClient(ctx, cfg)
	if err != nil {
		return Deps{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if os.Getenv("DYNAMODB_CREATE_TABLES") == "true" {
		err = dynamo.CreateTables(wctx, client, cfg.TablePrefix)
	} else {
		err = dynamo.CheckTables(wctx, client, cfg.TablePrefix)
	}
	if err != nil {
		return Deps{}, err
	}
	store := dynamo.New(client, cfg.TablePrefix)
	var auth *web.Auth
	if f.Authenticates() {
		if auth, err = web.AuthFromEnv(market.IsUserID); err != nil {
			return Deps{}, err
		}
	}
	pub, err := outbox.FromEnv(store, web.Logger(f.Name))
	if err != nil {
		return Deps{}, err
	}
	var settle time.Duration
	if v := os.Getenv(SettleEnv); v != "" {
		if settle, err = time.ParseDuration(v); err != nil || settle <= 0 {
			return Deps{}, fmt.Errorf("$%s %q is not a positive duration such as 30s", SettleEnv, v)
		}
	}
	return Deps{Store: store, Auth: auth, Publisher: pub, Settle: settle}, nil
}

// Handler returns f's HTTP handler on deps: its REST routes, and POST /
// for the CloudEvents its trigger delivers. The gateway has neither: for it
// Handler answers 404 to everything, and Main serves infra/gateway instead.
func Handler(f registry.Function, d Deps) http.Handler {
	svc := &app.Service{Store: d.Store, Views: d.Store, Publisher: d.Publisher, Source: f.Source(), Now: d.Now}
	r := web.NewRouter()
	(&rest.Handler{App: svc}).Mount(r, f.Routes, d.Auth, d.Store)
	switch {
	case f.Relay:
		r.Handle("/", edge.Events(relay(d.Publisher))).Methods(http.MethodPost)
	case f.Reconcile:
		rec := &app.Reconciler{Service: svc, Changes: d.Store, ScoredBy: registry.ItemPolicy.Source(), Settle: d.Settle}
		r.Handle("/", reconcile(rec)).Methods(http.MethodPost)
	case f.Consumes != nil:
		r.Handle("/", edge.Events(svc.Handler(f.Consumes))).Methods(http.MethodPost)
	}
	return r
}

// relay answers any event (a PingSource tick) by sending the outbox. A
// failed send is transient: the 5xx answer makes the source retry, and the
// next tick tries again anyway.
func relay(p *outbox.Publisher) func(context.Context, cloudevents.Event) error {
	return func(ctx context.Context, _ cloudevents.Event) error {
		n, err := p.Relay(ctx)
		if err != nil {
			return fmt.Errorf("relay stopped after %d events: %w", n, err)
		}
		web.Log(ctx).Infow("outbox relayed", "events", n)
		return nil
	}
}

// reconcile answers any POST (a PingSource tick) by running the
// reconciler: a log line per repair with its ids, and the counts in the
// answer. A failed run is a 503: the next tick starts again from the
// checkpoint.
func reconcile(rec *app.Reconciler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log := web.Log(r.Context())
		run, err := rec.Run(r.Context())
		for _, p := range run.Repairs {
			log.Infow("reconciler repaired", "step", p.Step, "itemId", p.ItemID, "id", p.ID, "fact", p.Fact, "eventId", p.EventID)
		}
		for _, p := range run.Skipped {
			log.Warnw("reconciler could not repair", "step", p.Step, "itemId", p.ItemID, "id", p.ID, "reason", p.Reason)
		}
		if err != nil {
			log.Errorw("reconciler stopped", "error", err, "until", run.Until)
			web.WriteProblem(w, web.NewProblem(http.StatusServiceUnavailable, "the reconciler stopped; the next run goes on from its checkpoint"))
			return
		}
		log.Infow("reconciled", "since", run.Since, "until", run.Until, "changes", run.Changes, "items", run.Items, "repaired", len(run.Repairs))
		web.JSON(w, http.StatusOK, map[string]any{"since": run.Since, "until": run.Until, "changes": run.Changes,
			"items": run.Items, "repaired": len(run.Repairs), "skipped": len(run.Skipped)})
	})
}
