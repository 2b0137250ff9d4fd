// Command carrot runs the whole system on this machine: `make run` starts
// it beside DynamoDB Local. Ctrl-C stops everything it started. It logs,
// as its functions do, in the format of $CARROT_LOG_FORMAT (web.NewLogger);
// `make run` sets console.
package main

import (
	"os"
	"path/filepath"

	"knative.dev/pkg/signals"

	"github.com/carrot-market/carrot/infra/local"
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
	if err := local.Run(signals.NewContext(), cfg, log); err != nil {
		log.Fatalw("carrot stopped", "error", err)
	}
}
