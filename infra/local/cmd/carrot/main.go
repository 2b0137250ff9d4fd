// Command carrot runs the whole system on this machine: `make run` starts
// it beside DynamoDB Local. Ctrl-C stops everything it started. It logs,
// as its functions do, in the format of $CARROT_LOG_FORMAT (web.NewLogger);
// `make run` sets console.
package main

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"knative.dev/pkg/signals"

	"github.com/carrot-market/carrot/infra/local"
	"github.com/carrot-market/carrot/infra/telemetry"
	"github.com/carrot-market/carrot/infra/web"
)

func main() {
	// The runtime's logger names itself ("logger": "carrot") and carries no
	// "function" field: its lines about an instance add the instance's own.
	log := web.NewLogger().Named("carrot")
	root, err := filepath.Abs(".")
	if err != nil {
		log.Fatal(err)
	}
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	cfg, err := local.ConfigFromEnv(root)
	if err != nil {
		log.Fatal(err)
	}
	ctx := signals.NewContext()
	// The runtime's own spans (the gateway, the broker, the re-drive) are
	// of the service "carrot"; each function's process names its own.
	stopTracing, err := telemetry.StartTracing(ctx, "carrot", log)
	if err != nil {
		log.Fatal(err)
	}
	err = local.Run(ctx, cfg, log)
	flush, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_ = stopTracing(flush)
	cancel()
	if err != nil {
		log.Fatalw("carrot stopped", "error", err)
	}
}
