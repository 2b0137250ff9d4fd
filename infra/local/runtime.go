// Package local runs all of carrot on one machine with no Kubernetes, from
// the same knative/ manifests a cluster applies: Kafka in-process (or an
// external cluster), the broker with Knative's Broker and Trigger
// semantics, every function as its own OS process started on demand and
// stopped when idle, the PingSource of the outbox relay, and the gateway on
// 127.0.0.1:8088. DynamoDB Local runs beside it (see infra/dynamo/local).
//
// Everything listens on 127.0.0.1 alone: the gateway, the cluster listener
// (broker ingress and activators) and Kafka by default, every function
// instance through CARROT_LISTEN_HOST (infra/serving sets it), and DynamoDB
// Local through its launcher. Nothing is reachable from another machine.
package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/broker"
	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/gateway"
	"github.com/carrot-market/carrot/infra/serving"
	"github.com/carrot-market/carrot/infra/web"
)

// Config says where the runtime listens and what it runs on. Zero fields
// take the defaults of setDefaults.
type Config struct {
	Root        string   // the repository: knative/ is read from here
	DataDir     string   // Kafka's log, the JWT secret and built binaries; default Root/.data
	GatewayAddr string   // the public API; default 127.0.0.1:8088
	ClusterAddr string   // broker ingress and function activators; default 127.0.0.1:8089
	KafkaAddr   string   // the in-process Kafka; default 127.0.0.1:9092
	KafkaSeeds  []string // an external Kafka instead of the in-process one
	DynamoDB    dynamo.Config
	IdleGrace   time.Duration // overrides every Service's window when set
	RelayEvery  time.Duration // overrides the outbox relay's PingSource schedule when set
	// ReconcileEvery overrides the reconciler's PingSource schedule when
	// set (CARROT_RECONCILE_EVERY).
	ReconcileEvery time.Duration
	// EventingDir holds the Broker, Triggers, KafkaSinks and PingSource;
	// default Root/knative/eventing. Tests point it at a copy whose
	// triggers give up sooner, to make dead letters in seconds.
	EventingDir string
	JWTSecret   string // default: generated once and kept in DataDir
	// CORSOrigins are the browser origins allowed to call the gateway
	// (gateway.ParseOrigins); ConfigFromEnv makes them LocalOrigins unless
	// CARROT_CORS_ORIGINS is set, to nothing when it is empty.
	CORSOrigins []string
	// MaxScale caps every function's instances, below its own max-scale
	// when smaller (serving.Options.MaxScaleLimit); 0 means
	// serving.DefaultMaxScaleLimit. Drills set it to shrink the system's
	// capacity: with CARROT_MAX_SCALE=1 a function takes
	// containerConcurrency requests plus a queue of 10 per unit of it.
	MaxScale int
}

// ConfigFromEnv reads the runtime's settings: CARROT_GATEWAY_ADDR,
// CARROT_CLUSTER_ADDR, KAFKA_ADDR, KAFKA_BOOTSTRAP_SERVERS (comma
// separated), CARROT_DATA_DIR, CARROT_IDLE_GRACE, CARROT_RELAY_EVERY and
// CARROT_RECONCILE_EVERY (Go durations such as 10s), CARROT_EVENTING_DIR (the manifests of the
// broker, triggers and relay schedule), CARROT_MAX_SCALE (a positive number of
// instances), CARROT_JWT_SECRET, CARROT_CORS_ORIGINS (default LocalOrigins),
// and DynamoDB's own variables (dynamo.ConfigFromEnv).
func ConfigFromEnv(root string) (Config, error) {
	c := Config{
		Root: root, DataDir: os.Getenv("CARROT_DATA_DIR"),
		GatewayAddr: os.Getenv("CARROT_GATEWAY_ADDR"), ClusterAddr: os.Getenv("CARROT_CLUSTER_ADDR"),
		KafkaAddr: os.Getenv("KAFKA_ADDR"), DynamoDB: dynamo.ConfigFromEnv(), JWTSecret: os.Getenv(web.SecretEnv),
		EventingDir: os.Getenv("CARROT_EVENTING_DIR"),
	}
	if s := os.Getenv("KAFKA_BOOTSTRAP_SERVERS"); s != "" {
		c.KafkaSeeds = strings.Split(s, ",")
	}
	var err error
	c.CORSOrigins = LocalOrigins
	if s, ok := os.LookupEnv(gateway.CORSOriginsEnv); ok {
		if c.CORSOrigins, err = gateway.ParseOrigins(s); err != nil {
			return c, err
		}
	}
	if c.IdleGrace, err = durationEnv("CARROT_IDLE_GRACE"); err != nil {
		return c, err
	}
	if c.RelayEvery, err = durationEnv("CARROT_RELAY_EVERY"); err != nil {
		return c, err
	}
	if c.ReconcileEvery, err = durationEnv("CARROT_RECONCILE_EVERY"); err != nil {
		return c, err
	}
	if s := os.Getenv("CARROT_MAX_SCALE"); s != "" {
		if c.MaxScale, err = strconv.Atoi(s); err != nil || c.MaxScale <= 0 {
			return c, fmt.Errorf("$CARROT_MAX_SCALE %q is not a positive number of instances", s)
		}
	}
	return c, nil
}

// LocalOrigins are the browser origins the local runtime's gateway allows
// unless CARROT_CORS_ORIGINS says otherwise: a web app served from this
// machine over http, on any port (a dev server such as Vite's on :5173).
var LocalOrigins = []string{"http://localhost:*", "http://127.0.0.1:*"}

func durationEnv(name string) (time.Duration, error) {
	s := os.Getenv(name)
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("$%s %q is not a positive duration such as 10s", name, s)
	}
	return d, nil
}

func (c *Config) setDefaults() {
	if c.DataDir == "" {
		c.DataDir = filepath.Join(c.Root, ".data")
	}
	if c.GatewayAddr == "" {
		c.GatewayAddr = "127.0.0.1:8088"
	}
	if c.ClusterAddr == "" {
		c.ClusterAddr = "127.0.0.1:8089"
	}
	if c.KafkaAddr == "" {
		c.KafkaAddr = "127.0.0.1:9092"
	}
	if c.EventingDir == "" {
		c.EventingDir = filepath.Join(c.Root, "knative", "eventing")
	}
}

// Run starts the whole system and serves until ctx ends, then stops every
// part and every process it started.
func Run(ctx context.Context, c Config, log *zap.SugaredLogger) error {
	c.setDefaults()
	if c.DynamoDB.Endpoint == "" {
		return errors.New("local: DYNAMODB_ENDPOINT is not set; start through `make run`, which starts DynamoDB Local")
	}
	if err := os.MkdirAll(c.DataDir, 0o755); err != nil {
		return err
	}
	secret, err := jwtSecret(c)
	if err != nil {
		return err
	}
	auth, err := web.NewAuth([]byte(secret), market.IsUserID)
	if err != nil {
		return err
	}

	client, err := dynamo.NewClient(ctx, c.DynamoDB)
	if err != nil {
		return err
	}
	if err := dynamo.CreateTables(ctx, client, prefixOf(c.DynamoDB)); err != nil {
		return fmt.Errorf("local: create tables: %w", err)
	}
	log.Infow("DynamoDB ready", "endpoint", c.DynamoDB.Endpoint)

	seeds := c.KafkaSeeds
	var cluster *broker.Cluster
	if len(seeds) == 0 {
		cluster, err = broker.StartCluster(c.KafkaAddr, broker.WithDataDir(filepath.Join(c.DataDir, "kafka")))
		if err != nil {
			return fmt.Errorf("local: start Kafka on %s: %w", c.KafkaAddr, err)
		}
		defer cluster.Close()
		seeds = cluster.Seeds()
	}
	log.Infow("Kafka ready", "bootstrap", strings.Join(seeds, ","))

	clusterLn, err := net.Listen("tcp", c.ClusterAddr)
	if err != nil {
		return fmt.Errorf("local: listen on %s: %w", c.ClusterAddr, err)
	}
	clusterURL := "http://" + clusterLn.Addr().String()
	// The broker's address has Knative's shape: /<namespace>/<broker>.
	sinkURL := clusterURL + "/broker/default/carrot"

	specs, err := serving.LoadServices(filepath.Join(c.Root, "knative", "services"),
		serving.WithConfigMap("carrot-config", map[string]string{
			"aws-region": c.DynamoDB.Region, "dynamodb-endpoint": c.DynamoDB.Endpoint, "dynamodb-table-prefix": prefixOf(c.DynamoDB),
		}),
		serving.WithSecret("carrot-jwt", map[string]string{"secret": secret}))
	if err != nil {
		return err
	}
	// The runtime serves the gateway itself (Gateway), in front of the
	// activators: the cluster's gateway Service does not run here.
	specs = slices.DeleteFunc(specs, func(s serving.Spec) bool { return s.Name == registry.Gateway.Name })
	binDir := filepath.Join(c.DataDir, "bin")
	if err := buildFunctions(ctx, c.Root, binDir, log); err != nil {
		return err
	}
	fns, err := serving.New(specs, serving.Options{
		Binary:        func(s serving.Spec) (string, error) { return filepath.Join(binDir, path.Base(s.ImportPath)), nil },
		Env:           map[string]string{"K_SINK": sinkURL, "DRAIN_SECONDS": "0", web.DevEndpointsEnv: "1"},
		IdleGrace:     c.IdleGrace,
		MaxScaleLimit: c.MaxScale,
		Logger:        log,
	})
	if err != nil {
		return err
	}
	if err := fns.Start(ctx); err != nil {
		return err
	}
	defer fns.Close()

	bcfg, err := broker.LoadConfig(c.EventingDir)
	if err != nil {
		return err
	}
	resolve := func(name string) (string, error) { return clusterURL + "/functions/" + name + "/", nil }
	brk, err := broker.New(bcfg, seeds, resolve, broker.WithLogger(log.Named("broker")))
	if err != nil {
		return err
	}
	defer brk.Close()
	observed, err := observeRuntime(fns.Status, brk.Status)
	if err != nil {
		return err
	}
	defer func() { _ = observed.Unregister() }()

	mux := http.NewServeMux()
	mux.Handle("/broker/", http.StripPrefix("/broker", brk.Ingress()))
	mux.Handle("/functions/", http.StripPrefix("/functions", functionsByPath(fns)))
	clusterSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = clusterSrv.Serve(clusterLn) }()
	defer clusterSrv.Close()

	ping, err := LoadPing(filepath.Join(c.EventingDir, "outbox-relay.yaml"))
	if err != nil {
		return err
	}
	relayNow := make(chan struct{}, 1)
	go RunPing(ctx, ping, fns.Handler(ping.Sink), c.RelayEvery, relayNow, log.Named("ping"))

	rping, err := LoadPing(filepath.Join(c.EventingDir, "reconciler.yaml"))
	if err != nil {
		return err
	}
	reconciled := &reconcilerStatus{}
	rping.Answer = reconciled.record
	go RunPing(ctx, rping, fns.Handler(rping.Sink), c.ReconcileEvery, nil, log.Named("ping"))

	kafka := &kafkaSwitch{cluster: cluster, broker: brk, log: log, relay: relayNow}
	letters := &deadLetters{seeds: seeds, ingress: sinkURL, topics: bcfg.DeadLetterTopics()}
	status := func() any {
		return map[string]any{"functions": fns.Status(), "triggers": brk.Status(), "kafka": kafka.status(), "deadLetters": letters.snapshot(),
			"reconciler": reconciled.snapshot()}
	}
	store := dynamo.New(client, prefixOf(c.DynamoDB))
	ops := ViewOps{Scanner: store, Service: &app.Service{Store: store, Views: store, Source: "/carrot/local"}}
	gwLog := log.Named("gateway")
	gw := web.NewServer(web.Traced("gateway", web.MeasureRequests(web.LogRequests(gwLog)(WithViewOps(ops, Gateway(fns, kafka, letters, auth, status, c.CORSOrigins))))), gwLog)
	// The operator's routes (a check or a rebuild, up to viewOpsTimeout)
	// may answer after the server's WriteTimeout; every route of the API
	// is bounded by its function's timeout in serving anyway.
	gw.WriteTimeout = 0
	gwLn, err := net.Listen("tcp", c.GatewayAddr)
	if err != nil {
		return fmt.Errorf("local: listen on %s: %w", c.GatewayAddr, err)
	}
	go func() { _ = gw.Serve(gwLn) }()
	log.Infow("carrot is up", "gateway", "http://"+gwLn.Addr().String(), "broker", sinkURL, "kafka", strings.Join(seeds, ","))

	<-ctx.Done()
	log.Info("stopping")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = gw.Shutdown(shutdown)
	return nil
}

// buildFunctions builds every function's binary into binDir with one go
// build, which shares the compilation of their common packages.
func buildFunctions(ctx context.Context, root, binDir string, log *zap.SugaredLogger) error {
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", binDir+string(filepath.Separator), "./functions/...")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("local: building the functions failed: %w\n%s", err, out)
	}
	log.Infow("functions built", "dir", binDir, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// functionsByPath routes /<name>/rest-of-path to function name's
// activator, with the path it would see behind its own Knative route.
func functionsByPath(fns *serving.Serving) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + rest
		r2.URL.RawPath = ""
		fns.Handler(name).ServeHTTP(w, r2)
	})
}

// jwtSecret returns the configured secret, or one generated at the first
// run and kept in DataDir so tokens survive a restart.
func jwtSecret(c Config) (string, error) {
	if c.JWTSecret != "" {
		return c.JWTSecret, nil
	}
	path := filepath.Join(c.DataDir, "jwt-secret")
	if b, err := os.ReadFile(path); err == nil && len(b) >= web.MinSecretBytes {
		return string(b), nil
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	secret := hex.EncodeToString(buf)
	return secret, os.WriteFile(path, []byte(secret), 0o600)
}

func prefixOf(c dynamo.Config) string {
	if c.TablePrefix == "" {
		return dynamo.DefaultTablePrefix
	}
	return c.TablePrefix
}
